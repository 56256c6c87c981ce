/**
 * Datalith's client SDK: `createClient({ endpoint, accessKey? })` talks to a Datalith system
 * through its load balancer; `createClient({ local: {} })` runs the engine in-process, in memory.
 *
 * The SDK imports only the engine. The durable local mode (`local: { dir }`) runs the node's
 * storage and transactor code; the package root (services/index.ts) plugs it in with
 * `provideDurableLocalMode`, so a remote client loads no server code.
 */
import { DatalithError } from '../engine';
import { MemoryClient } from './local';
import { LocalDb, runLocalQuery } from './local-db';
import { createRemoteClient, RemoteDb, runRemoteQuery, type KeyAdmin } from './remote';
import type { Client, ClientOptions, LocalClientOptions, RemoteClientOptions } from './types';

export * from './types';
export type { AccessKeyInfo, AccessKeyScope, CreatedAccessKey, KeyAdmin } from './remote';
export { DatalithError };
export type { AnomalyCategory } from '../engine';

/** A remote client also administers access keys (`createKey`, `listKeys`, `revokeKey`). */
export function createClient(options: RemoteClientOptions): Client & KeyAdmin;
export function createClient(options: LocalClientOptions): Client;
export function createClient(options: ClientOptions): Client;
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
  const mapArgs = typeof query === 'object' && query !== null && 'args' in query ? (query as { args?: unknown[] }).args ?? [] : [];
  const all = [...inputs, ...mapArgs];
  const local = all.some((x) => x instanceof LocalDb);
  const remote = all.some((x) => x instanceof RemoteDb);
  if (local && remote) {
    throw new DatalithError('unsupported', 'A query cannot join local and remote database values', 'client/mixed-sources');
  }
  if (local) return runLocalQuery(query, inputs);
  return runRemoteQuery(query, inputs);
}

/** Makes a client whose databases are kept under `dir` (the durable local mode). */
export type DurableLocalFactory = (dir: string) => Client;

let durableLocal: DurableLocalFactory | undefined;

/** Plugs in the durable local mode; the package root does, with services/local/embedded. */
export function provideDurableLocalMode(factory: DurableLocalFactory): void {
  durableLocal = factory;
}

function createDurableLocalClient(dir: string): Client {
  if (durableLocal === undefined) {
    throw new DatalithError('unsupported', "The durable local mode ({ local: { dir } }) comes with the package root: import { createClient } from 'datalith'", 'client/durable-local-unavailable');
  }
  return durableLocal(dir);
}
