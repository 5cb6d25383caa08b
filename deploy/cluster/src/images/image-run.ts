import { run } from '@siem/local-stack';
import { buildah, imageConfig } from './buildah.js';

/**
 * The image's file system, bound read-only, with /proc and /dev and empty writable folders (as a pod's
 * emptyDir volumes), entered as the image's user, with a network of its own (loopback only).
 */
const ENTER_SCRIPT = `set -e
root="$1"; user="$2"; workdir="$3"; writable="$4"; shift 4
ip link set lo up
hostname image-run
# As a container runtime does: the mount points of the files it provides, made before the root is read-only.
touch "$root/etc/hosts" "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.0.1\timage-run\n' >"$root/etc/hosts"
echo image-run >"$root/etc/hostname"
ro="$(mktemp -d)"
mount --bind "$root" "$ro"
mount -o remount,bind,ro "$ro"
mount -t proc proc "$ro/proc"
mount --rbind /dev "$ro/dev"
for dir in $writable; do
  mount -t tmpfs -o mode=0755 tmpfs "$ro$dir"
  chown "$user" "$ro$dir"
done
exec chroot --userspec="$user" "$ro" /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "$@"
`;

export type RunResult = Awaited<ReturnType<typeof run>>;

export interface RunInImageOptions {
  /** Replaces the image's entrypoint. */
  entrypoint?: readonly string[];
  /** Replaces the image's user (`uid` or `uid:gid`). */
  user?: string;
  /** Folders given as empty, writable file systems owned by the user (a pod's volumes). */
  writable?: readonly string[];
  /** Added to (and overriding) the image's environment. */
  env?: Readonly<Record<string, string>>;
}

/**
 * Runs a command in an image as its configuration says (user, environment, working directory,
 * entrypoint; `args` replace its CMD) on a read-only root file system, in a mount namespace of its own
 * so nothing is left mounted. Not a container runtime: it checks what the image holds and how it is
 * configured, as the cluster's runtime will run it with `readOnlyRootFilesystem`.
 */
export async function runInImage(
  ref: string,
  args: readonly string[],
  options: RunInImageOptions = {},
): Promise<RunResult> {
  const config = await imageConfig(ref);
  const ctr = (await buildah(['from', '--pull-never', ref])).trim();
  try {
    const mnt = (await buildah(['mount', ctr])).trim();
    const user = options.user ?? (config.User && config.User !== '' ? config.User : '0');
    const userspec = user.includes(':') ? user : `${user}:${user}`;
    const argv = [...(options.entrypoint ?? config.Entrypoint ?? []), ...args];
    return await run('unshare', [
      '--mount',
      '--propagation',
      'private',
      '--pid',
      '--net',
      '--uts',
      '--fork',
      'sh',
      '-c',
      ENTER_SCRIPT,
      'enter',
      mnt,
      userspec,
      config.WorkingDir || '/',
      (options.writable ?? []).join(' '),
      '/usr/bin/env',
      '-i',
      ...(config.Env ?? []),
      ...Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
      ...argv,
    ]);
  } finally {
    await buildah(['rm', ctr]).catch(() => undefined);
  }
}
