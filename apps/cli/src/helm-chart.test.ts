import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAgainst } from '@siem/config';
import { helmBinary } from '@siem/local-stack';
import { adapterInstances, loadRootConfig, resolveAdapterEntries, rootConfigSchema } from '@siem/runtime';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const chart = fileURLToPath(new URL('../../../helm/siem-gateway', import.meta.url));

function helm(args: string[]) {
  if (!existsSync(helmBinary))
    throw new Error(`helm is not built: run npm run stack -- fetch (${helmBinary})`);
  const r = spawnSync(helmBinary, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

type Doc = {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
};

function render(...sets: string[]): Doc[] {
  const out = helm([
    'template',
    'siem',
    chart,
    '--kube-version',
    '1.30.0',
    ...sets.flatMap((s) => ['--set', s]),
  ]);
  return parseAllDocuments(out)
    .map((d) => d.toJSON() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

describe('Helm chart', () => {
  it('passes helm lint', () => {
    expect(helm(['lint', chart, '--strict'])).toMatch(/0 chart\(s\) failed/);
  });

  it("renders each role's siem.yaml so that it validates against the configuration schema", () => {
    const maps = render().filter((d) => d.kind === 'ConfigMap');
    expect(maps.map((m) => m.metadata.name).sort()).toEqual([
      'siem-siem-gateway-gateway',
      'siem-siem-gateway-normalizer',
    ]);
    for (const m of maps) {
      const config = parseAllDocuments(m.data!['siem.yaml']!)[0]!.toJSON();
      expect(checkAgainst(rootConfigSchema, config)).toEqual([]);
      expect(resolveAdapterEntries(config.adapters)).toEqual([]);
    }
  });

  it('maps syslog 514 onto the unprivileged 5514 and probes the health endpoints', () => {
    const docs = render();
    const svc = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'siem-siem-gateway-gateway')!;
    const ports = (
      svc.spec!.ports as Array<{ name: string; port: number; targetPort: string; protocol: string }>
    ).map((p) => `${p.port}/${p.protocol}->${p.targetPort}`);
    expect(ports).toEqual(expect.arrayContaining(['514/UDP->syslog-udp', '514/TCP->syslog-tcp']));
    const sts = docs.find((d) => d.kind === 'StatefulSet')!;
    const container = (sts.spec!.template as { spec: { containers: Array<Record<string, unknown>> } }).spec
      .containers[0]!;
    expect(container.args).toEqual(['serve', '--role', 'gateway']);
    expect(
      (container.ports as Array<{ name: string; containerPort: number }>).find(
        (p) => p.name === 'syslog-udp',
      )!.containerPort,
    ).toBe(5514);
    expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/health/ready' } });
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/health/live' } });
  });

  it('turns gateway.adapters into adapters by id: siem.yaml, container ports and Service ports', () => {
    const docs = render(
      'gateway.adapters.fw_asa.type=syslog_tcp',
      'gateway.adapters.fw_asa.port=1514',
      'gateway.adapters.fw_asa.tenant=network',
      'gateway.adapters.dc.type=windows_events',
      'gateway.adapters.dc.port=5516',
      'gateway.adapters.dc.servicePort=5044',
      'gateway.adapters.dc.tenant=corp',
    );
    const map = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'siem-siem-gateway-gateway')!;
    const yaml = map.data!['siem.yaml']!;
    const dir = mkdtempSync(join(tmpdir(), 'siem-helm-'));
    writeFileSync(join(dir, 'siem.yaml'), yaml);
    const config = loadRootConfig({ file: join(dir, 'siem.yaml'), env: {} });
    const byId = Object.fromEntries(adapterInstances(config.adapters).map((a) => [a.id, a]));
    expect(byId.fw_asa).toMatchObject({
      type: 'syslog_tcp',
      form: 'id',
      options: { port: 1514, tenant: 'network' },
    });
    expect(byId.dc).toMatchObject({ type: 'windows_events', options: { port: 5516, tenant: 'corp' } });
    expect(byId.dc!.options).not.toHaveProperty('servicePort');
    expect(byId.syslog_udp).toMatchObject({ form: 'shorthand', options: { port: 5514 } });
    // Winlogbeat deletes what was ACKed: the chart ACKs only what is on disk
    expect(byId.windows_events).toMatchObject({ options: { ack: 'durable' } });
    const svc = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'siem-siem-gateway-gateway')!;
    const ports = (svc.spec!.ports as Array<{ port: number; targetPort: string; protocol: string }>).map(
      (p) => `${p.port}/${p.protocol}->${p.targetPort}`,
    );
    expect(ports).toEqual(expect.arrayContaining(['1514/TCP->fw-asa', '5044/TCP->dc']));
    const sts = docs.find((d) => d.kind === 'StatefulSet')!;
    const container = (sts.spec!.template as { spec: { containers: Array<Record<string, unknown>> } }).spec
      .containers[0]!;
    expect(container.ports).toEqual(
      expect.arrayContaining([
        { name: 'fw-asa', containerPort: 1514, protocol: 'TCP' },
        { name: 'dc', containerPort: 5516, protocol: 'TCP' },
      ]),
    );
    expect(() =>
      render(
        'gateway.adapters.a_very_long_adapter_id.type=syslog_udp',
        'gateway.adapters.a_very_long_adapter_id.port=1',
      ),
    ).toThrow(/at most 15 characters/);
  });

  it('switches to a DaemonSet and to KEDA lag scaling by values', () => {
    const kinds = render('gateway.kind=DaemonSet', 'normalizer.autoscaling.keda.enabled=true').map(
      (d) => d.kind,
    );
    expect(kinds).toContain('DaemonSet');
    expect(kinds).toContain('ScaledObject');
    expect(kinds).not.toContain('StatefulSet');
    const dir = mkdtempSync(join(tmpdir(), 'siem-helm-'));
    writeFileSync(join(dir, 'bad.yaml'), 'gateway:\n  kind: Deployment\n');
    expect(() =>
      helm(['template', 'siem', chart, '--kube-version', '1.30.0', '-f', join(dir, 'bad.yaml')]),
    ).toThrow(/gateway.kind must be StatefulSet or DaemonSet/);
  });
});
