/**
 * Paging of index and log reads (Datomic's :offset and :limit, and a seek cursor that resumes
 * strictly after the last datom of a page): every way of cutting an answer into pages, glued back
 * together, is the whole answer — on random data with retractions, for the current value and for
 * asOf, since and history values, on all four indexes. Also the B+tree walks behind it: the
 * O(log n) positional skip and the lazy cursor.
 */
import fc from 'fast-check';
import * as api from '../../services/engine/api';
import { Edit, SortedSet } from '../../services/engine/btree';
import { publicDatom } from '../../services/engine/api';
import type { IndexName } from '../../services/engine/datom';
import { aid, dbWith, fails, tx, type Db } from './helpers';

const cmp = (a: number, b: number): number => a - b;

describe('SortedSet: forRangeFrom and cursor', () => {
  test('a positional skip and a lazy cursor walk the same keys as the model', () => {
    fc.assert(
      fc.property(
        // Up to 9000 keys: three levels of nodes (64 keys a leaf).
        fc.uniqueArray(fc.integer({ min: 0, max: 50_000 }), { maxLength: 9000, size: 'max' }),
        fc.boolean(),
        fc.integer({ min: -10, max: 50_010 }),
        fc.nat(50_000),
        fc.nat(9500),
        (keys, built, lo, width, skip) => {
          const ref = [...keys].sort(cmp);
          let set: SortedSet<number>;
          if (built) set = SortedSet.fromSorted(ref, cmp);
          else {
            set = SortedSet.empty(cmp);
            const edit = new Edit();
            for (const k of keys) set = set.insert(k, edit);
            edit.live = false;
          }
          const hi = lo + width;
          const l = (k: number): number => (k < lo ? -1 : 0);
          const h = (k: number): number => (k > hi ? 1 : 0);
          const inRange = ref.filter((k) => k >= lo && k <= hi);
          const skipped: number[] = [];
          set.forRangeFrom(l, h, skip, (k) => {
            skipped.push(k);
          });
          expect(skipped).toEqual(inRange.slice(skip));
          // Stopping early stops.
          const few: number[] = [];
          set.forRangeFrom(l, h, skip, (k) => {
            few.push(k);
            return few.length < 3;
          });
          expect(few).toEqual(inRange.slice(skip, skip + 3));
          const c = set.cursor(l, h);
          const walked: number[] = [];
          for (let k = c.next(); k !== undefined; k = c.next()) walked.push(k);
          expect(walked).toEqual(inRange);
          expect(c.next()).toBeUndefined();
        },
      ),
      { numRuns: 60 },
    );
  });

  test('edges: an empty set, a skip of 0, a skip past the end', () => {
    const empty = SortedSet.empty(cmp);
    expect(empty.cursor(() => 0, () => 0).next()).toBeUndefined();
    const seen: number[] = [];
    empty.forRangeFrom(() => 0, () => 0, 3, (k) => {
      seen.push(k);
    });
    expect(seen).toEqual([]);
    const set = SortedSet.fromSorted([1, 2, 3], cmp);
    const all: number[] = [];
    set.forRangeFrom(() => 0, () => 0, 0, (k) => {
      all.push(k);
    });
    expect(all).toEqual([1, 2, 3]);
    set.forRangeFrom(() => 0, () => 0, 3, (k) => {
      all.push(k);
    });
    expect(all).toEqual([1, 2, 3]);
  });
});

const SCHEMA = `[{:db/ident :p/n   :db/valueType :db.type/long    :db/cardinality :db.cardinality/one}
 {:db/ident :p/tag :db/valueType :db.type/string  :db/cardinality :db.cardinality/many}
 {:db/ident :p/ref :db/valueType :db.type/ref     :db/cardinality :db.cardinality/many}
 {:db/ident :p/kw  :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}]`;

const ATTRS = ['p/n', 'p/tag', 'p/ref', 'p/kw'] as const;
const ENTITIES = 24;

type Op = { retract: boolean; e: number; attr: number; v: number };
const opArb: fc.Arbitrary<Op> = fc.record({
  retract: fc.boolean(),
  e: fc.nat(ENTITIES - 1),
  attr: fc.nat(ATTRS.length - 1),
  v: fc.nat(7),
});

/** A database with the schema, ENTITIES entities, and random assertions and retractions after. */
function randomDb(txs: Op[][]): { db: Db; ids: number[] } {
  let db = dbWith(SCHEMA);
  const r = tx(db, Array.from({ length: ENTITIES }, (_, i) => ({ 'db/id': `e${i}`, 'p/n': i % 5, 'p/tag': `t${i % 3}` })));
  db = r.dbAfter;
  const ids = Array.from({ length: ENTITIES }, (_, i) => r.tempids[`e${i}`]!);
  const value = (attr: number, v: number): unknown => [v, `t${v}`, ids[v]!, `:k/v${v}`][attr];
  for (const ops of txs) {
    // One operation per entity and attribute in a transaction: no conflicting datoms.
    const seen = new Set<string>();
    const data: unknown[] = [];
    for (const op of ops) {
      const k = `${op.e}/${op.attr}`;
      if (seen.has(k)) continue;
      seen.add(k);
      data.push([op.retract ? ':db/retract' : ':db/add', ids[op.e]!, `:${ATTRS[op.attr]}`, value(op.attr, op.v)]);
    }
    db = tx(db, data).dbAfter;
  }
  return { db, ids };
}

