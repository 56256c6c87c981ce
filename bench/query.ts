/**
 * `npm run bench:query`: DataScript's query benchmark (q1–q5, qpred1–2, q2-switch, the three
 * pulls on a tree, the rules on trees and chains) on Datalith's engine and on datascript@1.8.1,
 * in one process on the same data. Checks both engines return the same results (entity ids
 * mapped to :id), interleaves the engines, and prints each task's median time per run and the
 * ratio DataScript ÷ Datalith (> 1 means Datalith is faster).
 *
 * BENCH_ROUNDS (default 7), BENCH_SAMPLE_MS (default 40), BENCH_ONLY (comma-separated task names).
 */
import os from 'node:os';
import { emptyDb, type Db } from '../services/engine/db';
import { transact } from '../services/engine/transact';
import { q } from '../services/engine/query';
import { parsePullPattern, pull } from '../services/engine/pull';
import { DATALITH_SCHEMA, DATASCRIPT_SCHEMA, datalithEntity, datascriptEntity, median, people, type Person } from './data';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ds = require('datascript');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_MS ?? 40);
const ONLY = process.env.BENCH_ONLY?.split(',') ?? null;

interface Engine {
  run: () => unknown;
  /** Normalized result for comparison. */
  norm: (r: unknown) => unknown;
}
interface Task {
  name: string;
  dl: Engine;
  ds: Engine;
}

// ---- data -------------------------------------------------------------------------------------

const folks = people();
const schemaDb = transact(emptyDb(), DATALITH_SCHEMA).dbAfter;
const dlPeople = transact(schemaDb, folks.map(datalithEntity)).dbAfter;
const dsEmpty = () => ds.empty_db(DATASCRIPT_SCHEMA);
const dsPeople = ds.db_with(dsEmpty(), folks.map(datascriptEntity));

/** Entity id → :id, for each engine's database. */
function dlIds(db: Db): Map<number, number> {
  return new Map(q('[:find ?e ?id :where [?e :id ?id]]', [db]) as Array<[number, number]>);
}
function dsIds(db: unknown): Map<number, number> {
  return new Map(ds.q('[:find ?e ?id :where [?e "id" ?id]]', db) as Array<[number, number]>);
}

/** DataScript's JS API stores attributes and the keyword values as strings: write them as EDN strings. */
const toDs = (query: string): string =>
  query.replace(/:(name|last-name|alias|sex|age|salary|id|follows|male|female)(?=[\s\]\)}])/g, '"$1"');

const kw = (v: unknown): unknown => (typeof v === 'string' && v.startsWith(':') ? v.slice(1) : v);

/** Rows with entity columns mapped to :id, keywords without colon, sorted. */
function normRows(ids: Map<number, number>, entityCols: number[]) {
  return (r: unknown): unknown => {
    const rows = (r as unknown[][]).map((row) => row.map((v, i) => (entityCols.includes(i) ? ids.get(v as number) ?? `?${String(v)}` : kw(v))));
    return rows.map((x) => JSON.stringify(x)).sort();
  };
}

function queryTask(name: string, dlQuery: string, dsQuery: string, entityCols: number[], args: unknown[] = [], dlDb: Db = dlPeople, dsDb: unknown = dsPeople): Task {
  const dlI = dlIds(dlDb);
  const dsI = dsIds(dsDb);
  const dsQ = toDs(dsQuery);
  const dsArgs = args.map((a) => (typeof a === 'string' ? toDs(a) : a));
  return {
    name,
    dl: { run: () => q(dlQuery, [dlDb, ...args]), norm: normRows(dlI, entityCols) },
    ds: { run: () => ds.q(dsQ, dsDb, ...dsArgs), norm: normRows(dsI, entityCols) },
  };
}

