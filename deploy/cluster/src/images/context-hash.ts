import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runOrThrow } from '@siem/local-stack';
import { isIgnored, parseDockerignore } from './dockerignore.js';

/**
 * A content hash of what the builder is given: every file git tracks that .dockerignore does not leave
 * out (as it is in the working tree), plus the Dockerfile. Paths, the executable bit and contents are
 * hashed in path order, so the same commit always gives the same tag and any change to a tracked file
 * the image is built from gives a new one. Files git does not track yet are not hashed (work in progress
 * in a shared checkout must not rebuild the image at every save); they become part of the tag once added.
 */
export async function contextHash(contextDir: string, dockerfile: string): Promise<string> {
  const listed = await runOrThrow('git', ['ls-files', '-z', '--cached'], {
    cwd: contextDir,
  });
  const ignoreFile = join(contextDir, '.dockerignore');
  const rules = existsSync(ignoreFile) ? parseDockerignore(readFileSync(ignoreFile, 'utf8')) : [];
  const files = [...new Set(listed.split('\0').filter((f) => f !== ''))]
    .filter((f) => !isIgnored(rules, f))
    .sort();
  const hash = createHash('sha256');
  for (const file of files) {
    const path = join(contextDir, file);
    const st = statSync(path, { throwIfNoEntry: false });
    // A tracked file deleted in the working tree is not sent; a symbolic link is hashed as its target's.
    if (st === undefined || !st.isFile()) continue;
    hash.update(`${file}\0${st.mode & 0o111 ? 'x' : '-'}\0`);
    hash.update(readFileSync(path));
    hash.update('\0');
  }
  hash.update(`Dockerfile\0${relative(contextDir, dockerfile)}\0`);
  hash.update(readFileSync(dockerfile));
  return hash.digest('hex');
}
