import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { MemoryIntake, testContext, until } from '@siem/core/testing';
import { makeTestPki, opensslClient, type TestPki } from '@siem/local-stack';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { syslogTlsAdapter } from './adapters.js';
import type { SyslogStreamSource } from './stream.js';

/**
 * TLS (RFC 5425) with real clients: `openssl s_client` for TLS and mTLS, and Node's TLS client for a
 * connection that stays open across a certificate reload. Certificates are made with openssl in a
 * temporary folder.
 */
let pki: TestPki;
const started: SyslogStreamSource[] = [];

beforeAll(() => {
  pki = makeTestPki(mkdtempSync(join(tmpdir(), 'siem-syslog-tls-')));
});
afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function listener(intake: MemoryIntake, options: Record<string, unknown>) {
  const s = syslogTlsAdapter.create(
    'syslog_tls',
    { host: '127.0.0.1', port: 0, cert_file: pki.server.cert, key_file: pki.server.key, ...options },
    testContext(intake),
  ) as SyslogStreamSource;
  started.push(s);
  await s.start();
  return { s, port: Number(s.status().listen!.split(':').pop()) };
}

/** Sends lines through `openssl s_client`; resolves with its exit code and stderr. */
const sClient = (port: number, lines: string[], extra: string[] = []) =>
  opensslClient(port, pki.ca.cert, lines.map((l) => `${l}\n`).join(''), extra);

describe('syslog TLS listener with openssl s_client', () => {
  it('receives over TLS 1.2+ without client certificates', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, {});
    expect(s.status().listen).toBe(`tls://127.0.0.1:${port}`);
    const r = await sClient(port, [
      '<13>1 2024-01-18T11:07:53Z host1 app - - - hello over tls',
      '<13>Jan 18 11:07:53 host1 app: two',
    ]);
    expect(r.code, r.stderr).toBe(0);
    await intake.waitFor(2);
    const [e] = intake.events();
    expect(e!.source).toMatchObject({
      adapter: 'syslog_tls',
      transport: 'tls',
      peerAddress: '127.0.0.1',
      tls: null,
    });
    expect(e!.syslog).toMatchObject({ hostname: 'host1', appName: 'app' });
    expect(e!.payload.toString()).toBe('<13>1 2024-01-18T11:07:53Z host1 app - - - hello over tls');
  });

  it('min_version TLSv1.3 refuses a TLS 1.2 client, counted', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { min_version: 'TLSv1.3' });
    const old = await sClient(port, ['<13>Jan 18 11:07:53 h a: tls 1.2'], ['-tls1_2']);
    expect(old.code).not.toBe(0);
    await until(() => s.status().counters.closed_tls_handshake === 1, 10_000, 'the refused handshake');
    const ok = await sClient(port, ['<13>Jan 18 11:07:53 h a: tls 1.3'], ['-tls1_3']);
    expect(ok.code, ok.stderr).toBe(0);
    await intake.waitFor(1);
    expect(intake.records).toHaveLength(1);
  });

  it('refuses to start with client certificates but no ca_file (the system CAs would vouch for anybody)', async () => {
    for (const client_auth of ['optional', 'required']) {
      await expect(listener(new MemoryIntake(), { client_auth })).rejects.toMatchObject({
        code: 'SIEM_ERR_TLS_MATERIAL',
        message: expect.stringContaining('needs ca_file'),
      });
    }
  });

  it('mTLS required: the client identity (CN, SANs, fingerprint) is on every event of the connection', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { client_auth: 'required', ca_file: pki.ca.cert });
    const r = await sClient(
      port,
      ['<13>Jan 18 11:07:53 host1 app: one', '<13>Jan 18 11:07:54 host1 app: two'],
      ['-cert', pki.client.cert, '-key', pki.client.key],
    );
    expect(r.code, r.stderr).toBe(0);
    await intake.waitFor(2);
    for (const e of intake.events()) {
      expect(e.source.tls).toEqual({
        subjectCn: 'collector-01.example',
        sans: ['DNS:collector-01.example', 'IP Address:10.0.0.7'],
        fingerprint256: pki.client.fingerprint256,
      });
    }
    // without a certificate, or with one from another CA, the handshake fails and nothing is taken
    await sClient(port, ['<13>Jan 18 11:07:53 h a: anonymous']);
    await sClient(
      port,
      ['<13>Jan 18 11:07:53 h a: stranger'],
      ['-cert', pki.stranger.cert, '-key', pki.stranger.key],
    );
    await until(() => (s.status().counters.closed_tls_handshake ?? 0) >= 2, 10_000, 'two failed handshakes');
    await new Promise((r) => setTimeout(r, 200));
    expect(intake.records).toHaveLength(2);
  });

  it('mTLS optional: anonymous clients are accepted, unverifiable certificates are rejected and counted', async () => {
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, { client_auth: 'optional', ca_file: pki.ca.cert });
    await sClient(port, ['<13>Jan 18 11:07:53 h a: anonymous']);
    await sClient(
      port,
      ['<13>Jan 18 11:07:53 h a: verified'],
      ['-cert', pki.client.cert, '-key', pki.client.key],
    );
    await sClient(
      port,
      ['<13>Jan 18 11:07:53 h a: stranger'],
      ['-cert', pki.stranger.cert, '-key', pki.stranger.key],
    );
    await intake.waitFor(2);
    await until(
      () => s.status().counters.closed_tls_client_cert_rejected === 1,
      10_000,
      'the stranger rejected',
    );
    const byMsg = Object.fromEntries(
      intake.events().map((e) => [e.payload.toString().split(': ')[1], e.source.tls]),
    );
    expect(byMsg.anonymous).toBeNull();
    expect(byMsg.verified?.subjectCn).toBe('collector-01.example');
    expect(byMsg.stranger).toBeUndefined();
  });
});

