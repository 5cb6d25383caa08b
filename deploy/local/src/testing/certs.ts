import { execFileSync, spawn } from 'node:child_process';
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
  /** Client certificate (CN and SANs as asked, collector-01.example by default). */
  client: TestCert;
  /** A client certificate from a CA the server does not trust. */
  stranger: TestCert;
}

/** Who the client certificate names: its subject CN and its subjectAltNames (`DNS:…`, `IP:…`). */
export interface TestClientName {
  cn: string;
  sans?: readonly string[];
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function fingerprint(file: string): string {
  return new X509Certificate(readFileSync(file)).fingerprint256;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): TestCert {
  openssl(dir, [
    'req',
    '-x509',
    ...EC,
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
  const cert = join(dir, `${name}.crt`);
  return { cert, key: join(dir, `${name}.key`), fingerprint256: fingerprint(cert) };
}

const defaultClient: TestClientName = {
  cn: 'collector-01.example',
  sans: ['DNS:collector-01.example', 'IP:10.0.0.7'],
};

/** A CA, server and client certificates signed by it, and a client from a CA nobody trusts, in `dir`. */
export function makeTestPki(dir: string, client: TestClientName = defaultClient): TestPki {
  const ca = makeCa(dir, 'test-ca');
  const other = makeCa(dir, 'other-ca');
  const serverExt = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
  const sans =
    client.sans === undefined || client.sans.length === 0 ? '' : `subjectAltName=${client.sans.join(',')}\n`;
  return {
    dir,
    ca,
    server: makeLeaf(dir, ca, 'server', 'localhost', serverExt),
    server2: makeLeaf(dir, ca, 'server2', 'localhost', serverExt),
    client: makeLeaf(dir, ca, 'client', client.cn, `${sans}extendedKeyUsage=clientAuth\n`),
    stranger: makeLeaf(dir, other, 'stranger', 'intruder.example', 'extendedKeyUsage=clientAuth\n'),
  };
}

/**
 * Sends `text` to a TLS listener on 127.0.0.1 through `openssl s_client` (verifying the server against
 * `caFile`; `extra`: more arguments, e.g. a client certificate); resolves with its exit code and stderr.
 */
export function opensslClient(
  port: number,
  caFile: string,
  text: string,
  extra: string[] = [],
): Promise<{ code: number; stderr: string }> {
  const child = spawn(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-CAfile',
      caFile,
      '-verify_return_error',
      '-quiet',
      '-no_ign_eof',
      ...extra,
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(text);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code: code ?? -1, stderr })));
}
