import { describe, expect, test } from 'bun:test';
import { configBody, draftErrors, draftOf } from './backup-draft.ts';
import type { PublicBackupConfig } from './backup-types.ts';

const s3Config: PublicBackupConfig = {
  enabled: true,
  schedule: { every: 'weekly', at: '02:30' },
  time_zone: 'Europe/Berlin',
  retention: { keep: 4, max_age_days: 60 },
  target: {
    kind: 's3',
    endpoint: 'https://s3.example',
    bucket: 'b',
    region: 'eu',
    prefix: 'hub/',
    access_key_id: 'AKIA',
    secret_set: true,
  },
  encryption: { kind: 'passphrase', passphrase_set: true },
  webhook_url: null,
};

describe('the backup settings draft', () => {
  test('stored settings fill the form, secrets never; empty secrets are left out to keep them', () => {
    const draft = draftOf(s3Config);
    expect(draft.secretAccessKey).toBe('');
    expect(draft.passphrase).toBe('');
    expect(draftErrors(draft, s3Config)).toEqual({});
    expect(configBody(draft)).toEqual({
      enabled: true,
      schedule: { every: 'weekly', at: '02:30' },
      retention: { keep: 4, max_age_days: 60 },
      target: {
        kind: 's3',
        endpoint: 'https://s3.example',
        bucket: 'b',
        region: 'eu',
        prefix: 'hub/',
        access_key_id: 'AKIA',
      },
      encryption: { kind: 'passphrase' },
      webhook_url: null,
    });
  });

  test('a new secret is sent; a count that is not a whole number goes as typed for the hub to name', () => {
    const draft = {
      ...draftOf(s3Config),
      secretAccessKey: 'new-secret',
      passphrase: 'pw',
      passphraseConfirm: 'pw',
      keep: 'seven',
    };
    const body = configBody(draft);
    expect(body.target).toMatchObject({ secret_access_key: 'new-secret' });
    expect(body.encryption).toEqual({ kind: 'passphrase', passphrase: 'pw' });
    expect(body.retention).toEqual({ keep: 'seven', max_age_days: 60 });
  });

  test('a first setup needs a passphrase typed twice the same; switching to S3 needs its secret', () => {
    const fresh = draftOf(null);
    expect(fresh).toMatchObject({ enabled: true, every: 'daily', keep: '7', targetKind: 'local' });
    expect(Object.keys(draftErrors(fresh, null))).toEqual(['encryption.passphrase']);
    const typo = { ...fresh, passphrase: 'one', passphraseConfirm: 'two' };
    expect(Object.keys(draftErrors(typo, null))).toEqual(['encryption.passphrase_confirm']);
    const s3 = { ...fresh, passphrase: 'one', passphraseConfirm: 'one', targetKind: 's3' as const };
    expect(Object.keys(draftErrors(s3, null))).toEqual(['target.secret_access_key']);
  });
});
