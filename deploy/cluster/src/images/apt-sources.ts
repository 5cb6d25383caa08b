import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The Debian mirrors the machine itself uses (its /etc/apt sources), so the images fetch packages from
 * wherever this machine is allowed to and the repository names no host.
 */
export interface DebianMirrors {
  /** Serves `<suite>` and `<suite>-updates`. */
  debian: string;
  /** Serves `<suite>-security`, when the machine has it. */
  security: string | null;
}

interface Source {
  uris: string[];
  suites: string[];
}

/** The `deb` entries of a sources file, in either format (one-line `.list` or deb822 `.sources`). */
export function parseSources(name: string, text: string): Source[] {
  const out: Source[] = [];
  if (name.endsWith('.sources')) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const fields = new Map<string, string>();
      let last = '';
      for (const line of stanza.split('\n')) {
        if (line.startsWith('#')) continue;
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (m) {
          last = m[1]!.toLowerCase();
          fields.set(last, m[2]!);
        } else if (/^\s/.test(line) && last !== '') fields.set(last, `${fields.get(last)} ${line.trim()}`);
      }
      if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
      if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
      out.push({
        uris: (fields.get('uris') ?? '').split(/\s+/).filter(Boolean),
        suites: (fields.get('suites') ?? '').split(/\s+/).filter(Boolean),
      });
    }
  } else {
    for (const line of text.split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
      if (m) out.push({ uris: [m[1]!], suites: [m[2]!] });
    }
  }
  return out;
}

export function debianMirrors(
  files: readonly { name: string; text: string }[],
  suite: string,
): DebianMirrors {
  const sources = files.flatMap((f) => parseSources(f.name, f.text));
  const serving = (s: string) => sources.find((src) => src.suites.includes(s))?.uris[0] ?? null;
  const debian = serving(suite);
  if (debian === null) {
    throw new Error(`this machine's apt sources name no mirror for Debian ${suite}: cannot debootstrap it`);
  }
  return { debian, security: serving(`${suite}-security`) };
}

/** The machine's own apt sources (`sources.list` and the enabled files of `sources.list.d`). */
export function machineDebianMirrors(suite: string, aptDir = '/etc/apt'): DebianMirrors {
  const files: { name: string; text: string }[] = [];
  const main = join(aptDir, 'sources.list');
  if (existsSync(main)) files.push({ name: 'sources.list', text: readFileSync(main, 'utf8') });
  const dir = join(aptDir, 'sources.list.d');
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith('.list') || name.endsWith('.sources')) {
        files.push({ name, text: readFileSync(join(dir, name), 'utf8') });
      }
    }
  }
  return debianMirrors(files, suite);
}

/** The image's own apt sources (deb822), as the official Debian images have them. */
export function imageSources(mirrors: DebianMirrors, suite: string): string {
  const stanza = (uri: string, suites: string) =>
    `Types: deb\nURIs: ${uri}\nSuites: ${suites}\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`;
  const parts = [stanza(mirrors.debian, `${suite} ${suite}-updates`)];
  if (mirrors.security !== null) parts.push(stanza(mirrors.security, `${suite}-security`));
  return parts.join('\n');
}
