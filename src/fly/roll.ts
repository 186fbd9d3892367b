// Updating the one machine in place through its lease (notes, "Updating the
// image"): lease → read → copy the whole config and change only what must →
// update with the nonce → wait for the new instance → checks → release.
import { OperatorError } from '../platform/operator-error.ts';
import { rerun } from './deploy-errors.ts';
import { waitChecks, waitStarted } from './machine-wait.ts';
import { FlyApiError, FlyNoAnswer, type Machine, type MachinesApi } from './machines-api.ts';

// Long enough for the update, the boot and the checks; released in `finally` anyway.
const LEASE_TTL_S = 600;

type Config = Machine['config'];

export async function rollMachine(
  api: MachinesApi,
  app: string,
  id: string,
  change: (config: Config) => Config,
  minSecretsVersion: number | null,
): Promise<Machine> {
  let nonce: string;
  try {
    nonce = await api.acquireLease(app, id, LEASE_TTL_S);
  } catch (error) {
    if (error instanceof FlyApiError && error.status === 409) {
      throw new OperatorError(
        `the machine ${id} is leased by someone else (another deploy or a dashboard action is changing it).`,
        `Wait for it to finish (a lease expires by itself), then run the same command again.`,
      );
    }
    throw error;
  }
  try {
    const before = await api.getMachine(app, id);
    // The update replaces the config: start from all of it, or mounts, services and checks are lost.
    const config = change(structuredClone(before.config));
    const body: Record<string, unknown> = { config };
    if (minSecretsVersion !== null) body.min_secrets_version = minSecretsVersion;
    let after: Machine;
    try {
      after = await api.updateMachine(app, id, body, nonce);
    } catch (error) {
      if (!(error instanceof FlyNoAnswer)) throw error;
      // The answer was lost: a new instance means the update happened.
      after = await api.getMachine(app, id);
      if (after.instance_id === before.instance_id) {
        throw new OperatorError(
          `the update of machine ${id} got no answer and did not happen.`,
          rerun(app),
        );
      }
    }
    await waitStarted(api, app, id, after.instance_id ?? undefined);
    return await waitChecks(api, app, id);
  } finally {
    await api.releaseLease(app, id, nonce).catch(() => {
      // It expires by itself after LEASE_TTL_S.
    });
  }
}
