/**
 * A read as a self-contained job — a query, a pull or a pull-many, a speculative transaction
 * (`with`) or a database's statistics (`stats`): everything in the wire encoding (so it can cross
 * to a query worker thread, services/node/reads/query-workers.ts), evaluated against a node's (or a
 * worker's) database values, answered as JSON text (`{ result }` for queries and pulls, the
 * report or the statistics themselves for `with` and `stats`). The same code runs inline on the
 * node's event loop when query workers are off.
 *
 * Result limits (docs/limits.md): at most `maxResultRows` rows (or elements) and
 * `maxResponseBytes` bytes of JSON; beyond them the answer is `incorrect` naming the limit, never
 * a truncated result.
 */
import { publicDatom, pullManySelector, pullSelector, q as engineQ, transact, incorrect, interrupted, unavailable, fromWire, toWire } from '../../engine';
import type { Databases } from '../databases';
import type { DbSpec, DbValues } from './db-values';
import { MAX_TX_DATOMS, type DatabaseHost } from '../log/transactor';
import { evaluate, withSegments } from '../indexing/segment-cache';

/** A database input: the node's view of it (id and t) travels with the descriptor. */
export interface JobDbInput {
  readonly name: string;
  /** The database's id on the node: a worker holding another (deleted and re-created) reloads. */
  readonly dbId: string;
  /** The t the node has: the worker catches up to at least it (the node's reads see its commits). */
  readonly minT: number;
  /** The descriptor (basis, filters, speculative transactions), wire-encoded. */
  readonly spec: unknown;
  /** The node's durable index of the database: the t it covers and the datoms logged after it. */
  readonly indexedT?: number;
  readonly tailDatoms?: number;
}

export type JobInput = { readonly db: JobDbInput } | { readonly value: unknown };

export interface QueryJob {
  readonly kind?: 'q';
  /** The query, wire-encoded (EDN text stays a string). */
  readonly query: unknown;
  readonly inputs: readonly JobInput[];
  /** Milliseconds the evaluation may take. */
  readonly timeout: number;
  readonly offset?: number | undefined;
  readonly limit?: number | undefined;
  readonly maxResultRows: number;
  readonly maxResponseBytes: number;
}

/** A pull (`target` is the entity) or a pull-many (`target` is the array of entities). */
export interface PullJob {
  readonly kind: 'pull' | 'pull-many';
  readonly db: JobDbInput;
  /** The selector and the target, wire-encoded. */
  readonly selector: unknown;
  readonly target: unknown;
  /** Milliseconds the pull may take (enforced by the worker pool's watchdog). */
  readonly timeout: number;
  readonly maxResultRows: number;
  readonly maxResponseBytes: number;
}

/**
 * A speculative transaction on a database value (`with`), answered as
 * `{ t, basisT, txData, tempids, instant }` — `instant` names the transaction's instant, which
 * the client sends back to chain it (services/node/reads/db-values.ts) — or the statistics of a
 * value (`stats`). Both run on the unfiltered value at exactly the basis.
 */
export type WithJob = { readonly kind: 'with'; readonly txData: unknown } & ValueJob;
export type StatsJob = { readonly kind: 'stats' } & ValueJob;

interface ValueJob {
  readonly db: JobDbInput;
  /** Milliseconds the job may take (enforced by the worker pool's watchdog). */
  readonly timeout: number;
  readonly maxResponseBytes: number;
}

export type ReadJob = QueryJob | PullJob | WithJob | StatsJob;

export function encodeSpec(spec: DbSpec): unknown {
  return toWire({
    basisT: spec.basisT ?? null,
    asOf: spec.asOf,
    since: spec.since,
    history: spec.history,
    with: spec.with.map((w) => ({ txData: w.txData, instant: w.instant })),
  });
}

export function decodeSpec(x: unknown): DbSpec {
  const o = fromWire(x) as { basisT: number | null; asOf: DbSpec['asOf']; since: DbSpec['since']; history: boolean; with: DbSpec['with'] };
  return { basisT: o.basisT ?? undefined, asOf: o.asOf, since: o.since, history: o.history, with: o.with };
}

