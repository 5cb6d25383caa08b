import { describe, expect, it } from 'vitest';
import { normalizeAll } from './normalize.js';
import { rawEvent } from './test-fixtures.js';
import { MAX_TLS_SANS } from './tls-client.js';

const FP = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';

function overTls(sourceType: 'syslog' | 'windows' | 'cloudtrail', payload: string, sans: string[]) {
  const raw = rawEvent(sourceType, payload);
  return {
    ...raw,
    source: {
      ...raw.source,
      transport: 'tls' as const,
      tls: { subjectCn: 'fw01.corp.example', sans, fingerprint256: FP },
    },
  };
}

describe('TLS client identity on stored rows', () => {
  it('puts the verified certificate on the row as ECS tls.client fields', () => {
    const [row] = normalizeAll(
      overTls('syslog', '<34>1 2025-03-05T14:09:00Z fw01 app - - - hello', [
        'DNS:fw01.corp.example',
        'IP Address:10.0.0.1',
      ]),
    );
    expect(row!.attrs.tls).toEqual({
      client: {
        x509: {
          subject: { common_name: 'fw01.corp.example' },
          alternative_names: ['DNS:fw01.corp.example', 'IP Address:10.0.0.1'],
        },
        hash: { sha256: FP.replaceAll(':', '') },
      },
    });
  });

  it('stamps every record of a multi-record payload, and bounds the SAN list', () => {
    const sans = Array.from({ length: 100 }, (_, i) => `DNS:h${i}.example`);
    const trail = JSON.stringify({
      Records: [1, 2, 3].map((i) => ({
        eventTime: '2025-03-05T14:00:00Z',
        eventName: `E${i}`,
        eventSource: 's3.amazonaws.com',
      })),
    });
    const rows = normalizeAll(overTls('cloudtrail', trail, sans));
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      const x509 = (
        r.attrs.tls as { client: { x509: { alternative_names: string[]; alternative_names_total?: number } } }
      ).client.x509;
      expect(x509.alternative_names).toHaveLength(MAX_TLS_SANS);
      expect(x509.alternative_names_total).toBe(100);
    }
  });

  it('adds nothing to events that did not come over TLS with a client certificate', () => {
    const [row] = normalizeAll(rawEvent('syslog', '<34>1 2025-03-05T14:09:00Z h app - - - x'));
    expect(row!.attrs).not.toHaveProperty('tls');
  });
});
