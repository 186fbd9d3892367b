import type { ProvisionerConfig } from './config.ts';
import { FlyMachinesHubFly } from './hub-fly.ts';
import { SmtpMailer } from './mailer.ts';

/**
 * What `parachute provisioner serve` drives: the real Fly client (against
 * the Machines API at `config.fly.api`) and SMTP. The caller closes the
 * mailer when it stops.
 */
export function liveDeps(config: ProvisionerConfig): {
  fly: FlyMachinesHubFly;
  mailer: SmtpMailer;
} {
  return {
    mailer: new SmtpMailer(config.mail.smtpUrl, config.mail.from),
    fly: new FlyMachinesHubFly({
      token: config.fly.token,
      org: config.fly.org,
      api: config.fly.api,
      image: config.fly.image,
      releaseUrl: config.fly.releaseUrl,
    }),
  };
}
