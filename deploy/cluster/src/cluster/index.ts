/**
 * The project's one-node Kubernetes cluster: built from the Go module proxy into the cache, run as
 * detached processes with their own state folder, ports and containerd (see deploy/cluster/src/paths.ts).
 */
export { STORAGE_CLASS } from './addons.js';
export { clusterBuild, helmBinary } from './build.js';
export { clusterDown, type DownResult } from './down.js';
export { ClusterError, type ClusterErrorCode, clusterErrorCodes } from './errors.js';
export { type HostStateSnapshot, hostStateSnapshot } from './host-snapshot.js';
export {
  type CommandResult,
  type KubectlOptions,
  kubectl,
  kubectlBinary,
  kubectlOrThrow,
} from './kubectl.js';
export { type ClusterLayout, clusterLayout } from './layout.js';
export { clusterImages, importImage } from './local-images.js';
export { type ClusterStatus, type ComponentStatus, clusterStatus, formatStatus } from './status.js';
export { type Log, type StepTiming, stdoutLog } from './steps.js';
export { recyclePersistentVolumes } from './storage.js';
export { clusterUp, type UpResult } from './up.js';
