/**
 * Values on durable segments answer exactly as values wholly in memory: a database is indexed
 * into segments at random points, restored from its root with nothing loaded, caches dropped at
 * random, and transacted further; every index, the history, the log and filtered values must
 * agree with the same transactions applied in memory.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Db, emptyDb } from '../../services/engine/db';
import { transact } from '../../services/engine/transact';
import { collectMisses, SegmentMiss, type Node } from '../../services/engine/btree';
import {
  missingForApply, nodeOfSegment, restoreState, segmentOfWrite, writeStateSegments, type DurableRoot,
} from '../../services/engine/durable';
import { decodeStoredSegment, encodeSegmentBody } from '../../services/engine/segment';
import { INDEX_NAMES } from '../../services/engine/datom';
import { applyDatoms } from '../../services/engine/transact';
import { q } from '../../services/engine/query';
import { pullSelector } from '../../services/engine/pull';
import { walk } from '../../services/engine/query/scan';

const SCHEMA = `[{:db/ident :p/id :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
 {:db/ident :p/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :p/tags :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
 {:db/ident :p/friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
 {:db/ident :p/old :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]`;

/** Segments as storage would hold them, and the loaded nodes a cache would. */
class Segments {
  readonly stored = new Map<string, Uint8Array>();
  readonly loaded = new Map<string, Node<unknown>>();
  writes = 0;
  fetches = 0;

  load(addr: string): Node<unknown> | undefined {
    return this.loaded.get(addr);
  }

  /**
   * Runs f, loading what it misses, as the node does (runLoading): after a miss, a pass in
   * collect mode names every segment f would miss; on odd rounds only the miss itself is
   * loaded, so both paths run.
   */
  run<T>(f: () => T): T {
    for (let round = 0; round < 10_000; round++) {
      try {
        return f();
      } catch (e) {
        if (!(e instanceof SegmentMiss)) throw e;
        expect(e.store).toBe(this);
        const wanted = new Set(e.addrs);
        if (round % 2 === 0) for (const a of collectMisses(f).get(this) ?? []) wanted.add(a);
        for (const a of wanted) {
          const bytes = this.stored.get(a);
          if (bytes === undefined) throw new Error(`segment ${a} was never written`);
          this.fetches++;
          this.loaded.set(a, nodeOfSegment(a, decodeStoredSegment(bytes)));
        }
      }
    }
    throw new Error('too many misses');
  }

  index(db: Db): DurableRoot {
    const g = writeStateSegments(db.state);
    let r = g.next();
    while (!r.done) {
      const bytes = encodeSegmentBody(segmentOfWrite(r.value));
      const addr = createHash('sha256').update(bytes).digest('hex');
      if (!this.stored.has(addr)) this.writes++;
      this.stored.set(addr, bytes);
      r = g.next(addr);
    }
    return r.value;
  }

  restore(root: DurableRoot): Db {
    return this.run(() => new Db(restoreState(root, this)));
  }
}

const show = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

/** Everything a value answers, as text. */
function dump(db: Db, segs?: Segments): string {
  const read = (): string => {
    const out: string[] = [`t=${db.t}`];
    // Queries first: on a value just restored they meet trees whose roots are not loaded yet.
    out.push(show(q('[:find ?e ?n :where [?e :p/id 3] [?e :p/name ?n]]', [db])));
    out.push(show(q('[:find ?x :where [?y :p/id 4] [?x :p/friend ?y]]', [db])));
    out.push(show(q('[:find ?a ?b :where [?x :p/friend ?y] [?x :p/id ?a] [?y :p/id ?b]]', [db])));
    out.push(show(q('[:find ?n (count ?t) :where [?e :p/name ?n] [?e :p/tags ?t]]', [db])));
    for (const index of INDEX_NAMES) {
      out.push(show(db.datoms(index)));
      out.push(show(db.history().datoms(index)));
    }
    for (let t = 1; t <= db.t; t += 3) out.push(show(db.asOf(t).datoms('eavt')), show(db.since(t).datoms('aevt')));
    out.push(show(db.txRange().map((e) => [e.t, e.instant, e.data])));
    out.push(show(db.stats()));
    out.push(show(q('[:find ?n (count ?t) :where [?e :p/name ?n] [?e :p/tags ?t]]', [db])));
    out.push(show(q('[:find ?a ?b :where [?x :p/friend ?y] [?x :p/id ?a] [?y :p/id ?b]]', [db])));
    out.push(show(pullSelector(db, '[* {:p/friend [:p/id]}]', [':p/id', 3])));
    out.push(show([db.estimateCount('aevt', db.attrOf(':p/tags')?.id), db.entid([':p/id', 5]), db.schema.idents.size]));
    return out.join('\n');
  };
  return segs ? segs.run(read) : read();
}

