// `helm test`: events in through the gateway Service, back out through the query API. Sends a sample
// with `siem emit-sample`, then one syslog line carrying a unique marker, and polls
// /api/v1/events?q=<marker> until the marker is stored. Exits 1 when it is not back in time.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

const env = process.env;
const gateway = env.HOOK_GATEWAY ?? '';
const api = (env.HOOK_API ?? '').replace(/\/+$/, '');
const key = env.HOOK_API_KEY ?? '';
const timeoutMs = Number(env.HOOK_TIMEOUT_SECONDS ?? '90') * 1000;
const cli = env.HOOK_SIEM_CLI ?? 'apps/cli/dist/src/main.js';
const deadline = Date.now() + timeoutMs;
const marker = `helm-test-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const left = () => Math.max(1, deadline - Date.now());

function fail(message) {
  process.stderr.write(`helm test FAILED: ${message}\n`);
  process.exit(1);
}

const at = gateway.lastIndexOf(':');
if (at < 1 || api === '') fail('HOOK_GATEWAY (host:port) and HOOK_API (http://host:port) are required');
const host = gateway.slice(0, at);
const port = Number(gateway.slice(at + 1));

/** One syslog line over TCP; resolves once the whole line is written and the connection half-closed. */
function sendLine(line) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setTimeout(Math.min(10_000, left()), () => socket.destroy(new Error('no answer')));
    socket.once('error', reject);
    socket.end(line, () => {
      socket.setTimeout(0);
      resolve();
    });
  });
}

let last = 'nothing tried';
// 1. A sample of realistic events over the real protocol (the CLI's exit code says whether it got through).
for (;;) {
  try {
    const out = execFileSync(
      process.execPath,
      [cli, 'emit-sample', '20', '--protocol', 'tcp', '--to', gateway, '--json'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: left() },
    );
    process.stdout.write(`emit-sample: ${out.trim()}\n`);
    break;
  } catch (err) {
    last = `emit-sample: ${String(err.stderr || err.message).trim()}`;
  }
  if (Date.now() >= deadline) fail(`no events could be sent to ${gateway} (${last})`);
  await sleep(2000);
}

// 2. The marker: an RFC 5424 line whose message only this run carries.
for (;;) {
  try {
    await sendLine(`<134>1 ${new Date().toISOString()} helm-test siem-helm-test - - - ${marker}\n`);
    process.stdout.write(`sent ${marker} to ${gateway}\n`);
    break;
  } catch (err) {
    last = `sending the marker: ${err.message}`;
  }
  if (Date.now() >= deadline) fail(`the marker could not be sent to ${gateway} (${last})`);
  await sleep(2000);
}

// 3. Read it back through the query API until the deadline.
const url = `${api}/api/v1/events?q=${encodeURIComponent(marker)}&limit=10`;
const headers = key === '' ? {} : { authorization: `Bearer ${key}` };
while (Date.now() < deadline) {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(Math.min(10_000, left())) });
    const body = await res.json().catch(() => ({}));
    const hit = Array.isArray(body.data)
      ? body.data.find((e) => String(e.message ?? '').includes(marker))
      : undefined;
    if (hit !== undefined) {
      process.stdout.write(`ok: ${marker} stored as event ${hit.eventId} (host ${hit.hostName})\n`);
      process.exit(0);
    }
    last = res.ok ? 'not stored yet' : `HTTP ${res.status} ${JSON.stringify(body).slice(0, 200)}`;
  } catch (err) {
    last = err.message;
  }
  await sleep(Math.min(3000, left()));
}
fail(`${marker} did not come back through ${api} within ${timeoutMs / 1000} s (last: ${last})`);
