/**
 * `npm run bench:tx`: DataScript's transaction benchmarks (add-1, add-5, add-all, retract-5) on
 * Datalith's engine and on datascript@1.8.1, in one process on the same data, interleaved;
 * prints each engine's median and the ratio DataScript ÷ Datalith (> 1 means Datalith is faster).
 * Datalith keeps full history while doing it; DataScript keeps none.
 * Then measures the memory of a 1,000,000-datom database (bytes per datom).
 */
import os from 'node:os';
import { emptyDb, type Db } from '../services/engine/db';
import { transact } from '../services/engine/transact';
import { DATALITH_SCHEMA, DATASCRIPT_SCHEMA, datalithEntity, datascriptEntity, interleave, mulberry32, people, type Person } from './data';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ds = require('datascript');

const COUNT = Number(process.env.BENCH_PEOPLE ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const folks = people(COUNT);
const schemaDb = transact(emptyDb(), DATALITH_SCHEMA).dbAfter;
const dsEmpty = ds.empty_db(DATASCRIPT_SCHEMA);

const SINGLE: Array<[keyof Person, string]> = [['name', 'name'], ['lastName', 'last-name'], ['sex', 'sex'], ['age', 'age'], ['salary', 'salary']];
const dlValue = (p: Person, k: keyof Person): unknown => (k === 'sex' ? `:${p.sex}` : p[k]);

function dlAdd1(): Db {
  let db = schemaDb;
  for (const p of folks) {
    const r = transact(db, [[':db/add', 'p', ':id', p.id]]);
    const e = r.tempids['p']!;
    db = r.dbAfter;
    for (const [k, a] of SINGLE) db = transact(db, [[':db/add', e, `:${a}`, dlValue(p, k)]]).dbAfter;
  }
  return db;
}
function dsAdd1(): unknown {
  let db = dsEmpty;
  for (const p of folks) {
    db = ds.db_with(db, [[':db/add', -1, 'id', p.id]]);
    const e = p.id; // DataScript allocates ids from 1 in order
    for (const [k, a] of SINGLE) db = ds.db_with(db, [[':db/add', e, a, k === 'sex' ? p.sex : p[k]]]);
  }
  return db;
}
function dlAdd5(): Db {
  let db = schemaDb;
  for (const p of folks) db = transact(db, [datalithEntity(p)]).dbAfter;
  return db;
}
function dsAdd5(): unknown {
  let db = dsEmpty;
  for (const p of folks) db = ds.db_with(db, [datascriptEntity(p)]);
  return db;
}
const dlAll = (): Db => transact(schemaDb, folks.map(datalithEntity)).dbAfter;
const dsAll = (): unknown => ds.db_with(dsEmpty, folks.map(datascriptEntity));

// retract-5: retract every person, one :db/retractEntity per transaction, in shuffled order.
const fullDl = dlAll();
const fullDs = dsAll();
const order = folks.map((p) => p.id);
const rnd = mulberry32(7);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(rnd() * (i + 1));
  [order[i], order[j]] = [order[j]!, order[i]!];
}
function dlRetract(): Db {
  let db = fullDl;
  for (const id of order) db = transact(db, [[':db/retractEntity', [':id', id]]]).dbAfter;
  return db;
}
function dsRetract(): unknown {
  let db = fullDs;
  for (const id of order) db = ds.db_with(db, [[':db.fn/retractEntity', ['id', id]]]);
  return db;
}

// Same results: both databases hold the same people.
{
  const a = fullDl;
  const ageAttr = a.attrOf(':age')!.id;
  const idAttr = a.attrOf(':id')!.id;
  let sumDl = 0;
  a.forDatoms('aevt', ageAttr, undefined, undefined, undefined, (d) => {
    sumDl += (d.v as number) * (a.values(d.e, idAttr)[0] as number);
  });
  const sumDs = ds.q('[:find (sum ?x) . :with ?e :where [?e "age" ?a] [?e "id" ?i] [(* ?a ?i) ?x]]', fullDs);
  if (sumDl !== sumDs) throw new Error(`results differ: Datalith ${sumDl}, DataScript ${sumDs}`);
  const left = dlRetract().estimateCount('aevt', ageAttr);
  if (left !== 0) throw new Error(`retract-5 left ${left} datoms`);
}

const tasks: Array<[string, () => unknown, () => unknown]> = [
  ['add-1', dlAdd1, dsAdd1],
  ['add-5', dlAdd5, dsAdd5],
  ['add-all', dlAll, dsAll],
  ['retract-5', dlRetract, dsRetract],
];

console.log(`bench:tx — ${COUNT} people, ${ROUNDS} rounds, ${os.cpus().length} cores, Node ${process.version}, datascript 1.8.1`);
console.log('task        Datalith ms   DataScript ms   ratio (DataScript ÷ Datalith)');
for (const [name, dl, d] of tasks) {
  interleave(1, dl, d); // warm up
  const { a, b } = interleave(ROUNDS, dl, d);
  console.log(`${name.padEnd(12)}${a.toFixed(1).padStart(11)}   ${b.toFixed(1).padStart(13)}   ${(b / a).toFixed(2)}×`);
}

// Memory at 1M datoms: people are 8 datoms on average plus aliases; build until >= 1M.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  gc();
  const before = process.memoryUsage().heapUsed;
  let db = schemaDb;
  const big = people(130_000, 99);
  for (let i = 0; i < big.length; i += 5000) db = transact(db, big.slice(i, i + 5000).map(datalithEntity)).dbAfter;
  gc();
  const after = process.memoryUsage().heapUsed;
  const datoms = db.state.current.eavt.size;
  console.log(`memory: ${datoms} datoms, ${((after - before) / datoms).toFixed(1)} bytes per datom (4 covering indexes + log + history)`);
  // Structural sharing: one more transaction does not copy the database.
  gc();
  const b2 = process.memoryUsage().heapUsed;
  const db2 = transact(db, [datalithEntity({ id: 999_999_999, name: 'X', lastName: 'Y', alias: [], sex: 'male', age: 1, salary: 1 })]).dbAfter;
  gc();
  const a2 = process.memoryUsage().heapUsed;
  console.log(`one more transaction into it: ${((a2 - b2) / 1024).toFixed(1)} KiB retained (both values alive: ${db.t} and ${db2.t})`);
} else {
  console.log('memory: run with node --expose-gc to measure bytes per datom');
}
