// The type of the module build.ts generates (src/hub/spa-files.gen.ts, not
// committed). With it `npm run lint` typechecks a fresh clone before any
// build; once the build has written the module, TypeScript reads that one.
import type { SpaFiles } from './spa-files.ts';

/** Every file of the built admin SPA, embedded in the binary. */
export declare const spaFiles: SpaFiles;
