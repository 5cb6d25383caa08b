import { hostname } from 'node:os';
import { runOrThrow } from '@siem/local-stack';
import type { NodeIdentity } from './pki.js';

/** The node's name (the host's, lower-cased as Kubernetes wants) and the address of its default route. */
export async function nodeIdentity(): Promise<NodeIdentity> {
  const name = (process.env.SIEM_CLUSTER_NODE_NAME || hostname()).toLowerCase();
  const route = await runOrThrow('ip', ['-4', 'route', 'get', '192.0.2.255']).catch(() => '');
  const ip = process.env.SIEM_CLUSTER_NODE_IP || /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(route)?.[1];
  if (!ip) throw new Error('cannot find the node address (no IPv4 default route); set SIEM_CLUSTER_NODE_IP');
  return { name, ip };
}
