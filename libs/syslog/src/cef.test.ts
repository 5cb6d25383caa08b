import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCef } from './cef.js';

describe('parseCef', () => {
  it('reads the header and extension of a plain record', () => {
    const r = parseCef(
      'CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232',
    );
    expect(r).toEqual({
      version: 0,
      deviceVendor: 'Security',
      deviceProduct: 'threatmanager',
      deviceVersion: '1.0',
      signatureId: '100',
      name: 'worm successfully stopped',
      severity: '10',
      extensions: { src: '10.0.0.1', dst: '2.1.2.2', spt: '1232' },
    });
  });

  it('skips text before CEF: (a legacy header inside the message)', () => {
    const r = parseCef(
      'Sep 19 08:26:10 host CEF:0|VMware Carbon Black|App Control|8.1.0.899|801|Execution block (unapproved file)|5| dst=10.0.0.1 duser=NT AUTHORITY\\\\SYSTEM msg=File blocked',
    );
    expect(r?.deviceVendor).toBe('VMware Carbon Black');
    expect(r?.extensions).toEqual({ dst: '10.0.0.1', duser: 'NT AUTHORITY\\SYSTEM', msg: 'File blocked' });
  });

  it('handles escaped pipes and backslashes in the header and \\= \\n \\r \\\\ in values', () => {
    const r = parseCef(
      'CEF:0|Ven\\|dor|Prod\\\\uct|1|sig|na|me|3|filePath=C:\\\\Program Files\\\\x.exe msg=a\\=b and c | d\\nline2\\r cs1=x',
    );
    expect(r?.deviceVendor).toBe('Ven|dor');
    expect(r?.deviceProduct).toBe('Prod\\uct');
    expect(r?.name).toBe('na');
    expect(r?.severity).toBe('me');
    // the pipe that is not escaped ends the name; the rest shifts, as in any CEF reader
    const s = parseCef(
      'CEF:0|V|P|1|sig|name with \\| pipe|3|filePath=C:\\\\Program Files\\\\x.exe msg=a\\=b c|d',
    );
    expect(s?.name).toBe('name with | pipe');
    expect(s?.extensions).toEqual({ filePath: 'C:\\Program Files\\x.exe', msg: 'a=b c|d' });
    expect(parseCef('CEF:0|V|P|1|s|n|3|msg=one\\ntwo\\rthree')?.extensions.msg).toBe('one\ntwo\rthree');
  });

  it('keeps spaces inside values and splits only where a key and = follow a space', () => {
    const r = parseCef('CEF:0|V|P|1|s|n|3|act=blocked url=http://x.test/?a=b&c=d request method=GET');
    expect(r?.extensions).toEqual({ act: 'blocked', url: 'http://x.test/?a=b&c=d request', method: 'GET' });
  });

  it('accepts a header without extension and a CEF:1 record', () => {
    expect(parseCef('CEF:0|Red Hat|RHEL|8.0.0|100|SSH login|5')).toMatchObject({
      severity: '5',
      extensions: {},
    });
    expect(parseCef('CEF:1|V|P|1|s|n|Low|')).toMatchObject({ version: 1, severity: 'Low', extensions: {} });
  });

  it('returns null for text that is not CEF', () => {
    expect(parseCef('hello world')).toBeNull();
    expect(parseCef('CEF:0|only|three|fields')).toBeNull();
    expect(parseCef('the word CEF: appears here')).toBeNull();
  });

  it('never lets a key reach the prototype', () => {
    const r = parseCef('CEF:0|V|P|1|s|n|3|__proto__=x constructor=y');
    expect(Object.getOwnPropertyDescriptor(r!.extensions, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(r?.extensions)).toBeNull();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('round-trips escaped values written by a CEF writer (property)', () => {
    const esc = (v: string) =>
      v.replaceAll('\\', '\\\\').replaceAll('=', '\\=').replaceAll('\n', '\\n').replaceAll('\r', '\\r');
    const key = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{0,10}$/);
    const value = fc.string({ maxLength: 30 }).filter((v) => v.trim() === v && v.length > 0);
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, value), { selector: (t) => t[0], maxLength: 6 }), (pairs) => {
        // a value that contains " key=" would be split by any CEF reader: a writer escapes '=' so it cannot
        const ext = pairs.map(([k, v]) => `${k}=${esc(v)}`).join(' ');
        const r = parseCef(`CEF:0|V|P|1|s|n|3|${ext}`);
        expect(r).not.toBeNull();
        expect({ ...r!.extensions }).toEqual(Object.fromEntries(pairs));
      }),
    );
  });
});
