import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeImageName, referenceTag, writeOciImageTarball } from './index.js';

const dirs: string[] = [];
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'oci-test-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function sha256(file: string): string {
  return `sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
}

describe('writeOciImageTarball', () => {
  it('writes a layout GNU tar reads, whose blobs match their digests and whose index names the image', () => {
    const dir = scratch();
    const bin = join(dir, 'tool');
    writeFileSync(bin, Buffer.alloc(70_000, 7), { mode: 0o755 });
    const longName = `etc/${'deep/'.repeat(30)}file.conf`;
    const out = join(dir, 'image.tar');
    const img = writeOciImageTarball(
      {
        name: 'registry.k8s.io/pause:3.10',
        layers: [
          {
            entries: [
              { type: 'dir', path: 'bin' },
              { type: 'file', path: 'bin/tool', sourceFile: bin },
              { type: 'file', path: longName, content: 'x=1\n' },
              { type: 'symlink', path: 'usr/bin/tool', target: '/bin/tool' },
            ],
          },
        ],
        config: { entrypoint: ['/bin/tool'] },
      },
      out,
    );
    const unpacked = join(dir, 'unpacked');
    execFileSync('mkdir', ['-p', unpacked]);
    execFileSync('tar', ['-xf', out, '-C', unpacked]);
    const index = JSON.parse(readFileSync(join(unpacked, 'index.json'), 'utf8'));
    expect(index.manifests[0].annotations['io.containerd.image.name']).toBe('registry.k8s.io/pause:3.10');
    expect(index.manifests[0].digest).toBe(img.manifestDigest);
    for (const d of [img.manifestDigest, img.configDigest, ...img.layerDigests]) {
      expect(sha256(join(unpacked, 'blobs/sha256', d.slice(7)))).toBe(d);
    }
    const config = JSON.parse(
      readFileSync(join(unpacked, 'blobs/sha256', img.configDigest.slice(7)), 'utf8'),
    );
    expect(config.rootfs.diff_ids).toEqual(img.layerDigests);
    expect(config.config.Entrypoint).toEqual(['/bin/tool']);

    const layer = join(unpacked, 'blobs/sha256', img.layerDigests[0]!.slice(7));
    const listing = execFileSync('tar', ['-tvf', layer], { encoding: 'utf8' });
    expect(listing).toContain(longName);
    expect(listing).toMatch(/^-rwxr-xr-x root\/root\s+70000 .* bin\/tool$/m);
    expect(listing).toMatch(/usr\/bin\/tool -> \/bin\/tool/);
    const rootfs = join(dir, 'rootfs');
    execFileSync('mkdir', ['-p', rootfs]);
    execFileSync('tar', ['-xf', layer, '-C', rootfs]);
    expect(readFileSync(join(rootfs, longName), 'utf8')).toBe('x=1\n');
    expect(readFileSync(join(rootfs, 'bin/tool'))).toEqual(readFileSync(bin));
  });

  it('gives the same digests for the same inputs', () => {
    const dir = scratch();
    const spec = {
      name: 'siem-local/x:v1',
      layers: [{ entries: [{ type: 'file' as const, path: 'a', content: 'a' }] }],
    };
    const a = writeOciImageTarball(spec, join(dir, 'a.tar'));
    const b = writeOciImageTarball(spec, join(dir, 'b.tar'));
    expect(b.manifestDigest).toBe(a.manifestDigest);
  });

  it('names the image as the CRI looks it up', () => {
    expect(normalizeImageName('siem-local/coredns:v1')).toBe('docker.io/siem-local/coredns:v1');
    expect(normalizeImageName('busybox:1')).toBe('docker.io/library/busybox:1');
    expect(normalizeImageName('registry.k8s.io/pause:3.10')).toBe('registry.k8s.io/pause:3.10');
    expect(normalizeImageName('localhost:5000/a:1')).toBe('localhost:5000/a:1');
  });

  it('refuses a name without a tag', () => {
    expect(() => referenceTag('registry.k8s.io/pause')).toThrow(/no tag/);
    expect(referenceTag('localhost:5000/a/b:1.2')).toBe('1.2');
  });
});
