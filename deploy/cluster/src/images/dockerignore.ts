/**
 * The `.dockerignore` rules as the builder applies them, so the image tag can be a hash of exactly the
 * files the builder sends: a pattern is matched against the path from the context root and against each
 * of its parent folders (an excluded folder excludes all below it); `**` spans folders, `*` and `?` stay
 * within one; a leading `!` re-includes; the last matching pattern wins.
 */
export interface IgnoreRule {
  negate: boolean;
  pattern: RegExp;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches no folder or any number of them; a trailing `**` matches everything below.
      if (glob[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    // Docker cleans each pattern like a path: no leading `/` or `./`, no trailing `/`.
    line = line.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
    if (line !== '') rules.push({ negate, pattern: globToRegExp(line) });
  }
  return rules;
}

/** Whether the builder leaves `path` (relative, `/`-separated) out of the context. */
export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (prefixes.some((p) => rule.pattern.test(p))) ignored = !rule.negate;
  }
  return ignored;
}
