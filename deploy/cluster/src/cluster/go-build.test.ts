import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildDir } from '../paths.js';
import { goTargets, kubernetesGoMod, kubernetesLdflags, otherBuilds, stagingVersion } from './go-build.js';

const upstream = `// This is a generated file. Do not edit directly.

module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
	github.com/blang/semver/v4 v4.0.0
	k8s.io/api v0.0.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/streaming => ./staging/src/k8s.io/streaming
)
`;

describe('kubernetesGoMod', () => {
  it('requires kubernetes and replaces each staging module with its published version', () => {
    expect(kubernetesGoMod(upstream, 'v1.37.2')).toBe(
      'module siem.local/kubernetes-build\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes v1.37.2\n\nreplace (\n' +
        '\tk8s.io/api => k8s.io/api v0.37.2\n' +
        '\tk8s.io/client-go => k8s.io/client-go v0.37.2\n' +
        '\tk8s.io/streaming => k8s.io/streaming v0.37.2\n)\n',
    );
  });

  it('refuses a go.mod without a replace block', () => {
    expect(() => kubernetesGoMod('module x\n\ngo 1.26.0\n', 'v1.37.2')).toThrow(/replace block/);
  });

  it('maps v1.x.y to the staging modules v0.x.y', () => {
    expect(stagingVersion('v1.37.2')).toBe('v0.37.2');
    expect(() => stagingVersion('1.37')).toThrow();
  });
});

describe('kubernetesLdflags', () => {
  it('sets the version both component-base and client-go report, stripped', () => {
    const flags = kubernetesLdflags('v1.37.2');
    expect(flags.startsWith('-s -w ')).toBe(true);
    expect(flags).toContain('-X k8s.io/component-base/version.gitVersion=v1.37.2');
    expect(flags).toContain('-X k8s.io/component-base/version.gitMinor=37');
    expect(flags).toContain('-X k8s.io/client-go/pkg/version.gitVersion=v1.37.2');
    expect(flags).toContain('-X k8s.io/client-go/pkg/version.gitMajor=1');
  });

  it('builds the six Kubernetes binaries in one go build, etcd and CoreDNS alone', () => {
    expect(goTargets.map((t) => [t.dir, t.outputs.length])).toEqual([
      ['etcd', 1],
      ['coredns', 1],
      ['kubernetes', 6],
    ]);
  });
});

describe('otherBuilds', () => {
  it('sees a process working in the build folder (a build another run started) and not itself', async () => {
    mkdirSync(buildDir, { recursive: true });
    expect(otherBuilds().some((p) => p.startsWith(`${process.pid} `))).toBe(false);
    const child = spawn('sleep', ['30'], { cwd: buildDir, stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(otherBuilds().some((p) => p.startsWith(`${child.pid} sleep 30`))).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
