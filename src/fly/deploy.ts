// `parachute deploy fly` (issue 19 points 1, 2, 3, 5): one app, its IPs, its
// secrets, the volume, then one machine, in the order of
// ../shared/notes/fly-machines-api.md ("Minimal provisioning sequence"). Every
// step first looks for what exists (by name, or the machine's metadata), so a
// re-run after any failure continues and never makes a second app, volume or
// machine. A create whose answer was lost is followed by a fresh look, never
// by a blind second create.
import { randomBytes } from 'node:crypto';
import { OperatorError } from '../platform/operator-error.ts';
import { VERSION } from '../version.ts';
import { flyAppOrigin } from './app-url.ts';
import { createAppFailed, nameTaken, placementFailed, stepFailed } from './deploy-errors.ts';
import { HUB_MACHINE, HUB_ROLE, HUB_VOLUME, hubMachineConfig } from './machine-config.ts';
import { setupRequired, waitChecks, waitEdgeHealth, waitStarted } from './machine-wait.ts';
import {
  FlyApiError,
  FlyNoAnswer,
  type Machine,
  type MachinesApi,
  type Volume,
} from './machines-api.ts';
import { rollMachine } from './roll.ts';

export const SETUP_SECRET = 'PARACHUTE_SETUP_TOKEN';
export const IMPORT_SECRET = 'PARACHUTE_IMPORT_TOKEN';

export interface DeployPlan {
  app: string;
  org: string;
  region: string;
  sizeGb: number;
  /** --version: the release to run (a running machine is rolled to it); null keeps what runs. */
  version: string | null;
  image: string;
  releaseUrl?: string;
  /** A move: the hub is brought up empty with a one-time import token instead of a setup token. */
  move: boolean;
  /** For a move: true when the hub there is already the moved one (a re-run after success). */
  alreadyMoved?: (app: string) => Promise<boolean>;
}

export interface DeployResult {
  machine: Machine;
  volume: Volume;
  /** The version /health answered. */
  version: string;
  /** A non-move deploy that set a new setup token prints it; null when the hub already has an admin. */
  setupToken: string | null;
  /** A move: the import token set for this run (null when the hub had already been moved). */
  importToken: string | null;
}

export type Say = (line: string) => void;

/** `parachute-bootstrap-` and 32 random bytes in base64url (43 chars): the hub's own format. */
export function newSetupToken(): string {
  return `parachute-bootstrap-${randomBytes(32).toString('base64url')}`;
}

export function newImportToken(): string {
  return `parachute-import-${randomBytes(32).toString('base64url')}`;
}

export async function deployFly(
  api: MachinesApi,
  plan: DeployPlan,
  say: Say,
): Promise<DeployResult> {
  const { app } = plan;
  await step(app, 'find or create the app', () => ensureApp(api, plan, say));
  await step(app, 'allocate the IP addresses', () => ensureIps(api, app, say));
  const existing = await step(app, 'look for the machine', () => findMachine(api, app));

  // Secrets before the machine: it is created with min_secrets_version, so it boots with them.
  const tokens = await step(app, 'set the secrets', () => ensureSecrets(api, plan, existing, say));
  const volume = await step(app, 'find or create the volume', () => ensureVolume(api, plan, say));
  const version = plan.version ?? currentVersion(existing) ?? VERSION;
  let machine = existing;
  if (!machine) {
    machine = await step(app, 'create the machine', () =>
      createMachine(api, plan, volume, version, tokens.secretsVersion, say),
    );
  } else {
    say(`machine   ${machine.id} (${HUB_MACHINE}) in ${machine.region ?? volume.region}: found`);
    const rolling = currentVersion(machine) !== version;
    if (rolling || tokens.changed) {
      say(
        rolling
          ? `update    rolling ${machine.id} from ${currentVersion(machine) ?? 'its version'} to ${version} (leased)`
          : `update    restarting ${machine.id} so it takes the new secret (leased)`,
      );
      const id = machine.id;
      machine = await step(app, 'update the machine', () =>
        rollMachine(
          api,
          app,
          id,
          (config) => ({ ...config, env: { ...config.env, PARACHUTE_VERSION: version } }),
          tokens.secretsVersion,
        ),
      );
    }
  }
  const { id } = machine;
  const instance = machine.instance_id ?? undefined;
  await step(app, 'wait for the machine to start', () => waitStarted(api, app, id, instance));
  say('started   the machine is running');
  machine = await step(app, 'wait for its health check', () => waitChecks(api, app, id));
  say('checks    /health passing');
  // A hub upgraded in place (Upgrade screen) runs a newer version than its machine's env says.
  const expected = plan.version ?? (existing ? null : version);
  const answered = await waitEdgeHealth(app, expected);
  say(`online    ${flyAppOrigin(app)}/health answers version ${answered}`);
  return {
    machine,
    volume,
    version: answered,
    setupToken: tokens.setupToken,
    importToken: tokens.importToken,
  };
}