/** Every page of `size` through the seek cursor, glued together. */
function byCursor(fetch: (page: api.PageArgs) => api.PublicDatom[], size: number): api.PublicDatom[] {
  const out: api.PublicDatom[] = [];
  let after: api.PublicDatom | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = fetch({ limit: size, ...(after ? { after } : {}) });
    out.push(...page);
    if (page.length < size) return out;
    after = page[page.length - 1];
  }
  throw new Error('paging did not end');
}

/** Every page of `size` by offset, glued together. */
function byOffset(fetch: (page: api.PageArgs) => api.PublicDatom[], size: number): api.PublicDatom[] {
  const out: api.PublicDatom[] = [];
  for (;;) {
    const page = fetch({ offset: out.length, limit: size });
    out.push(...page);
    if (page.length < size) return out;
  }
}

function views(db: Db, t1: number, t2: number): Array<[string, Db]> {
  return [
    ['current', db],
    ['asOf', db.asOf(t1)],
    ['since', db.since(t2)],
    ['asOf+since', db.asOf(t1).since(t2)],
    ['history', db.history()],
    ['history asOf', db.history().asOf(t1)],
    ['history since', db.history().since(t2)],
  ];
}

const txsArb = fc.array(fc.array(opArb, { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 25 });

describe('datoms and index-range pages', () => {
  test('cursor pages, offset pages and offset/limit slices equal the whole answer, in every view and index', () => {
    fc.assert(
      fc.property(txsArb, fc.nat(100), fc.nat(100), fc.integer({ min: 1, max: 40 }), fc.nat(6), fc.nat(ENTITIES - 1), fc.nat(3), fc.nat(7), fc.nat(60), fc.integer({ min: -1, max: 30 }),
        (txs, p1, p2, size, shape, ei, ai, vi, offset, limit) => {
          const { db, ids } = randomDb(txs);
          const t1 = 1 + (p1 % db.t);
          const t2 = p2 % db.t;
          const a = aid(db, `:${ATTRS[ai]}`);
          const v = [vi, `t${vi}`, ids[vi]!, `:k/v${vi}`][ai];
          const e = ids[ei]!;
          // Leading components, and gaps (components that filter instead of bounding the range).
          const pick = (index: IndexName, options: unknown[][]): [IndexName, unknown[]] => [index, options[shape % options.length]!];
          const lookups = [
            pick('eavt', [[], [e], [e, a], [null, a]]),
            pick('aevt', [[a], [a, e], [a, null, v]]),
            pick('avet', [[a], [a, v], []]),
            pick('vaet', [[], [ids[vi]!], [null, aid(db, ':p/ref')]]),
          ];
          for (const [label, view] of views(db, t1, t2)) {
            for (const [index, comps] of lookups) {
              // The reference: the engine's own walk (materialising filtered views).
              const engineComps = comps.map((c) => (c === null ? undefined : c));
              const whole = view.datoms(index, ...engineComps).map((d) => publicDatom(view, d));
              const fetch = (page: api.PageArgs) => api.datoms(view, index, comps, Infinity, page);
              const where = `${label} ${index} ${JSON.stringify(comps)}`;
              expect([where, fetch({})]).toEqual([where, whole]);
              expect([where, byCursor(fetch, size)]).toEqual([where, whole]);
              expect([where, byOffset(fetch, size)]).toEqual([where, whole]);
              expect([where, fetch({ offset, limit })]).toEqual([where, whole.slice(offset, limit === -1 ? undefined : offset + limit)]);
              // A cursor and an offset together: the offset counts from the cursor.
              if (whole.length > 0) {
                const i = offset % whole.length;
                expect([where, fetch({ after: whole[i], offset: 1, limit: size })]).toEqual([where, whole.slice(i + 2, i + 2 + size)]);
              }
            }
            // index-range on the long attribute: start <= v < end, either bound open.
            const n = aid(db, ':p/n');
            const [start, end] = [shape % 2 ? vi - 2 : undefined, shape % 3 ? vi + 1 : undefined];
            const range = view.datoms('avet', n).map((d) => publicDatom(view, d))
              .filter((d) => (start === undefined || (d.v as number) >= start) && (end === undefined || (d.v as number) < end));
            const fetchRange = (page: api.PageArgs) => api.indexRange(view, ':p/n', start, end, Infinity, page);
            expect(fetchRange({})).toEqual(range);
            expect(byCursor(fetchRange, size)).toEqual(range);
            expect(fetchRange({ offset, limit })).toEqual(range.slice(offset, limit === -1 ? undefined : offset + limit));
          }
        }),
      { numRuns: 40 },
    );
  });

  test('history pages split the events of one fact across pages and still give each once', () => {
    let db = dbWith(SCHEMA);
    const r = tx(db, [{ 'db/id': 'x', 'p/n': 0 }]);
    db = r.dbAfter;
    const x = r.tempids.x!;
    for (let i = 1; i <= 20; i++) db = tx(db, [[':db/add', x, ':p/n', i % 2]]).dbAfter;
    const hist = db.history();
    const whole = api.datoms(hist, 'eavt', [x, ':p/n']);
    // 0 and 1 asserted and retracted 10 times each, and the last assertion still current.
    expect(whole).toHaveLength(41);
    for (let size = 1; size <= 5; size++) expect(byCursor((p) => api.datoms(hist, 'eavt', [x, ':p/n'], Infinity, p), size)).toEqual(whole);
  });

  test('edges: limit 0 answers nothing, an offset beyond the end nothing, -1 everything', () => {
    const { db } = randomDb([[{ retract: false, e: 1, attr: 1, v: 3 }]]);
    const whole = api.datoms(db, 'aevt', [':p/n']);
    expect(whole).toHaveLength(ENTITIES);
    expect(api.datoms(db, 'aevt', [':p/n'], Infinity, { limit: 0 })).toEqual([]);
    expect(api.datoms(db, 'aevt', [':p/n'], Infinity, { offset: ENTITIES })).toEqual([]);
    expect(api.datoms(db, 'aevt', [':p/n'], Infinity, { offset: ENTITIES + 100, limit: 5 })).toEqual([]);
    expect(api.datoms(db, 'aevt', [':p/n'], Infinity, { limit: -1 })).toEqual(whole);
    expect(api.datoms(db, 'aevt', [':p/n'], Infinity, { offset: ENTITIES - 1, limit: 5 })).toEqual(whole.slice(-1));
    expect(api.datoms(db, 'aevt', [':p/n'], Infinity, { after: whole[whole.length - 1] })).toEqual([]);
    expect(api.indexRange(db, ':p/n', 2, 3, Infinity, { limit: 0 })).toEqual([]);
    // The row stop of callers (`max`) still applies under a limit: one more than max, then stop.
    expect(api.datoms(db, 'aevt', [':p/n'], 3, { limit: 10 })).toHaveLength(4);
  });

  test('invalid offsets, limits and cursors are incorrect, naming the field', () => {
    const { db } = randomDb([]);
    for (const [page, code, field] of [
      [{ offset: -1 }, 'datoms/invalid-offset', 'offset'],
      [{ offset: 1.5 }, 'datoms/invalid-offset', 'offset'],
      [{ offset: '2' }, 'datoms/invalid-offset', 'offset'],
      [{ limit: -2 }, 'datoms/invalid-limit', 'limit'],
      [{ limit: 2.5 }, 'datoms/invalid-limit', 'limit'],
      [{ limit: Infinity }, 'datoms/invalid-limit', 'limit'],
      [{ after: 5 }, 'datoms/invalid-after', 'after'],
      [{ after: { e: 1, a: ':no/such', v: 1, tx: 1, added: true } }, 'datoms/invalid-after', 'after'],
      [{ after: { e: 1, a: ':p/n', v: 1, tx: 1 } }, 'datoms/invalid-after', 'after'],
    ] as const) {
      for (const f of [() => api.datoms(db, 'eavt', [], Infinity, page), () => api.indexRange(db, ':p/n', undefined, undefined, Infinity, page)]) {
        const e = fails(f);
        expect([e.category, e.code, e.data.field]).toEqual(['incorrect', code, field]);
        expect(e.message).toContain(field);
      }
    }
    const e = fails(() => api.txRange(db, null, null, { limit: -3 }));
    expect([e.code, e.data.field]).toEqual(['datoms/invalid-limit', 'limit']);
    expect(e.message).toMatch(/^txRange: limit/);
  });
});

describe('tx-range pages', () => {
  test('offset and limit count transactions; maxT leaves out later ones; pages equal the whole log', () => {
    fc.assert(
      fc.property(txsArb, fc.nat(40), fc.integer({ min: -1, max: 30 }), fc.integer({ min: 1, max: 10 }), fc.nat(40), (txs, offset, limit, size, pin) => {
        const { db } = randomDb(txs);
        const whole = db.txRange().map((x) => ({ t: x.t, data: x.data.map((d) => publicDatom(db, d)) }));
        expect(api.txRange(db)).toEqual(whole);
        expect(api.txRange(db, null, null, { offset, limit })).toEqual(whole.slice(offset, limit === -1 ? undefined : offset + limit));
        const maxT = pin % (db.t + 1);
        expect(api.txRange(db, null, null, { maxT }).map((x) => x.t)).toEqual(whole.filter((x) => x.t <= maxT).map((x) => x.t));
        // Pages resumed by start = last t + 1.
        const glued: typeof whole = [];
        let start = 0;
        for (;;) {
          const page = api.txRange(db, start, null, { limit: size });
          glued.push(...page);
          if (page.length < size) break;
          start = page[page.length - 1]!.t + 1;
        }
        expect(glued).toEqual(whole);
      }),
      { numRuns: 30 },
    );
  });
});
