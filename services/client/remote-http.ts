/**
 * The remote client's HTTP: one keep-alive connection pool (undici `Pool`) per client, JSON in
 * the wire encoding both ways, anomaly JSON turned back into `DatalithError`, and retries.
 *
 * Retries: `busy`, `unavailable` and `interrupted` answers (and network failures, which are
 * `unavailable`) are retried with exponential backoff and full jitter until the call's timeout.
 * Every request is safe to repeat: reads and database management are idempotent, and a
 * transaction carries its client-generated id. A query that hit its own timeout is not retried.
 *
 * Cancellation: a call's `signal` stops the retries and the backoff, and aborts the request in
 * flight (the node then cancels a read it has not finished); the call rejects with
 * `client/aborted` at once. A signal aborted before the call sends nothing.
 */
import { Pool } from 'undici';
import { ABORTED_CODE, abortedError, sleep } from './abort';
import { DatalithError, type AnomalyCategory, ATTEMPT_HEADER, fromWire, anomalyFromJson } from '../engine';

export const DEFAULT_TIMEOUT_MS = 60_000;
const BACKOFF_BASE_MS = 25;
const BACKOFF_CAP_MS = 2_000;
const RETRYABLE: ReadonlySet<AnomalyCategory> = new Set(['busy', 'unavailable', 'interrupted']);
/** Interruptions that a retry would only repeat. */
const FINAL_CODES: ReadonlySet<string> = new Set(['query/timeout', 'client/timeout', ABORTED_CODE]);

export interface HttpTransportOptions {
  readonly endpoint: string;
  readonly accessKey?: string;
  readonly timeout?: number;
  /** Connections kept to the endpoint (default 64). */
  readonly connections?: number;
}

export type Method = 'GET' | 'POST' | 'DELETE';

export interface CallOptions {
  /** Milliseconds for the whole call, retries included. */
  readonly timeout?: number;
  /** Aborts the call: no more attempts, the request in flight aborted. */
  readonly signal?: AbortSignal | undefined;
  /** The operation, as an aborted call's error names it (default: the last segment of the path). */
  readonly operation?: string;
  /**
   * Appended to an aborted call's message when a request had been sent (what the abort leaves
   * undecided), with `data` added to the error's data.
   */
  readonly abortedAfterSending?: { readonly note: string; readonly data?: Record<string, unknown> };
}

function statusCategory(status: number): AnomalyCategory {
  switch (status) {
    case 400: case 413: case 415: case 422: return 'incorrect';
    case 401: case 403: return 'forbidden';
    case 404: case 410: return 'not-found';
    case 409: case 412: return 'conflict';
    case 429: return 'busy';
    case 501: return 'unsupported';
    case 502: case 503: return 'unavailable';
    case 504: return 'interrupted';
    default: return status >= 500 ? 'fault' : 'incorrect';
  }
}

export function isRetryable(e: unknown): boolean {
  return e instanceof DatalithError && RETRYABLE.has(e.category) && (e.code === undefined || !FINAL_CODES.has(e.code));
}

export class HttpTransport {
  readonly endpoint: string;
  readonly timeout: number;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly authorization: string | undefined;
  private closed = false;

