/**
 * A running system for HTTP tests: an in-memory dynalite and one or more nodes on it, each on a
 * free port, with one admin key.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { startNode, type RunningNode, type StartNodeOptions } from '../../../services/node/main';
import type { NodeConfigInput } from '../../../services/node/config';
import { startDynaliteInProcess, type DynaliteHandle } from '../../../services/local/dynalite';

export interface TestSystem {
  readonly storage: DynaliteHandle;
  readonly nodes: RunningNode[];
  readonly adminKey: string;
  readonly tables: { catalogTable: string; logTable: string };
  /** The first node's URL. */
  readonly url: string;
  startNode(overrides?: Partial<NodeConfigInput>, options?: StartNodeOptions): Promise<RunningNode>;
  close(): Promise<void>;
}

/** Nodes on one storage; without `cluster` they run on their own (no forwarding, no notifications). */
export async function startSystem(opts: { nodes?: number; node?: Partial<NodeConfigInput>; cluster?: boolean; options?: StartNodeOptions } = {}): Promise<TestSystem> {
  const storage = await startDynaliteInProcess();
  const adminKey = `test-key-${randomUUID()}`;
  const suffix = randomUUID().slice(0, 8);
  const tables = { catalogTable: `catalog-${suffix}`, logTable: `log-${suffix}` };
  const nodes: RunningNode[] = [];
  const start = async (overrides: Partial<NodeConfigInput> = {}, options: StartNodeOptions = {}): Promise<RunningNode> => {
    const node = await startNode(
      {
        adminKey,
        port: 0,
        host: '127.0.0.1',
        storageEndpoint: storage.endpoint,
        ...tables,
        createTables: true,
        nodeId: `node-${nodes.length + 1}`,
        pollIntervalMs: 0,
        ...opts.node,
        ...overrides,
      },
      { logger: pino({ level: process.env.DATALITH_TEST_LOG ?? 'silent' }), cluster: opts.cluster ?? false, ...opts.options, ...options },
    );
    nodes.push(node);
    return node;
  };
  for (let i = 0; i < (opts.nodes ?? 1); i++) await start();
  return {
    storage,
    nodes,
    adminKey,
    tables,
    get url() {
      return nodes[0]!.url;
    },
    startNode: start,
    async close() {
      await Promise.all(nodes.map((n) => n.close()));
      await storage.close();
    },
  };
}

/** A raw HTTP call (global fetch is fine for tests); the body is returned parsed. */
export async function http(
  url: string,
  init: { method?: string; key?: string | null; body?: unknown; rawBody?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  let body: string | undefined;
  if (init.rawBody !== undefined) body = init.rawBody;
  else if (init.body !== undefined) body = JSON.stringify(init.body);
  if (body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
  const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/**
 * Polls `cond` until it holds, at most `attempts` times `pauseMs` apart, for a state that has no
 * event to wait on; throws naming `what` if it never holds.
 */
export async function until(what: string, cond: () => boolean | Promise<boolean>, attempts = 500, pauseMs = 10): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(`${what}: still not so after ${attempts} checks`);
}
