// The Fly side of provisioning, as the job steps see it. Every method is
// idempotent (it looks before it creates), because a provisioner killed
// between "created" and "recorded" runs the same step again on restart.

import { z } from 'zod';
import { HUB_MACHINE, HUB_ROLE, HUB_VOLUME, hubMachineConfig } from '../fly/machine-config.ts';
import { waitChecks, waitStarted } from '../fly/machine-wait.ts';
import { FlyApiError, FlyNoAnswer, MachinesApi, type Volume } from '../fly/machines-api.ts';

/** Thrown for a step that retrying cannot fix (a name owned by someone else, a refused request). */
export class PermanentStepError extends Error {
  override name = 'PermanentStepError';
}

export interface HubFly {
  /** free: nobody has the name; ours: it exists in our org; taken: someone else's. */
  appAvailability(app: string): Promise<'free' | 'ours' | 'taken'>;
  ensureApp(app: string): Promise<void>;
  ensureIps(app: string): Promise<void>;
  ensureVolume(
    app: string,
    region: string,
    sizeGb: number,
  ): Promise<{ id: string; region: string }>;
  /** Sets the secrets; returns the app's secrets version (the machine waits for it). */
  setSecrets(app: string, values: Record<string, string>): Promise<number | null>;
  ensureMachine(
    app: string,
    input: { volumeId: string; region: string; version: string; secretsVersion: number | null },
  ): Promise<{ id: string }>;
  /** Resolves once the machine started and its /health check passes. */
  waitHealthy(app: string, machineId: string, timeoutS: number): Promise<void>;
  ensureCertificate(app: string, hostname: string): Promise<void>;
  /** Asks Fly to validate the certificate now; true once it is issued (`configured`). */
  certificateConfigured(app: string, hostname: string): Promise<boolean>;
  /** Deletes the app and everything in it (machines, volume, IPs, secrets); false if it was gone. */
  destroyApp(app: string): Promise<boolean>;
}

export interface FlyMachinesOptions {
  token: string;
  org: string;
  api: string;
  image: string;
  releaseUrl?: string;
}

/** The real HubFly: the Machines API client of `parachute deploy fly` (src/fly/). */
export class FlyMachinesHubFly implements HubFly {
  readonly api: MachinesApi;
  constructor(private readonly options: FlyMachinesOptions) {
    this.api = new MachinesApi({ token: options.token, base: options.api });
  }

  async appAvailability(app: string): Promise<'free' | 'ours' | 'taken'> {
    try {
      const found = await this.api.getApp(app);
      if (!found) return 'free';
      const org = found.organization?.slug;
      return org && org !== this.options.org ? 'taken' : 'ours';
    } catch (error) {
      if (error instanceof FlyApiError && error.status === 403) return 'taken';
      throw error;
    }
  }

  async ensureApp(app: string): Promise<void> {
    const state = await this.appAvailability(app);
    if (state === 'ours') return;
    if (state === 'taken')
      throw new PermanentStepError(`the Fly app name ${app} belongs to someone else`);
    try {
      await this.api.createApp(app, this.options.org);
    } catch (error) {
      // A 422 or a lost answer may be our own earlier create: look again.
      const maybeOurs =
        error instanceof FlyNoAnswer ||
        (error instanceof FlyApiError && (error.status === 422 || error.status >= 500));
      if (maybeOurs && (await this.appAvailability(app)) === 'ours') return;
      throw refusedIsPermanent(error);
    }
  }

  async ensureIps(app: string): Promise<void> {
    const wanted = [
      { type: 'shared_v4' as const, has: (ip: string) => ip.includes('.') },
      { type: 'v6' as const, has: (ip: string) => ip.includes(':') },
    ];
    for (const { type, has } of wanted) {
      // Listed again before each assignment: a lost answer may have assigned it.
      const ips = await this.api.listIps(app);
      if (!ips.some((i) => has(i.ip))) await this.api.assignIp(app, type);
    }
  }

  async ensureVolume(app: string, region: string, sizeGb: number) {
    const find = async (): Promise<Volume | undefined> =>
      (await this.api.listVolumes(app)).find(
        (v) => v.name === HUB_VOLUME && !/destroy/.test(v.state ?? ''),
      );
    const found = await find();
    if (found) return { id: found.id, region: found.region };
    try {
      const made = await this.api.createVolume(app, { name: HUB_VOLUME, region, size_gb: sizeGb });
      return { id: made.id, region: made.region };
    } catch (error) {
      const after = error instanceof FlyNoAnswer ? await find() : undefined;
      if (after) return { id: after.id, region: after.region };
      throw refusedIsPermanent(error);
    }
  }

  async setSecrets(app: string, values: Record<string, string>): Promise<number | null> {
    return await this.api.setSecrets(app, values);
  }

  async ensureMachine(
    app: string,
    input: { volumeId: string; region: string; version: string; secretsVersion: number | null },
  ): Promise<{ id: string }> {
    const find = async () =>
      (await this.api.listMachines(app, HUB_ROLE)).find(
        (m) => m.state !== 'destroyed' && m.state !== 'destroying',
      );
    const found = await find();
    if (found) return { id: found.id };
    const body: Record<string, unknown> = {
      name: HUB_MACHINE,
      region: input.region,
      config: hubMachineConfig({
        image: this.options.image,
        volumeId: input.volumeId,
        version: input.version,
        releaseUrl: this.options.releaseUrl,
      }),
    };
    if (input.secretsVersion !== null) body.min_secrets_version = input.secretsVersion;
    try {
      return { id: (await this.api.createMachine(app, body)).id };
    } catch (error) {
      const after = error instanceof FlyNoAnswer ? await find() : undefined;
      if (after) return { id: after.id };
      throw refusedIsPermanent(error);
    }
  }

  async waitHealthy(app: string, machineId: string, timeoutS: number): Promise<void> {
    const machine = await this.api.getMachine(app, machineId);
    await waitStarted(this.api, app, machineId, machine.instance_id ?? undefined, timeoutS);
    await waitChecks(this.api, app, machineId, timeoutS);
  }

  async ensureCertificate(app: string, hostname: string): Promise<void> {
    const path = `/apps/${encodeURIComponent(app)}/certificates`;
    const { status } = await this.api.call(
      'GET',
      `${path}/${encodeURIComponent(hostname)}`,
      z.unknown(),
      { accept: [404] },
    );
    if (status !== 404) return;
    await this.api.call('POST', `${path}/acme`, z.unknown(), { body: { hostname } });
  }

  async certificateConfigured(app: string, hostname: string): Promise<boolean> {
    const path = `/apps/${encodeURIComponent(app)}/certificates/${encodeURIComponent(hostname)}`;
    const { data } = await this.api.call(
      'POST',
      `${path}/check`,
      z.object({ configured: z.boolean().optional() }).passthrough(),
    );
    return data?.configured === true;
  }

  async destroyApp(app: string): Promise<boolean> {
    return await this.api.deleteApp(app);
  }
}

/** A 4xx other than 408/429 will answer the same next time: no point in retrying it. */
function refusedIsPermanent(error: unknown): unknown {
  if (
    error instanceof FlyApiError &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 408 &&
    error.status !== 429
  ) {
    return new PermanentStepError(
      `Fly refused ${error.method} ${error.path}: ${error.status} ${error.code} ${error.message}`.trim(),
    );
  }
  return error;
}