/** Runs one step; an API failure becomes an OperatorError that says what to do. */
async function step<T>(app: string, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw stepFailed(app, what, error);
  }
}

function currentVersion(machine: Machine | null): string | null {
  return machine?.config.env?.PARACHUTE_VERSION ?? null;
}

/** 1. The app: reused when it is ours (200), created when the name is free (404), refused on 403. */
async function ensureApp(api: MachinesApi, plan: DeployPlan, say: Say): Promise<void> {
  const { app, org } = plan;
  const found = await lookUpApp(api, app);
  if (found) {
    say(
      `app       ${app}: found${found.organization?.slug ? ` in ${found.organization.slug}` : ''}`,
    );
    return;
  }
  try {
    await api.createApp(app, org);
  } catch (error) {
    // A 422 or a lost answer may be our own earlier create: look again before calling it taken.
    const maybeOurs =
      error instanceof FlyNoAnswer ||
      (error instanceof FlyApiError && (error.status === 422 || error.status >= 500));
    if (maybeOurs && (await lookUpApp(api, app))) {
      say(`app       ${app}: created in ${org}`);
      return;
    }
    if (error instanceof FlyApiError) throw createAppFailed(app, org, error);
    throw error;
  }
  say(`app       ${app}: created in ${org}`);
}

async function lookUpApp(api: MachinesApi, app: string) {
  try {
    return await api.getApp(app);
  } catch (error) {
    if (error instanceof FlyApiError && error.status === 403) throw nameTaken(app);
    throw error;
  }
}

/** 2. A shared IPv4 (free) and an IPv6: without them https://NAME.fly.dev does not resolve. */
async function ensureIps(api: MachinesApi, app: string, say: Say): Promise<void> {
  const wanted: { type: 'shared_v4' | 'v6'; has: (ip: string) => boolean }[] = [
    { type: 'shared_v4', has: (ip) => ip.includes('.') },
    { type: 'v6', has: (ip) => ip.includes(':') },
  ];
  const ips = await api.listIps(app);
  const made: string[] = [];
  for (const { type, has } of wanted) {
    if (ips.some((i) => has(i.ip))) continue;
    await createOnce(
      async () => {
        await api.assignIp(app, type);
        return true;
      },
      async () => ((await api.listIps(app)).some((i) => has(i.ip)) ? true : null),
    );
    made.push(type);
  }
  say(
    `ips       ${made.length > 0 ? `allocated ${made.join(' + ')}` : 'shared IPv4 + IPv6: found'}`,
  );
}

/** The hub's machine: found by its metadata, so a renamed or re-created one is still found. */
async function findMachine(api: MachinesApi, app: string): Promise<Machine | null> {
  const machines = (await api.listMachines(app, HUB_ROLE)).filter(
    (m) => m.state !== 'destroyed' && m.state !== 'destroying',
  );
  if (machines.length > 1) {
    throw new OperatorError(
      `the app ${app} has ${machines.length} hub machines (${machines.map((m) => m.id).join(', ')}); a hub runs on exactly one.`,
      'Destroy the extra ones in the Fly dashboard (keep the one with the volume attached), then run the command again.',
    );
  }
  return machines[0] ?? null;
}

/**
 * 3. Secrets. A first deploy presets the hub's setup token (issue 19 point 5);
 * a move sets a one-time import token instead. A re-run sets a fresh token
 * only while it is still needed and cannot be shown again (secret values are
 * write-only): no machine yet, or a hub that still has no admin (or has not
 * been moved into). A hub that has its admin keeps its secrets untouched.
 */
async function ensureSecrets(
  api: MachinesApi,
  plan: DeployPlan,
  machine: Machine | null,
  say: Say,
): Promise<{
  secretsVersion: number | null;
  changed: boolean;
  setupToken: string | null;
  importToken: string | null;
}> {
  const { app } = plan;
  const { version } = await api.listSecrets(app);
  const values: Record<string, string> = {};
  let setupToken: string | null = null;
  let importToken: string | null = null;
  if (plan.move) {
    const moved = machine !== null && (await plan.alreadyMoved?.(app)) === true;
    if (!moved) importToken = values[IMPORT_SECRET] = newImportToken();
  } else {
    const needsToken = machine === null || (await setupRequired(app)) !== false;
    if (needsToken) setupToken = values[SETUP_SECRET] = newSetupToken();
  }
  if (Object.keys(values).length === 0) {
    say('secrets   nothing to change');
    return { secretsVersion: version, changed: false, setupToken, importToken };
  }
  let newVersion: number | null;
  try {
    newVersion = await api.setSecrets(app, values);
  } catch (error) {
    // Setting the same values twice is harmless: send it again.
    if (!(error instanceof FlyNoAnswer)) throw error;
    newVersion = await api.setSecrets(app, values);
  }
  say(
    `secrets   set ${Object.keys(values).join(', ')}${newVersion !== null ? ` (version ${newVersion})` : ''}`,
  );
  return {
    secretsVersion: newVersion ?? version,
    changed: machine !== null,
    setupToken,
    importToken,
  };
}

