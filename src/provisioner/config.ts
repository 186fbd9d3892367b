// The provisioner's configuration (issue 20 point 1): all of it from the
// environment, checked once at start so a missing or malformed value stops
// the service with a message naming the variable, never a failed job later.
import { join, resolve } from 'node:path';
import { OperatorError } from '../platform/operator-error.ts';

export interface ProvisionerConfig {
  home: string;
  port: number;
  host: string;
  fly: {
    token: string;
    org: string;
    api: string;
    region: string;
    appPrefix: string;
    image: string;
    /** Where hubs' launchers fetch the release from, when not the default channel. */
    releaseUrl: string | undefined;
    /** PARACHUTE_FLY_EDGE: tests reach https://NAME.fly.dev through a local fake edge. */
    edge: string | undefined;
  };
  /** The provisioner's own public URL, for the export links it mails (default: where it listens). */
  publicUrl: string | undefined;
  stripe: { webhookSecret: string; toleranceS: number };
  dns: { token: string; zoneId: string; domain: string; api: string };
  mail: { smtpUrl: string; from: string; adminEmail: string };
  hubVersion: string;
  volumeSizeGb: number;
  adminToken: string;
  /** Retries of one step: attempts before the job fails, and the first backoff (doubles each time). */
  retry: { attempts: number; baseMs: number; maxMs: number };
  /** How long one try of "wait for health" may take. */
  healthTimeoutS: number;
  /** How long one try of "wait for the certificate" may take. */
  certificateTimeoutS: number;
  /** Steps in flight at once across all jobs (waiting for health does not count). */
  concurrency: number;
}

type Env = Record<string, string | undefined>;

/** One line per variable, as `--help` and the README list them. */
export const CONFIG_HELP = [
  'Required environment:',
  '  FLY_API_TOKEN              org-scoped Fly token (fly tokens create org): creates one app per operator',
  '  FLY_ORG                    the Fly organization slug the hubs go in',
  '  STRIPE_WEBHOOK_SECRET      the endpoint signing secret (whsec_…) of the POST /provision webhook',
  '  CLOUDFLARE_API_TOKEN       a Cloudflare token with DNS edit on the zone',
  '  CLOUDFLARE_ZONE_ID         the zone holding PROVISIONER_DOMAIN',
  '  PROVISIONER_DOMAIN         hubs get https://<slug>.<this domain>',
  '  SMTP_URL                   smtp(s)://user:pass@host:port for setup links and alerts',
  '  MAIL_FROM                  the From address of those mails',
  '  PROVISIONER_ADMIN_EMAIL    where failed-job alerts go',
  '  PROVISIONER_HUB_VERSION    the hub release new hubs run (e.g. 0.4.0)',
  '  PROVISIONER_ADMIN_TOKEN    bearer for GET /status and POST /teardown (32+ characters)',
  'Optional:',
  '  PROVISIONER_HOME           state folder (default ~/.parachute-provisioner); provisioner.db lives here',
  '  PORT, PROVISIONER_BIND_HOST  listen address (default 8080 on 127.0.0.1)',
  '  PROVISIONER_PUBLIC_URL     its public https URL: export links in teardown mails point here',
  '  FLY_REGION (iad), PROVISIONER_APP_PREFIX (parachute-), PROVISIONER_VOLUME_GB (1),',
  '  PARACHUTE_FLY_IMAGE, PARACHUTE_RELEASE_URL, FLY_API_HOSTNAME, CLOUDFLARE_API_BASE,',
  '  STRIPE_TOLERANCE_S (300), PROVISIONER_STEP_ATTEMPTS (6), PROVISIONER_RETRY_BASE_MS (2000),',
  '  PROVISIONER_HEALTH_TIMEOUT_S (300), PROVISIONER_CONCURRENCY (8 steps in flight at once)',
].join('\n');

