/**
 * Datalith's client SDK: `createClient({ endpoint, accessKey? })` talks to a Datalith system
 * through its load balancer; `createClient({ local: { dir? } })` runs the engine in-process.
 */
import { DatalithError } from '../engine/errors';
import { MemoryClient } from './local';
import { LocalDb, runLocalQuery } from './local-db';
import type { Client, ClientOptions } from './types';

export * from './types';
export { DatalithError };
export type { AnomalyCategory } from '../engine/errors';

export function createClient(options: ClientOptions): Client {
  if (typeof options !== 'object' || options === null) {
    throw new DatalithError('incorrect', 'createClient expects { endpoint, accessKey? } or { local: { dir? } }', 'client/invalid-options');
  }
  if ('local' in options) {
    if (options.local.dir === undefined) return new MemoryClient();
    return createDurableLocalClient(options.local.dir);
  }
  if ('endpoint' in options) return createRemoteClient(options);
  throw new DatalithError('incorrect', 'createClient expects { endpoint, accessKey? } or { local: { dir? } }', 'client/invalid-options');
}

/** Runs a query over several sources: `q(query, db1, db2, ...inputs)` or the map form. */
export async function q(query: unknown, ...inputs: unknown[]): Promise<any> {
  if (inputs.some((x) => x instanceof LocalDb) || (typeof query === 'object' && query !== null && 'args' in query && (query as { args: unknown[] }).args?.some((x) => x instanceof LocalDb))) {
    return runLocalQuery(query, inputs);
  }
  return runRemoteQuery(query, inputs);
}

function createDurableLocalClient(dir: string): Client {
  // Loaded lazily: only durable local mode needs the node's storage and transactor code.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { EmbeddedClient } = require('../local/embedded') as typeof import('../local/embedded');
  return new EmbeddedClient(dir);
}
function createRemoteClient(_o: ClientOptions): Client {
  throw new DatalithError('unsupported', 'The remote client is not available yet', 'client/unsupported');
}
async function runRemoteQuery(_q: unknown, _inputs: unknown[]): Promise<unknown> {
  throw new DatalithError('unsupported', 'q needs at least one database value as a source', 'client/unsupported');
}
