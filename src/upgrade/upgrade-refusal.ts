import { underLauncher } from '../fly/launcher-exit.ts';
import { OperatorError } from '../platform/operator-error.ts';
import { COMMIT } from '../version.ts';

/**
 * Why this hub cannot upgrade itself, or null when it can: in the project's
 * image (PARACHUTE_IMAGE) and on Fly or Render the binary is baked into the
 * image (a replacement would vanish on the next deploy), and a hub run from
 * source has no binary to replace. A hub run by `parachute fly-boot` (Fly,
 * deployed with `parachute deploy fly`) runs the binary on its volume and
 * upgrades in place. A bare container (/.dockerenv) where
 * someone ran install.sh upgrades like any host.
 */
export function bakedIntoImage(env: Record<string, string | undefined>): boolean {
  return Boolean(env.PARACHUTE_IMAGE || env.FLY_APP_NAME || env.RENDER);
}

export function upgradeRefusal(env: Record<string, string | undefined>): OperatorError | null {
  // Under the Fly launcher the hub binary lives on the volume: it upgrades like any host.
  if (bakedIntoImage(env) && !underLauncher(env)) {
    return new OperatorError(
      'this hub runs in a container whose binary is part of its image: it cannot replace itself.',
      'Redeploy from your platform with the new image (Fly: `parachute deploy fly --app NAME`, which also makes the hub upgrade in place from then on; Render: a new deploy; Docker: pull the new image and recreate the container). Your data stays in the volume.',
    );
  }
  if (COMMIT === 'dev') {
    return new OperatorError(
      'this hub runs from source (bun src/cli.ts), not from a release binary.',
      'Update the checkout with git, or install a release binary with install.sh.',
    );
  }
  return null;
}
