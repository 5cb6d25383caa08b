/**
 * What `npm start`, `npm test` and the benchmarks need on this machine, each piece as a step: a check
 * that is cheap (a warm run asks them all in well under a second) and the commands that put the piece
 * in place when the check finds it missing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { clusterBinaries } from './cluster.mjs';
import { fileIdentity, nodeModulesState, readStamp, writeStamp } from './node-modules.mjs';
import { asRoot, capture, commandLine, runStep, StepFailed, which } from './shell.mjs';

/**
 * @typedef {'start' | 'test' | 'bench'} Profile
 * @typedef {{ root: string, profile: Profile, cacheDir: string, plan: boolean }} Context
 * @typedef {{ detail: string, commands: string[][], fix: () => Promise<void> }} Need
 * @typedef {{ name: string, after?: string[], check: (ctx: Context) => Need | null }} Step
 */

/** Debian packages, by what needs them. */
export const DEBIAN_PACKAGES = {
  // librdkafka (inside node-rdkafka) is compiled by npm ci; without the -dev packages it silently
  // lacks zstd, SSL or SASL. Every profile builds node_modules.
  build: ['build-essential', 'python3', 'pkg-config', 'libzstd-dev', 'libssl-dev', 'libsasl2-dev'],
  // the local stack (PostgreSQL; Java and Maven for the Kafka jars) and the clients the tests drive
  // (logger from bsdutils, rsyslog, openssl, curl)
  test: [
    'postgresql',
    'openjdk-17-jre-headless',
    'maven',
    'bsdutils',
    'util-linux',
    'openssl',
    'rsyslog',
    'curl',
    'ca-certificates',
    // the console's browser tests drive Debian's Chromium (never a downloaded browser)
    'chromium',
  ],
  // the one-node Kubernetes cluster of the in-cluster test (deploy/cluster): the container runtime,
  // pod networking and kube-proxy's tools, and the image builders (buildah runs the Dockerfiles,
  // debootstrap makes the base images no registry can give us)
  cluster: [
    'containerd',
    'runc',
    'containernetworking-plugins',
    'iptables',
    'conntrack',
    'socat',
    'buildah',
    'debootstrap',
    // Strimzi's CRDs are generated from its published model by a single-file Java program (the JDK's
    // compiler module runs it): deploy/cluster/strimzi
    'openjdk-17-jdk-headless',
  ],
  // the peers the benchmarks compare against: rsyslog's Kafka output (omkafka)
  bench: ['rsyslog-kafka'],
};

/** As deploy/local/src/paths.ts pins it: bootstrap.test.ts finds the jars where the stack scripts put them. */
const KAFKA_VERSION = '4.1.1';

/** What `npm run stack -- fetch <name>` puts into the cache, and the file that says it is complete. */
export const ARTEFACTS = [
  { name: 'kafka-jars', what: `Kafka ${KAFKA_VERSION} jars`, file: [`kafka-${KAFKA_VERSION}`, 'complete'] },
  { name: 'helm', what: 'helm', file: ['bin', 'helm'] },
  { name: 'loggen', what: "syslog-ng's loggen", file: ['syslog-ng', 'complete'] },
];

/** @type {Record<Profile, { debian: (keyof typeof DEBIAN_PACKAGES)[], downloads: boolean, aptLists: boolean }>} */
export const PROFILES = {
  start: { debian: ['build'], downloads: false, aptLists: false },
  test: { debian: ['build', 'test', 'cluster'], downloads: true, aptLists: false },
  // gateway-comparison unpacks syslog-ng's Kafka module and jemalloc with `apt-get download` itself
  bench: { debian: ['build', 'test', 'bench'], downloads: true, aptLists: true },
};

/** How to run as root; in a plan, sudo even where it is missing (the run says so). @param {string} step @param {boolean} plan */
function rootPrefix(step, plan) {
  if (!plan) return asRoot(step);
  try {
    return asRoot(step);
  } catch {
    return ['sudo'];
  }
}

function aptListsPresent() {
  const dir = '/var/lib/apt/lists';
  return existsSync(dir) && readdirSync(dir).some((f) => /_Packages(\.\w+)?$/.test(f));
}