describe('certificate reload (Kubernetes secret layout: symlink swap)', () => {
  /** tls.crt → ..data/tls.crt, ..data → ..<version>/ — what a mounted Kubernetes secret looks like. */
  function secretDir(): { dir: string; swapTo: (cert: string, key: string) => void } {
    const dir = mkdtempSync(join(tmpdir(), 'siem-syslog-secret-'));
    let version = 0;
    const writeVersion = (cert: string, key: string) => {
      const v = `..2024_01_18_${++version}`;
      mkdirSync(join(dir, v));
      writeFileSync(join(dir, v, 'tls.crt'), readFileSync(cert));
      writeFileSync(join(dir, v, 'tls.key'), readFileSync(key));
      return v;
    };
    symlinkSync(writeVersion(pki.server.cert, pki.server.key), join(dir, '..data'));
    symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
    symlinkSync('..data/tls.key', join(dir, 'tls.key'));
    return {
      dir,
      swapTo: (cert, key) => {
        const v = writeVersion(cert, key);
        symlinkSync(v, join(dir, '..data_tmp'));
        renameSync(join(dir, '..data_tmp'), join(dir, '..data')); // atomic, as the kubelet does
      },
    };
  }

  function nodeClient(port: number): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const c = tlsConnect(
        { host: '127.0.0.1', port, ca: readFileSync(pki.ca.cert), servername: 'localhost' },
        () => resolve(c),
      );
      c.once('error', reject);
    });
  }

  it('new connections get the new certificate, established ones keep working', async () => {
    const secret = secretDir();
    const intake = new MemoryIntake();
    // no polling timer: the folder watch alone must notice the swap
    const { s, port } = await listener(intake, {
      cert_file: join(secret.dir, 'tls.crt'),
      key_file: join(secret.dir, 'tls.key'),
      reload_check_interval_ms: 0,
    });
    const old = await nodeClient(port);
    expect(old.getPeerCertificate().fingerprint256).toBe(pki.server.fingerprint256);
    old.write('<13>Jan 18 11:07:53 h a: before the swap\n');
    await intake.waitFor(1);

    secret.swapTo(pki.server2.cert, pki.server2.key);
    await until(() => s.status().counters.tls_reloads === 1, 10_000, 'the reload');

    const fresh = await nodeClient(port);
    expect(fresh.getPeerCertificate().fingerprint256).toBe(pki.server2.fingerprint256);
    fresh.end('<13>Jan 18 11:07:53 h a: new connection\n');
    old.end('<13>Jan 18 11:07:53 h a: old connection after the swap\n');
    await intake.waitFor(3);
    expect(
      intake
        .events()
        .map((e) => e.payload.toString().split(': ')[1])
        .sort(),
    ).toEqual(['before the swap', 'new connection', 'old connection after the swap']);
    expect(s.status().counters.closed_error ?? 0).toBe(0);
    rmSync(secret.dir, { recursive: true, force: true });
  });

  it('a half-written update (certificate without its key) is not applied; the fix is', async () => {
    const secret = secretDir();
    const intake = new MemoryIntake();
    const { s, port } = await listener(intake, {
      cert_file: join(secret.dir, 'tls.crt'),
      key_file: join(secret.dir, 'tls.key'),
      reload_check_interval_ms: 200,
    });
    secret.swapTo(pki.server2.cert, pki.server.key); // mismatched pair
    await new Promise((r) => setTimeout(r, 800));
    expect(s.status().counters.tls_reloads).toBe(0);
    const c = await nodeClient(port);
    expect(c.getPeerCertificate().fingerprint256).toBe(pki.server.fingerprint256);
    c.destroy();
    secret.swapTo(pki.server2.cert, pki.server2.key);
    await until(() => s.status().counters.tls_reloads === 1, 10_000, 'the reload');
    const d = await nodeClient(port);
    expect(d.getPeerCertificate().fingerprint256).toBe(pki.server2.fingerprint256);
    d.destroy();
    rmSync(secret.dir, { recursive: true, force: true });
  });
});
