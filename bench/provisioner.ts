// Issue 20 point 6: N operators (default 1,000) pay at once; the provisioner
// (a real `parachute provisioner serve` process) provisions them against the
// simulated Fly Machines API with Fly's documented rate limits and realistic
// latencies (test/helpers/fly-sim.ts), a fake Cloudflare 200 ms away and a
// real SMTP server; then `parachute provisioner rollout` rolls them all to a
// new version. Machines are simulated (they answer health themselves): a
// thousand real hubs do not fit on one machine.
//
//   bun run bench/provisioner.ts [N] [--concurrency C] [--rollout-concurrency R]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeDns } from '../test/helpers/fake-dns.ts';
import { startFlySim } from '../test/helpers/fly-sim.ts';
import { checkoutEvent, postWebhook, provisionerEnv, sign } from '../test/helpers/provisioner.ts';
import { startSmtpSink } from '../test/helpers/smtp-sink.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const CONCURRENCY = flag('concurrency', 8);
const ROLLOUT_CONCURRENCY = flag('rollout-concurrency', 16);
const MAIN = join(import.meta.dir, '../test/helpers/provisioner-main.ts');
const NEW_VERSION = '99.0.0';

const sim = startFlySim({ latencyMs: 'realistic', rateLimit: true });
const dns = startFakeDns({ latencyMs: 200 });
const smtp = await startSmtpSink();
const env = provisionerEnv({
  sim,
  dns,
  smtp,
  extra: {
    PARACHUTE_FLY_EDGE: sim.edge,
    PROVISIONER_CONCURRENCY: String(CONCURRENCY),
    PROVISIONER_RETRY_BASE_MS: '2000',
    PROVISIONER_STEP_ATTEMPTS: '8',
  },
});
const childEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env };

/** Peak resident memory of a running process, from /proc (Linux). */
const peakRss = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

const server = Bun.spawn([process.execPath, MAIN, 'provisioner', 'serve'], {
  env: childEnv,
  stdout: 'pipe',
  stderr: 'inherit',
});
const reader = server.stdout.getReader();
let out = '';
let url = '';
while (!url) {
  const { value, done } = await reader.read();
  if (done) throw new Error(`the provisioner exited: ${out}`);
  out += new TextDecoder().decode(value);
  url = /listening on (http:\/\/\S+),/.exec(out)?.[1] ?? '';
}
void (async () => {
  for (;;) if ((await reader.read()).done) return;
})();

console.log(`${N} payments at once → provisioner (${CONCURRENCY} steps in flight) → simulated Fly`);
const sentAt = new Map<string, number>();
const started = performance.now();
const payloads = Array.from({ length: N }, (_, i) => ({
  email: `op${i}@example.test`,
  payload: checkoutEvent({ email: `op${i}@example.test`, slug: `op${i}` }),
}));
// Stripe delivers concurrently; 50 at a time here.
for (let i = 0; i < N; i += 50) {
  await Promise.all(
    payloads.slice(i, i + 50).map(async ({ email, payload }) => {
      sentAt.set(email, Date.now());
      const res = await postWebhook(url, payload, await sign(payload));
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
    }),
  );
}
const accepted = (performance.now() - started) / 1000;

let lastReport = 0;
const deadline = Date.now() + 3 * 3600_000;
while (smtp.mails.length < N && Date.now() < deadline) {
  await Bun.sleep(1000);
  if (Date.now() - lastReport > 60_000) {
    lastReport = Date.now();
    console.log(
      `  ${((performance.now() - started) / 1000).toFixed(0)} s: ${smtp.mails.length} mailed, ${sim.calls.length} Fly requests, ${sim.rateLimited} 429s`,
    );
  }
}
const provisionWall = (performance.now() - started) / 1000;
// Payment in → setup mail out, per operator.
const latencies = smtp.mails
  .map((m) => (m.at - (sentAt.get(m.to[0] ?? '') ?? m.at)) / 1000)
  .sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
const provisionRss = peakRss(server.pid);
const provisionRequests = sim.calls.length;
const provisionLimited = sim.rateLimited;

// Roll the fleet with the real CLI, against the same db.
const rollStarted = performance.now();
const roll = Bun.spawn(
  [
    process.execPath,
    MAIN,
    'provisioner',
    'rollout',
    '--to',
    NEW_VERSION,
    '--canary',
    '1',
    '--concurrency',
    String(ROLLOUT_CONCURRENCY),
    '--json',
  ],
  { env: childEnv, stdout: 'pipe', stderr: 'inherit' },
);
const rollOut = await new Response(roll.stdout).text();
const rollCode = await roll.exited;
const rollWall = (performance.now() - rollStarted) / 1000;
const report = JSON.parse(rollOut || '{}') as Record<string, number>;
const rollRss = roll.resourceUsage()?.maxRSS ?? 0;

server.kill('SIGTERM');
await server.exited;
await sim.stop();
await dns.stop();
await smtp.stop();

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
console.log(
  [
    '',
    `provisioning ${N} operators (${smtp.mails.length} setup mails):`,
    `  webhooks accepted in ${accepted.toFixed(1)} s; all hubs mailed after ${provisionWall.toFixed(0)} s`,
    `  payment → mail: p50 ${pct(0.5).toFixed(0)} s, p95 ${pct(0.95).toFixed(0)} s, max ${pct(1).toFixed(0)} s; first ${(latencies[0] ?? 0).toFixed(1)} s`,
    `  ${provisionRequests} Fly requests, ${provisionLimited} answered 429 and absorbed; ${dns.calls.length} DNS requests`,
    `  provisioner peak memory ${mb(provisionRss)}`,
    `rollout to ${NEW_VERSION} (${ROLLOUT_CONCURRENCY} at a time), exit ${rollCode}:`,
    `  ${report.upgraded} upgraded, ${report.failed} failed, ${report.skipped} not tried in ${rollWall.toFixed(0)} s`,
    `  ${report.requests} Fly requests, ${report.rate_limited} answered 429 and absorbed; rollout peak memory ${mb(rollRss)}`,
  ].join('\n'),
);
