import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { S3Client } from 'bun';
import { OperatorError } from '../../platform/operator-error.ts';
import { BACKUP_NAME, type BackupObject, type BackupTarget, checkName } from './target.ts';

export interface S3Settings {
  endpoint: string;
  bucket: string;
  region: string;
  /** Key prefix, e.g. "hub/"; a missing trailing slash is added, a leading one dropped. */
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** How long a small request (probe, list, delete) may go unanswered; default 30 s. */
  timeoutMs?: number;
}

/** Answers that mean the keys are wrong or lack permission. */
const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'InvalidClientTokenId',
]);
/** Answers of a service that is up but failing; worth retrying later. */
const SERVER_CODES = new Set(['InternalError', 'ServiceUnavailable', 'SlowDown', 'RequestTimeout']);
/** Bun's own codes for a request that never got an answer (ConnectionRefused, DNSResolveFailed, …). */
const NETWORK_CODE =
  /^(Connection|DNS|Timeout|Timed|ECONN|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_|UNABLE_|CERT_|DEPTH_|SELF_SIGNED|TLS|Unable)/i;

/**
 * Backups in an S3-compatible bucket (AWS, Backblaze B2, Cloudflare R2,
 * MinIO, Garage, …) through Bun's built-in S3 client. Uploads are streamed
 * from the file in multipart parts, so memory stays flat whatever the size;
 * S3 makes an object visible only once its upload completes, so a killed run
 * never leaves a half object under a backup's name.
 */
