import { parseArgs } from 'node:util';
import { isValidTimeZone, type ParsedSyslog, parseSyslog, type SyslogFormat } from '@siem/syslog';
import type { Command } from './command.js';

const FORMATS: readonly SyslogFormat[] = ['auto', 'rfc3164', 'rfc5424'];

/**
 * One output line. The keys and their order are a contract other tools rely on: facility, severity,
 * timestamp, hostname, appName, procId, msgId, structuredData, message, parseError, then cef / leef
 * only when the message holds one.
 */
export function parseOutput(p: ParsedSyslog): string {
  const h = p.header;
  const out: Record<string, unknown> = {
    facility: h.facility,
    severity: h.severity,
    timestamp: h.timestamp,
    hostname: h.hostname,
    appName: h.appName,
    procId: h.procId,
    msgId: h.msgId,
    structuredData: h.structuredData,
    message: p.message,
    parseError: p.parseError,
  };
  if (p.cef !== null) out.cef = p.cef;
  if (p.leef !== null) out.leef = p.leef;
  return JSON.stringify(out);
}

export const parseCommand: Command = {
  name: 'parse',
  summary: 'parse syslog messages from stdin (one per line) into JSON lines',
  usage: [
    'siem parse [--format auto|rfc3164|rfc5424] [--timezone Area/City] [--received-at ISO-8601]',
    '',
    'Reads newline-separated messages on stdin and writes one JSON object per input line, in order:',
    'facility, severity, timestamp, hostname, appName, procId, msgId, structuredData, message,',
    'parseError (null where absent), and cef / leef when the message holds one.',
    '--timezone is the zone of timestamps that carry none (default UTC); --received-at is the receive',
    'time that picks the year of year-less timestamps (default now).',
  ].join('\n'),
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        format: { type: 'string', default: 'auto' },
        timezone: { type: 'string', default: 'UTC' },
        'received-at': { type: 'string' },
      },
    });
    const format = values.format as SyslogFormat;
    if (!FORMATS.includes(format)) {
      process.stderr.write(`unknown format ${values.format}; one of ${FORMATS.join(', ')}\n`);
      return 2;
    }
    const timezone = values.timezone ?? 'UTC';
    if (!isValidTimeZone(timezone)) {
      process.stderr.write(`unknown time zone ${timezone} (expected an IANA name such as Europe/Berlin)\n`);
      return 2;
    }
    let fixedNow: number | null = null;
    if (values['received-at'] !== undefined) {
      fixedNow = Date.parse(values['received-at']);
      if (Number.isNaN(fixedNow)) {
        process.stderr.write(`--received-at ${values['received-at']} is not a timestamp\n`);
        return 2;
      }
    }
    const options = { receivedAtMs: 0, defaultTimezone: timezone, format };
    let rest: Buffer = Buffer.alloc(0);
    const emit = async (lines: string[]): Promise<void> => {
      if (lines.length === 0) return;
      const text = `${lines.join('\n')}\n`;
      if (!process.stdout.write(text)) {
        await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
      }
    };
    const parseLine = (line: Buffer): string => {
      const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
      options.receivedAtMs = fixedNow ?? Date.now();
      return parseOutput(parseSyslog(line.subarray(0, end), options));
    };
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      const data = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
      const out: string[] = [];
      let start = 0;
      let nl = data.indexOf(0x0a, start);
      while (nl >= 0) {
        out.push(parseLine(data.subarray(start, nl)));
        start = nl + 1;
        nl = data.indexOf(0x0a, start);
      }
      rest = Buffer.from(data.subarray(start));
      await emit(out);
    }
    if (rest.length > 0) await emit([parseLine(rest)]);
    return 0;
  },
};
