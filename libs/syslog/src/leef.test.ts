import { describe, expect, it } from 'vitest';
import { parseLeef } from './leef.js';

describe('parseLeef', () => {
  it('reads LEEF 1.0 with tab-separated attributes', () => {
    const r = parseLeef(
      'LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tmsg=there are spaces in this message',
    );
    expect(r).toEqual({
      version: '1.0',
      vendor: 'Microsoft',
      product: 'MSExchange',
      productVersion: '4.0 SP1',
      eventId: '15345',
      delimiter: '\t',
      attributes: {
        src: '192.0.2.0',
        dst: '172.50.123.1',
        sev: '5',
        cat: 'anomaly',
        msg: 'there are spaces in this message',
      },
    });
  });

  it('reads LEEF 2.0 with a caret and with a hex delimiter', () => {
    const caret = parseLeef(
      'LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21',
    );
    expect(caret?.delimiter).toBe('^');
    expect(caret?.attributes).toEqual({
      src: '10.0.1.8',
      dst: '10.0.0.5',
      sev: '5',
      srcPort: '81',
      dstPort: '21',
    });
    const hex = parseLeef('LEEF:2.0|V|P|1|E|x09|a=1\tb=2 3');
    expect(hex?.delimiter).toBe('\t');
    expect(hex?.attributes).toEqual({ a: '1', b: '2 3' });
    expect(parseLeef('LEEF:2.0|V|P|1|E|0x7C|a=1|b=2')?.attributes).toEqual({ a: '1', b: '2' });
  });

  it('skips a syslog header before LEEF: and handles escaped pipes and equals signs', () => {
    const r = parseLeef('Jan 18 11:07:53 198.76.5.4 LEEF:1.0|Ven\\|dor|P|1|ID|q=a\\=b\turl=http://x/?y=z');
    expect(r?.vendor).toBe('Ven|dor');
    expect(r?.attributes).toEqual({ q: 'a=b', url: 'http://x/?y=z' });
  });

  it('splits a LEEF 1.0 record that uses spaces instead of tabs', () => {
    const r = parseLeef('LEEF:1.0|Microsoft|MSExchange|2016|15345|src=10.50.1.1  dst=2.10.20.20  spt=1200');
    expect(r?.delimiter).toBe(' ');
    expect(r?.attributes).toEqual({ src: '10.50.1.1', dst: '2.10.20.20', spt: '1200' });
  });

  it('takes a 2.0 header without a delimiter field as tab-separated', () => {
    const r = parseLeef('LEEF:2.0|V|P|1|E|src=1.2.3.4\tdst=5.6.7.8');
    expect(r?.attributes).toEqual({ src: '1.2.3.4', dst: '5.6.7.8' });
  });

  it('returns null for text that is not LEEF', () => {
    expect(parseLeef('no leef here')).toBeNull();
    expect(parseLeef('LEEF:1.0|a|b')).toBeNull();
  });
});
