/** Shared by the security and fuzz tests: anomaly checks, and a storage proxy that can hold writes. */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ANOMALY_CATEGORIES } from '../../../services/engine/errors';
import { HTTP_STATUS } from '../../../services/node/http/errors';

export interface Answer {
  readonly status: number;
  readonly body: any;
}

/** No stack frames, source paths or module paths in an answer. */
export const LEAK = /\n\s+at |\bat [\w.<>]+ \(|\/work\/|\/home\/|\/usr\/|node_modules|[\w-]+\.[jt]s:\d+|\b(TypeError|ReferenceError|RangeError|SyntaxError):/;

/** The answer is a well-formed anomaly of `category` (its HTTP status), naming the problem. */
export function expectAnomaly(r: Answer, category: string, code?: string | RegExp, message?: RegExp): void {
  const ok = typeof r.body === 'object' && r.body !== null;
  expect({
    status: r.status,
    category: ok ? r.body.category : r.body,
    ...(code !== undefined ? { code: ok ? r.body.code : undefined } : {}),
  }).toEqual({
    status: category === 'incorrect' && r.status === 413 ? 413 : HTTP_STATUS[category as keyof typeof HTTP_STATUS],
    category,
    ...(code !== undefined ? { code: typeof code === 'string' ? code : expect.stringMatching(code) } : {}),
  });
  expect(typeof r.body.message).toBe('string');
  expect(r.body.message.length).toBeGreaterThan(0);
  if (message) expect(r.body.message).toMatch(message);
  expect(JSON.stringify(r.body)).not.toMatch(LEAK);
}

/** Every answer is a success (2xx with a JSON body) or a well-formed anomaly; returns which. */
export function wellFormed(r: Answer): 'success' | 'anomaly' {
  if (r.status >= 200 && r.status < 300) {
    if (r.status !== 204 && (typeof r.body !== 'object' || r.body === null)) throw new Error(`success without a JSON body: ${r.status} ${String(r.body).slice(0, 200)}`);
    return 'success';
  }
  const b = r.body;
  if (typeof b !== 'object' || b === null || !(ANOMALY_CATEGORIES as readonly string[]).includes(b.category) || typeof b.message !== 'string') {
    throw new Error(`not an anomaly: ${r.status} ${JSON.stringify(b).slice(0, 300)}`);
  }
  const expected = HTTP_STATUS[b.category as keyof typeof HTTP_STATUS];
  if (r.status !== expected && !(r.status === 413 && b.category === 'incorrect')) {
    throw new Error(`status ${r.status} for category ${b.category} (expected ${expected}): ${JSON.stringify(b).slice(0, 300)}`);
  }
  if (b.category === 'fault') throw new Error(`fault: ${JSON.stringify(b).slice(0, 300)}`);
  if (LEAK.test(JSON.stringify(b))) throw new Error(`leaks internals: ${JSON.stringify(b).slice(0, 300)}`);
  return 'anomaly';
}

/**
 * An HTTP proxy in front of the storage endpoint that can hold the DynamoDB calls of one
 * operation (e.g. PutItem: log appends) until released.
 */
export interface StorageGate {
  readonly url: string;
  hold(target: string): void;
  release(): void;
  readonly held: number;
  close(): Promise<void>;
}

export async function startStorageGate(endpoint: string): Promise<StorageGate> {
  const upstream = new URL(endpoint);
  const agent = new http.Agent({ keepAlive: true });
  let holding: string | undefined;
  let waiting: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const forward = (): void => {
        const out = http.request(
          { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host }, agent },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        out.on('error', () => res.destroy());
        out.end(Buffer.concat(chunks));
      };
      const target = String(req.headers['x-amz-target'] ?? '');
      if (holding !== undefined && target.endsWith(`.${holding}`)) waiting.push(forward);
      else forward();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const release = (): void => {
    holding = undefined;
    const w = waiting;
    waiting = [];
    for (const f of w) f();
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold(target) {
      holding = target;
    },
    release,
    get held() {
      return waiting.length;
    },
    async close() {
      release();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      agent.destroy();
    },
  };
}

/**
 * A key-cache clock for `startSystem({ options: { keyCacheClock: clock.now } })`: real time plus
 * however far `advance` moved it, so a cached lookup expires when the test says, not after a sleep.
 */
export function movableClock(): { now: () => number; advance(ms: number): void } {
  let ahead = 0;
  return {
    now: () => Date.now() + ahead,
    advance: (ms) => {
      ahead += ms;
    },
  };
}