export class S3Target implements BackupTarget {
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly settings: S3Settings) {
    // "hub", "/hub" and "hub/" all mean the folder-like prefix "hub/".
    const prefix = settings.prefix.replace(/^\/+/, '');
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.client = new S3Client({
      endpoint: settings.endpoint,
      bucket: settings.bucket,
      region: settings.region || 'us-east-1',
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
    });
  }

  describe(): string {
    const prefix = this.prefix ? ` (prefix ${this.prefix})` : '';
    return `S3 bucket ${this.settings.bucket} at ${this.settings.endpoint}${prefix}`;
  }

  async put(name: string, file: string): Promise<number> {
    checkName(name);
    try {
      // Bun uploads a file in multipart parts read as they go (flat memory).
      await this.client.file(this.prefix + name).write(Bun.file(file), {
        type: 'application/octet-stream',
      });
    } catch (error) {
      throw this.explain(error, `upload ${name}`);
    }
    return (await stat(file)).size;
  }

  async get(name: string, dest: string): Promise<number> {
    checkName(name);
    const object = this.client.file(this.prefix + name);
    try {
      const { size } = await object.stat();
      const written = await Bun.write(dest, object);
      // A connection cut mid-body can end the stream early without an error.
      if (written !== size)
        throw new OperatorError(
          `the download of ${name} from ${this.describe()} stopped after ${written} of ${size} bytes`,
          'Try again; if it keeps failing, check the network between the hub and the storage.',
        );
      return written;
    } catch (error) {
      await rm(dest, { force: true });
      throw this.explain(error, `download ${name}`);
    }
  }

  async list(): Promise<BackupObject[]> {
    const found: BackupObject[] = [];
    let continuationToken: string | undefined;
    try {
      do {
        const page = await this.answered(
          this.client.list({ prefix: this.prefix, continuationToken }),
        );
        for (const entry of page.contents ?? []) {
          const name = entry.key.slice(this.prefix.length);
          if (!BACKUP_NAME.test(name)) continue;
          const modified = entry.lastModified ? Date.parse(entry.lastModified) : 0;
          found.push({ name, size: entry.size ?? 0, modified });
        }
        continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
      } while (continuationToken);
    } catch (error) {
      throw this.explain(error, 'list the backups in');
    }
    return found.sort((a, b) => a.modified - b.modified || a.name.localeCompare(b.name));
  }

  async remove(name: string): Promise<void> {
    checkName(name);
    try {
      await this.answered(this.client.delete(this.prefix + name));
    } catch (error) {
      if (codeOf(error) === 'NoSuchKey') return;
      throw this.explain(error, `delete ${name}`);
    }
  }

  async probe(): Promise<void> {
    const key = `${this.prefix}parachute-probe-${randomBytes(6).toString('hex')}`;
    const content = randomBytes(32).toString('hex');
    const object = this.client.file(key);
    try {
      await this.answered(object.write(content, { type: 'text/plain' }));
      const back = await this.answered(object.text());
      if (back !== content)
        throw new OperatorError(
          `${this.describe()} returned different bytes than were written`,
          'Check that the endpoint is an S3-compatible service and not a proxy that rewrites content.',
        );
      await this.answered(object.delete());
    } catch (error) {
      void object.delete().catch(() => {});
      throw this.explain(error, 'write a test object to');
    }
  }

  /**
   * Bun's S3 client has no timeout: a small request to an endpoint that
   * accepts the connection and never answers would hang the run forever.
   * (Uploads and downloads are not timed: a large one legitimately takes long.)
   */
  private answered<T>(request: Promise<T>): Promise<T> {
    const ms = this.settings.timeoutMs ?? 30_000;
    let timer: Timer | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new OperatorError(
              `the S3 endpoint ${this.settings.endpoint} did not answer within ${Math.round(ms / 1000)} s`,
              'Check the endpoint URL and that the service is up and reachable from this machine.',
            ),
          ),
        ms,
      );
    });
    return Promise.race([request, late]).finally(() => clearTimeout(timer));
  }

  /** An S3 or network error as what the operator must do about it. */
  private explain(error: unknown, doing: string): unknown {
    if (error instanceof OperatorError) return error;
    const code = codeOf(error);
    const { endpoint, bucket } = this.settings;
    const detail = error instanceof Error ? error.message : String(error);
    if (code && CREDENTIAL_CODES.has(code))
      return new OperatorError(
        `S3 refused the credentials when asked to ${doing} bucket ${bucket} at ${endpoint} (${code})`,
        'Check the access key id and secret key, and that this key may read, write, list and delete in that bucket.',
      );
    if (code === 'NoSuchBucket')
      return new OperatorError(
        `the bucket ${bucket} does not exist at ${endpoint}`,
        'Create the bucket first (in the storage provider’s console), or correct its name.',
      );
    if (code === 'NoSuchKey')
      return new OperatorError(
        `the object is missing from ${this.describe()} (asked to ${doing})`,
        'It was deleted, or a lifecycle rule on the bucket expired it.',
      );
    if (
      code === 'PermanentRedirect' ||
      code === 'AuthorizationHeaderMalformed' ||
      code === 'IllegalLocationConstraintException'
    )
      return new OperatorError(
        `the bucket ${bucket} is in another region than "${this.settings.region}" (${code})`,
        'Set the region the bucket was created in.',
      );
    if ((code && SERVER_CODES.has(code)) || /^5\d\d$/.test(code ?? '') || statusOf(error) >= 500)
      return new OperatorError(
        `the S3 service at ${endpoint} failed to ${doing} bucket ${bucket} (${code || detail})`,
        'This is on the storage side; the next run tries again. If it persists, check the provider’s status page.',
      );
    if (
      (code && NETWORK_CODE.test(code)) ||
      /unable to connect|connection|timed out|socket/i.test(detail)
    )
      return new OperatorError(
        `cannot reach the S3 endpoint ${endpoint}: ${code || detail}`,
        'Check the endpoint URL and that the service is up and reachable from this machine.',
      );
    return new OperatorError(
      `S3 at ${endpoint} refused to ${doing} bucket ${bucket}: ${code ? `${code}: ` : ''}${detail}`,
      'Check the S3 settings (endpoint, bucket, region, key prefix) and the key’s permissions.',
    );
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

function statusOf(error: unknown): number {
  const status = (error as { status?: unknown; statusCode?: unknown })?.status;
  return typeof status === 'number' ? status : 0;
}
