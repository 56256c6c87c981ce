/**
 * The pull API: hierarchical selections of entities, with Datomic's pattern grammar and results.
 *
 *   const pattern = parsePullPattern('[:person/name {:person/friends [:person/name]}]');
 *   pull(db, pattern, eid)            // → { 'person/name': 'Ivan', 'person/friends': [...] }
 *   pullMany(db, pattern, [e1, e2])   // → one object per entity, in order
 *   pullSelector(db, selector, [':person/email', 'ivan@example.com'])
 *   const pullOne = pullerFor(db, pattern); rows.map(([e]) => pullOne(e))
 *
 * Parse once and pull many times: the parsed pattern caches its plan for the schema.
 * See docs/pull.md for the grammar and the shape of results.
 */
import type { Db } from '../db';
import { describeValue, incorrect } from '../errors';
import { Puller, type PulledEntity } from './evaluate';
import { parsePullPattern, PullPattern } from './parser';
import { planFor } from './plan';

export { parsePullPattern, PullPattern, isPullPattern, DEFAULT_LIMIT, type PullAttrSpec } from './parser';
export type { PulledEntity } from './evaluate';

/**
 * Pulls `pattern` from entity `eid` (an entity id). Returns `{}` when nothing in the pattern
 * matches — Datomic Cloud returns an empty map, never nil — and `{ 'db/id': eid }` for
 * `[:db/id]` or `[*]` even when the entity has no datoms.
 */
export function pull(db: Db, pattern: PullPattern, eid: number): PulledEntity {
  checkEid(eid);
  return new Puller(db, planFor(pattern, db.schema)).pull(eid);
}

/**
 * A function pulling `pattern` from entities of `db`, for callers that pull many entities one by
 * one (the query engine's `(pull ?e pattern)` in :find): the plan and buffers are set up once.
 */
export function pullerFor(db: Db, pattern: PullPattern): (eid: number) => PulledEntity {
  const puller = new Puller(db, planFor(pattern, db.schema));
  return (eid) => {
    checkEid(eid);
    return puller.pull(eid);
  };
}

/** pull for each entity id, in order. */
export function pullMany(db: Db, pattern: PullPattern, eids: readonly number[]): PulledEntity[] {
  const puller = new Puller(db, planFor(pattern, db.schema));
  const out: PulledEntity[] = new Array(eids.length);
  for (let i = 0; i < eids.length; i++) {
    const e = eids[i]!;
    checkEid(e);
    out[i] = puller.pull(e);
  }
  return out;
}

/**
 * Parses `selector` (EDN text, EDN data or JS data; parsed text is cached) and pulls the entity
 * named by `eid`: an entity id, an ident (`':country/GB'`), or a lookup ref
 * (`[':person/email', 'ivan@example.com']`). An ident or lookup ref that names no entity pulls
 * `{}`; something that is no entity identifier at all, or a lookup ref on an attribute that is
 * not unique, is `incorrect`.
 */
export function pullSelector(db: Db, selector: unknown, eid: unknown): PulledEntity {
  const pattern = cachedPattern(selector);
  const e = resolveEid(db, eid);
  return e === undefined ? {} : pull(db, pattern, e);
}

/** pullSelector for many entity identifiers, in order. */
export function pullManySelector(db: Db, selector: unknown, eids: unknown): PulledEntity[] {
  const pattern = cachedPattern(selector);
  if (!Array.isArray(eids)) {
    throw incorrect('pull/invalid-eids', `pullMany expects a list of entity identifiers, got ${describeValue(eids)}`);
  }
  const puller = new Puller(db, planFor(pattern, db.schema));
  return eids.map((x) => {
    const e = resolveEid(db, x);
    return e === undefined ? {} : puller.pull(e);
  });
}

function resolveEid(db: Db, eid: unknown): number | undefined {
  if (eid === null || eid === undefined) {
    throw incorrect('pull/invalid-eid', 'Expected an entity identifier (entity id, ident or lookup ref) to pull, got nil');
  }
  return db.entid(eid);
}

function checkEid(e: number): void {
  if (typeof e !== 'number' || !Number.isInteger(e) || e < 0) {
    throw incorrect('pull/invalid-eid', `Expected an entity id to pull, got ${describeValue(e)}`, { entity: describeValue(e) });
  }
}

// Selectors given as text are parsed once: applications repeat the same few patterns.
const TEXT_CACHE_SIZE = 256;
const textCache = new Map<string, PullPattern>();

function cachedPattern(selector: unknown): PullPattern {
  if (typeof selector !== 'string') return parsePullPattern(selector);
  let p = textCache.get(selector);
  if (p === undefined) {
    p = parsePullPattern(selector);
    if (textCache.size >= TEXT_CACHE_SIZE) textCache.delete(textCache.keys().next().value as string);
    textCache.set(selector, p);
  }
  return p;
}