type Op = { kind: 'add'; id: number; name: string; tags: string[]; friend: number } | { kind: 'retract'; id: number } | { kind: 'tag-off'; id: number; tag: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), id: fc.nat(40), name: fc.constantFrom('Ann', 'Bob', 'Cid', 'Dee'), tags: fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 3 }), friend: fc.nat(40) }),
  fc.record({ kind: fc.constant('retract' as const), id: fc.nat(40) }),
  fc.record({ kind: fc.constant('tag-off' as const), id: fc.nat(40), tag: fc.constantFrom('a', 'b', 'c', 'd') }),
);

function txData(ops: readonly Op[]): unknown[] {
  const forms: unknown[] = [];
  for (const op of ops) {
    if (op.kind === 'add') {
      forms.push({ ':p/id': op.id, ':p/name': op.name, ':p/tags': op.tags, ':p/friend': [[':p/id', op.friend]] });
      forms.push({ ':p/id': op.friend });
    } else if (op.kind === 'retract') {
      forms.push([':db/retractEntity', [':p/id', op.id]]);
    } else {
      forms.push([':db/retract', [':p/id', op.id], ':p/tags', op.tag]);
    }
  }
  return forms;
}

/** Transacts into both; a transaction one of them refuses must be refused by both. */
function both(mem: Db, dur: Db, segs: Segments, data: unknown, now: number): [Db, Db] {
  let a: Db | Error;
  let b: Db | Error;
  try { a = transact(mem, data, { now }).dbAfter; } catch (e) { a = e as Error; }
  try { b = segs.run(() => transact(dur, data, { now }).dbAfter); } catch (e) { b = e as Error; }
  if (a instanceof Error || b instanceof Error) {
    expect(b instanceof Error ? b.message : 'committed').toBe(a instanceof Error ? a.message : 'committed');
    return [mem, dur];
  }
  return [a, b];
}

