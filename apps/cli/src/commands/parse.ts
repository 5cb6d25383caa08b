import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { isValidTimeZone, type SyslogFormat, SyslogJsonLines } from '@siem/syslog/json-lines';
import type { Command } from './command.js';
import { LineSplitter, stdinChunks } from './stdin-lines.js';

const FORMATS: readonly SyslogFormat[] = ['auto', 'rfc3164', 'rfc5424'];
const DEFAULT_MAX_LINE_BYTES = 64 * 1024;
const MAX_LINE_BYTES_LIMIT = 16 * 1024 * 1024;
/** Bytes read from stdin at a time; the JSON of one chunk is written out before the next is read. */
const READ_BYTES = 1 << 20;

/**
 * Writes the chunks to stdout, waiting whenever it asks to (a slow reader at the end of a pipe).
 * Returns false when stdout is gone (`siem parse | head`): the run ends there, which is no error.
 */
async function writeOut(chunks: Buffer[]): Promise<boolean> {
  for (const c of chunks) {
    if (process.stdout.write(c)) continue;
    try {
      await once(process.stdout, 'drain');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') return false;
      throw err;
    }
  }
  return true;
}

export const parseCommand: Command = {
  name: 'parse',
  usage: [
    'siem parse [--format auto|rfc3164|rfc5424] [--timezone Area/City] [--received-at ISO-8601]',
    '           [--max-line-bytes N]',
    '',
    'Reads newline-separated messages on stdin and writes one JSON object per input line, in order:',
    'facility, severity, timestamp, hostname, appName, procId, msgId, structuredData, message,',
    'parseError (null where absent), and cef / leef when the message holds one.',
    '--timezone is the zone of timestamps that carry none (default UTC); --received-at is the receive',
    'time that picks the year of year-less timestamps (default now).',
    `--max-line-bytes (default ${DEFAULT_MAX_LINE_BYTES}) bounds memory: a longer line is cut there (never inside`,
    'a UTF-8 character) and still parsed; its object ends with "truncated":true and "originalBytes", and',
    'the number of cut lines is reported on stderr at the end.',
    '',
    'Examples:',
    '  logger --no-act --stderr --rfc5424 -n 127.0.0.1 "hello" 2>&1 | siem parse',
    '  siem parse --timezone Europe/Berlin < /var/log/syslog > syslog.jsonl',
    "  siem parse < fw.log | jq -c 'select(.cef != null) | .cef.extensions'",
  ].join('\n'),
  async run(argv) {
    let values: Record<string, string | undefined>;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          format: { type: 'string', default: 'auto' },
          timezone: { type: 'string', default: 'UTC' },
          'received-at': { type: 'string' },
          'max-line-bytes': { type: 'string', default: String(DEFAULT_MAX_LINE_BYTES) },
        },
      }));
    } catch (err) {
      process.stderr.write(`siem parse: ${(err as Error).message}\n`);
      return 2;
    }
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
    const maxText = values['max-line-bytes'] ?? '';
    const maxLineBytes = /^[0-9]{1,9}$/.test(maxText) ? Number(maxText) : Number.NaN;
    if (!(maxLineBytes >= 1 && maxLineBytes <= MAX_LINE_BYTES_LIMIT)) {
      process.stderr.write(
        `--max-line-bytes ${maxText} is not a whole number from 1 to ${MAX_LINE_BYTES_LIMIT}\n`,
      );
      return 2;
    }
    const writer = new SyslogJsonLines({ format, defaultTimezone: timezone });
    let receivedAtMs = 0;
    const lines = new LineSplitter(maxLineBytes, (line, originalBytes) =>
      writer.add(line, receivedAtMs, originalBytes),
    );
    for await (const chunk of stdinChunks(READ_BYTES)) {
      receivedAtMs = fixedNow ?? Date.now();
      lines.push(chunk);
      if (!(await writeOut(writer.take()))) return 0;
    }
    lines.end();
    if (!(await writeOut(writer.take()))) return 0;
    if (lines.truncatedLines > 0) {
      process.stderr.write(
        `siem parse: ${lines.truncatedLines} line(s) longer than --max-line-bytes ${maxLineBytes} were cut (marked "truncated":true)\n`,
      );
    }
    return 0;
  },
};
