import { useState } from 'preact/hooks';
import { api, describeError } from './api.ts';
import { Field, FormError, useAction } from './forms.tsx';
import { QrCode } from './qr-code.tsx';

interface TotpSetup {
  secret: string;
  otpauth_url: string;
}

/**
 * Turning two-factor on: the hub makes a secret, the user adds it to an
 * authenticator app (scanning the QR code, or pasting the URI or typing the
 * key), then proves it with one code. Only that makes it active.
 */
export function TotpEnable(props: { onEnabled: (backupCodes: string[]) => void }) {
  const [setup, setSetup] = useState<TotpSetup>();
  const [code, setCode] = useState('');
  const { busy, error, run } = useAction();

  function start() {
    void run(
      async () => setSetup(await api<TotpSetup>('POST', '/api/account/totp/setup')),
      (caught) => describeError(caught),
    );
  }

  function confirm(event: Event) {
    event.preventDefault();
    void run(
      async () => {
        const { backup_codes } = await api<{ backup_codes: string[] }>(
          'POST',
          '/api/account/totp/enable',
          { code: code.replace(/\s+/g, '') },
        );
        props.onEnabled(backup_codes);
      },
      (caught) =>
        describeError(caught, {
          invalid_code:
            'That code is not valid. Check that the clock on your phone is right, then enter the code the app shows now.',
        }),
    );
  }

  if (!setup) {
    return (
      <>
        <p>
          Off. With two-factor authentication, signing in also needs a code from an authenticator
          app on your phone.
        </p>
        <FormError message={error} />
        <button type="button" disabled={busy} onClick={start}>
          {busy ? 'Preparing…' : 'Enable'}
        </button>
      </>
    );
  }

  return (
    <form onSubmit={confirm}>
      <p>
        1. In your authenticator app, add an account: scan this code, or paste the setup URI, or
        type the secret key.
      </p>
      <QrCode text={setup.otpauth_url} label="QR code to add this hub to an authenticator app" />
      <dl class="facts secrets">
        <dt>Setup URI</dt>
        <dd>
          <code class="secret" data-testid="totp-uri">
            {setup.otpauth_url}
          </code>
        </dd>
        <dt>Secret key</dt>
        <dd>
          <code class="secret" data-testid="totp-secret">
            {setup.secret}
          </code>
        </dd>
      </dl>
      <p>2. Enter the code the app now shows for this hub.</p>
      <Field
        label="Authentication code"
        value={code}
        onValue={setCode}
        autocomplete="one-time-code"
      />
      <FormError message={error} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Turn on two-factor authentication'}
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={() => setSetup(undefined)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
