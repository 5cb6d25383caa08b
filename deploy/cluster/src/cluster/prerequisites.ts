import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ClusterError } from './errors.js';

/** A program the tooling runs, and where it comes from when missing. */
interface Tool {
  command: string;
  /** The Debian package (or toolchain) that provides it. */
  from: string;
}

const buildTools: Tool[] = [
  { command: 'go', from: 'the Go toolchain (https://go.dev/dl, on PATH)' },
  { command: 'gcc', from: 'the Debian package gcc' },
];

const runTools: Tool[] = [
  { command: 'containerd', from: 'the Debian package containerd' },
  { command: 'ctr', from: 'the Debian package containerd' },
  { command: 'runc', from: 'the Debian package runc' },
  { command: 'iptables', from: 'the Debian package iptables' },
  { command: 'conntrack', from: 'the Debian package conntrack' },
  { command: 'socat', from: 'the Debian package socat' },
  { command: 'openssl', from: 'the Debian package openssl' },
  { command: 'ip', from: 'the Debian package iproute2' },
  { command: 'mount', from: 'the Debian package mount' },
];

/** Where Debian (and the upstream default) install the CNI plugins. */
const cniBinDirs = ['/usr/lib/cni', '/opt/cni/bin'];
const cniPlugins = ['bridge', 'host-local', 'loopback', 'portmap'];

export function findOnPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, command);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** The folder holding all the CNI plugins the pod network uses, or null. */
export function findCniBinDir(): string | null {
  return cniBinDirs.find((d) => cniPlugins.every((p) => existsSync(join(d, p)))) ?? null;
}

/** What is missing for `build` or `up`: one line per program, saying where it comes from. */
export function missingPrerequisites(forWhat: 'build' | 'up'): string[] {
  const tools = forWhat === 'build' ? buildTools : runTools;
  const missing = tools
    .filter((t) => findOnPath(t.command) === null)
    .map((t) => `${t.command} (from ${t.from})`);
  if (forWhat === 'up' && findCniBinDir() === null) {
    missing.push(
      `CNI plugins ${cniPlugins.join(', ')} in ${cniBinDirs.join(' or ')} (from the Debian package containernetworking-plugins)`,
    );
  }
  return missing;
}

export function requirePrerequisites(step: string, forWhat: 'build' | 'up'): void {
  const missing = missingPrerequisites(forWhat);
  if (missing.length > 0) {
    throw new ClusterError(
      'SIEM_ERR_CLUSTER_PREREQUISITE',
      step,
      `missing ${missing.join('; ')}. The project's bootstrap installs the Debian packages (containerd runc containernetworking-plugins iptables conntrack socat).`,
    );
  }
}
