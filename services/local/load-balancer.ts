/**
 * The local load balancer — what the ALB does in AWS.
 *
 * - HTTP reverse proxy on the endpoint port; one undici `Pool` per backend (keep-alive), requests
 *   dispatched with a raw undici handler that writes the backend's status, headers and body
 *   straight into the client's response (no intermediate streams, no header objects).
 * - Balancing: least outstanding requests over healthy backends, round robin among ties.
 * - Active health checks: `GET /health` every `intervalMs` (250) with a `timeoutMs` (500) timeout,
 *   on a separate small pool per backend so they never queue behind proxied traffic. A backend
 *   becomes unhealthy after `unhealthyThreshold` (2) consecutive failures, healthy after
 *   `healthyThreshold` (2) consecutive successes (1 for a new backend). A health check that
 *   times out while the backend is demonstrably serving (a proxied response completed since the
 *   check was sent) counts as busy, not failed; so does one that times out while requests are in
 *   flight on the backend and it showed life (a passed check or a response) within `busyGraceMs`
 *   (3 s) — a query holding the event loop for a second or two does not get a node ejected, while
 *   an idle hung node is detected in under a second.
 * - Passive health: a connection the backend refuses marks it unhealthy at once.
 * - Retries: a request that never reached a backend (connection refused / connect timeout) is
 *   retried on another healthy backend whatever its method (request bodies are buffered, so they
 *   can be sent again); a request whose connection broke after it was sent is retried only when
 *   idempotent (GET, HEAD, OPTIONS). Otherwise: 503 `{category:'interrupted'}` (outcome
 *   unknown; the SDK retries transactions safely by transaction id).
 * - No healthy backend: 503 `{category:'unavailable', message}`.
 */
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';

export interface BackendSpec {
  id: string;
  /** `http://host:port` */
  url: string;
}

export interface HealthCheckOptions {
  path?: string;
  intervalMs?: number;
  timeoutMs?: number;
  unhealthyThreshold?: number;
  healthyThreshold?: number;
  /** Health-check timeouts of a backend with requests in flight are tolerated this long (3000). */
  busyGraceMs?: number;
}

export interface LoadBalancerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  backends?: BackendSpec[];
  healthCheck?: HealthCheckOptions;
  /** Largest request body accepted (default 64 MiB); larger: 413. */
  maxBodyBytes?: number;
  /** Max sockets per backend (default 256). */
  connectionsPerBackend?: number;
  /** Upstream time to response headers (default 300 s). */
  upstreamHeadersTimeoutMs?: number;
  /** Structured events (health transitions, passive failures); default: none. */
  log?: (event: Record<string, unknown>) => void;
}

export type BackendState = 'initial' | 'healthy' | 'unhealthy' | 'draining';

export interface BackendStatus {
  id: string;
  url: string;
  state: BackendState;
  healthy: boolean;
  /** Proxied requests in flight. */
  inflight: number;
  /** Proxied requests sent to it in total. */
  requests: number;
  /** Epoch ms of the first failure of the current failing streak, if failing. */
  failingSince: number | undefined;
  /** Epoch ms of the last sign of life: a passed health check or a proxied response. */
  lastOkAt: number | undefined;
  lastError: string | undefined;
}

export interface HealthEvent {
  id: string;
  url: string;
  healthy: boolean;
  reason: string;
}

const DEFAULTS = {
  path: '/health',
  intervalMs: 250,
  timeoutMs: 500,
  unhealthyThreshold: 2,
  healthyThreshold: 2,
  busyGraceMs: 3_000,
};

/** Request-side headers that belong to one hop (plus `expect`, which undici refuses). */
const HOP_REQ = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'proxy-authorization']);
/** Response-side hop-by-hop headers. */
const HOP_RES = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Errors meaning the request never reached the backend. */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN',
  // dispatched on a pool of a backend removed meanwhile
  'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);
/** Errors meaning the connection broke (the request may or may not have been processed). */
const BROKEN = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);

function errCode(e: unknown): string {
  const err = e as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof err?.cause?.code === 'string' && NOT_SENT.has(err.cause.code)) return err.cause.code;
  return typeof err?.code === 'string' ? err.code : '';
}

class Backend {
  readonly pool: Pool;
  readonly healthPool: Pool;
  state: BackendState = 'initial';
  inflight = 0;
  requests = 0;
  okStreak = 0;
  failStreak = 0;
  checksInFlight = 0;
  failingSince: number | undefined;
  lastOkAt: number | undefined;
  lastError: string | undefined;
  /** performance.now() of the last completed non-5xx proxied response. */
  lastServedMono = -1;
  /** performance.now() of the last passed health check. */
  lastOkMono = -1;
  everHealthy = false;

