/** Shared helpers of the local-cluster tests: fake node processes and a small HTTP client. */
import * as path from 'node:path';
import { Agent, request } from 'undici';
import { spawnChild, pidAlive, type ChildHandle } from '../../services/local/process';
import type { HealthEvent, LoadBalancer } from '../../services/local/load-balancer';
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

/** Polls `cond` every 20 ms, at most `timeoutMs / 20` times, for a state that has no event to wait on. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const attempts = Math.ceil(timeoutMs / 20);
  for (let i = 0; i < attempts; i++) {
    if (await cond()) return;
    await sleep(20);
  }
  throw new Error(`${what}: still not so after ${attempts} checks`);
}

/** The next health transition of backend `id` to `healthy`, as the load balancer announces it. */
export function healthChange(lb: LoadBalancer, id: string, healthy: boolean): Promise<HealthEvent> {
  return new Promise((resolve) => {
    const on = (e: HealthEvent): void => {
      if (e.id !== id || e.healthy !== healthy) return;
      lb.off('health', on);
      resolve(e);
    };
    lb.on('health', on);
  });
}

/**
 * A clock for code under test: real time until `freeze(at)`, that instant until `freeze(undefined)`.
 * `nextRead()` resolves after the code has next read it, so a test can wait for a periodic check.
 */
export function testClock(): { now: () => number; freeze(at: number | undefined): void; nextRead(): Promise<void> } {
  let frozen: number | undefined;
  const readers: Array<() => void> = [];
  return {
    now: () => {
      for (const r of readers.splice(0)) r();
      return frozen ?? Date.now();
    },
    freeze: (at) => {
      frozen = at;
    },
    nextRead: () => new Promise((r) => readers.push(r)),
  };
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
