import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectRedis, luaScripts, type ScriptCommands, type TesseraRedis } from './redis.ts';

/** Every typed script command: the compiler holds this to ScriptCommands, the test to `lua/`. */
const TYPED: Readonly<Record<keyof ScriptCommands, true>> = {
  putUsers: true,
  setPassword: true,
  claimIndex: true,
  settleIndex: true,
  readUsers: true,
  repairIndex: true,
  releaseIndex: true,
  raiseSeq: true,
  countRate: true,
  patchUser: true,
  indexTokens: true,
  revokeStep: true,
  dropLegacyFamily: true,
  beginLogin: true,
  finishLogin: true,
  escalateLock: true,
  clearLock: true,
  appendAudit: true,
  useRefresh: true,
  consumeAccess: true,
  familyLive: true,
  revokeToken: true,
};

let redis: TesseraRedis;

beforeAll(async () => {
  redis = await connectRedis({ url: inject('redisUrl') });
});
afterAll(async () => {
  await redis.quit();
});

describe('the Lua scripts, found in lua/', () => {
  it('are exactly the typed commands, each a command of a connected client', () => {
    const found = luaScripts().map((s) => s.name);
    expect(found.sort()).toStrictEqual(Object.keys(TYPED).sort());
    for (const name of found) expect(typeof (redis as unknown as Record<string, unknown>)[name], name).toBe('function');
  });

  it('each compile in Redis, and read no more keys than their file name says (name-n: any number)', async () => {
    for (const { name, numberOfKeys, lua } of luaScripts()) {
      await expect(redis.script('LOAD', lua), name).resolves.toMatch(/^[0-9a-f]{40}$/);
      const used = [...lua.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1]));
      if (numberOfKeys === null) expect(used, name).toStrictEqual([]);
      else expect(Math.max(0, ...used), name).toBeLessThanOrEqual(numberOfKeys);
    }
  });
});

describe('where the scripts are read from', () => {
  it('the built module reads the sources: a script left in dist/ by an older build (or a build cache) is never loaded', async () => {
    const { mkdirSync, rmSync, writeFileSync } = await import('node:fs');
    const stale = new URL('../dist/lua/', import.meta.url);
    mkdirSync(stale, { recursive: true });
    // an older build's copy of a script since renamed: the same name with another key count
    writeFileSync(new URL('clearLock-3.lua', stale), 'return 0');
    try {
      const built = (await import(new URL('../dist/redis.js', import.meta.url).href)) as { luaScripts: typeof luaScripts };
      expect(built.luaScripts().map((s) => s.name)).toStrictEqual(luaScripts().map((s) => s.name));
    } finally {
      rmSync(stale, { recursive: true, force: true });
    }
  });
});