/** Reads and checks every variable; throws one OperatorError listing all that are wrong. */
export function loadConfig(env: Env = process.env): ProvisionerConfig {
  const problems: string[] = [];
  const need = (name: string, check?: (v: string) => string | null): string => {
    const value = env[name]?.trim() ?? '';
    if (value === '') {
      problems.push(`${name} is not set`);
      return '';
    }
    const wrong = check?.(value);
    if (wrong) problems.push(`${name} ${wrong}`);
    return value;
  };
  const optional = (name: string, fallback: string) => env[name]?.trim() || fallback;
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const url = (v: string) => {
    try {
      new URL(v);
      return null;
    } catch {
      return `is not a URL ("${v.slice(0, 40)}")`;
    }
  };

  const config: ProvisionerConfig = {
    home: resolve(
      env.PROVISIONER_HOME?.trim() || join(env.HOME || '/tmp', '.parachute-provisioner'),
    ),
    port: integer('PORT', 8080, 0, 65535),
    host: optional('PROVISIONER_BIND_HOST', '127.0.0.1'),
    fly: {
      token: need('FLY_API_TOKEN'),
      org: need('FLY_ORG', (v) =>
        /^[a-z0-9-]+$/.test(v) ? null : 'must be an org slug (lowercase letters, digits, -)',
      ),
      api: optional('FLY_API_HOSTNAME', 'https://api.machines.dev'),
      region: optional('FLY_REGION', 'iad'),
      appPrefix: optional('PROVISIONER_APP_PREFIX', 'parachute-'),
      image: '',
      releaseUrl: env.PARACHUTE_RELEASE_URL?.trim() || undefined,
      edge: env.PARACHUTE_FLY_EDGE?.trim() || undefined,
    },
    stripe: {
      webhookSecret: need('STRIPE_WEBHOOK_SECRET', (v) =>
        v.startsWith('whsec_')
          ? null
          : 'must be the endpoint signing secret starting with whsec_ (Stripe dashboard → Webhooks → the endpoint → Signing secret), not an API key',
      ),
      toleranceS: integer('STRIPE_TOLERANCE_S', 300, 1, 3600),
    },
    dns: {
      token: need('CLOUDFLARE_API_TOKEN'),
      zoneId: need('CLOUDFLARE_ZONE_ID', (v) =>
        /^[0-9a-f]{32}$/.test(v) ? null : 'must be the 32-hex-character zone id',
      ),
      domain: need('PROVISIONER_DOMAIN', (v) =>
        /^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/.test(v)
          ? null
          : 'must be a lowercase domain name like hubs.example.com',
      ),
      api: optional('CLOUDFLARE_API_BASE', 'https://api.cloudflare.com/client/v4'),
    },
    mail: {
      smtpUrl: need('SMTP_URL', (v) =>
        /^smtps?:\/\//.test(v) && url(v) === null
          ? null
          : 'must look like smtp://user:pass@host:587 or smtps://user:pass@host:465',
      ),
      from: need('MAIL_FROM', (v) => (v.includes('@') ? null : 'must be an email address')),
      adminEmail: need('PROVISIONER_ADMIN_EMAIL', (v) =>
        v.includes('@') ? null : 'must be an email address',
      ),
    },
    publicUrl: env.PROVISIONER_PUBLIC_URL?.trim().replace(/\/+$/, '') || undefined,
    hubVersion: need('PROVISIONER_HUB_VERSION', (v) =>
      /^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(v)
        ? null
        : 'must be a release version like 0.4.0',
    ),
    volumeSizeGb: integer('PROVISIONER_VOLUME_GB', 1, 1, 500),
    adminToken: need('PROVISIONER_ADMIN_TOKEN', (v) =>
      v.length >= 32 ? null : 'must be at least 32 characters (e.g. openssl rand -hex 32)',
    ),
    retry: {
      attempts: integer('PROVISIONER_STEP_ATTEMPTS', 6, 1, 100),
      baseMs: integer('PROVISIONER_RETRY_BASE_MS', 2000, 1, 600_000),
      maxMs: 5 * 60_000,
    },
    healthTimeoutS: integer('PROVISIONER_HEALTH_TIMEOUT_S', 300, 1, 3600),
    certificateTimeoutS: integer('PROVISIONER_CERTIFICATE_TIMEOUT_S', 300, 1, 3600),
    concurrency: integer('PROVISIONER_CONCURRENCY', 8, 1, 256),
  };
  for (const name of [
    'FLY_API_HOSTNAME',
    'CLOUDFLARE_API_BASE',
    'PARACHUTE_RELEASE_URL',
    'PARACHUTE_FLY_EDGE',
    'PROVISIONER_PUBLIC_URL',
  ] as const) {
    const v = env[name]?.trim();
    const wrong = v ? url(v) : null;
    if (wrong) problems.push(`${name} ${wrong}`);
  }
  config.fly.image =
    env.PARACHUTE_FLY_IMAGE?.trim() ||
    `ghcr.io/openparachute/parachute-hub:${config.hubVersion || 'latest'}`;
  if (problems.length > 0) {
    throw new OperatorError(
      `the provisioner is not configured:\n${problems.map((p) => `    - ${p}`).join('\n')}`,
      'Set these environment variables (see `parachute provisioner serve --help`), then start it again.',
    );
  }
  return config;
}

/** Secrets the provisioner must never print; used to scrub error text before it is stored or mailed. */
export function secretsOf(config: ProvisionerConfig): string[] {
  const fromUrl = (() => {
    try {
      return decodeURIComponent(new URL(config.mail.smtpUrl).password);
    } catch {
      return '';
    }
  })();
  return [
    config.fly.token,
    config.stripe.webhookSecret,
    config.dns.token,
    config.adminToken,
    fromUrl,
  ].filter((s) => s.length >= 6);
}
