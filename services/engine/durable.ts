/**
 * Database values on durable index segments (docs/adr/010-segment-format-and-root-protocol.md).
 *
 * A durable value is a *root* — the nine trees (the current and history indexes in four orders
 * each, and the log) written as immutable segments up to `indexedT` — plus the transactions after
 * it, applied in memory exactly as they are to a value wholly in memory. The trees restored from a
 * root are stubs resolved through a NodeStore: only the nodes a read or a write touches are
 * loaded, and a touched path is copied into memory, so the in-memory part of a value is the log's
 * tail since the last indexing (plus the paths it touched). Every read is the same code as before.
 *
 * Pure: the node fetches segments, encodes them and advances roots; nothing here waits.
 */
import { collectMisses, loadedBranch, loadedLeaf, SegmentMiss, SortedSet, writeSegments, type Node, type NodeStore, type SegmentRef, type SegmentWrite } from './btree';
import { busy } from './errors';
import type { StoredSegment } from './segment';
import { CURRENT_ORDER, Datom, HISTORY_ORDER, INDEX_NAMES, Retraction, type IndexName } from './datom';
import { cmpLog, Db, type DbState, type Indexes, type TxLogEntry } from './db';
import { attributeFromDatoms, buildSchema, SYS, type Attribute } from './schema';

/** A tree's root segment and its size (keys in the tree). */
export interface TreeRoot {
  readonly addr: string;
  readonly size: number;
}

/** What a value restored from segments is built from (the index root record, less its bookkeeping). */
export interface DurableRoot {
  readonly t: number;
  readonly current: Readonly<Record<IndexName, TreeRoot>>;
  readonly history: Readonly<Record<IndexName, TreeRoot>>;
  readonly log: TreeRoot;
  readonly maxEid: number;
  readonly lastInstant: number;
}

/** Which tree a segment to write belongs to (its encoding names the index and the history flag). */
export type TreeName =
  | { readonly tree: 'current' | 'history'; readonly index: IndexName }
  | { readonly tree: 'log' };

export type StateSegmentWrite =
  | (TreeName & { readonly tree: 'current' | 'history'; readonly write: SegmentWrite<Datom> })
  | { readonly tree: 'log'; readonly write: SegmentWrite<TxLogEntry> };

/**
 * The value at a root, its trees unloaded. The schema is read from the indexes (the entities
 * with idents), so restoring may throw SegmentMiss like any read: fetch and call again.
 */
export function restoreState(root: DurableRoot, store: NodeStore<unknown>): DbState {
  const datoms = store as NodeStore<Datom>;
  const tree = (r: TreeRoot, cmp: (x: Datom, y: Datom) => number): SortedSet<Datom> =>
    SortedSet.durable(r, cmp, datoms);
  const indexes = (rs: Readonly<Record<IndexName, TreeRoot>>, order: typeof CURRENT_ORDER | typeof HISTORY_ORDER): Indexes => ({
    eavt: tree(rs.eavt, order.eavt), aevt: tree(rs.aevt, order.aevt), avet: tree(rs.avet, order.avet), vaet: tree(rs.vaet, order.vaet),
  });
  const current = indexes(root.current, CURRENT_ORDER);
  const history = indexes(root.history, HISTORY_ORDER);
  const log = SortedSet.durable<TxLogEntry>(root.log, cmpLog, store as NodeStore<TxLogEntry>);
  return { t: root.t, current, history, log, schema: schemaFromIndexes(current, history), maxEid: root.maxEid, lastInstant: root.lastInstant };
}

/**
 * The schema as the indexes hold it: every entity with an ident, the attributes among them,
 * and the idents an entity had before it was renamed (which still resolve, as after a replay).
 */
function schemaFromIndexes(current: Indexes, history: Indexes): DbState['schema'] {
  const probe = (d: Datom): number => (d.a < SYS.ident ? -1 : d.a > SYS.ident ? 1 : 0);
  const idents = new Map<string, number>();
  const identOf = new Map<number, string>();
  current.aevt.forRange(probe, probe, (d) => {
    idents.set(d.v as string, d.e);
    identOf.set(d.e, d.v as string);
  });
  history.aevt.forRange(probe, probe, (r) => {
    const name = r.v as string;
    if (!idents.has(name) && identOf.has(r.e)) idents.set(name, r.e);
  });
  const db = new Db({ t: 0, current, history, log: SortedSet.empty(cmpLog), schema: buildSchema(new Map(), idents, identOf), maxEid: 0, lastInstant: 0 });
  const attrs = new Map<number, Attribute>();
  for (const e of identOf.keys()) {
    const a = attributeFromDatoms(e, db.datoms('eavt', e), idents);
    if (a) attrs.set(e, a);
  }
  return buildSchema(attrs, idents, identOf);
}

/**
 * Writes the parts of a value not durable yet, tree by tree, and returns its root: a generator
 * yielding each segment to write (children before the branch naming them) and resumed with the
 * segment's address. Subtrees restored from a root are named, not rewritten.
 */
