/**
 * The local cluster's admin access key: 32 random bytes, base64url, in `<data-dir>/access-key`
 * (mode 0600), generated on first start and reused afterwards.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DatalithError } from '../engine';

export const ACCESS_KEY_FILE = 'access-key';

export function generateAccessKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Read the key in `dataDir`, creating it first if absent. Tightens loose permissions. */
export function ensureAccessKey(dataDir: string): { key: string; file: string; created: boolean } {
  const file = path.resolve(dataDir, ACCESS_KEY_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let created = false;
  try {
    fs.writeFileSync(file, `${generateAccessKey()}\n`, { mode: 0o600, flag: 'wx' });
    created = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = fs.statSync(file);
  if ((st.mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  const key = fs.readFileSync(file, 'utf8').trim();
  if (key.length < 16 || /\s/.test(key)) {
    throw new DatalithError('incorrect', `access key file ${file} does not hold a key (at least 16 characters, no spaces); ` +
      'delete it to have a new one generated', 'local/bad-access-key', { file });
  }
  return { key, file, created };
}
