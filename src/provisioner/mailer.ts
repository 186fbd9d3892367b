// Mail out of the provisioner: the operator's setup link and the admin's
// failed-job alert. SMTP through nodemailer (no hand-written SMTP).
import nodemailer from 'nodemailer';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
}

export class SmtpMailer implements Mailer {
  private readonly transport: ReturnType<typeof nodemailer.createTransport>;
  constructor(
    smtpUrl: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport(smtpUrl);
  }

  async send(mail: Mail): Promise<void> {
    await this.transport.sendMail({ from: this.from, ...mail });
  }

  close(): void {
    this.transport.close();
  }
}

export function setupLinkMail(to: string, origin: string, token: string): Mail {
  return {
    to,
    subject: 'Your Parachute hub is ready',
    text: [
      'Thank you! Your hub is running at',
      `  ${origin}`,
      '',
      'Claim it (create your admin account) by opening',
      `  ${origin}/admin/setup`,
      'and entering this one-time setup token:',
      `  ${token}`,
      '',
      'The token works once. Keep this mail private until you have used it.',
    ].join('\n'),
  };
}

export function failedJobMail(
  to: string,
  job: { id: number; slug: string | null; customerEmail: string; error: string | null },
  leftovers: string[],
): Mail {
  return {
    to,
    subject: `Provisioning job ${job.id} failed (${job.slug ?? 'no slug yet'})`,
    text: [
      `Job ${job.id} for ${job.customerEmail} stopped after its retry budget:`,
      `  ${job.error ?? 'unknown error'}`,
      '',
      leftovers.length > 0
        ? `It left these billable resources in place (nothing is deleted automatically):\n${leftovers.map((l) => `  - ${l}`).join('\n')}`
        : 'It created nothing billable.',
      '',
      `See GET /status/${job.slug ?? '<slug>'} for each step. Runbook: README, "Hosting many hubs" → "A failed job".`,
      'Retry it after fixing the cause with POST /retry {"slug"}, or remove what it made with POST /teardown {"slug"}.',
    ].join('\n'),
  };
}

export function subscriptionEndedMail(
  to: string,
  job: { id: number; slug: string | null; customerEmail: string; data: { app?: string } },
): Mail {
  return {
    to,
    subject: `Subscription ended: hub ${job.slug ?? job.id} needs you`,
    text: [
      `Stripe says the subscription of ${job.customerEmail} ended (job ${job.id}, app ${job.data.app ?? 'none'}),`,
      'while its job was still provisioning or had failed, so no teardown was started:',
      'the provisioner never destroys a hub without an export. Once the job is done,',
      `POST /teardown {"slug": "${job.slug ?? ''}"} exports it, mails the operator, then removes it;`,
      'for a job that failed, POST /teardown removes what it left.',
    ].join('\n'),
  };
}

export function exportLinkMail(
  to: string,
  hostname: string,
  link: string | null,
  expiresAt: number,
): Mail {
  if (!link) {
    return {
      to,
      subject: 'Your Parachute hub has been closed',
      text: [
        `Your subscription ended, so the hub at ${hostname} has been removed.`,
        'It was never set up, so it held no data of yours: there is nothing to download.',
      ].join('\n'),
    };
  }
  return {
    to,
    subject: 'Your Parachute hub has been closed: download your data',
    text: [
      `Your subscription ended, so the hub at ${hostname} is being removed.`,
      'Everything it held (accounts, modules and their data) is in one export file:',
      `  ${link}`,
      `The link works until ${new Date(expiresAt).toUTCString()} (30 days).`,
      'To run the hub yourself, download the parachute binary and run',
      '  parachute import <the file>',
      'Keep this mail private: anyone with the link can download your data.',
    ].join('\n'),
  };
}
