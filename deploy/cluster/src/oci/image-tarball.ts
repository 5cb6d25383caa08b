import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { type TarEntry, TarWriter } from './tar-writer.js';

/** A layer: entries written from memory/files, or a tar file already made (e.g. `tar -C rootfs -cf`). */
export type OciLayer = { entries: readonly TarEntry[] } | { tarFile: string };

/** The parts of an image's runtime configuration a pod needs. */
export interface OciImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  labels?: Record<string, string>;
}

export interface OciImageSpec {
  /** Full reference the image is imported under, e.g. `registry.k8s.io/pause:3.10`. */
  name: string;
  layers: readonly OciLayer[];
  config?: OciImageConfig;
  /** Defaults to `amd64`. */
  architecture?: string;
}

export interface OciImageTarball {
  file: string;
  /** The fully qualified name containerd imports it under. */
  name: string;
  manifestDigest: string;
  configDigest: string;
  layerDigests: string[];
}

const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
};

interface Blob {
  digest: string;
  size: number;
}

function hex(digest: string): string {
  return digest.slice('sha256:'.length);
}

function fileDigest(file: string): Blob {
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  let size = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      size += n;
    }
  } finally {
    closeSync(fd);
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

function jsonBlob(value: unknown): Blob & { bytes: Buffer } {
  const bytes = Buffer.from(JSON.stringify(value));
  return { bytes, size: bytes.length, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

/** The tag of a reference (`registry.k8s.io/pause:3.10` → `3.10`); a reference must carry one. */
export function referenceTag(name: string): string {
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  if (colon < 0 || colon === name.length - 1) {
    throw new Error(`image name ${name} has no tag: name it with a tag (other than "latest")`);
  }
  return name.slice(colon + 1);
}

/**
 * The fully qualified name containerd's CRI looks an image up by (`siem-local/x:1` →
 * `docker.io/siem-local/x:1`, `x:1` → `docker.io/library/x:1`): a pod's `image:` is normalized this
 * way, so an image imported under the short name would not be found.
 */
export function normalizeImageName(name: string): string {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasDomain = first.includes('.') || first.includes(':') || first === 'localhost';
  if (hasDomain) return name;
  return slash < 0 ? `docker.io/library/${name}` : `docker.io/${name}`;
}

/**
 * Writes an OCI image layout as one uncompressed tar (`oci-layout`, `index.json`, `blobs/sha256/…`),
 * plus a Docker-style `manifest.json`, so `ctr -n k8s.io images import <file>` (containerd) imports it
 * under `spec.name`, fully qualified (the `io.containerd.image.name` annotation; see
 * normalizeImageName), and other tools find its tag too.
 * The bytes depend only on the inputs (fixed mtimes and owners), so rebuilding gives the same digests.
 * Written to a temporary file beside `file`, then renamed: a reader never sees half an image.
 */
export function writeOciImageTarball(spec: OciImageSpec, file: string): OciImageTarball {
  const tag = referenceTag(spec.name);
  mkdirSync(dirname(file), { recursive: true });
  const temps: string[] = [];
  try {
    const layers: (Blob & { file: string })[] = spec.layers.map((layer, i) => {
      if ('tarFile' in layer) return { ...fileDigest(layer.tarFile), file: layer.tarFile };
      const tmp = `${file}.layer${i}.tmp`;
      temps.push(tmp);
      const w = new TarWriter(tmp);
      try {
        for (const e of layer.entries) w.add(e);
      } catch (err) {
        w.abort();
        throw err;
      }
      return { ...w.close(), file: tmp };
    });
    const architecture = spec.architecture ?? 'amd64';
    const c = spec.config ?? {};
    const config = jsonBlob({
      created: '1970-01-01T00:00:00Z',
      architecture,
      os: 'linux',
      config: {
        ...(c.entrypoint ? { Entrypoint: c.entrypoint } : {}),
        ...(c.cmd ? { Cmd: c.cmd } : {}),
        Env: c.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
        ...(c.user ? { User: c.user } : {}),
        ...(c.labels ? { Labels: c.labels } : {}),
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    });
    const manifest = jsonBlob({
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: { mediaType: MEDIA.config, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.size })),
    });
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA.index,
      manifests: [
        {
          mediaType: MEDIA.manifest,
          digest: manifest.digest,
          size: manifest.size,
          annotations: {
            'io.containerd.image.name': normalizeImageName(spec.name),
            'org.opencontainers.image.ref.name': tag,
          },
          platform: { architecture, os: 'linux' },
        },
      ],
    };
    const dockerManifest = [
      {
        Config: `blobs/sha256/${hex(config.digest)}`,
        RepoTags: [spec.name],
        Layers: layers.map((l) => `blobs/sha256/${hex(l.digest)}`),
      },
    ];

    const tmp = `${file}.tmp`;
    temps.push(tmp);
    const out = new TarWriter(tmp);
    try {
      out.add({ type: 'file', path: 'oci-layout', content: JSON.stringify({ imageLayoutVersion: '1.0.0' }) });
      out.add({ type: 'file', path: 'index.json', content: JSON.stringify(index) });
      out.add({ type: 'file', path: 'manifest.json', content: JSON.stringify(dockerManifest) });
      out.add({ type: 'dir', path: 'blobs' });
      out.add({ type: 'dir', path: 'blobs/sha256' });
      out.add({ type: 'file', path: `blobs/sha256/${hex(config.digest)}`, content: config.bytes });
      out.add({ type: 'file', path: `blobs/sha256/${hex(manifest.digest)}`, content: manifest.bytes });
      const seen = new Set<string>();
      for (const l of layers) {
        if (seen.has(l.digest)) continue;
        seen.add(l.digest);
        out.add({ type: 'file', path: `blobs/sha256/${hex(l.digest)}`, sourceFile: l.file, mode: 0o644 });
      }
    } catch (err) {
      out.abort();
      throw err;
    }
    out.close();
    renameSync(tmp, file);
    return {
      file,
      name: spec.name,
      manifestDigest: manifest.digest,
      configDigest: config.digest,
      layerDigests: layers.map((l) => l.digest),
    };
  } finally {
    for (const t of temps) rmSync(t, { force: true });
  }
}
