import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * uWebSockets.js (the @trufflesuite build pinned in package.json) silently falls back to a slow
 * JavaScript server when its native binary does not load. Tessera refuses to run on the fallback:
 * this returns the path of the loaded native binary or throws with the reason.
 */
export function assertNativeUws(): string {
  if (/^(1|true)$/i.test(process.env.UWS_USE_FALLBACK ?? '')) {
    throw new Error('uWebSockets.js: UWS_USE_FALLBACK is set; Tessera needs the native server. Unset it.');
  }
  require('uWebSockets.js');
  const native = Object.keys(require.cache).find(
    (p) => /uWebSockets\.js[\\/]binaries[\\/]uws_.*\.node$/.test(p) || /uws-js-unofficial[\\/]binaries[\\/]uws_.*\.node$/.test(p),
  );
  if (native === undefined) {
    const expected = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
    throw new Error(
      `uWebSockets.js fell back to its JavaScript implementation: no native binary ${expected} loaded for Node ${process.version}. ` +
        'Run on a Node version the pinned build supports (Node 20 here) or reinstall with npm ci.',
    );
  }
  return native;
}