  constructor(readonly id: string, readonly url: string, opts: Required<Pick<LoadBalancerOptions, 'connectionsPerBackend' | 'upstreamHeadersTimeoutMs'>>) {
    this.pool = new Pool(url, {
      connections: opts.connectionsPerBackend,
      pipelining: 1,
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 60_000,
      headersTimeout: opts.upstreamHeadersTimeoutMs,
      bodyTimeout: 0,
      connectTimeout: 1_000,
    });
    this.healthPool = new Pool(url, { connections: 3, pipelining: 1, keepAliveTimeout: 10_000, connectTimeout: 1_000 });
  }

  get healthy(): boolean {
    return this.state === 'healthy';
  }

  status(): BackendStatus {
    return {
      id: this.id,
      url: this.url,
      state: this.state,
      healthy: this.healthy,
      inflight: this.inflight,
      requests: this.requests,
      failingSince: this.failingSince,
      lastOkAt: this.lastOkAt,
      lastError: this.lastError,
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.pool.destroy(), this.healthPool.destroy()]);
  }
}

function sendError(res: http.ServerResponse, status: number, category: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ category, message });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** One proxied attempt: undici's raw handler writing into the client's response. */
class ProxyAttempt implements Dispatcher.DispatchHandler {
  private started = false;
  private finished = false;
  private abortFn: ((err?: Error) => void) | undefined;

  constructor(
    private readonly lb: LoadBalancer,
    private readonly backend: Backend,
    private readonly ctx: RequestContext,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    this.ctx.current = this;
    if (this.ctx.clientGone) abort(new Error('client went away'));
  }

  abort(): void {
    this.abortFn?.(new Error('client went away'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 100-continue and friends: not forwarded
    this.started = true;
    const { res } = this.ctx;
    const out: string[] = [];
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = (rawHeaders[i] as Buffer).toString('latin1');
      if (HOP_RES.has(name.toLowerCase())) continue;
      out.push(name, (rawHeaders[i + 1] as Buffer).toString('latin1'));
    }
    this.ctx.status = statusCode;
    res.sendDate = false; // the backend's Date header passes through
    res.writeHead(statusCode, statusText || undefined, out);
    res.on('drain', resume);
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.ctx.res.write(chunk);
  }

  onComplete(): void {
    this.done();
    this.ctx.res.end();
    if (this.ctx.status < 500) this.backend.lastServedMono = performance.now();
  }

  onError(err: Error): void {
    this.done();
    if (this.started || this.ctx.clientGone) {
      this.ctx.res.destroy();
      return;
    }
    this.lb.attemptFailed(this.backend, this.ctx, err);
  }

  private done(): void {
    if (this.finished) return;
    this.finished = true;
    this.backend.inflight--;
    this.ctx.current = undefined;
  }
}

interface RequestContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  headers: string[];
  body: Buffer | null;
  tried: Backend[];
  current: ProxyAttempt | undefined;
  clientGone: boolean;
  status: number;
}

export class LoadBalancer extends EventEmitter {
  private readonly server: http.Server;
  private readonly byId = new Map<string, Backend>();
  private list: Backend[] = [];
  private rr = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly hc: Required<HealthCheckOptions>;
  private readonly maxBodyBytes: number;
  private readonly poolOpts: Required<Pick<LoadBalancerOptions, 'connectionsPerBackend' | 'upstreamHeadersTimeoutMs'>>;
  private readonly log: (event: Record<string, unknown>) => void;
  private closed = false;
  private port = 0;

  constructor(private readonly opts: LoadBalancerOptions = {}) {
    super();
    this.hc = { ...DEFAULTS, ...stripUndefined(opts.healthCheck ?? {}) };
    this.maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024 * 1024;
    this.poolOpts = {
      connectionsPerBackend: opts.connectionsPerBackend ?? 256,
      upstreamHeadersTimeoutMs: opts.upstreamHeadersTimeoutMs ?? 300_000,
    };
    this.log = opts.log ?? (() => {});
    this.server = http.createServer((req, res) => this.handle(req, res));
    // Clients keep connections to the endpoint open across requests.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.requestTimeout = 0;
    for (const b of opts.backends ?? []) this.addBackend(b);
  }

