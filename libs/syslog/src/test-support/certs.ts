import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Throwaway certificates made with `openssl req` / `openssl x509` in a test's temporary folder. */
export interface TestCert {
  cert: string;
  key: string;
  fingerprint256: string;
}

export interface TestPki {
  dir: string;
  ca: TestCert;
  /** Server certificate for localhost / 127.0.0.1. */
  server: TestCert;
  /** A second server certificate (another key), for reload tests. */
  server2: TestCert;
  /** Client certificate: CN collector-01.example, SANs DNS and IP. */
  client: TestCert;
  /** A client certificate from a CA the server does not trust. */
  stranger: TestCert;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function fingerprint(file: string): string {
  return new X509Certificate(readFileSync(file)).fingerprint256;
}

function makeCa(dir: string, name: string): TestCert {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const cert = join(dir, `${name}.crt`);
  return { cert, key: join(dir, `${name}.key`), fingerprint256: fingerprint(cert) };
}

function makeLeaf(dir: string, ca: TestCert, name: string, cn: string, ext: string): TestCert {
  openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
  const cert = join(dir, `${name}.crt`);
  return { cert, key: join(dir, `${name}.key`), fingerprint256: fingerprint(cert) };
}

export function makeTestPki(dir: string): TestPki {
  const ca = makeCa(dir, 'test-ca');
  const other = makeCa(dir, 'other-ca');
  const serverExt = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
  return {
    dir,
    ca,
    server: makeLeaf(dir, ca, 'server', 'localhost', serverExt),
    server2: makeLeaf(dir, ca, 'server2', 'localhost', serverExt),
    client: makeLeaf(
      dir,
      ca,
      'client',
      'collector-01.example',
      'subjectAltName=DNS:collector-01.example,IP:10.0.0.7\nextendedKeyUsage=clientAuth\n',
    ),
    stranger: makeLeaf(dir, other, 'stranger', 'intruder.example', 'extendedKeyUsage=clientAuth\n'),
  };
}
