import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { binDir, kubeconfigPath } from '../paths.js';

export const kubectlBinary = join(binDir, 'kubectl');

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (`apply -f -`). */
  input?: string;
  /** kubectl's `--request-timeout`; 30 s unless given. */
  timeoutMs?: number;
}

/** Runs the built kubectl against the cluster (our kubeconfig); returns its exit code and output. */
export function kubectl(args: readonly string[], options: KubectlOptions = {}): Promise<CommandResult> {
  const full = [
    '--kubeconfig',
    kubeconfigPath,
    `--request-timeout=${Math.ceil((options.timeoutMs ?? 30_000) / 1000)}s`,
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlBinary, full, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Like `kubectl` but throws (with kubectl's message) when it fails; returns stdout. */
export async function kubectlOrThrow(args: readonly string[], options: KubectlOptions = {}): Promise<string> {
  const r = await kubectl(args, options);
  if (r.code !== 0) {
    throw new Error(`kubectl ${args.join(' ')} exited with ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}