  /** Start listening and health checking. */
  async listen(): Promise<{ port: number; url: string }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.timer = setInterval(() => this.checkAll(), this.hc.intervalMs);
    this.timer.unref();
    this.checkAll();
    return { port: this.port, url: this.url };
  }

  get url(): string {
    return `http://${this.opts.host ?? '127.0.0.1'}:${this.port}`;
  }

  // ---- backends ----

  addBackend(spec: BackendSpec): void {
    if (this.byId.has(spec.id)) {
      this.updateBackend(spec.id, spec.url);
      return;
    }
    const b = new Backend(spec.id, spec.url, this.poolOpts);
    this.byId.set(spec.id, b);
    this.list = [...this.byId.values()];
    if (this.timer !== undefined) void this.check(b);
  }

  /**
   * (Re-)register `id` at `url` — a replacement process, on the same port or another. The backend
   * starts over: fresh connections, `initial` until its first passed health check.
   */
  updateBackend(id: string, url: string): void {
    this.removeBackend(id);
    this.addBackend({ id, url });
  }

  /** Stop routing new requests to `id` at once (deregistration); in-flight ones finish. */
  drainBackend(id: string): void {
    const b = this.byId.get(id);
    if (b !== undefined) this.setState(b, 'draining', 'deregistered');
  }

  removeBackend(id: string): void {
    const b = this.byId.get(id);
    if (b === undefined) return;
    this.byId.delete(id);
    this.list = [...this.byId.values()];
    b.state = 'draining';
    // Let in-flight requests finish; then drop the sockets.
    void b.pool.close().catch(() => {});
    void b.healthPool.destroy().catch(() => {});
  }

  backends(): BackendStatus[] {
    return this.list.map((b) => b.status());
  }

  backend(id: string): BackendStatus | undefined {
    return this.byId.get(id)?.status();
  }

  /** Run one round of health checks now and wait for it (tests, startup). */
  async checkNow(): Promise<void> {
    await Promise.all(this.list.map((b) => this.check(b, true)));
  }

  /** Resolves when at least `n` backends are healthy (or rejects after `timeoutMs`). */
  async waitHealthy(n: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.list.filter((b) => b.healthy).length < n) {
      if (Date.now() > deadline) {
        throw new Error(`only ${this.list.filter((b) => b.healthy).length} of ${n} backends healthy after ${timeoutMs} ms: ` +
          JSON.stringify(this.backends()));
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  // ---- health checks ----

  private checkAll(): void {
    for (const b of this.list) {
      // Overlapping checks (on separate sockets) keep detection of a hung backend sub-second.
      if (b.checksInFlight < 2) void this.check(b);
    }
  }

  private async check(b: Backend, force = false): Promise<void> {
    if (this.closed || b.state === 'draining') return;
    if (!force && b.checksInFlight >= 2) return;
    b.checksInFlight++;
    const sentMono = performance.now();
    let ok = false;
    let busy = false;
    let why = '';
    try {
      const r = await b.healthPool.request({
        path: this.hc.path,
        method: 'GET',
        headersTimeout: this.hc.timeoutMs,
        bodyTimeout: this.hc.timeoutMs,
      });
      await r.body.dump();
      ok = r.statusCode === 200;
      if (!ok) why = `health returned ${r.statusCode}`;
    } catch (e) {
      const code = errCode(e);
      why = `${code || 'error'}: ${(e as Error).message}`;
      // A slow answer from a backend that is completing proxied requests: busy, not dead.
      const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
      const lastAlive = Math.max(b.lastServedMono, b.lastOkMono);
      busy = timedOut && (b.lastServedMono > sentMono || (b.inflight > 0 && performance.now() - lastAlive < this.hc.busyGraceMs));
    } finally {
      b.checksInFlight--;
    }
    // (The state may have changed to draining while the check ran.)
    if (this.byId.get(b.id) !== b || (b.state as BackendState) === 'draining' || busy) return;
    if (ok) this.onCheckOk(b);
    else this.onCheckFailed(b, why);
  }

  private onCheckOk(b: Backend): void {
    b.lastOkAt = Date.now();
    b.lastOkMono = performance.now();
    b.failStreak = 0;
    b.okStreak++;
    b.failingSince = undefined;
    const need = b.everHealthy ? this.hc.healthyThreshold : 1;
    if (!b.healthy && b.okStreak >= need) this.setState(b, 'healthy', 'health check passed');
  }

  private onCheckFailed(b: Backend, why: string, immediate = false): void {
    b.okStreak = 0;
    b.failStreak++;
    b.lastError = why;
    b.failingSince ??= Date.now();
    if (b.state !== 'unhealthy' && (immediate || b.failStreak >= this.hc.unhealthyThreshold)) {
      this.setState(b, 'unhealthy', why);
    }
  }

  private setState(b: Backend, state: BackendState, reason: string): void {
    const was = b.healthy;
    b.state = state;
    if (state === 'healthy') b.everHealthy = true;
    if (was !== b.healthy) {
      const ev: HealthEvent = { id: b.id, url: b.url, healthy: b.healthy, reason };
      this.log({ event: b.healthy ? 'backend-healthy' : 'backend-unhealthy', ...ev });
      this.emit('health', ev);
    }
  }

  // ---- proxying ----

  private pick(exclude: Backend[]): Backend | undefined {
    const list = this.list;
    const n = list.length;
    let best: Backend | undefined;
    const start = this.rr++ % (n || 1);
    for (let k = 0; k < n; k++) {
      const b = list[(start + k) % n] as Backend;
      if (b.state !== 'healthy' || exclude.includes(b)) continue;
      if (best === undefined || b.inflight < best.inflight) best = b;
    }
    return best;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = req.method ?? 'GET';
    const raw = req.rawHeaders;
    const headers: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i] as string;
      if (HOP_REQ.has(name.toLowerCase())) continue;
      headers.push(name, raw[i + 1] as string);
    }
    headers.push('x-forwarded-for', req.socket.remoteAddress ?? '');
    const ctx: RequestContext = { req, res, method, headers, body: null, tried: [], current: undefined, clientGone: false, status: 0 };
    res.once('close', () => {
      if (!res.writableFinished) {
        ctx.clientGone = true;
        ctx.current?.abort();
      }
    });
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) {
      req.resume();
      this.dispatch(ctx);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      if (tooBig) return;
      size += c.length;
      if (size > this.maxBodyBytes) {
        tooBig = true;
        res.setHeader('connection', 'close');
        sendError(res, 413, 'incorrect', `request body larger than ${this.maxBodyBytes} bytes`);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (tooBig) return;
      ctx.body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      this.dispatch(ctx);
    });
    req.on('error', () => res.destroy());
  }

  private dispatch(ctx: RequestContext): void {
    if (ctx.clientGone) return;
    const b = this.pick(ctx.tried);
    if (b === undefined) {
      sendError(ctx.res, 503, 'unavailable',
        ctx.tried.length === 0 ? 'no healthy node behind the load balancer' : `no healthy node could take the request (tried ${ctx.tried.map((t) => t.id).join(', ')})`);
      return;
    }
    ctx.tried.push(b);
    b.inflight++;
    b.requests++;
    b.pool.dispatch({
      path: ctx.req.url ?? '/',
      method: ctx.method as Dispatcher.HttpMethod,
      headers: ctx.headers,
      body: ctx.body,
    }, new ProxyAttempt(this, b, ctx));
  }

  /** An attempt failed before any response byte: retry elsewhere if that is safe. */
  attemptFailed(b: Backend, ctx: RequestContext, err: Error): void {
    const code = errCode(err);
    if (NOT_SENT.has(code)) {
      // Passive health: the backend is not accepting connections.
      if (this.byId.get(b.id) === b && b.state !== 'draining') this.onCheckFailed(b, `${code} (proxied request)`, true);
      this.dispatch(ctx);
      return;
    }
    if (BROKEN.has(code) && IDEMPOTENT.has(ctx.method)) {
      this.dispatch(ctx);
      return;
    }
    this.log({ event: 'proxy-error', backend: b.id, code, message: err.message });
    sendError(ctx.res, 503, 'interrupted', `the connection to node ${b.id} failed during the request (${code || err.message}); its outcome is unknown`);
  }

  /**
   * Stop accepting connections, let in-flight requests finish for up to `graceMs`, then drop
   * everything.
   */
  async close(graceMs = 5_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const t = setTimeout(() => this.server.closeAllConnections(), graceMs);
    t.unref();
    await closed;
    clearTimeout(t);
    await Promise.all(this.list.map((b) => b.close()));
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

export async function startLoadBalancer(opts: LoadBalancerOptions = {}): Promise<LoadBalancer> {
  const lb = new LoadBalancer(opts);
  await lb.listen();
  return lb;
}