export function* writeStateSegments(state: DbState): Generator<StateSegmentWrite, DurableRoot, string> {
  const current = {} as Record<IndexName, TreeRoot>;
  const history = {} as Record<IndexName, TreeRoot>;
  for (const index of INDEX_NAMES) {
    current[index] = yield* tree(state.current[index], (write) => ({ tree: 'current', index, write }));
    history[index] = yield* tree(state.history[index], (write) => ({ tree: 'history', index, write }));
  }
  // A log leaf is cut by its datoms, not its transactions: one transaction may hold thousands.
  const log = yield* tree(state.log, (write) => ({ tree: 'log', write }), (e) => 1 + e.data.length);
  return { t: state.t, current, history, log, maxEid: state.maxEid, lastInstant: state.lastInstant };
}

function* tree<T>(set: SortedSet<T>, tag: (w: SegmentWrite<T>) => StateSegmentWrite, weight?: (key: T) => number): Generator<StateSegmentWrite, TreeRoot, string> {
  const steps = writeSegments(set, weight);
  let addr: string | undefined;
  for (;;) {
    const r = addr === undefined ? steps.next() : steps.next(addr);
    if (r.done) {
      const ref: SegmentRef<T> = r.value;
      return { addr: ref.addr, size: ref.size };
    }
    addr = yield tag(r.value);
  }
}

/**
 * The durable segments applying `datoms` (one logged transaction) to `state` would load and are
 * not loaded: a replay asks for them all at once instead of meeting them one miss at a time.
 * A best effort: what it misses, the apply
 * still meets as a SegmentMiss.
 */
export function missingForApply(state: DbState, datoms: readonly Datom[], out: Set<string>): void {
  for (const d of datoms) {
    const isRef = state.schema.attrs.get(d.a)?.valueType === 'ref';
    for (const index of INDEX_NAMES) {
      if (index === 'vaet' && !isRef) continue;
      state.current[index].missing(d, out);
      if (!d.added) state.history[index].missing(new Retraction(d.e, d.a, d.v, d.tx, d.tx), out);
    }
  }
  state.log.missing({ t: state.t + 1, tx: 0, instant: 0, data: [] }, out);
}

/** The segment a write asks for, in the codec's terms (services/engine/segment.ts). */
export function segmentOfWrite(w: StateSegmentWrite): StoredSegment {
  if (w.tree === 'log') {
    const x = w.write;
    return x.kind === 'leaf'
      ? { kind: 'log-leaf', entries: x.keys }
      : { kind: 'log-branch', children: x.children.map((c) => ({ key: c.addr, size: c.size, last: c.last! })) };
  }
  const head = { index: w.index, history: w.tree === 'history' };
  const x = w.write;
  return x.kind === 'leaf'
    ? { kind: 'leaf', ...head, datoms: x.keys }
    : { kind: 'branch', ...head, children: x.children.map((c) => ({ key: c.addr, size: c.size, last: c.last! })) };
}

/** The tree node a stored segment is, for a NodeStore to answer (immutable, never owned by an edit). */
export function nodeOfSegment(addr: string, s: StoredSegment): Node<unknown> {
  switch (s.kind) {
    case 'leaf': return loadedLeaf<unknown>(addr, s.datoms.slice());
    case 'log-leaf': return loadedLeaf<unknown>(addr, s.entries.slice());
    case 'branch':
    case 'log-branch':
      return loadedBranch<unknown>(addr, s.children.map((c) => ({ addr: c.key, size: c.size, last: c.last })));
  }
}

/** How many keys a stored segment holds (its leaf keys or its branch children), for cache accounting. */
export function segmentKeyCount(s: StoredSegment): number {
  switch (s.kind) {
    case 'leaf': return s.datoms.length;
    case 'log-leaf': {
      let n = s.entries.length;
      for (const e of s.entries) n += e.data.length;
      return n;
    }
    default: return s.children.length;
  }
}

/** Rounds of fetching one operation may take before it is refused. */
export const MAX_MISS_ROUNDS = 400;

/**
 * Runs a synchronous operation on values that may live on durable segments, through its
 * misses: after a miss, one pass of the operation collects every segment it would miss
 * (collectMisses), the stores fetch them together, and the operation runs again. A query reading
 * a thousand entities not loaded costs a round trip or two per tree level, not one per entity.
 * The stores do the I/O; values wholly in memory never miss and run once.
 */
export async function runLoading<T>(fn: () => T, maxRounds = MAX_MISS_ROUNDS): Promise<T> {
  for (let round = 0; ; round++) {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof SegmentMiss)) throw e;
      if (round >= maxRounds) {
        throw busy('segment/cache-too-small', `The operation needs more index segments at once than the segment cache holds (${round} rounds of fetching); retry, or give the node a larger --cache-size-mb`);
      }
      const all = collectMisses(fn);
      const first = all.get(e.store) ?? new Set<string>();
      for (const a of e.addrs) first.add(a);
      all.set(e.store, first);
      await Promise.all([...all].map(([store, addrs]) => {
        if (store.fetch === undefined) throw e;
        return store.fetch([...addrs]);
      }));
    }
  }
}
