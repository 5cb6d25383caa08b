import { mkdirSync, rmSync } from 'node:fs';
import { PV_LABEL } from './addons.js';
import { kubectlOrThrow } from './kubectl.js';

interface PvList {
  items: { metadata: { name: string }; spec: { hostPath?: { path: string } }; status?: { phase?: string } }[];
}

/**
 * Makes our Released PersistentVolumes (their claim was deleted, e.g. by `helm uninstall`) Available
 * again: their folder is emptied and their claim reference dropped. No provisioner runs, so without
 * this a reinstalled chart's claims would stay Pending. Returns how many were recycled.
 */
export async function recyclePersistentVolumes(pvDir: string): Promise<number> {
  const list = JSON.parse(await kubectlOrThrow(['get', 'pv', '-l', PV_LABEL, '-o', 'json'])) as PvList;
  let n = 0;
  for (const pv of list.items) {
    if (pv.status?.phase !== 'Released') continue;
    const path = pv.spec.hostPath?.path;
    if (!path?.startsWith(`${pvDir}/`)) continue; // only folders of ours are ever emptied
    rmSync(path, { recursive: true, force: true });
    mkdirSync(path, { recursive: true });
    await kubectlOrThrow([
      'patch',
      'pv',
      pv.metadata.name,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/spec/claimRef"}]',
    ]);
    n++;
  }
  return n;
}