// Trees and chains (DataScript's wide-db and long-db), entity :id = DataScript's entity id.
function treeTx(depth: number, width: number): { dl: unknown[]; ds: unknown[] } {
  const extra = people(Math.max(1, (width ** (depth + 1) - 1) / Math.max(1, width - 1)) + 10, 99);
  const dl: unknown[] = [];
  const dsx: unknown[] = [];
  let n = 0;
  const walk = (id: number, d: number): void => {
    const p = extra[n++ % extra.length]!;
    const children = d > 0 ? Array.from({ length: width }, (_, i) => id * width + i) : [];
    const base: Person = { ...p, id };
    const dle = datalithEntity(base);
    if (base.alias.length === 0) delete dle.alias;
    if (children.length > 0) dle.follows = children.map((c) => `p${c}`);
    dl.push(dle);
    const dse = datascriptEntity(base);
    dse[':db/id'] = id;
    if (base.alias.length === 0) delete dse.alias;
    if (children.length > 0) dse.follows = children;
    dsx.push(dse);
    for (const c of children) walk(c, d - 1);
  };
  walk(1, depth);
  return { dl, ds: dsx };
}

function chainTx(depth: number, width: number): { dl: unknown[]; ds: unknown[] } {
  const dl: unknown[] = [];
  const dsx: unknown[] = [];
  for (let x = 0; x < width; x++) {
    for (let y = 0; y <= depth; y++) {
      const id = x * (depth + 1) + y + 1; // DataScript's ids start at 0; ours at 1 (0 is no entity id there)
      const dle: Record<string, unknown> = { 'db/id': `p${id}`, id, name: 'Ivan' };
      const dse: Record<string, unknown> = { ':db/id': id, id, name: 'Ivan' };
      if (y < depth) {
        dle.follows = [`p${id + 1}`];
        dse.follows = [id + 1];
      }
      dl.push(dle);
      dsx.push(dse);
    }
  }
  return { dl, ds: dsx };
}

const RULES = `[[(follows ?x ?y) [?x :follows ?y]]
                [(follows ?x ?y) [?x :follows ?t] (follows ?t ?y)]]`;
const RULES_Q = '[:find ?e ?e2 :in $ % :where (follows ?e ?e2)]';

function rulesTask(name: string, data: { dl: unknown[]; ds: unknown[] }): Task {
  const dlDb = transact(schemaDb, data.dl).dbAfter;
  const dsDb = ds.db_with(dsEmpty(), data.ds);
  return queryTask(name, RULES_Q, RULES_Q, [0, 1], [RULES], dlDb, dsDb);
}

function normPull(ids: Map<number, number>) {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    if (typeof x === 'object' && x !== null) {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(x)) {
        const key = k.replace(/^:/, '');
        o[key] = key === 'db/id' ? ids.get(v as number) : walk(v);
      }
      return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return kw(x);
  };
  return walk;
}

function pullTasks(): Task[] {
  const data = treeTx(4, 5);
  const dlDb = transact(schemaDb, data.dl).dbAfter;
  const dsDb = ds.db_with(dsEmpty(), data.ds);
  const root = dlDb.entid([':id', 1])!;
  const dlI = dlIds(dlDb);
  const dsI = dsIds(dsDb);
  const patterns: Array<[string, string]> = [
    ['pull-names', '[:name {:follows ...}]'],
    ['pull-attrs', '[:db/id :last-name :alias :sex :age :salary {:follows ...}]'],
    ['pull-wildcard', '[* {:follows ...}]'],
  ];
  return patterns.map(([name, p]) => {
    const pat = parsePullPattern(p);
    const dsP = toDs(p);
    return {
      name,
      dl: { run: () => pull(dlDb, parsePullPattern(pat), root), norm: normPull(dlI) },
      ds: { run: () => ds.pull(dsDb, dsP, 1), norm: normPull(dsI) },
    };
  });
}

// ---- tasks ------------------------------------------------------------------------------------