/** The host of a database as the job names it: the same creation (id) the node serves. */
async function hostFor(databases: Databases, name: string, dbId: string): Promise<DatabaseHost> {
  let host = await databases.host(name);
  if (host.dbId !== dbId) {
    await databases.revalidate(name);
    host = await databases.host(name);
    if (host.dbId !== dbId) {
      throw unavailable('db.error/db-changed', `Database ${name} was deleted and created again while the query started; retry`, { dbName: name });
    }
  }
  return host;
}

/**
 * The value a job names; `exact`: unfiltered at exactly the basis (see DbValues.resolve). Checks
 * `signal` once the value is at hand: a job whose client went away meanwhile is not evaluated.
 */
async function resolveDb(databases: Databases, values: DbValues, x: JobDbInput, exact = false, signal?: AbortSignal) {
  const host = await hostFor(databases, x.name, x.dbId);
  await host.awaitBasis(x.minT);
  const { db } = await values.resolve(x.name, decodeSpec(x.spec), { exact });
  if (signal?.aborted) throw clientGone();
  return db;
}

/** A job whose client went away before it was evaluated (nobody reads the answer). */
export function clientGone() {
  return interrupted('node/client-gone', 'The client went away before the answer: the read was cancelled');
}

/**
 * Evaluates a job; answers JSON text in the wire encoding. `signal` (inline evaluation, without
 * query workers) is checked before the evaluation, which is synchronous and then runs to its end.
 */
export function runReadJob(databases: Databases, values: DbValues, job: ReadJob, signal?: AbortSignal): Promise<string> {
  // Segments a read meets that are not loaded are fetched, and the job runs again.
  return withSegments(() => evaluateReadJob(databases, values, job, signal));
}

async function evaluateReadJob(databases: Databases, values: DbValues, job: ReadJob, signal?: AbortSignal): Promise<string> {
  switch (job.kind) {
    case 'pull':
    case 'pull-many': {
      const db = await resolveDb(databases, values, job.db, false, signal);
      const selector = fromWire(job.selector);
      const target = fromWire(job.target);
      const result = await evaluate(() => (job.kind === 'pull' ? pullSelector(db, selector, target) : pullManySelector(db, selector, target)));
      return encodeResponse({ result }, job.maxResponseBytes);
    }
    case 'with': {
      const db = await resolveDb(databases, values, job.db, true, signal);
      const instant = Date.now();
      const txData = fromWire(job.txData);
      const r = await evaluate(() => transact(db, txData, { now: instant, maxDatoms: MAX_TX_DATOMS }));
      return encodeResponse({
        t: r.dbAfter.t,
        basisT: r.dbBefore.t,
        txData: r.txData.map((d) => publicDatom(r.dbAfter, d)),
        tempids: r.tempids,
        instant,
      }, job.maxResponseBytes);
    }
    case 'stats': {
      const db = await resolveDb(databases, values, job.db, true, signal);
      const stats = await evaluate(() => db.stats());
      // The durable index as the node that took the request sees it (docs/indexing.md).
      return encodeResponse({ ...stats, indexedT: job.db.indexedT ?? 0, tailDatoms: job.db.tailDatoms ?? 0 }, job.maxResponseBytes);
    }
    default:
      return runQueryJob(databases, values, job, signal);
  }
}

/** Evaluates a query job; answers the JSON text of `{ "result": … }` in the wire encoding. */
export async function runQueryJob(databases: Databases, values: DbValues, job: QueryJob, signal?: AbortSignal): Promise<string> {
  const inputs = await Promise.all(job.inputs.map(async (x) => ('value' in x ? fromWire(x.value) : resolveDb(databases, values, x.db))));
  if (signal?.aborted) throw clientGone();
  const query = fromWire(job.query);
  const result = await evaluate(() => engineQ(query, inputs, { timeout: job.timeout, offset: job.offset, limit: job.limit }));
  if (Array.isArray(result)) {
    checkRows(result.length, job.maxResultRows, 'query/result-too-large',
      'narrow the query, aggregate it, or page through it with :offset and :limit');
  }
  return encodeResponse({ result }, job.maxResponseBytes);
}