/** 4. The volume, before the machine: it is pinned to a host, and the machine goes where it is. */
async function ensureVolume(api: MachinesApi, plan: DeployPlan, say: Say): Promise<Volume> {
  const { app, region } = plan;
  const find = async () =>
    (await api.listVolumes(app)).find(
      (v) => v.name === HUB_VOLUME && !/destroy/.test(v.state ?? ''),
    );
  const found = await find();
  if (found) {
    const moved = found.region !== region ? ` (not ${region}: the volume stays where it is)` : '';
    say(
      `volume    ${found.id} (${HUB_VOLUME}, ${found.size_gb ?? '?'} GB) in ${found.region}: found${moved}`,
    );
    return found;
  }
  let volume: Volume;
  try {
    volume = await createOnce(
      () => api.createVolume(app, { name: HUB_VOLUME, region, size_gb: plan.sizeGb }),
      find,
    );
  } catch (error) {
    if (error instanceof FlyApiError && error.status < 500)
      throw placementFailed(app, 'volume', region, error);
    throw error;
  }
  say(`volume    ${volume.id} (${HUB_VOLUME}, ${plan.sizeGb} GB) in ${volume.region}: created`);
  return volume;
}

/** 5. The machine, in the volume's region, after the secrets it needs have propagated. */
async function createMachine(
  api: MachinesApi,
  plan: DeployPlan,
  volume: Volume,
  version: string,
  secretsVersion: number | null,
  say: Say,
): Promise<Machine> {
  const { app } = plan;
  const body: Record<string, unknown> = {
    name: HUB_MACHINE,
    // The region the API gave the volume, which may not be the one asked for.
    region: volume.region,
    config: hubMachineConfig({
      image: plan.image,
      volumeId: volume.id,
      version,
      releaseUrl: plan.releaseUrl,
    }),
  };
  if (secretsVersion !== null) body.min_secrets_version = secretsVersion;
  let machine: Machine;
  try {
    // A lost answer: listed by metadata before anything else.
    machine = await createOnce(
      () => api.createMachine(app, body),
      () => findMachine(api, app),
    );
  } catch (error) {
    if (error instanceof FlyApiError && error.status < 500)
      throw placementFailed(app, 'machine', volume.region, error);
    throw error;
  }
  say(
    `machine   ${machine.id} (${HUB_MACHINE}, shared-cpu-1x, 512 MB) in ${machine.region ?? volume.region}: created, version ${version}`,
  );
  return machine;
}

/**
 * Sends a create. When its answer is lost, or is an error on Fly's side
 * (5xx), it may still have happened: `find` looks, and what it finds is
 * used. Only when nothing is there does the step fail (and a re-run sends
 * it again): never a blind second create.
 */
async function createOnce<T>(
  create: () => Promise<T>,
  find: () => Promise<T | null | undefined>,
): Promise<T> {
  try {
    return await create();
  } catch (error) {
    const unsure =
      error instanceof FlyNoAnswer || (error instanceof FlyApiError && error.status >= 500);
    if (!unsure) throw error;
    const found = await find();
    if (found) return found;
    throw error;
  }
}

/** `--destroy`: the app and everything in it (machines, the volume and its data, IPs, secrets). */
export async function destroyFly(api: MachinesApi, app: string, say: Say): Promise<boolean> {
  const found = await step(app, 'look up the app', () => lookUpApp(api, app));
  if (!found) {
    say(`app       ${app}: does not exist, nothing to destroy`);
    return false;
  }
  await step(app, 'delete the app', () => api.deleteApp(app));
  say(`destroyed ${app}: its machine, volume (and the hub's data on it), IPs and secrets`);
  return true;
}

/** Removes the used import token from the app's secrets (the hub refuses a used one anyway). */
export async function dropImportSecret(api: MachinesApi, app: string): Promise<void> {
  await step(app, 'remove the import token', () => api.setSecrets(app, { [IMPORT_SECRET]: null }));
}
