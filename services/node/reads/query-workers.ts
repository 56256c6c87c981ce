/**
 * Query evaluation off the event loop (docs/adr/007-query-workers.md): a pool of worker threads
 * (services/node/reads/query-worker.ts), each with its own read replica, one job at a time each: a
 * query, a pull or pull-many, a speculative transaction (`with`) or `stats`
 * (services/node/reads/query-job.ts).
 *
 * - Workers start with the node (`start`), so that the first query after a node comes up does
 *   not pay for loading the engine in each thread (under tsx, most of a second of CPU each); a
 *   pool not started starts them with its first job. A lost worker is replaced when there is
 *   work. A job waits for workers to start without that counting against its timeout.
 * - A job waits for a busy worker at most its timeout; a job that never got a worker is `busy`
 *   (429: the client backs off and retries). On a worker, it runs at most its timeout.
 * - A worker evaluating past the timeout plus a grace period (the engine checks its timeout
 *   cooperatively; a long non-cooperative step, such as a regex backtracking, would not) is
 *   terminated and replaced; its job is `interrupted` (`query/timeout`).
 * - A worker that runs out of memory (`memoryMb`) dies alone; its job is `incorrect`
 *   (`query/out-of-memory`) and the worker is replaced. The node's event loop never evaluates a
 *   query, so /health, transactions and other reads keep their latency while queries run.
 * - A job whose `signal` aborts (its client went away) is abandoned: a waiting one leaves the
 *   queue; a running one is given the grace period to finish, then its worker is terminated and
 *   replaced as at an overrun, so no worker stays busy for an answer nobody will read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { busy, incorrect, interrupted, anomalyFromJson } from '../../engine';
import { clientGone, type ReadJob } from './query-job';
import type { SegmentCacheStats } from '../indexing/segment-cache';
import type { QueryWorkerData, SerializedError, WorkerReply } from './query-worker';
// Loaded for its side effect in a bundle (the bundle is the worker's entry there): nothing here.
import './query-worker';

export interface QueryWorkerPoolOptions {
  /** Worker threads (at least 1). */
  readonly size: number;
  readonly storage: Omit<QueryWorkerData, 'datalithQueryWorker'>;
  /** Old-generation heap limit of each worker (MB); undefined: Node's default. */
  readonly memoryMb?: number;
  /**
   * How long past its deadline a worker may run before it is terminated (ms); also how long a
   * worker may go on with an abandoned job (a short one finishes, keeping the worker's replicas).
   */
  readonly graceMs?: number;
  readonly logger?: Logger;
}

interface Waiting {
  readonly job: ReadJob;
  readonly resolve: (text: string) => void;
  readonly reject: (e: unknown) => void;
  timer?: NodeJS.Timeout;
  /** Removes the abort listener of the job's signal, if it has one. */
  unlisten?: () => void;
}

interface Slot {
  worker: Worker | null;
  ready: boolean;
  running: (Waiting & { id: number; watchdog: NodeJS.Timeout }) | null;
  /** Set when we terminate the worker ourselves (its exit is expected). */
  retiring: boolean;
  /** The worker's segment cache as its last answer reported it. */
  segments?: SegmentCacheStats;
}

export const DEFAULT_QUERY_WORKER_GRACE_MS = 1_000;

/** How a worker is started: the TypeScript sources through tsx, the compiled file, or the bundle. */
function workerEntry(): { filename: string; eval: boolean } {
  if (__filename.endsWith('.ts')) {
    const tsx = require.resolve('tsx/cjs');
    const file = path.join(__dirname, 'query-worker.ts');
    return { filename: `require(${JSON.stringify(tsx)});\nrequire(${JSON.stringify(file)});`, eval: true };
  }
  const sibling = path.join(__dirname, 'query-worker.js');
  if (fs.existsSync(sibling)) return { filename: sibling, eval: false };
  // One-file bundle (lib/node-bundle.ts): the bundle holds query-worker.ts and starts it.
  return { filename: require.main?.filename ?? process.argv[1]!, eval: false };
}

