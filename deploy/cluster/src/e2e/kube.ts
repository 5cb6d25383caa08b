/**
 * What the in-cluster test does to the cluster: helm and kubectl with the cluster's kubeconfig, Jobs
 * that run the gateway image's own `siem` command in a pod, and reads through the API Service.
 */
import { runOrThrow } from '@siem/local-stack';
import { helmBinary, kubectlOrThrow } from '../cluster/index.js';
import { kubeconfigPath } from '../paths.js';

/** kubectl against the cluster; throws with kubectl's message. Long waits give their own timeout. */
export function kubectl(args: readonly string[], input?: string, timeoutMs = 330_000): Promise<string> {
  return kubectlOrThrow(args, { ...(input === undefined ? {} : { input }), timeoutMs });
}

export function helm(args: readonly string[]): Promise<string> {
  return runOrThrow(helmBinary, ['--kubeconfig', kubeconfigPath, ...args]);
}

export async function kubectlJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

export interface PodInfo {
  name: string;
  uid: string;
  ip: string;
  ready: boolean;
  annotations: Record<string, string>;
  claims: string[];
}

interface PodList {
  items: {
    metadata: { name: string; uid: string; annotations?: Record<string, string>; deletionTimestamp?: string };
    spec: { volumes?: { persistentVolumeClaim?: { claimName: string } }[] };
    status: { podIP?: string; conditions?: { type: string; status: string }[] };
  }[];
}

/** The pods of one component of a release (label app.kubernetes.io/component), not being deleted. */
export async function pods(namespace: string, selector: string): Promise<PodInfo[]> {
  const list = await kubectlJson<PodList>(['get', 'pods', '-n', namespace, '-l', selector]);
  return list.items
    .filter((p) => p.metadata.deletionTimestamp === undefined)
    .map((p) => ({
      name: p.metadata.name,
      uid: p.metadata.uid,
      ip: p.status.podIP ?? '',
      ready: p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      annotations: p.metadata.annotations ?? {},
      claims: (p.spec.volumes ?? []).flatMap((v) =>
        v.persistentVolumeClaim === undefined ? [] : [v.persistentVolumeClaim.claimName],
      ),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function serviceIp(namespace: string, name: string): Promise<string> {
  const svc = await kubectlJson<{ spec: { clusterIP: string } }>(['get', 'service', '-n', namespace, name]);
  return svc.spec.clusterIP;
}

export interface JobSpec {
  namespace: string;
  name: string;
  image: string;
  /** The image's entrypoint is the `siem` command: these are its arguments. */
  args: string[];
  imagePullPolicy?: string;
}

/** Starts a Job of one pod, no retries; `waitJob` collects its end. */
export async function startJob(j: JobSpec): Promise<void> {
  const manifest = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: j.name, namespace: j.namespace, labels: { 'siem-test': 'client' } },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: { 'siem-test': 'client' } },
        spec: {
          restartPolicy: 'Never',
          securityContext: { runAsNonRoot: true, runAsUser: 10001 },
          containers: [
            {
              name: 'client',
              image: j.image,
              imagePullPolicy: j.imagePullPolicy ?? 'Never',
              args: j.args,
              resources: { requests: { cpu: '50m', memory: '128Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      },
    },
  };
  await kubectl(['apply', '-f', '-'], JSON.stringify(manifest));
}

export interface JobEnd {
  succeeded: boolean;
  logs: string;
}

interface JobStatus {
  status: { succeeded?: number; failed?: number };
}

/** Waits for a Job to end (either way) and returns its pod's output. */
export async function waitJob(namespace: string, name: string, timeoutMs: number): Promise<JobEnd> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await kubectlJson<JobStatus>(['get', 'job', '-n', namespace, name]);
    const done = (job.status.succeeded ?? 0) > 0 || (job.status.failed ?? 0) > 0;
    if (done) {
      const logs = await kubectl(['logs', '-n', namespace, `job/${name}`]);
      await kubectl(['delete', 'job', '-n', namespace, name, '--wait=false']);
      return { succeeded: (job.status.succeeded ?? 0) > 0, logs };
    }
    if (Date.now() > deadline) {
      const logs = await kubectl(['logs', '-n', namespace, `job/${name}`]).catch((e: Error) => e.message);
      throw new Error(`job ${name} did not end within ${timeoutMs / 1000} s; its output:\n${logs}`);
    }
    await sleep(2000);
  }
}

/** The JSON summary `siem emit-sample --json` prints last on stdout. */
export interface EmitSummary {
  sent: number;
  acknowledged: number | null;
  refused: number;
  error: string | null;
}

export function emitSummary(logs: string): EmitSummary {
  const line = logs
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`no JSON summary in the client's output:\n${logs}`);
  return JSON.parse(line) as EmitSummary;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `read` gives `want` or the time is up; returns the last value read. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs: number,
  everyMs = 3000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read().catch(() => undefined);
    if (v !== undefined && done(v)) return v;
    if (Date.now() > deadline) {
      if (v === undefined) return read();
      return v;
    }
    await sleep(everyMs);
  }
}
