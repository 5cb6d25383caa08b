import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensurePki, pkiFiles } from './pki.js';

const dir = mkdtempSync(join(tmpdir(), 'cluster-pki-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });

describe('ensurePki (real openssl)', () => {
  it('signs an apiserver certificate the CA verifies, with every SAN, and keeps it on a second run', async () => {
    const node = { name: 'vm', ip: '192.0.2.2' };
    const made = await ensurePki(dir, node);
    expect(made).toContain('ca');
    const f = pkiFiles(dir);
    expect(openssl('verify', '-CAfile', f.caCert, f.cert('apiserver'))).toContain(': OK');
    const sans = openssl('x509', '-in', f.cert('apiserver'), '-noout', '-ext', 'subjectAltName');
    for (const want of [
      'IP Address:10.96.0.1',
      'IP Address:10.244.0.1',
      'IP Address:192.0.2.2',
      'DNS:kubernetes.default.svc',
    ]) {
      expect(sans).toContain(want);
    }
    const subject = openssl('x509', '-in', f.cert('kubelet'), '-noout', '-subject');
    expect(subject).toMatch(/O\s*=\s*system:nodes, CN\s*=\s*system:node:vm/);

    const before = readFileSync(f.cert('apiserver'));
    expect(await ensurePki(dir, node)).toEqual([]);
    expect(readFileSync(f.cert('apiserver'))).toEqual(before);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('makes the apiserver certificate again when the node address changes, keeping the CA', async () => {
    const ca = readFileSync(pkiFiles(dir).caCert);
    const made = await ensurePki(dir, { name: 'vm', ip: '192.0.2.9' });
    expect(made).toEqual(['apiserver', 'kubelet-server']);
    expect(readFileSync(pkiFiles(dir).caCert)).toEqual(ca);
  });
});
