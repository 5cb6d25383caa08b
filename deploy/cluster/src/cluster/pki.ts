import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOrThrow } from '@siem/local-stack';
import { clusterNetwork } from '../paths.js';

/** The node as the certificates and components see it. */
export interface NodeIdentity {
  name: string;
  ip: string;
}

/** One certificate signed by the cluster CA. */
export interface CertSpec {
  /** File stem under the PKI folder: `<file>.crt`, `<file>.key`. */
  file: string;
  cn: string;
  o?: string;
  usage: 'client' | 'server' | 'client+server';
  dns?: string[];
  ips?: string[];
}

/**
 * The apiserver's subject alternative names: every address a client dials it by (the node's IP and
 * name from outside, loopback, the `kubernetes` Service IP, the bridge address it advertises to pods).
 */
export function apiserverSans(node: NodeIdentity): { dns: string[]; ips: string[] } {
  const domain = clusterNetwork.clusterDomain;
  return {
    dns: [
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      `kubernetes.default.svc.${domain}`,
      'localhost',
      node.name,
    ],
    ips: [
      ...new Set(['127.0.0.1', node.ip, clusterNetwork.apiserverServiceIp, clusterNetwork.bridgeAddress]),
    ],
  };
}

/** Every certificate the cluster needs; the groups (`o`) are what RBAC and the Node authorizer read. */
export function certificatePlan(node: NodeIdentity): CertSpec[] {
  return [
    { file: 'apiserver', cn: 'kube-apiserver', usage: 'server', ...apiserverSans(node) },
    {
      file: 'apiserver-kubelet-client',
      cn: 'kube-apiserver-kubelet-client',
      o: 'system:masters',
      usage: 'client',
    },
    { file: 'admin', cn: 'kubernetes-admin', o: 'system:masters', usage: 'client' },
    { file: 'controller-manager', cn: 'system:kube-controller-manager', usage: 'client' },
    { file: 'scheduler', cn: 'system:kube-scheduler', usage: 'client' },
    { file: 'kube-proxy', cn: 'system:kube-proxy', usage: 'client' },
    { file: 'kubelet', cn: `system:node:${node.name}`, o: 'system:nodes', usage: 'client' },
    {
      file: 'kubelet-server',
      cn: node.name,
      usage: 'server',
      dns: [node.name, 'localhost'],
      ips: [...new Set([node.ip, '127.0.0.1'])],
    },
  ];
}

/** The OpenSSL extension section of a certificate (what `x509 -req -extfile` reads). */
export function certExtensions(spec: CertSpec): string {
  const eku = { client: 'clientAuth', server: 'serverAuth', 'client+server': 'serverAuth,clientAuth' }[
    spec.usage
  ];
  const lines = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment'];
  lines.push(`extendedKeyUsage=${eku}`);
  const sans = [...(spec.dns ?? []).map((d) => `DNS:${d}`), ...(spec.ips ?? []).map((ip) => `IP:${ip}`)];
  if (sans.length > 0) lines.push(`subjectAltName=${sans.join(',')}`);
  return `${lines.join('\n')}\n`;
}

function subject(spec: CertSpec): string {
  return `${spec.o ? `/O=${spec.o}` : ''}/CN=${spec.cn}`;
}

export const pkiFiles = (dir: string) => ({
  caCert: join(dir, 'ca.crt'),
  caKey: join(dir, 'ca.key'),
  saKey: join(dir, 'sa.key'),
  saPub: join(dir, 'sa.pub'),
  cert: (file: string) => join(dir, `${file}.crt`),
  key: (file: string) => join(dir, `${file}.key`),
});

/**
 * Creates what is missing of the cluster's PKI with openssl: CA, service-account key pair, and every
 * certificate of the plan. A certificate whose subject or names changed (the node's IP moved) is made
 * again; the CA and the rest are kept, so kubeconfigs handed out stay valid. Returns what it created.
 */
export async function ensurePki(dir: string, node: NodeIdentity): Promise<string[]> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = pkiFiles(dir);
  const made: string[] = [];
  if (!existsSync(f.caCert) || !existsSync(f.caKey)) {
    await runOrThrow('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f.caKey,
      '-out',
      f.caCert,
      '-days',
      '3650',
      '-subj',
      '/CN=siem-local-cluster-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ]);
    made.push('ca');
  }
  if (!existsSync(f.saKey) || !existsSync(f.saPub)) {
    await runOrThrow('openssl', ['genrsa', '-out', f.saKey, '2048']);
    await runOrThrow('openssl', ['rsa', '-in', f.saKey, '-pubout', '-out', f.saPub]);
    made.push('service-account key pair');
  }
  for (const spec of certificatePlan(node)) {
    const wanted = `${subject(spec)}\n${certExtensions(spec)}`;
    const stamp = join(dir, `${spec.file}.spec`);
    const crt = f.cert(spec.file);
    if (existsSync(crt) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) continue;
    const csr = join(dir, `${spec.file}.csr`);
    const ext = join(dir, `${spec.file}.ext`);
    writeFileSync(ext, certExtensions(spec));
    try {
      await runOrThrow('openssl', [
        'req',
        '-new',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        f.key(spec.file),
        '-out',
        csr,
        '-subj',
        subject(spec),
      ]);
      await runOrThrow('openssl', [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        f.caCert,
        '-CAkey',
        f.caKey,
        '-set_serial',
        `0x${randomBytes(16).toString('hex')}`,
        '-days',
        '3650',
        '-sha256',
        '-extfile',
        ext,
        '-out',
        crt,
      ]);
    } finally {
      rmSync(csr, { force: true });
      rmSync(ext, { force: true });
    }
    writeFileSync(stamp, wanted);
    made.push(spec.file);
  }
  return made;
}