  constructor(opts: HttpTransportOptions) {
    let url: URL;
    try {
      url = new URL(opts.endpoint);
    } catch {
      throw new DatalithError('incorrect', `Invalid endpoint ${JSON.stringify(opts.endpoint)}: expected a URL such as http://127.0.0.1:8080`, 'client/invalid-options');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new DatalithError('incorrect', `Invalid endpoint ${JSON.stringify(opts.endpoint)}: use http:// or https://`, 'client/invalid-options');
    }
    const timeout = opts.timeout ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new DatalithError('incorrect', `Invalid timeout ${String(opts.timeout)}: expected a positive number of milliseconds`, 'client/invalid-options');
    }
    this.endpoint = url.origin + url.pathname.replace(/\/+$/, '');
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.timeout = timeout;
    this.authorization = opts.accessKey !== undefined && opts.accessKey !== '' ? `Bearer ${opts.accessKey}` : undefined;
    this.pool = new Pool(url.origin, { connections: opts.connections ?? 64 });
  }

  /**
   * One API call: `body` is a JSON-ready object whose data fields are already wire-encoded;
   * the answer comes back decoded from the wire encoding.
   */
  async call(method: Method, path: string, body?: unknown, opts: CallOptions = {}): Promise<any> {
    const { signal } = opts;
    const operation = opts.operation ?? path.replace(/\?.*$/, '').split('/').pop() ?? path;
    // Nothing is sent for a call aborted before it starts.
    if (signal?.aborted) throw abortedError(operation, signal);
    const timeout = opts.timeout ?? this.timeout;
    const deadline = Date.now() + timeout;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.once(method, path, payload, deadline, attempt, signal);
        } catch (e) {
          if (!isRetryable(e) || signal?.aborted) throw e;
          const backoff = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
          if (Date.now() + backoff >= deadline) throw e;
          await sleep(backoff, signal, operation);
        }
      }
    } catch (e) {
      // Whatever the last attempt failed with, an aborted call fails as aborted.
      if (!signal?.aborted) throw e;
      const sent = opts.abortedAfterSending;
      throw sent === undefined ? abortedError(operation, signal) : abortedError(operation, signal, sent.note, sent.data);
    }
  }

  private async once(method: Method, path: string, payload: string | undefined, deadline: number, attempt: number, signal: AbortSignal | undefined): Promise<unknown> {
    if (this.closed) throw new DatalithError('incorrect', 'This client is closed', 'client/closed');
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw this.timeoutError(path);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    if (payload !== undefined) headers['content-type'] = 'application/json';
    // Retries say so: the node must not refuse a transaction whose first attempt may commit.
    if (attempt > 0) headers[ATTEMPT_HEADER] = String(attempt + 1);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), remaining);
    const onAbort = (): void => abort.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) abort.abort();
    let status: number;
    let text: string;
    try {
      const res = await this.pool.request({
        method,
        path: this.basePath + path,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        signal: abort.signal,
        headersTimeout: remaining,
        bodyTimeout: remaining,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (e) {
      throw this.networkError(e, path, abort.signal.aborted);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    if (status >= 200 && status < 300) {
      try {
        return fromWire(JSON.parse(text));
      } catch (e) {
        if (e instanceof DatalithError) throw e;
        throw new DatalithError('fault', `The answer from ${this.endpoint} is not JSON (HTTP ${status})`, 'client/invalid-response');
      }
    }
    throw this.anomaly(status, text);
  }

  private anomaly(status: number, text: string): DatalithError {
    try {
      const anomaly = anomalyFromJson(JSON.parse(text), `HTTP ${status}`);
      if (anomaly) return anomaly;
    } catch {
      // Not anomaly JSON (e.g. a load balancer's own error page): classify by status.
    }
    const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
    return new DatalithError(statusCategory(status), `HTTP ${status} from ${this.endpoint}${snippet ? `: ${snippet}` : ''}`, 'client/http-error', { status });
  }

  private timeoutError(path: string): DatalithError {
    return new DatalithError('interrupted', `No answer from ${this.endpoint} within the call's timeout (${path})`, 'client/timeout', { endpoint: this.endpoint });
  }

  private networkError(e: unknown, path: string, aborted: boolean): DatalithError {
    if (e instanceof DatalithError) return e;
    const code = (e as { code?: string }).code;
    if (aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return this.timeoutError(path);
    if (this.closed || code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED') {
      return new DatalithError('incorrect', 'This client is closed', 'client/closed');
    }
    return new DatalithError('unavailable', `Cannot reach ${this.endpoint}: ${code ?? (e as Error).message ?? 'network error'}`, 'client/network', {
      endpoint: this.endpoint,
      ...(code !== undefined ? { cause: code } : {}),
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
  }
}