export function deserializeError(e: SerializedError): Error {
  const anomaly = anomalyFromJson(e, e.message);
  if (anomaly) return anomaly;
  // A RangeError stays one: a stack overflow on deeply nested input is the request's problem.
  const err = e.name === 'RangeError' ? new RangeError(e.message) : new Error(e.message);
  err.name = e.name ?? 'Error';
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

export class QueryWorkerPool {
  private readonly slots: Slot[];
  private readonly queue: Waiting[] = [];
  private nextId = 1;
  private closed = false;
  private readonly graceMs: number;
  private readonly entry = workerEntry();

  constructor(private readonly opts: QueryWorkerPoolOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new RangeError(`query worker pool size must be a positive integer, got ${opts.size}`);
    this.graceMs = opts.graceMs ?? DEFAULT_QUERY_WORKER_GRACE_MS;
    this.slots = Array.from({ length: opts.size }, () => ({ worker: null, ready: false, running: null, retiring: false }));
  }

  get size(): number {
    return this.slots.length;
  }

  /** Jobs waiting for a worker. */
  get waiting(): number {
    return this.queue.length;
  }

  /** The segment caches of the workers (as of their last answers), summed; undefined without segments. */
  segmentStats(): SegmentCacheStats | undefined {
    let sum: SegmentCacheStats | undefined;
    for (const s of this.slots) {
      const x = s.segments;
      if (x === undefined) continue;
      if (sum === undefined) {
        sum = { ...x };
        continue;
      }
      for (const k of Object.keys(sum) as Array<keyof SegmentCacheStats>) sum[k] += x[k];
    }
    return sum;
  }

  /** Workers started and ready for a job. */
  get ready(): number {
    return this.slots.filter((s) => s.worker !== null && s.ready).length;
  }

  /**
   * Starts every worker not yet running, in the background: the node calls it as it comes up,
   * so that the engine is loaded in the threads before the first query arrives.
   */
  start(): void {
    if (this.closed) return;
    for (const slot of this.slots) if (slot.worker === null) this.spawn(slot);
  }

  /** Workers evaluating a job. */
  get active(): number {
    return this.slots.filter((s) => s.running !== null).length;
  }

  /**
   * Evaluates a job on a worker; resolves to the answer's JSON text. Aborting `signal` (the
   * request's client went away) rejects at once and abandons the job (see the module comment).
   */
  run(job: ReadJob, signal?: AbortSignal): Promise<string> {
    if (this.closed) return Promise.reject(busy('node/shutting-down', 'This node is shutting down; retry on another node'));
    if (signal?.aborted) return Promise.reject(clientGone());
    return new Promise<string>((resolve, reject) => {
      const settle = <T>(f: (x: T) => void) => (x: T): void => {
        w.unlisten?.();
        f(x);
      };
      const w: Waiting = { job, resolve: settle(resolve), reject: settle(reject) };
      if (signal !== undefined) {
        const onAbort = (): void => this.abandon(w);
        signal.addEventListener('abort', onAbort, { once: true });
        w.unlisten = () => signal.removeEventListener('abort', onAbort);
      }
      const expire = (): void => {
        if (!this.queue.includes(w)) return;
        // Waiting for a worker to start does not count: wait on.
        if (this.slots.some((slot) => slot.worker !== null && !slot.ready)) {
          w.timer = setTimeout(expire, job.timeout);
          w.timer.unref();
          return;
        }
        this.queue.splice(this.queue.indexOf(w), 1);
        w.reject(busy('node/query-workers-busy',
          `No query worker became free within the query's timeout of ${job.timeout} ms (all ${this.slots.length} were busy); retry with backoff`,
          { workers: this.slots.length }));
      };
      w.timer = setTimeout(expire, job.timeout);
      w.timer.unref();
      this.queue.push(w);
      this.dispatch();
    });
  }

  /** The job's client went away: drop it from the queue, or stop its worker after the grace period. */
  private abandon(w: Waiting): void {
    const queued = this.queue.indexOf(w);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      if (w.timer) clearTimeout(w.timer);
      w.reject(clientGone());
      return;
    }
    const slot = this.slots.find((s) => s.running !== null && s.running.resolve === w.resolve);
    if (slot === undefined) return;
    const running = slot.running!;
    w.reject(clientGone());
    const stop = setTimeout(() => {
      if (slot.running !== running) return;
      this.opts.logger?.info({ kind: running.job.kind ?? 'q' }, 'query worker stopped: its client went away before the answer');
      this.stop(slot, clientGone());
    }, this.graceMs);
    stop.unref();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.running !== null) continue;
      if (slot.worker === null) this.spawn(slot);
      if (!slot.ready) continue;
      const w = this.queue.shift()!;
      if (w.timer) clearTimeout(w.timer);
      const id = this.nextId++;
      const watchdog = setTimeout(() => this.overrun(slot), w.job.timeout + this.graceMs);
      watchdog.unref();
      slot.running = { ...w, id, watchdog };
      slot.worker!.postMessage({ id, job: w.job });
    }
  }

  private spawn(slot: Slot): void {
    const data: QueryWorkerData = { datalithQueryWorker: true, ...this.opts.storage };
    const worker = new Worker(this.entry.filename, {
      eval: this.entry.eval,
      workerData: data,
      ...(this.opts.memoryMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: this.opts.memoryMb } } : {}),
      stdout: false,
      stderr: false,
    });
    worker.unref();
    slot.worker = worker;
    slot.ready = false;
    slot.retiring = false;
    worker.on('message', (m: WorkerReply) => {
      if (slot.worker !== worker) return;
      if ('ready' in m) {
        slot.ready = true;
        this.dispatch();
        return;
      }
      if (m.segments !== undefined) slot.segments = m.segments;
      const r = slot.running;
      if (r === null || r.id !== m.id) return;
      clearTimeout(r.watchdog);
      slot.running = null;
      if ('ok' in m) r.resolve(m.ok);
      else r.reject(deserializeError(m.error));
      this.dispatch();
    });
    worker.on('error', (e: Error & { code?: string }) => {
      if (slot.worker !== worker) return;
      const err = e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? this.outOfMemory(slot.running?.job) : e;
      this.opts.logger?.error({ err: e }, 'query worker failed');
      this.lose(slot, err);
    });
    worker.on('exit', (code) => {
      if (slot.worker !== worker) return;
      if (!slot.retiring && !this.closed) this.opts.logger?.warn({ code }, 'query worker exited');
      this.lose(slot, new Error(`query worker exited with code ${code}`));
    });
  }

  private outOfMemory(job: ReadJob | undefined) {
    const limit = this.opts.memoryMb !== undefined ? ` (${this.opts.memoryMb} MB)` : '';
    const kind = job?.kind ?? 'q';
    const [what, hint] = kind === 'q'
      ? ['query', 'narrow it (more selective clauses, fewer variables in :find, or an aggregate)']
      : kind === 'with' ? ['speculative transaction', 'transact less at once'] : [kind, 'ask for less'];
    return incorrect('query/out-of-memory', `The ${what} needed more memory than a query worker may use${limit}: ${hint}`);
  }

  /** The worker of a slot is gone: fail its job, start another when there is work. */
  private lose(slot: Slot, err: unknown): void {
    const r = slot.running;
    slot.running = null;
    const w = slot.worker;
    slot.worker = null;
    slot.ready = false;
    if (w !== null && !slot.retiring) {
      slot.retiring = true;
      void w.terminate();
    }
    if (r !== null) {
      clearTimeout(r.watchdog);
      r.reject(err);
    }
    if (!this.closed) this.dispatch();
  }

  /** A job ran past its deadline and the grace period: stop the worker. */
  private overrun(slot: Slot): void {
    const r = slot.running;
    if (r === null) return;
    this.opts.logger?.warn({ timeout: r.job.timeout }, 'query worker overran its deadline: terminated');
    this.stop(slot, interrupted('query/timeout', `Query timed out after ${r.job.timeout} ms (its worker was stopped)`, { timeout: r.job.timeout }));
  }

  /** Terminates a slot's busy worker, fails its job with `err` and starts a replacement. */
  private stop(slot: Slot, err: unknown): void {
    const r = slot.running;
    if (r === null) return;
    const w = slot.worker;
    slot.retiring = true;
    slot.worker = null;
    slot.ready = false;
    slot.running = null;
    clearTimeout(r.watchdog);
    if (w !== null) void w.terminate();
    r.reject(err);
    // The worker was healthy: replace it now, so the next query does not wait for it to start.
    if (!this.closed) this.spawn(slot);
    this.dispatch();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.queue.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(busy('node/shutting-down', 'This node is shutting down; retry on another node'));
    }
    await Promise.all(this.slots.map(async (slot) => {
      const w = slot.worker;
      const r = slot.running;
      slot.worker = null;
      slot.running = null;
      slot.retiring = true;
      if (r !== null) {
        clearTimeout(r.watchdog);
        r.reject(busy('node/shutting-down', 'This node is shutting down; retry on another node'));
      }
      if (w !== null) await w.terminate();
    }));
  }
}
