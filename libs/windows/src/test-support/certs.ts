import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Throwaway certificates made with `openssl` in a test's temporary folder (test support only). */
export interface TestCert {
  cert: string;
  key: string;
}

export interface TestPki {
  ca: TestCert;
  /** Server certificate for localhost / 127.0.0.1. */
  server: TestCert;
  /** Client certificate, CN winlogbeat-dc01.example. */
  client: TestCert;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function leaf(dir: string, ca: TestCert, name: string, cn: string, ext: string): TestCert {
  openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
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
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

export function makeTestPki(dir: string): TestPki {
  openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=test-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  return {
    ca,
    server: leaf(
      dir,
      ca,
      'server',
      'localhost',
      'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
    ),
    client: leaf(dir, ca, 'client', 'winlogbeat-dc01.example', 'extendedKeyUsage=clientAuth\n'),
  };
}
