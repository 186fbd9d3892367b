import pkg from '../package.json' with { type: 'json' };

// Replaced by build.ts through `define`; absent when running from source.
declare const PARACHUTE_BUILD_COMMIT: string | undefined;
declare const PARACHUTE_BUILD_VERSION: string | undefined;

/** The hub's release version: what build.ts stamped, else package.json's. */
export const VERSION: string =
  typeof PARACHUTE_BUILD_VERSION === 'string' ? PARACHUTE_BUILD_VERSION : pkg.version;

/** The git commit the binary was built from ("dev" when running from source). */
export const COMMIT: string =
  typeof PARACHUTE_BUILD_COMMIT === 'string' ? PARACHUTE_BUILD_COMMIT : 'dev';
