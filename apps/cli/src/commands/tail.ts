import type { NormalizedEvent } from '@siem/core';
import { loadRootConfig } from '@siem/runtime';
import WebSocket from 'ws';
import { ApiClient, apiTarget } from './api-client.js';
import { parseCommandArgs, parseCount, runCommand, UnreachableError, UsageError } from './cli-support.js';
import type { Command } from './command.js';

/** The events API's filters, as tail options (`--source-type` → `source_type`). */
export const tailFilters = [
  'from',
  'to',
  'tenant',
  'host',
  'source-type',
  'severity',
  'min-severity',
  'category',
  'action',
  'outcome',
  'user',
  'src-ip',
  'dst-ip',
  'event-code',
  'q',
] as const;

const SINGLE = new Set(['from', 'to', 'min-severity', 'q']);

/** The tail's query string from the parsed options (repeated options become repeated parameters). */
export function tailQuery(values: Record<string, unknown>): URLSearchParams {
  const q = new URLSearchParams();
  for (const f of tailFilters) {
    const v = values[f];
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(f.replaceAll('-', '_'), String(one));
  }
  return q;
}

const SEVERITY = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

/** One event as one readable line: time, severity, host, app, what happened, who, from where, message. */
export function formatEvent(e: NormalizedEvent): string {
  const parts = [
    e.time,
    (SEVERITY[e.severity] ?? String(e.severity)).padEnd(7),
    e.hostName ?? e.hostIp ?? '-',
    `${e.appName ?? e.sourceType}${e.processPid !== null && e.processPid !== undefined ? `[${e.processPid}]` : ''}`,
  ];
  const what = [e.category, e.action, e.outcome].filter((x) => x !== null && x !== undefined).join('/');
  if (what !== '') parts.push(what);
  if (e.userName) parts.push(`user=${e.userName}`);
  if (e.srcIp) parts.push(`src=${e.srcIp}${e.srcPort ? `:${e.srcPort}` : ''}`);
  if (e.eventCode) parts.push(`code=${e.eventCode}`);
  parts.push((e.message ?? '').replace(/[\r\n]+/g, ' '));
  return parts.join(' ');
}

/** A tail message as output lines (events, dropped notices); the hello is reported on stderr instead. */
export function tailLines(message: unknown, json: boolean): string[] {
  const m = message as { type?: string; events?: NormalizedEvent[]; count?: number; total?: number };
  if (m.type === 'events' && Array.isArray(m.events))
    return m.events.map((e) => (json ? JSON.stringify(e) : formatEvent(e)));
  if (m.type === 'dropped')
    return [
      json
        ? JSON.stringify(m)
        : `-- ${m.count} events dropped here: this client fell behind (${m.total} dropped since it connected) --`,
    ];
  return [];
}

export const tailCommand: Command = {
  name: 'tail',
  usage: [
    'siem tail [filters…] [--api URL] [--config FILE] [--api-key KEY] [--json] [--max N]',
    '',
    'Prints every event as it is stored, one per line; when this client falls behind, the server drops',
    'events for it alone and a "-- N events dropped --" line marks the gap.',
    '',
    'filters (as GET /api/v1/events; repeat one for any of several values):',
    '  --host H  --source-type syslog|windows|cloudtrail|azure_activity|gcp_logging  --tenant T',
    '  --severity S  --min-severity S  --category C  --action A  --outcome O  --user U',
    '  --src-ip IP|CIDR  --dst-ip IP|CIDR  --event-code C  --q TEXT  --from T  --to T',
    '',
    '  --api URL      API to follow (default: api.host:api.port of the configuration)',
    '  --api-key KEY  bearer token with the tail scope, when the API has keys',
    '  --json         the events as JSON lines (as the events API returns them)',
    '  --max N        exit after N events',
    '',
    'examples:',
    '  siem tail',
    '  siem tail --source-type syslog --min-severity warning',
    '  siem tail --category authentication --outcome failure --src-ip 203.0.113.0/24 --json',
  ].join('\n'),
  run(argv) {
    return runCommand('tail', async () => {
      const filterOptions = Object.fromEntries(
        tailFilters.map((f) => [f, SINGLE.has(f) ? { type: 'string' } : { type: 'string', multiple: true }]),
      ) as Record<(typeof tailFilters)[number], { type: 'string'; multiple?: true }>;
      const { values } = parseCommandArgs(argv, {
        ...filterOptions,
        api: { type: 'string' },
        config: { type: 'string', short: 'c' },
        'api-key': { type: 'string' },
        json: { type: 'boolean', default: false },
        max: { type: 'string' },
      });
      const max = values.max === undefined ? Number.POSITIVE_INFINITY : parseCount(values.max, 'max');
      const config = loadRootConfig({ file: values.config ?? null });
      const client = new ApiClient(apiTarget(values.api, values['api-key'], config));
      const url = `${client.target.base.replace(/^http/, 'ws')}/api/v1/tail?${tailQuery(values)}`;
      return follow(url, client, values.json, max);
    });
  },
};

function follow(url: string, client: ApiClient, json: boolean, max: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(url, { headers: client.headers(), handshakeTimeout: 10_000 });
    let printed = 0;
    let finished = false;
    const finish = (code: number, err?: Error) => {
      if (finished) return;
      finished = true;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      ws.removeAllListeners('close');
      ws.on('error', () => undefined);
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
      if (err !== undefined) reject(err);
      else resolve(code);
    };
    const stop = () => finish(0);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);

    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 4096) body += d;
      });
      res.on('end', () => {
        let reason = `HTTP ${res.statusCode}`;
        try {
          const b = JSON.parse(body) as { message?: string };
          if (b.message) reason = b.message;
        } catch {
          /* not JSON */
        }
        const status = res.statusCode ?? 0;
        // the server checks the filters before the upgrade: a 400 is a bad argument of ours
        finish(
          0,
          status === 400 ? new UsageError(reason) : new UnreachableError(`${url}: ${status} ${reason}`),
        );
      });
    });
    ws.on('error', (err) =>
      finish(
        0,
        new UnreachableError(
          `cannot reach the API at ${client.target.base} (${(err as { code?: string }).code ?? err.message}); is siem serve running? (--api URL)`,
        ),
      ),
    );
    ws.on('close', (code, reason) => {
      process.stderr.write(
        `tail: the server closed the connection (${code}${reason.length > 0 ? ` ${reason}` : ''})\n`,
      );
      finish(1);
    });
    ws.on('message', (data) => {
      let message: { type?: string };
      try {
        message = JSON.parse(String(data)) as { type?: string };
      } catch {
        return;
      }
      if (message.type === 'hello') {
        process.stderr.write(`tail: following ${client.target.base}; waiting for events (Ctrl-C stops)\n`);
        return;
      }
      const lines = tailLines(message, json);
      let out = '';
      for (const l of lines) {
        if (printed >= max) break;
        out += `${l}\n`;
        if (!l.startsWith('--') && !l.startsWith('{"type":"dropped"')) printed++;
      }
      if (out !== '') process.stdout.write(out);
      if (printed >= max) finish(0);
    });
  });
}
