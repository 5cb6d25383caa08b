/** Stable codes of the cluster tooling's failures (the project's `SIEM_ERR_…` catalogue style). */
export const clusterErrorCodes = {
  SIEM_ERR_CLUSTER_PREREQUISITE: 'a program or package the step needs is missing',
  SIEM_ERR_CLUSTER_BUILD: 'building a binary or image failed',
  SIEM_ERR_CLUSTER_START: 'a component did not start or did not become ready',
  SIEM_ERR_CLUSTER_STOP: 'something the cluster started could not be removed',
} as const;

export type ClusterErrorCode = keyof typeof clusterErrorCodes;

/** A failed step: its code, the step's name, and the reason (the underlying error kept as `cause`). */
export class ClusterError extends Error {
  override readonly name = 'ClusterError';
  constructor(
    readonly code: ClusterErrorCode,
    readonly step: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${step}: ${reason}`, options);
  }
}
