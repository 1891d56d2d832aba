// SimpleJWT's signing algorithms, for `npm run bench` (--only algorithms): for each of HS256, RS256,
// ES256 and EdDSA, an ingress signing with it (its token memory off, so that every request checks
// the signature and reads the token's record in Redis: what the algorithm costs, not what the memory
// saves) answers wrk's verify (/api/token/verify/) and introspection (/oauth/introspect) of one
// access token, each next to the bare route; and, in this process, the SDK's offline check of the
// token (createOfflineVerifier: JWKS key, claims, revocation set) next to jose's bare jwtVerify of
// it with the same key (what the check adds to the signature). HS256 has no offline check: its
// secret is never published.
import { generateKeyPairSync } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createOfflineVerifier } from '@tessera/client';
import { redisRevocations } from '@tessera/client/redis';
import { hmacJwtKey, JwtSigner, pemJwtKey } from '@tessera/core';
import { importJWK, jwtVerify } from 'jose';

const ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA'];

function privatePem(alg) {
  const [type, options] =
    alg === 'RS256' ? ['rsa', { modulusLength: 2048 }] : alg === 'ES256' ? ['ec', { namedCurve: 'P-256' }] : ['ed25519', {}];
  return generateKeyPairSync(type, {
    ...options,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
}

/** Calls of `fn` per second, `concurrency` at a time for `seconds`, with this process's CPU per call; a call that returns false is an error. */
async function rate(fn, seconds, concurrency = 8) {
  let calls = 0;
  let errors = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const until = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        if (!(await fn())) errors++;
        calls++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return {
    rps: calls / ((performance.now() - start) / 1000),
    errors,
    p50ms: Number.NaN,
    p99ms: Number.NaN,
    serverCpuUs: (used.user + used.system) / calls,
    redisCpuUs: 0,
  };
}

/**
 * Rows of the bench table: { name, run, ceiling: 'bare' | 'itself' | name of the ceiling, ceilingRps }.
 * `auth` is a client's Basic authorization; `startIngress(env)` starts the ingress on `baseUrl` with extra settings; `mint(signer)` saves an
 * access token signed by `signer` in its Redis; `wrk(path, token, pids, seconds)` loads a route.
 */
export async function measureAlgorithms({ seconds, baseUrl, redisUrl, auth, startIngress, mint, wrk }) {
  const rows = [];
  const revocations = await redisRevocations({ url: redisUrl });
  for (const alg of ALGORITHMS) {
    const hmac = alg.startsWith('HS');
    const secret = hmac ? 'bench-algorithms-signing-key-0123456789abcdef' : privatePem(alg);
    const ingress = await startIngress({ TESSERA_JWT_ALGORITHM: alg, TESSERA_JWT_SIGNING_KEY: secret, TESSERA_TOKEN_CACHE: '0' });
    const key = hmac ? await hmacJwtKey(secret, alg) : await pemJwtKey(alg, { privatePem: secret }, { kid: 'thumbprint' });
    const verifier = hmac ? null : createOfflineVerifier({ baseUrl, revocations });
    // the offline check trusts tokens issued once it listens to the revocation push (iat in whole seconds)
    if (verifier !== null) await sleep(Math.max(0, Math.ceil(verifier.trustedFrom / 1000) * 1000 - Date.now() + 10));
    const token = await mint(new JwtSigner({ active: key, keys: [key] }));
    // every figure below is of a live token: introspection says so, and the offline check too
    const answer = await (
      await fetch(`${baseUrl}/oauth/introspect`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${token}`,
      })
    ).json();
    if (answer.active !== true) throw new Error(`bench algorithms: the ${alg} token is not live (${JSON.stringify(answer)})`);
    rows.push({
      name: `verify ${alg} (/api/token/verify/)`,
      run: await wrk('/api/token/verify/', token, ingress.pids, seconds),
      ceiling: 'bare',
    });
    rows.push({
      name: `introspect JWT ${alg}, no token memory`,
      run: await wrk('/oauth/introspect', token, ingress.pids, seconds),
      ceiling: 'bare',
    });
    if (verifier !== null) {
      const { keys } = await (await fetch(`${baseUrl}/.well-known/jwks.json`)).json();
      const published = await importJWK(keys[0], alg);
      if ((await verifier.verify(token)).verdict !== 'active')
        throw new Error(`bench algorithms: the offline check refuses the ${alg} token`);
      const raw = await rate(() => jwtVerify(token, published, { algorithms: [alg] }).then(() => true), seconds);
      const offline = await rate(async () => (await verifier.verify(token)).verdict === 'active', seconds);
      const ceiling = `jose ${alg}`;
      rows.push({ name: `raw jose jwtVerify ${alg} (ceiling)`, run: raw, ceiling: 'itself' });
      rows.push({ name: `offline check ${alg} (SDK, in process)`, run: offline, ceiling, ceilingRps: raw.rps });
      verifier.close();
    }
    await ingress.stop();
  }
  await revocations.close();
  return rows;
}
