/**
 * Property tests over random transaction sequences on a small schema:
 *  - asOf(t) of the final value equals the value built by the first t transactions;
 *  - since(t) holds exactly the current datoms added after t;
 *  - history holds every assertion and retraction ever made, and nothing else;
 *  - the four indexes agree, in the current and in the history view;
 *  - replaying the log rebuilds the same value;
 *  - card-one and uniqueness hold in every value.
 */
import fc from 'fast-check';
import { Db, emptyDb } from '../../services/engine/db';
import { tToTx, type Datom } from '../../services/engine/datom';
import { DatalithError } from '../../services/engine/errors';
import { applyDatoms } from '../../services/engine/transact';
import { Edit } from '../../services/engine/btree';
import { datomSet, dbWith, tx, type TxReport } from './helpers';

const SCHEMA = `[{:db/ident :p/id :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
                 {:db/ident :p/code :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/value}
                 {:db/ident :p/age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
                 {:db/ident :p/tags :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
                 {:db/ident :p/friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}
                 {:db/ident :p/kids :db/valueType :db.type/ref :db/cardinality :db.cardinality/many :db/isComponent true}]`;

/** An entity reference, resolved against the entities known so far when the form is rendered. */
type Ref = { known: number } | { tempid: number } | { lookup: number };
type Form =
  | { kind: 'map'; e: Ref; attrs: Array<[string, unknown]> }
  | { kind: 'add' | 'retract'; e: Ref; attr: string; value: unknown }
  | { kind: 'retractAll'; e: Ref; attr: string }
  | { kind: 'retractEntity'; e: Ref }
  | { kind: 'cas'; e: Ref; attr: string; old: unknown; value: unknown };

const refArb: fc.Arbitrary<Ref> = fc.oneof(
  { weight: 3, arbitrary: fc.nat(20).map((known) => ({ known })) },
  { weight: 1, arbitrary: fc.nat(3).map((tempid) => ({ tempid })) },
  { weight: 2, arbitrary: fc.nat(4).map((lookup) => ({ lookup })) },
);
const VALUES: Record<string, fc.Arbitrary<unknown>> = {
  ':p/id': fc.nat(6),
  ':p/code': fc.constantFrom('x', 'y', 'z'),
  ':p/age': fc.nat(3),
  ':p/tags': fc.constantFrom('a', 'b', 'c'),
  ':p/friend': refArb,
  ':p/kids': refArb,
};
const attrArb = fc.constantFrom(...Object.keys(VALUES));
const withValue = <T>(f: (attr: string, v: unknown) => T): fc.Arbitrary<T> => attrArb.chain((a) => VALUES[a]!.map((v) => f(a, v)));

const formArb: fc.Arbitrary<Form> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(refArb, fc.uniqueArray(attrArb, { minLength: 1, maxLength: 3 })).chain(([e, attrs]) => fc.tuple(...attrs.map((a) => VALUES[a]!)).map((vs): Form => ({ kind: 'map', e, attrs: attrs.map((a, i) => [a, vs[i]] as [string, unknown]) }))) },
  { weight: 3, arbitrary: fc.tuple(refArb, fc.boolean()).chain(([e, add]) => withValue((attr, value): Form => ({ kind: add ? 'add' : 'retract', e, attr, value }))) },
  { weight: 1, arbitrary: fc.tuple(refArb, attrArb).map(([e, attr]): Form => ({ kind: 'retractAll', e, attr })) },
  { weight: 1, arbitrary: refArb.map((e): Form => ({ kind: 'retractEntity', e })) },
  { weight: 1, arbitrary: fc.tuple(refArb, fc.option(fc.nat(3)), fc.nat(3)).map(([e, old, value]): Form => ({ kind: 'cas', e, attr: ':p/age', old, value })) },
);
const txArb = fc.array(formArb, { minLength: 0, maxLength: 5 });

