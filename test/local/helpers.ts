/** Shared helpers of the local-cluster tests: fake node processes and a small HTTP client. */
import * as path from 'node:path';
import { Agent, request } from 'undici';
import { spawnChild, pidAlive, type ChildHandle } from '../../services/local/process';
import type { NodeProcessInfo } from '../../services/local/supervisor';

export const FAKE_NODE = path.join(__dirname, 'fixtures', 'fake-node.ts');

export function spawnFake(id: string, port = 0): Promise<ChildHandle<NodeProcessInfo>> {
  return spawnChild<NodeProcessInfo>({
    name: `fake ${id}`,
    entry: FAKE_NODE,
    env: { PORT: String(port), HOST: '127.0.0.1', DATALITH_NODE_ID: id },
    ready: (m) => (m['event'] === 'listening' && typeof m['port'] === 'number' ? { port: m['port'] } : undefined),
    readyTimeoutMs: 20_000,
  });
}

export interface Reply {
  status: number;
  json: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** A client with its own keep-alive pool (like an SDK talking to the endpoint). */
export class HttpClient {
  readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });

  async call(base: string, method: string, p: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await request(`${base}${p}`, {
      method: method as 'GET',
      dispatcher: this.agent,
      ...(body !== undefined ? { body, headers: { 'content-type': 'application/json', ...headers } } : { headers }),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await res.body.text();
    let json: Record<string, unknown> = {};
    try {
      json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      json = { text };
    }
    return { status: res.statusCode, json, headers: res.headers };
  }

  get(base: string, p: string, headers?: Record<string, string>): Promise<Reply> {
    return this.call(base, 'GET', p, undefined, headers);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Run `workers` request loops until `stop()`; collects every status. */
export function load(workers: number, fn: (i: number) => Promise<Reply>): { stop(): Promise<Reply[]>; replies: Reply[] } {
  const replies: Reply[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async (_, w) => {
    let i = 0;
    while (running) {
      try {
        replies.push(await fn(w * 1_000_000 + i++));
      } catch (e) {
        replies.push({ status: -1, json: { error: (e as Error).message }, headers: {} });
      }
    }
  });
  return {
    replies,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return replies;
    },
  };
}

export function alivePids(pids: Iterable<number>): number[] {
  return [...pids].filter(pidAlive);
}