const Q2 = '[:find ?e ?a :where [?e :name "Ivan"] [?e :age ?a]]';
const tasks: Array<() => Task> = [
  () => queryTask('q1', '[:find ?e :where [?e :name "Ivan"]]', '[:find ?e :where [?e :name "Ivan"]]', [0]),
  () => queryTask('q2', Q2, Q2, [0]),
  () => queryTask('q2-switch', '[:find ?e ?a :where [?e :age ?a] [?e :name "Ivan"]]', '[:find ?e ?a :where [?e :age ?a] [?e :name "Ivan"]]', [0]),
  () => queryTask('q3', '[:find ?e ?a :where [?e :name "Ivan"] [?e :age ?a] [?e :sex :male]]',
    '[:find ?e ?a :where [?e :name "Ivan"] [?e :age ?a] [?e :sex "male"]]', [0]),
  () => queryTask('q4', '[:find ?e ?l ?a :where [?e :name "Ivan"] [?e :last-name ?l] [?e :age ?a] [?e :sex :male]]',
    '[:find ?e ?l ?a :where [?e :name "Ivan"] [?e :last-name ?l] [?e :age ?a] [?e :sex "male"]]', [0]),
  () => {
    const Q5 = '[:find ?e ?n ?l ?a ?s ?al :in $ ?n ?a :where [?e :name ?n] [?e :age ?a] [?e :last-name ?l] [?e :sex ?s] [?e :alias ?al]]';
    return queryTask('q5', Q5, Q5, [0], ['Anastasia', 35]);
  },
  () => queryTask('qpred1', '[:find ?e ?s :where [?e :salary ?s] [(> ?s 50000)]]', '[:find ?e ?s :where [?e :salary ?s] [(> ?s 50000)]]', [0]),
  () => {
    const Q = '[:find ?e ?s :in $ ?min_s :where [?e :salary ?s] [(> ?s ?min_s)]]';
    return queryTask('qpred2', Q, Q, [0], [50000]);
  },
  ...pullTasks().map((t) => () => t),
  () => rulesTask('rules-wide-3x3', treeTx(3, 3)),
  () => rulesTask('rules-wide-5x3', treeTx(5, 3)),
  () => rulesTask('rules-wide-7x3', treeTx(7, 3)),
  () => rulesTask('rules-wide-4x6', treeTx(4, 6)),
  () => rulesTask('rules-long-10x3', chainTx(10, 3)),
  () => rulesTask('rules-long-30x3', chainTx(30, 3)),
  () => rulesTask('rules-long-30x5', chainTx(30, 5)),
];

// ---- timing -----------------------------------------------------------------------------------

/** Time per run in ms: runs fn repeatedly for at least SAMPLE_MS. */
function sample(fn: () => unknown): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  do {
    fn();
    n++;
    t = performance.now();
  } while (t - t0 < SAMPLE_MS);
  return (t - t0) / n;
}

function fmt(ms: number): string {
  return ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

function main(): void {
  const rows: string[] = [];
  let failed = false;
  console.log(`Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), ${os.platform()} ${os.arch()}`);
  console.log(`rounds ${ROUNDS}, sample ≥ ${SAMPLE_MS} ms\n`);
  const header = `| task | Datalith (ms) | DataScript (ms) | DataScript ÷ Datalith |`;
  console.log(header);
  console.log('|---|---:|---:|---:|');
  for (const make of tasks) {
    const t = make();
    if (ONLY !== null && !ONLY.includes(t.name)) continue;
    const a = JSON.stringify(t.dl.norm(t.dl.run()));
    const b = JSON.stringify(t.ds.norm(t.ds.run()));
    const same = a === b;
    if (!same) failed = true;
    // Warm-up.
    sample(t.dl.run);
    sample(t.ds.run);
    const ta: number[] = [];
    const tb: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      ta.push(sample(t.dl.run));
      tb.push(sample(t.ds.run));
    }
    const ma = median(ta);
    const mb = median(tb);
    const line = `| ${t.name} | ${fmt(ma)} | ${fmt(mb)} | ${(mb / ma).toFixed(1)}×${same ? '' : ' (RESULTS DIFFER)'} |`;
    rows.push(line);
    console.log(line);
  }
  if (failed) {
    console.error('\nSome results differ between the engines.');
    process.exitCode = 1;
  }
}

main();