/** Refuses an answer of more than `limit` rows (`counted`: n is the full count, not a stop). */
export function checkRows(n: number, limit: number, code: string, hint: string, counted = true): void {
  if (n > limit) {
    throw incorrect(code, `The result exceeds the limit of ${limit} rows${counted ? ` (it has ${n})` : ''}: ${hint}`, { limit, ...(counted ? { rows: n } : {}) });
  }
}

/** The wire decoder's nesting limit (services/engine/wire.ts): deeper answers could not be read. */
export const MAX_RESPONSE_DEPTH = 200;

/**
 * The JSON text of a public value, refused when larger than `maxBytes` (before it is built,
 * when an estimate already exceeds the limit) or nested deeper than the wire encoding allows
 * (an unbounded pull recursion `...` down a long chain).
 */
export function encodeResponse(value: unknown, maxBytes: number): string {
  const m = measure(value, maxBytes, MAX_RESPONSE_DEPTH);
  if (m.tooDeep) {
    throw incorrect('http/response-too-deep',
      `The answer is nested more than ${MAX_RESPONSE_DEPTH} levels deep: bound recursive pulls (e.g. {:p/next 10} instead of {:p/next ...})`,
      { limit: MAX_RESPONSE_DEPTH });
  }
  if (m.bytes > maxBytes) throw tooLarge(undefined, maxBytes);
  const text = JSON.stringify(toWire(value));
  if (text.length > maxBytes || (text.length * 3 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes)) {
    throw tooLarge(Buffer.byteLength(text, 'utf8'), maxBytes);
  }
  return text;
}

function tooLarge(bytes: number | undefined, maxBytes: number) {
  return incorrect('http/response-too-large',
    `The answer${bytes !== undefined ? ` of ${bytes} bytes` : ''} exceeds the response limit of ${maxBytes} bytes: ask for less (page a query with :offset and :limit, narrow datoms with more components)`,
    { limit: maxBytes, ...(bytes !== undefined ? { bytes } : {}) });
}

/**
 * A lower bound of the JSON size of a value and whether its wire encoding nests deeper than
 * `maxDepth`; stops early once the size passes `budget` or the depth is exceeded.
 */
export function measure(value: unknown, budget: number, maxDepth: number): { bytes: number; tooDeep: boolean } {
  let bytes = 0;
  // Depth as the wire decoder counts it: the root is 0, each array or object one more.
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0 && bytes <= budget) {
    const [v, depth] = stack.pop()!;
    if (depth > maxDepth) return { bytes, tooDeep: true };
    switch (typeof v) {
      case 'string': bytes += v.length + 3; break;
      case 'number': case 'bigint': bytes += 2; break;
      case 'boolean': bytes += 5; break;
      case 'object':
        if (v === null) bytes += 4;
        else if (Array.isArray(v)) {
          bytes += 1 + v.length;
          for (let i = 0; i < v.length; i++) stack.push([v[i], depth + 1]);
        } else if (v instanceof Date) bytes += 32;
        else if (v instanceof Set) {
          // {"#set": [...]}
          bytes += 10;
          for (const x of v) stack.push([x, depth + 2]);
        } else if (v instanceof Map) {
          // {"#map": [[k, v], ...]}
          bytes += 10;
          for (const [k, x] of v) {
            stack.push([k, depth + 3]);
            stack.push([x, depth + 3]);
          }
        } else {
          const entries = Object.entries(v as Record<string, unknown>);
          // A key starting with '#' makes it {"#object": [[k, v], ...]}.
          const step = entries.some(([k]) => k.charCodeAt(0) === 35) ? 3 : 1;
          for (const [k, x] of entries) {
            bytes += k.length + 4;
            stack.push([x, depth + step]);
          }
        }
        break;
      default:
        bytes += 1;
    }
  }
  return { bytes, tooDeep: false };
}
