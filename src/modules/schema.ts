// The file formats modules and the hub share (modules.md sections 1-2).
// Field names are upstream's: existing modules must run unchanged. Unknown
// keys are kept everywhere (looseObject), never an error.
import * as z from 'zod/mini';

const mountPath = z.string().check(
  z.regex(/^\/[A-Za-z0-9._~\-/]*$/, 'must start with / and contain only URL path characters'),
  z.refine((p) => !p.includes('//') && !p.split('/').includes('..'), 'must not contain // or ..'),
);
// A UI link (modules/ui-links.ts resolves it): an absolute http(s) URL, a
// path from the hub's origin (`/x`), or a path relative to the module's
// mount (`admin/`, `./`). Only URL characters: browsers read `\` as `/`
// and drop tabs and newlines, so `/\evil.example` would leave the site.
// `//host` is protocol-relative (another site), `..` (or `%2e%2e`, which
// browsers decode) could climb out of the mount, and any other scheme (`javascript:`) would run in the hub's pages.
const linkTarget = z.string().check(
  z.refine((v) => {
    if (!/^[A-Za-z0-9._~!$&'()*+,;=:@%/?#-]+$/.test(v) || /\.\.|%2e/i.test(v)) return false;
    const scheme = /^https?:\/\//.exec(v)?.[0];
    if (!scheme && /^[^/?#]*:/.test(v)) return false;
    return !(scheme ? v.slice(scheme.length) : v).includes('//');
  }, 'must be an http(s) URL, a path starting with /, or a path relative to the mount (like admin/), without //, .. or another scheme'),
);
const port = z.int().check(z.gte(1), z.lte(65535));

/** `.parachute/module.json`, shipped by a module package or given at install. */
export const ModuleManifest = z.looseObject({
  /** Short URL-safe key, e.g. `vault`. */
  name: z
    .string()
    .check(
      z.regex(
        /^[a-z][a-z0-9-]*$/,
        'use lowercase letters, digits and dashes, starting with a letter',
      ),
    ),
  /** Row key in services.json, e.g. `parachute-vault`. */
  manifestName: z.string().check(z.minLength(1), z.maxLength(214)),
  /** Preferred port; the registry may assign another (it is the port authority). */
  port,
  /** Mount paths on the hub; may be empty. */
  paths: z.array(mountPath),
  /** Path on the module's own port; 2xx or 401 means alive. */
  health: z.string().check(z.regex(/^\//, 'must start with /')),
  /** argv to run, no shell; absent = never spawned. `${PORT}` is replaced with the assigned port. */
  startCmd: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))),
  /** Labels for the admin UI. */
  displayName: z.optional(z.string()),
  tagline: z.optional(z.string()),
  /** Proxy removes the mount path before forwarding (default false). */
  stripPrefix: z.optional(z.boolean()),
  /** Proxy bridges WebSocket upgrades (default false). */
  websocket: z.optional(z.boolean()),
  /** OAuth scopes the module owns, each `<name>:<verb>`. */
  scopes: z.optional(
    z.looseObject({
      defines: z.optional(
        z.array(
          z.string().check(
            // Verbs beyond read|write|admin exist upstream (scribe's
            // `scribe:transcribe`); they are granted like read and write.
            z.regex(/^[a-z][a-z0-9-]*(:[a-z0-9-]+)*:[a-z][a-z0-9-]*$/, 'use <name>:<verb>'),
          ),
        ),
      ),
    }),
  ),
  /** The module's own UI: a tile on `/`, in the admin's Overview and in discovery (ui-links.ts). */
  uiUrl: z.optional(linkTarget),
  /** Where an admin manages it (per vault for a vault-like module): a "Manage" link. */
  managementUrl: z.optional(linkTarget),
  /** Its own settings page: a "Configure" link in the admin UI. */
  configUiUrl: z.optional(linkTarget),
  /**
   * Vault credentials the module can be given through Connections
   * (auth/connections-routes.ts): one per `key`, for the vault the admin
   * picks. The scope is a template: `{vault}` is filled in at link time, so
   * a module never names a vault itself, and never asks for admin.
   */
  credentials: z.optional(
    z.array(
      z.looseObject({
        key: z
          .string()
          .check(z.regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lowercase letters, digits, _ and -')),
        title: z.string().check(z.minLength(1)),
        description: z.optional(z.string()),
        scope: z
          .string()
          .check(
            z.regex(
              /^vault:\{vault\}:(read|write)$/,
              'must be vault:{vault}:read or vault:{vault}:write (no admin, no other module, no vault name)',
            ),
          ),
        endpoint: mountPath,
      }),
    ),
  ),
  /** Readiness gate for this module in ms (default 10000). */
  readyTimeoutMs: z.optional(z.int().check(z.gte(100), z.lte(600_000))),
});
export type ModuleManifest = z.infer<typeof ModuleManifest>;

/** One row of services.json: what the proxy and supervisor know about a module. */
export const ServiceRow = z.looseObject({
  /** Key: the module's manifestName. */
  name: z.string().check(z.minLength(1)),
  /** The port the child gets as PORT. */
  port,
  paths: z.array(z.string()),
  health: z.string(),
  version: z.string(),
  displayName: z.optional(z.string()),
  tagline: z.optional(z.string()),
  /** Package root the child runs in; absent for rows a module registered itself. */
  installDir: z.optional(z.string()),
  stripPrefix: z.optional(z.boolean()),
  websocket: z.optional(z.boolean()),
  /** `allowed` | `loopback` | `auth-required` (default allowed). */
  publicExposure: z.optional(z.enum(['allowed', 'loopback', 'auth-required'])),
  /**
   * Hosted UIs and who may open them. Read entry by entry in uis.ts, never
   * here: a bad entry must not cost the module its row and its routes.
   */
  uis: z.optional(z.unknown()),
});
export type ServiceRow = z.infer<typeof ServiceRow>;

/** The services.json document. */
export const ServicesFile = z.looseObject({ services: z.array(z.unknown()) });

export { describeIssue } from './issues.ts';
