/**
 * A small HTTP proxy for tests: round-robins requests over backends (a stand-in for the load
 * balancer), and lets a test intercept a request to answer, drop, or forward it.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Intercept = (req: http.IncomingMessage, body: Buffer) => 'forward' | 'drop-after-forward' | { status: number; body: string; contentType?: string } | undefined;

export interface TestProxy {
  readonly url: string;
  /** Requests forwarded to each backend, by backend URL. */
  readonly forwarded: Map<string, number>;
  intercept: Intercept | undefined;
  close(): Promise<void>;
}

export async function startProxy(backends: () => readonly string[]): Promise<TestProxy> {
  let next = 0;
  const forwarded = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true });
  const state: { intercept: Intercept | undefined } = { intercept: undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const decision = state.intercept?.(req, body) ?? 'forward';
      if (typeof decision === 'object') {
        res.writeHead(decision.status, { 'content-type': decision.contentType ?? 'text/html' });
        res.end(decision.body);
        return;
      }
      const list = backends();
      const target = list[next++ % list.length]!;
      forwarded.set(target, (forwarded.get(target) ?? 0) + 1);
      const u = new URL(target);
      const out = http.request(
        { host: u.hostname, port: u.port, path: req.url, method: req.method, headers: { ...req.headers, host: u.host }, agent },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            if (decision === 'drop-after-forward') {
              // The backend did the work; the client never hears about it.
              req.socket.destroy();
              return;
            }
            const h = { ...up.headers };
            delete h['transfer-encoding'];
            delete h.connection;
            delete h['keep-alive'];
            res.writeHead(up.statusCode ?? 502, h);
            res.end(Buffer.concat(parts));
          });
        },
      );
      out.on('error', () => {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html>502 Bad Gateway</html>');
      });
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded,
    get intercept() {
      return state.intercept;
    },
    set intercept(f) {
      state.intercept = f;
    },
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      agent.destroy();
    },
  };
}
