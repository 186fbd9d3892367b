import pkg from '../package.json' with { type: 'json' };

// Replaced by build.ts through `define`; absent when running from source.
declare const PARACHUTE_BUILD_COMMIT: string | undefined;

/** The hub's release version, from package.json. */
export const VERSION: string = pkg.version;

/** The git commit the binary was built from ("dev" when running from source). */
export const COMMIT: string =
  typeof PARACHUTE_BUILD_COMMIT === 'string' ? PARACHUTE_BUILD_COMMIT : 'dev';