describe('durable values', () => {
  it('answer as in memory through indexing, restoring, dropped caches and more transactions', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.array(opArb, { minLength: 1, maxLength: 12 }), fc.nat(9)), { minLength: 1, maxLength: 30 }),
      (txs) => {
        const segs = new Segments();
        let mem = transact(emptyDb(), SCHEMA, { now: 1_000 }).dbAfter;
        let dur = mem;
        let now = 2_000;
        for (const [ops, action] of txs) {
          [mem, dur] = both(mem, dur, segs, txData(ops), now += 1_000);
          if (action <= 2) dur = segs.restore(segs.index(dur)); // index, then continue from the root
          if (action === 3) segs.loaded.clear();
        }
        expect(dump(dur, segs)).toBe(dump(mem));
        // And once more from storage alone, nothing loaded.
        const root = segs.index(dur);
        const fresh = new Segments();
        for (const [k, v] of segs.stored) fresh.stored.set(k, v);
        expect(dump(fresh.restore(root), fresh)).toBe(dump(mem));
      },
    ), { numRuns: 40 });
  });

  it('writes only what changed: a second indexing shares the untouched segments', () => {
    const segs = new Segments();
    let db = transact(emptyDb(), SCHEMA, { now: 1 }).dbAfter;
    for (let k = 0; k < 40; k++) {
      const forms = Array.from({ length: 250 }, (_, i) => ({ ':p/id': k * 250 + i, ':p/name': `n${(k * 250 + i) % 97}`, ':p/tags': ['x', `t${i % 7}`] }));
      db = transact(db, forms, { now: 10 + k }).dbAfter;
    }
    const root = segs.index(db);
    const first = segs.writes;
    expect(first).toBeGreaterThan(50);
    let dur = segs.restore(root);
    dur = segs.run(() => transact(dur, [{ ':p/id': 5, ':p/name': 'renamed' }], { now: 100 }).dbAfter);
    segs.writes = 0;
    const again = segs.index(dur);
    // One datom replaced and one transaction: a path per tree, not the database.
    expect(segs.writes).toBeLessThan(40);
    expect(again.current.eavt.size).toBe(root.current.eavt.size + 1); // the new name replaces the old; plus the tx's :db/txInstant
  });

  it('restoring loads only what a read needs', () => {
    const segs = new Segments();
    let db = transact(emptyDb(), SCHEMA, { now: 1 }).dbAfter;
    for (let k = 0; k < 80; k++) {
      db = transact(db, Array.from({ length: 500 }, (_, i) => ({ ':p/id': k * 500 + i, ':p/name': `n${i}` })), { now: 10 + k }).dbAfter;
    }
    const root = segs.index(db);
    const fresh = new Segments();
    for (const [k, v] of segs.stored) fresh.stored.set(k, v);
    const dur = fresh.restore(root);
    const opened = fresh.fetches;
    const name = fresh.run(() => pullSelector(dur, '[:p/name]', [':p/id', 31_337]));
    expect(name).toEqual(pullSelector(db, '[:p/name]', [':p/id', 31_337]));
    // AVET for the lookup ref, EAVT for the pull: a root and a leaf each, as 80,000 keys make
    // about 160 leaf segments under one branch of the segments' fan-out (written with the
    // in-memory fan-out of 64, a level of branches came in between: 6).
    expect(fresh.fetches - opened).toBeLessThanOrEqual(4);
    expect(fresh.loaded.size).toBeLessThan(segs.stored.size / 10);
  });

  it('names every segment a replay of a transaction will need', () => {
    const segs = new Segments();
    let db = transact(emptyDb(), SCHEMA, { now: 1 }).dbAfter;
    for (let k = 0; k < 20; k++) db = transact(db, Array.from({ length: 500 }, (_, i) => ({ ':p/id': k * 500 + i, ':p/name': `n${i}`, ...(k > 0 ? { ':p/friend': [[':p/id', (k - 1) * 500 + i]] } : {}) })), { now: 10 + k }).dbAfter;
    const root = segs.index(db);
    const next = transact(db, [[':db/retractEntity', [':p/id', 77]], { ':p/id': 9_999, ':p/name': 'new' }], { now: 99 });
    const dur = segs.restore(root);
    const missing = new Set<string>();
    segs.run(() => missingForApply(dur.state, next.txData, missing));
    let rounds = 0;
    for (;;) {
      for (const a of missing) segs.loaded.set(a, nodeOfSegment(a, decodeStoredSegment(segs.stored.get(a)!)));
      const more = new Set<string>();
      missingForApply(dur.state, next.txData, more);
      if (more.size === 0) break;
      missing.clear();
      for (const a of more) missing.add(a);
      rounds++;
    }
    expect(rounds).toBeLessThan(4); // one per level of the trees
    const applied = new Db(applyDatoms(dur.state, next.txData, 99)); // no miss left
    expect(dump(applied, segs)).toBe(dump(next.dbAfter));
  });

  it('a pass collecting misses leaves nothing behind: the query scan does not remember a stand-in root', () => {
    const segs = new Segments();
    let db = transact(emptyDb(), SCHEMA, { now: 1 }).dbAfter;
    db = transact(db, Array.from({ length: 3_000 }, (_, i) => ({ ':p/id': i, ':p/name': `n${i % 7}` })), { now: 2 }).dbAfter;
    const root = segs.index(db);
    const dur = segs.restore(root); // loads the schema's paths, not AVET's root
    const idAttr = dur.attrOf(':p/id')!.id;
    const found = (x: Db): number[] => {
      const out: number[] = [];
      walk(x, 'avet', idAttr, 1234, undefined, undefined, (d) => { out.push(d.e); });
      return out;
    };
    const missed = collectMisses(() => found(dur));
    expect(missed.get(segs)?.size ?? 0).toBeGreaterThan(0);
    expect(segs.run(() => found(dur))).toEqual(found(db));
  });
});
