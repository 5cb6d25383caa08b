/**
 * Whether node_modules is what package-lock.json describes, cheaply enough to ask on every start.
 *
 * After a successful `npm ci` the bootstrap writes a stamp into node_modules: the lockfile's hash and
 * the Node ABI the native add-ons were built for. A stamp that matches is the fast path. Without one
 * (node_modules installed by hand, or the lockfile changed since), the tree npm itself recorded after
 * its last install (node_modules/.package-lock.json) is compared with the lockfile, entry by entry.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const STAMP = '.siem-bootstrap.json';

/** @param {string} file */
function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** What identifies an installed package; npm leaves out or adds other fields on either side. */
const IDENTITY = ['version', 'resolved', 'integrity', 'link', 'bin'];

/** The identifying fields in which two entries differ. @param {Record<string, unknown>} a @param {Record<string, unknown>} b */
function differingFields(a, b) {
  return IDENTITY.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/**
 * The first way the installed tree differs from the lockfile, or null. Optional packages (other
 * platforms' binaries) may be absent.
 * @param {Record<string, any>} locked
 * @param {Record<string, any>} installed
 */
function treeDifference(locked, installed) {
  for (const [key, entry] of Object.entries(installed)) {
    if (!Object.hasOwn(locked, key)) return `${key} is not in package-lock.json`;
    const fields = differingFields(entry, locked[key]);
    if (fields.length > 0) return `${key} differs from package-lock.json (${fields.join(', ')})`;
  }
  for (const [key, entry] of Object.entries(locked)) {
    if (key !== '' && !Object.hasOwn(installed, key) && entry.optional !== true)
      return `${key} is not installed`;
  }
  return null;
}

/**
 * Commands that npm links into node_modules/.bin for the top-level packages (tsc, vitest, siem, …).
 * @param {Record<string, any>} packages
 * @returns {string[]}
 */
function topLevelBins(packages) {
  const bins = [];
  for (const [key, entry] of Object.entries(packages)) {
    if (!/^node_modules\/(@[^/]+\/)?[^/]+$/.test(key)) continue;
    const target = entry.link === true ? packages[entry.resolved] : entry;
    if (target?.bin === undefined) continue;
    if (typeof target.bin === 'string') bins.push(key.slice(key.lastIndexOf('/') + 1));
    else bins.push(...Object.keys(target.bin));
  }
  return bins;
}

/**
 * @param {string} root the checkout
 * @returns {{ lockHash: string, locked: Record<string, any>, problem: string | null }}
 */
export function nodeModulesState(root) {
  const lockText = readFileSync(join(root, 'package-lock.json'));
  const lockHash = createHash('sha256').update(lockText).digest('hex');
  const locked = JSON.parse(lockText.toString('utf8')).packages ?? {};
  const modules = join(root, 'node_modules');
  const hidden = readJson(join(modules, '.package-lock.json'));
  if (!existsSync(modules)) return { lockHash, locked, problem: 'node_modules is missing' };
  if (hidden === null) return { lockHash, locked, problem: 'node_modules was not installed by npm ci' };
  const stamp = readJson(join(modules, STAMP));
  if (stamp !== null && stamp.abi !== process.versions.modules) {
    return {
      lockHash,
      locked,
      problem: `node_modules was built for Node ABI ${stamp.abi}, this Node ${process.version} has ${process.versions.modules}`,
    };
  }
  const difference = stamp?.lock === lockHash ? null : treeDifference(locked, hidden.packages ?? {});
  if (difference !== null) return { lockHash, locked, problem: difference };
  const missingBin = topLevelBins(locked).find((b) => !existsSync(join(modules, '.bin', b)));
  if (missingBin !== undefined)
    return { lockHash, locked, problem: `node_modules/.bin/${missingBin} is missing` };
  return { lockHash, locked, problem: null };
}

/**
 * Records that node_modules matches the lockfile of hash `lockHash`, keeping what else the stamp holds
 * (the librdkafka check) unless `fresh`.
 * @param {string} root
 * @param {string} lockHash
 * @param {{ fresh?: boolean, rdkafka?: unknown }} [more]
 */
export function writeStamp(root, lockHash, more = {}) {
  const file = join(root, 'node_modules', STAMP);
  const previous = more.fresh === true ? {} : (readJson(file) ?? {});
  const stamp = { ...previous, lock: lockHash, abi: process.versions.modules };
  if (more.rdkafka !== undefined) stamp.rdkafka = more.rdkafka;
  writeFileSync(file, `${JSON.stringify(stamp, null, 2)}\n`);
}

/** @param {string} root */
export function readStamp(root) {
  return readJson(join(root, 'node_modules', STAMP));
}

/** Size and modification time of a file, to tell whether a checked binary is still the one checked. */
export function fileIdentity(file) {
  const st = statSync(file, { throwIfNoEntry: false });
  return st === undefined ? null : { size: st.size, mtimeMs: st.mtimeMs };
}
