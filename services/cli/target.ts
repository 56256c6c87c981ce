/**
 * What the CLI talks to: an endpoint (a load balancer or a node) or the in-process engine on a
 * directory. Resolution, in order:
 *
 *   --local DIR                              the in-process engine, data kept in DIR
 *   --endpoint URL, else DATALITH_ENDPOINT, else http://127.0.0.1:8080 (`npm start`'s default)
 *
 * The access key for an endpoint: --access-key-file FILE, else DATALITH_ACCESS_KEY, else
 * DATALITH_ACCESS_KEY_FILE, else — only for a loopback endpoint — `./.datalith/access-key`,
 * the file `npm start` writes in its default data directory. A key is never read from a
 * default location for a remote endpoint: it would be sent to a server it was not made for.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createClient, type Client } from '..';
import { DatalithError } from '../engine';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8080';
export const DEFAULT_KEY_FILE = path.join('.datalith', 'access-key');

export interface TargetOptions {
  endpoint?: string;
  accessKeyFile?: string;
  local?: string;
  timeout?: number;
}

export type Target =
  | { kind: 'endpoint'; endpoint: string; accessKey: string | undefined; keySource: string; timeout: number | undefined }
  | { kind: 'local'; dir: string };

function readKeyFile(file: string, cwd: string): string {
  const p = path.resolve(cwd, file);
  let text: string;
  try {
    text = fs.readFileSync(p, 'utf8');
  } catch (e) {
    throw new DatalithError('incorrect', `cannot read the access key file ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'cli/access-key-file');
  }
  const key = text.trim();
  if (key === '') throw new DatalithError('incorrect', `the access key file ${p} is empty`, 'cli/access-key-file');
  return key;
}

function isLoopback(endpoint: string): boolean {
  try {
    const h = new URL(endpoint).hostname;
    return h === 'localhost' || h === '[::1]' || h === '::1' || /^127\./.test(h);
  } catch {
    return false;
  }
}

export function resolveTarget(o: TargetOptions, env: NodeJS.ProcessEnv, cwd: string): Target {
  if (o.local !== undefined) {
    if (o.endpoint !== undefined) throw new DatalithError('incorrect', 'use either --local DIR or --endpoint URL, not both', 'cli/invalid-option');
    return { kind: 'local', dir: path.resolve(cwd, o.local) };
  }
  const endpoint = o.endpoint ?? (env['DATALITH_ENDPOINT'] || undefined) ?? DEFAULT_ENDPOINT;
  let accessKey: string | undefined;
  let keySource = 'none';
  if (o.accessKeyFile !== undefined) {
    accessKey = readKeyFile(o.accessKeyFile, cwd);
    keySource = o.accessKeyFile;
  } else if (env['DATALITH_ACCESS_KEY']) {
    accessKey = env['DATALITH_ACCESS_KEY'];
    keySource = 'DATALITH_ACCESS_KEY';
  } else if (env['DATALITH_ACCESS_KEY_FILE']) {
    accessKey = readKeyFile(env['DATALITH_ACCESS_KEY_FILE'], cwd);
    keySource = env['DATALITH_ACCESS_KEY_FILE'];
  } else if (isLoopback(endpoint) && fs.existsSync(path.resolve(cwd, DEFAULT_KEY_FILE))) {
    accessKey = readKeyFile(DEFAULT_KEY_FILE, cwd);
    keySource = DEFAULT_KEY_FILE;
  }
  return { kind: 'endpoint', endpoint, accessKey, keySource, timeout: o.timeout };
}

export function clientFor(t: Target): Client {
  if (t.kind === 'local') return createClient({ local: { dir: t.dir } });
  // An empty key must not fall back to the SDK's own DATALITH_ACCESS_KEY lookup: the CLI
  // already decided which key to use.
  return createClient({
    endpoint: t.endpoint,
    accessKey: t.accessKey ?? '',
    ...(t.timeout !== undefined ? { timeout: t.timeout } : {}),
  });
}

export function describeTarget(t: Target): string {
  return t.kind === 'local' ? `in-process engine, data in ${t.dir}` : t.endpoint;
}
