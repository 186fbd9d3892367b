/**
 * A release channel on loopback for the install.sh tests: what
 * `bun run build.ts --release` publishes (install.sh, one binary under this
 * machine's asset name, SHA256SUMS), served by Bun.serve on a free port. The
 * test swaps what it serves to play a new release, a tampered binary or a
 * cut-off script.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const INSTALL_SH = resolve(import.meta.dir, '../../install.sh');

/** The asset install.sh must pick on this Linux machine (glibc; baseline without AVX2). */
export function assetForThisMachine(): string {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const avx2 = /\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  return `parachute-linux-${arch}${arch === 'x64' && !avx2 ? '-baseline' : ''}`;
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface Release {
  /** The binary served under the asset name. */
  binary: string;
  /** SHA256SUMS as served; by default the binary's real sum. */
  sums?: string;
  /** install.sh as served; by default the repository's. */
  script?: string;
  /** VERSION as served (what a hub reads to offer an upgrade); none by default. */
  version?: string;
}

export class ReleaseServer {
  /** Paths asked for, in order. */
  readonly requests: string[] = [];
  private release: Required<Release>;
  private readonly server: ReturnType<typeof Bun.serve>;

  constructor(
    readonly asset: string,
    release: Release,
  ) {
    this.release = this.complete(release);
    this.server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: (request) => this.answer(new URL(request.url).pathname),
    });
  }

  /** The folder URL install.sh takes as PARACHUTE_RELEASE_URL. */
  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  /** Serves another release from now on. */
  publish(release: Release): void {
    this.release = this.complete(release);
  }

  stop(): void {
    this.server.stop(true);
  }

  private complete(release: Release): Required<Release> {
    return {
      binary: release.binary,
      sums: release.sums ?? `${sha256(release.binary)}  ${this.asset}\n`,
      script: release.script ?? readFileSync(INSTALL_SH, 'utf8'),
      version: release.version ?? '',
    };
  }

  private answer(path: string): Response {
    this.requests.push(path);
    if (path === '/install.sh') return new Response(this.release.script);
    if (path === '/SHA256SUMS') return new Response(this.release.sums);
    if (path === '/VERSION' && this.release.version)
      return new Response(`${this.release.version}\n`);
    if (path === `/${this.asset}`) return new Response(Bun.file(this.release.binary));
    return new Response('not found\n', { status: 404 });
  }
}