function aptGet(prefix, args) {
  // waits for another apt (unattended upgrades) instead of failing; no progress bars in a log
  const options = ['-o', 'DPkg::Lock::Timeout=300', '-o', 'Dpkg::Use-Pty=0'];
  return [...prefix, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...options, ...args];
}

/** @type {Step} */
const debianPackages = {
  name: 'Debian packages',
  check(ctx) {
    const extra = (process.env.SIEM_BOOTSTRAP_EXTRA_PACKAGES ?? '').split(/\s+/).filter((p) => p !== '');
    const wanted = [...PROFILES[ctx.profile].debian.flatMap((g) => DEBIAN_PACKAGES[g]), ...extra];
    if (which('dpkg-query') === null) {
      const detail = `no dpkg-query, so not Debian: install ${wanted.join(' ')} or their equivalents yourself, then set SIEM_BOOTSTRAP=off`;
      return {
        detail,
        commands: [],
        fix: async () => {
          throw new StepFailed(this.name, '', detail);
        },
      };
    }
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not a template
    const r = capture(['dpkg-query', '-W', '-f=${Package}\\t${db:Status-Status}\\n', ...wanted]);
    const installed = new Set(
      r.stdout
        .split('\n')
        .map((l) => l.split('\t'))
        .filter(([, status]) => status === 'installed')
        .map(([name]) => name),
    );
    const missing = wanted.filter((p) => !installed.has(p));
    if (missing.length === 0) return null;
    const prefix = rootPrefix(this.name, ctx.plan);
    const commands = [
      aptGet(prefix, ['-qq', 'update']),
      aptGet(prefix, ['install', '-y', '-qq', '--no-install-recommends', ...missing]),
    ];
    return {
      detail: `not installed: ${missing.join(' ')}`,
      commands,
      fix: async () => {
        asRoot(this.name);
        for (const c of commands) await runStep(this.name, c);
      },
    };
  },
};

/** Native add-ons build from source against this Node's headers: never a downloaded prebuilt binary. */
function nativeBuildEnv() {
  const nodedir = process.env.npm_config_nodedir || resolve(process.execPath, '..', '..');
  return {
    nodedir,
    env: { ...process.env, npm_config_nodedir: nodedir, npm_config_build_from_source: 'true' },
  };
}

/** npm itself: the one running us (`npm test` sets npm_execpath), else the one on PATH. */
function npm(args) {
  const cli = process.env.npm_execpath;
  return cli !== undefined && /npm-cli\.c?js$/.test(cli)
    ? [process.execPath, cli, ...args]
    : ['npm', ...args];
}

/** @type {Step} */
const nodeModules = {
  name: 'node_modules',
  check(ctx) {
    const state = nodeModulesState(ctx.root);
    if (state.problem === null) {
      if (!ctx.plan && readStamp(ctx.root)?.lock !== state.lockHash) writeStamp(ctx.root, state.lockHash);
      return null;
    }
    const { nodedir, env } = nativeBuildEnv();
    const command = npm(['ci', '--no-audit', '--no-fund']);
    return {
      detail: state.problem,
      commands: [['env', `npm_config_nodedir=${nodedir}`, 'npm_config_build_from_source=true', ...command]],
      fix: async () => {
        if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
          throw new StepFailed(
            this.name,
            '',
            `Node's C headers are not in ${nodedir}/include/node; native add-ons (node-rdkafka) build against them. ` +
              'Use a Node installation that carries them, or point npm_config_nodedir at one.',
          );
        }
        await runStep(this.name, command, { cwd: ctx.root, env });
        const after = nodeModulesState(ctx.root).problem;
        if (after !== null)
          throw new StepFailed(this.name, commandLine(command), `npm ci succeeded, yet ${after}`);
        writeStamp(ctx.root, state.lockHash, { fresh: true });
      },
    };
  },
};

const RDKAFKA_FEATURES = ['zstd', 'ssl', 'sasl'];

/** @param {string} root @returns {Set<string>} */
function lockedPackages(root) {
  return new Set(
    Object.keys(JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages ?? {}),
  );
}

/** @param {string} root */
function rdkafkaFeatures(root) {
  const r = capture([process.execPath, '-p', "require('node-rdkafka').features.join(',')"], { cwd: root });
  if (r.code !== 0)
    return {
      features: null,
      error:
        r.stderr
          .trim()
          .split('\n')
          .find((l) => /Error/.test(l)) ?? r.stderr.trim(),
    };
  return { features: r.stdout.trim().split(','), error: '' };
}