function render(f: Form, known: number[]): unknown {
  const ref = (r: Ref): unknown =>
    'known' in r ? (known.length === 0 ? `t${r.known % 4}` : known[r.known % known.length]) : 'tempid' in r ? `t${r.tempid}` : [':p/id', r.lookup];
  const value = (attr: string, v: unknown): unknown => (attr === ':p/friend' || attr === ':p/kids' ? ref(v as Ref) : v);
  switch (f.kind) {
    case 'map': return Object.fromEntries([['db/id', ref(f.e)], ...f.attrs.map(([a, v]) => [a, value(a, v)])]);
    case 'add': return [':db/add', ref(f.e), f.attr, value(f.attr, f.value)];
    case 'retract': return [':db/retract', ref(f.e), f.attr, value(f.attr, f.value)];
    case 'retractAll': return [':db/retract', ref(f.e), f.attr];
    case 'retractEntity': return [':db/retractEntity', ref(f.e)];
    case 'cas': return [':db/cas', ref(f.e), f.attr, f.old, f.value];
  }
}

interface Run {
  base: Db;
  /** Every successful report, in order. */
  reports: TxReport[];
  final: Db;
}

/** Runs the transactions, skipping the ones Datomic would refuse (they must change nothing). */
function run(txs: Form[][]): Run {
  const base = dbWith(SCHEMA);
  let db = base;
  const known: number[] = [];
  const reports: TxReport[] = [];
  // Seed: entities with every p/id, so that most lookup refs name something.
  const seed: Form[] = [0, 1, 2, 3, 4].map((i) => ({ kind: 'map', e: { tempid: i }, attrs: [[':p/id', i], [':p/tags', 'a']] }));
  for (const forms of [seed, ...txs]) {
    let r: TxReport;
    try {
      r = tx(db, forms.map((f) => render(f, known)));
    } catch (e) {
      if (e instanceof DatalithError) continue;
      throw e;
    }
    expect(r.dbBefore).toBe(db);
    for (const id of Object.values(r.tempids)) if (!known.includes(id)) known.push(id);
    reports.push(r);
    db = r.dbAfter;
  }
  return { base, reports, final: db };
}

const all = (db: Db, index: 'eavt' | 'aevt' | 'avet' | 'vaet' = 'eavt'): Datom[] => db.datoms(index);

/** Every datom ever transacted up to t: the bootstrap, the schema and each report's tx-data. */
function everything(r: Run, t = Infinity): string[] {
  const boot = emptyDb().datoms('eavt');
  const schemaData = r.base.history().datoms('eavt');
  const data = r.reports.filter((x) => x.dbAfter.t <= t).flatMap((x) => x.txData);
  return [...new Set(datomSet([...boot, ...schemaData, ...data]))].sort();
}

const RUNS = { numRuns: 120 };
const txsArb = fc.array(txArb, { minLength: 1, maxLength: 8 });