/** @type {Step} */
const librdkafka = {
  name: 'librdkafka',
  after: ['node_modules'],
  check(ctx) {
    if (!lockedPackages(ctx.root).has('node_modules/node-rdkafka')) return null;
    const binary = join(ctx.root, 'node_modules', 'node-rdkafka', 'build', 'Release', 'node-librdkafka.node');
    const identity = fileIdentity(binary);
    const stamp = readStamp(ctx.root);
    const known = stamp?.rdkafka;
    if (identity !== null && known?.size === identity.size && known?.mtimeMs === identity.mtimeMs) {
      if (RDKAFKA_FEATURES.every((f) => known.features.includes(f))) return null;
    }
    const found = rdkafkaFeatures(ctx.root);
    const lacking =
      found.features === null ? [] : RDKAFKA_FEATURES.filter((f) => !found.features.includes(f));
    if (found.features !== null && lacking.length === 0) {
      if (!ctx.plan && stamp !== null) {
        writeStamp(ctx.root, stamp.lock, { rdkafka: { ...fileIdentity(binary), features: found.features } });
      }
      return null;
    }
    const { env } = nativeBuildEnv();
    const command = npm(['rebuild', 'node-rdkafka']);
    return {
      detail:
        found.features === null
          ? `node-rdkafka does not load: ${found.error}`
          : `librdkafka lacks ${lacking.join(', ')}`,
      commands: [command],
      fix: async () => {
        await runStep(this.name, command, { cwd: ctx.root, env });
        const again = rdkafkaFeatures(ctx.root);
        const still =
          again.features === null
            ? RDKAFKA_FEATURES
            : RDKAFKA_FEATURES.filter((f) => !again.features.includes(f));
        if (still.length > 0) {
          throw new StepFailed(
            this.name,
            commandLine(command),
            `librdkafka still lacks ${still.join(', ')} after the rebuild (${again.error || again.features.join(',')}): are ${DEBIAN_PACKAGES.build.join(' ')} installed?`,
          );
        }
        writeStamp(ctx.root, readStamp(ctx.root)?.lock ?? '', {
          rdkafka: { ...fileIdentity(binary), features: again.features },
        });
      },
    };
  },
};

/** @type {Step} */
const aptLists = {
  name: 'Debian package lists',
  check(ctx) {
    if (!PROFILES[ctx.profile].aptLists || aptListsPresent()) return null;
    const command = aptGet(rootPrefix(this.name, ctx.plan), ['-qq', 'update']);
    return {
      detail: 'none on this machine (apt-get download needs them)',
      commands: [command],
      fix: () => runStep(this.name, command),
    };
  },
};

/** @type {Step} */
const downloads = {
  name: 'stack downloads',
  check(ctx) {
    if (!PROFILES[ctx.profile].downloads) return null;
    const missing = ARTEFACTS.filter((a) => !existsSync(join(ctx.cacheDir, ...a.file)));
    if (missing.length === 0) return null;
    const fetch = [
      process.execPath,
      '--conditions=source',
      '--import',
      'tsx',
      'deploy/local/src/main.ts',
      'fetch',
      ...missing.map((a) => a.name),
    ];
    const needsLists = missing.some((a) => a.name === 'loggen') && !aptListsPresent();
    const update = aptGet(rootPrefix(this.name, ctx.plan), ['-qq', 'update']);
    return {
      detail: `not in ${ctx.cacheDir}: ${missing.map((a) => a.what).join(', ')}`,
      commands: [...(needsLists ? [update] : []), fetch],
      fix: async () => {
        if (missing.some((a) => a.name === 'helm') && which('go') === null) {
          throw new StepFailed(
            this.name,
            '',
            'helm is built from its source with the Go toolchain: put go (1.24 or later) on PATH',
          );
        }
        if (needsLists) await runStep(this.name, update);
        await runStep(this.name, fetch, { cwd: ctx.root });
      },
    };
  },
};

/** In the order they run: each may need what an earlier one put in place. */
export const STEPS = [debianPackages, aptLists, nodeModules, librdkafka, downloads, clusterBinaries];