describe('random transaction sequences', () => {
  test('asOf(t) equals the database built from the first t transactions; since(t) is the rest', () => {
    fc.assert(
      fc.property(txsArb, (txs) => {
        const r = run(txs);
        for (const x of [{ dbAfter: r.base }, ...r.reports]) {
          const t = x.dbAfter.t;
          expect(datomSet(all(r.final.asOf(t)))).toEqual(datomSet(all(x.dbAfter)));
          expect(datomSet(all(r.final.since(t)))).toEqual(datomSet(all(r.final).filter((d) => d.tx > tToTx(t))));
        }
      }),
      RUNS,
    );
  });

  test('history holds every assertion and retraction ever made, and nothing else', () => {
    fc.assert(
      fc.property(txsArb, (txs) => {
        const r = run(txs);
        const h = r.final.history();
        expect(datomSet(all(h))).toEqual(everything(r));
        for (const x of r.reports) expect(datomSet(all(h.asOf(x.dbAfter.t)))).toEqual(everything(r, x.dbAfter.t));
        // The log holds the same transactions.
        const logged = r.final.txRange(r.base.t + 1).flatMap((e) => e.data);
        expect(datomSet(logged)).toEqual(datomSet(r.reports.flatMap((x) => x.txData)));
      }),
      RUNS,
    );
  });

  test('the four indexes agree, current and history; vaet holds the refs', () => {
    fc.assert(
      fc.property(txsArb, (txs) => {
        const { final } = run(txs);
        for (const db of [final, final.history()]) {
          const eavt = datomSet(all(db, 'eavt'));
          expect(datomSet(all(db, 'aevt'))).toEqual(eavt);
          expect(datomSet(all(db, 'avet'))).toEqual(eavt);
          const refs = all(db, 'eavt').filter((d) => final.attr(d.a)?.valueType === 'ref');
          expect(datomSet(all(db, 'vaet'))).toEqual(datomSet(refs));
        }
      }),
      RUNS,
    );
  });

  test('replaying the log rebuilds the same value', () => {
    fc.assert(
      fc.property(txsArb, (txs) => {
        const { final } = run(txs);
        let state = emptyDb().state;
        for (const entry of final.txRange()) state = applyDatoms(state, entry.data, entry.instant);
        const replayed = new Db(state);
        expect(replayed.t).toBe(final.t);
        expect(datomSet(all(replayed))).toEqual(datomSet(all(final)));
        expect(datomSet(all(replayed.history()))).toEqual(datomSet(all(final.history())));
        expect(replayed.state.maxEid).toBe(final.state.maxEid);
      }),
      RUNS,
    );
  });

  test('a replay that shares one edit across transactions (as a node replays a log entry) builds the same value', () => {
    fc.assert(
      fc.property(txsArb, fc.integer({ min: 1, max: 4 }), (txs, perEdit) => {
        const { final } = run(txs);
        let state = emptyDb().state;
        let edit = new Edit();
        const entries = final.txRange();
        entries.forEach((entry, i) => {
          if (i % perEdit === 0) {
            edit.live = false;
            edit = new Edit();
          }
          state = applyDatoms(state, entry.data, entry.instant, edit);
        });
        edit.live = false;
        const replayed = new Db(state);
        expect(replayed.t).toBe(final.t);
        for (const index of ['eavt', 'aevt', 'avet', 'vaet'] as const) {
          expect(datomSet(replayed.datoms(index))).toEqual(datomSet(final.datoms(index)));
          expect(datomSet(replayed.history().datoms(index))).toEqual(datomSet(final.history().datoms(index)));
        }
        expect(replayed.txRange().map((e) => [e.t, e.instant, datomSet(e.data)])).toEqual(entries.map((e) => [e.t, e.instant, datomSet(e.data)]));
        expect(replayed.state.maxEid).toBe(final.state.maxEid);
        expect(replayed.schema.attrs.size).toBe(final.schema.attrs.size);
      }),
      RUNS,
    );
  });

  test('every value respects card-one and uniqueness; every ref points at an entity id', () => {
    fc.assert(
      fc.property(txsArb, (txs) => {
        const r = run(txs);
        for (const db of r.reports.map((x) => x.dbAfter)) {
          for (const ident of Object.keys(VALUES)) {
            const a = db.attrOf(ident)!;
            const ds = db.datoms('aevt', a.id);
            if (a.cardinality === 'one') expect(new Set(ds.map((d) => d.e)).size).toBe(ds.length);
            if (a.unique !== null) expect(new Set(ds.map((d) => d.v)).size).toBe(ds.length);
            if (a.valueType === 'ref') for (const d of ds) expect(Number.isInteger(d.v)).toBe(true);
          }
        }
      }),
      RUNS,
    );
  });

  test('transaction instants strictly increase with t', () => {
    fc.assert(
      fc.property(txsArb, (txs) => {
        const { final } = run(txs);
        const instants = final.txRange().map((e) => e.instant);
        for (let i = 1; i < instants.length; i++) expect(instants[i]!).toBeGreaterThan(instants[i - 1]!);
      }),
      { numRuns: 30 },
    );
  });
});
