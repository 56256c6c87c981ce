/**
 * Query evaluation: a greedy cost-based planner over a single intermediate relation.
 *
 * The where clauses are evaluated one at a time against the relation built so far. At each step,
 * every filter that has become runnable (predicates, functions, `not` whose variables are bound)
 * runs first; then the data pattern, rule call or `or` with the lowest estimated cost is chosen,
 * using O(log n) index counts (`Db.estimateCount`) sampled with the values actually bound.
 * A data pattern is joined either by per-row index lookups (EAVT for a bound entity, AVET for a
 * bound value) or by one scan plus a hash join, whichever is estimated cheaper; range predicates
 * on the value a pattern binds are pushed into an AVET range scan.
 *
 * Rules are evaluated bottom-up with tabling: each (rule, bound-argument positions, source) has a
 * table of demanded inputs and derived answers, and all tables are iterated semi-naively to a
 * fixpoint, so recursion terminates on cycles and bound arguments restrict the work.
 */
import type { Db, ValueBound } from '../db';
import type { Datom, IndexName } from '../datom';
import { incorrect, interrupted, describeValue } from '../errors';
import type { Attribute } from '../schema';
import { compareValues, valuesEqual, type Value } from '../values';
import { BUILTINS, type Builtin } from './builtins';
import {
  bindingVars, clauseVars, show, termVars, type Binding, type Clause, type FnClause, type NotClause, type OrClause,
  type PatternClause, type PredClause, type Rule, type RuleCall, type Term,
} from './parser';
import { Rel, join, key1, keyOf, prefixOf, project } from './relation';
import { walk } from './scan';

export type Source = Db | readonly unknown[];

export interface Ctx {
  readonly sources: Map<string, Source>;
  readonly rules: Map<string, readonly Rule[]> | null;
  readonly deadline: number;
  ticks: number;
  // rule tabling
  readonly tables: Map<string, RuleTable>;
  readonly tableList: RuleTable[];
  solving: boolean;
  iter: number;
  /** In a semi-naive body evaluation: the rule call reading only the last iteration's answers. */
  delta: Clause | null;
}

export function newCtx(sources: Map<string, Source>, rules: Map<string, readonly Rule[]> | null, timeout: number | undefined): Ctx {
  return {
    sources, rules,
    deadline: timeout === undefined || timeout === null ? Infinity : Date.now() + timeout,
    ticks: 0, tables: new Map(), tableList: [], solving: false, iter: 1, delta: null,
  };
}

export function checkTime(ctx: Ctx): void {
  if (Date.now() > ctx.deadline) {
    throw interrupted('query/timeout', `Query timed out`, {});
  }
}

const isDb = (s: Source | undefined): s is Db => s !== undefined && !Array.isArray(s);

/** The source a clause reads: the one it names, else its scope's default. */
function getSource(ctx: Ctx, name: string | null, dflt: string, text: string): Source {
  const s = ctx.sources.get(name ?? dflt);
  if (s === undefined) throw incorrect('query/unknown-source', `Unknown source ${name ?? dflt} in ${text}`, { clause: text });
  return s;
}

const stuck = (c: Clause, rel: Rel): never => {
  const need = clauseVars(c).filter((v) => !rel.has(v));
  throw incorrect('query/insufficient-binding', `Insufficient binding: ${need.join(', ') || 'variables'} not bound in ${c.text}`, { clause: c.text, vars: need });
};

// ---------------------------------------------------------------------------------------------
// Clause lists

/** Evaluates clauses against an input relation; `dflt` is the source `$` refers to. */
export function evalClauses(clauses: readonly Clause[], input: Rel, ctx: Ctx, dflt: string): Rel {
  let rel = input;
  const pending = clauses.slice();
  while (pending.length > 0) {
    if (rel.rows.length === 0) return emptyWith(rel, pending);
    // 1. Every runnable filter.
    let ran = false;
    for (let i = 0; i < pending.length; i++) {
      const c = pending[i]!;
      if (isFilterReady(c, rel)) {
        pending.splice(i, 1);
        i--;
        rel = runClause(c, rel, ctx, dflt, pending);
        ran = true;
        if (rel.rows.length === 0) return emptyWith(rel, pending);
      }
    }
    if (ran) continue;
    // 2. The cheapest join.
    let best = -1;
    let bestScore = Infinity;
    for (let i = 0; i < pending.length; i++) {
      const s = score(pending[i]!, rel, ctx, dflt);
      if (s < bestScore) {
        bestScore = s;
        best = i;
      }
    }
    if (best === -1) return stuck(pending[0]!, rel);
    const c = pending.splice(best, 1)[0]!;
    rel = runClause(c, rel, ctx, dflt, pending);
  }
  return rel;
}

/** An empty relation that still declares the variables the remaining clauses would bind. */
function emptyWith(rel: Rel, pending: readonly Clause[]): Rel {
  const vars = [...rel.vars];
  for (const c of pending) for (const v of producedBy(c)) if (!vars.includes(v)) vars.push(v);
  return new Rel(vars, []);
}

function producedBy(c: Clause): string[] {
  switch (c.kind) {
    case 'pattern': return termVars(c.terms);
    case 'rule': return termVars(c.args);
    case 'fn': return bindingVars(c.binding);
    case 'or': return clauseVars(c);
    default: return [];
  }
}

function allBound(vars: readonly string[], rel: Rel): boolean {
  for (const v of vars) if (!rel.has(v)) return false;
  return true;
}

function isFilterReady(c: Clause, rel: Rel): boolean {
  switch (c.kind) {
    case 'pred': case 'fn': return allBound(termVars(c.args), rel);
    case 'not': return allBound(c.joinVars ?? clauseVars(c), rel);
    default: return false;
  }
}

function runClause(c: Clause, rel: Rel, ctx: Ctx, dflt: string, pending: Clause[]): Rel {
  switch (c.kind) {
    case 'pattern': return runPattern(c, rel, ctx, dflt, pending);
    case 'pred': return runPred(c, rel, ctx, dflt);
    case 'fn': return runFn(c, rel, ctx, dflt);
    case 'not': return runNot(c, rel, ctx, dflt);
    case 'or': return runOr(c, rel, ctx, dflt);
    case 'rule': return runRule(c, rel, ctx, dflt);
  }
}

function score(c: Clause, rel: Rel, ctx: Ctx, dflt: string): number {
  switch (c.kind) {
    case 'pattern': return planPattern(c, rel, ctx, dflt, null).score;
    case 'rule': {
      const defs = ctx.rules?.get(c.name);
      const req = defs?.[0]?.required ?? 0;
      for (let i = 0; i < req; i++) {
        const a = c.args[i];
        if (a !== undefined && a.t === 'var' && !rel.has(a.name)) return Infinity;
      }
      return termVars(c.args).some((v) => rel.has(v)) || c.args.some((a) => a.t === 'const') ? 1e6 + rel.rows.length * 10 : 1e9;
    }
    case 'or': {
      if (!allBound(c.required, rel)) return Infinity;
      return clauseVars(c).some((v) => rel.has(v)) ? 1e6 + rel.rows.length * 10 : 1e9;
    }
    default: return Infinity;
  }
}

// ---------------------------------------------------------------------------------------------
// Data patterns

/** Resolved term of a pattern position: const value, var column (bound), new var, or blank. */
interface Pos {
  kind: 0 | 1 | 2 | 3; // 0 blank, 1 const, 2 bound var (col), 3 new var
  value: unknown;
  col: number;
  name: string;
}

interface Plan {
  score: number;
  /** Execution: 'none' (cannot match), 'scan' (one scan, cross/hash join), 'lookup' (per row). */
  mode: 'none' | 'scan' | 'lookup';
  pos: Pos[];
  db: Db | null;
  attr: Attribute | undefined;
  range: { lo: ValueBound | null; hi: ValueBound | null; preds: PredClause[] } | null;
}

/** Relative cost of one index lookup and of one scanned datom in a hash join (measured). */
const LOOKUP_COST = 1.5;
const SCAN_COST = 1.5;

function resolvePositions(c: PatternClause, rel: Rel, db: Db | null): { pos: Pos[]; attr: Attribute | undefined; none: boolean } {
  const pos: Pos[] = [];
  let attr: Attribute | undefined;
  let none = false;
  const seen = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const t: Term | undefined = c.terms[i];
    if (t === undefined || t.t === 'blank') {
      pos.push({ kind: 0, value: undefined, col: -1, name: '' });
      continue;
    }
    if (t.t === 'var') {
      const col = rel.col(t.name);
      if (col >= 0) pos.push({ kind: 2, value: undefined, col, name: t.name });
      else if (seen.has(t.name)) pos.push({ kind: 2, value: undefined, col: -2, name: t.name }); // repeat of a new var
      else pos.push({ kind: 3, value: undefined, col: -1, name: t.name });
      seen.add(t.name);
      continue;
    }
    let v = t.t === 'const' ? t.value : undefined;
    if (db !== null) {
      if (i === 0) {
        const r = resolveEntity(db, v);
        if (r === undefined) none = true;
        v = r;
      } else if (i === 1) {
        attr = db.attrOf(v);
        if (attr === undefined) {
          if (typeof v === 'number') none = true;
          else throw incorrect('db.error/not-an-entity', `Unable to resolve entity: ${show(v)} in data pattern ${c.text}`, { clause: c.text });
        } else v = attr.id;
      } else if (i === 2) {
        const a = c.terms[1];
        const at = a !== undefined && a.t === 'const' ? db.attrOf(a.value) : undefined;
        if (at !== undefined && at.valueType === 'ref') {
          const r = resolveEntity(db, v);
          if (r === undefined) none = true;
          v = r;
        }
      }
    }
    pos.push({ kind: 1, value: v, col: -1, name: '' });
  }
  return { pos, attr, none };
}

function resolveEntity(db: Db, v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  try {
    return db.entid(v);
  } catch {
    return undefined;
  }
}

function planPattern(c: PatternClause, rel: Rel, ctx: Ctx, dflt: string, pending: Clause[] | null): Plan {
  const src = getSource(ctx, c.src, dflt, c.text);
  const R = rel.rows.length;
  if (!isDb(src)) {
    const { pos } = resolvePositions(c, rel, null);
    return { score: src.length * Math.max(1, R), mode: 'scan', pos, db: null, attr: undefined, range: null };
  }
  const db = src;
  const { pos, attr, none } = resolvePositions(c, rel, db);
  if (none) return { score: 0, mode: 'none', pos, db, attr, range: null };
  const [pe, pa, pv] = pos as [Pos, Pos, Pos];
  const N = db.state.current.eavt.size + 1;
  // Constant-only scan size.
  let scan: number;
  let range: Plan['range'] = null;
  if (pa.kind === 1) {
    const aid = pa.value as number;
    if (pv.kind === 1) scan = db.estimateCount('avet', aid, pv.value);
    else if (pe.kind === 1) scan = db.estimateCount('eavt', pe.value, aid);
    else {
      scan = db.estimateCount('aevt', aid);
      if (pv.kind === 3 && pending !== null) range = rangeFor(pv.name, pending, rel);
      else if (pv.kind === 3) range = rangeFor(pv.name, null, rel);
      if (range !== null) scan = db.estimateAvetRange(aid, range.lo, range.hi);
    }
  } else if (pe.kind === 1) scan = db.estimateCount('eavt', pe.value);
  else if (pv.kind === 1 && typeof pv.value === 'number') scan = Math.min(N, db.estimateCount('vaet', pv.value) + 1);
  else scan = N;

  const shared = pos.some((p) => p.kind === 2 && p.col >= 0);
  if (!shared) {
    const out = scan * R;
    return { score: scan + out, mode: 'scan', pos, db, attr, range };
  }
  // Per-row lookups: sample the fan-out with the values of the first rows.
  let fan = 0;
  const samples = Math.min(R, 3);
  for (let s = 0; s < samples; s++) {
    const row = rel.rows[s]!;
    const val = (p: Pos): unknown => (p.kind === 1 ? p.value : p.kind === 2 && p.col >= 0 ? row[p.col] : undefined);
    const e = val(pe);
    const a = val(pa);
    const v = val(pv);
    let f: number;
    if (e !== undefined) {
      f = a !== undefined ? db.estimateCount('eavt', e, a, v) : db.estimateCount('eavt', e);
    } else if (a !== undefined && v !== undefined) f = db.estimateCount('avet', a, attrIsRef(db, a) ? resolveEntity(db, v) ?? -1 : v);
    else if (a !== undefined) f = db.estimateCount('aevt', a);
    else if (v !== undefined && typeof v === 'number') f = db.estimateCount('vaet', v);
    else f = N;
    fan += f;
  }
  fan /= samples;
  const lookup = R * (LOOKUP_COST + fan);
  const hash = scan * SCAN_COST + R;
  const out = R * fan;
  if (hash < lookup) return { score: hash + out, mode: 'scan', pos, db, attr, range };
  return { score: lookup + out, mode: 'lookup', pos, db, attr, range: null };
}

function attrIsRef(db: Db, a: unknown): boolean {
  const at = db.attrOf(a);
  return at !== undefined && at.valueType === 'ref';
}

const RANGE_OPS: Record<string, true> = { '<': true, '>': true, '<=': true, '>=': true };

/** Range bounds on variable v from pending comparison predicates against constants. */
function rangeFor(v: string, pending: Clause[] | null, rel: Rel): Plan['range'] {
  if (pending === null) return null;
  let lo: ValueBound | null = null;
  let hi: ValueBound | null = null;
  const preds: PredClause[] = [];
  const constOf = (t: Term): { ok: boolean; value: unknown } => {
    if (t.t === 'const') return { ok: true, value: t.value };
    if (t.t === 'var' && rel.rows.length === 1 && rel.has(t.name)) return { ok: true, value: rel.rows[0]![rel.col(t.name)] };
    return { ok: false, value: undefined };
  };
  for (const c of pending) {
    if (c.kind !== 'pred' || !RANGE_OPS[c.fn] || c.args.length !== 2) continue;
    const [x, y] = c.args as [Term, Term];
    let op = c.fn;
    let k: { ok: boolean; value: unknown };
    if (x.t === 'var' && x.name === v) k = constOf(y);
    else if (y.t === 'var' && y.name === v) {
      k = constOf(x);
      op = op === '<' ? '>' : op === '>' ? '<' : op === '<=' ? '>=' : '<=';
    } else continue;
    if (!k.ok || k.value === null || k.value === undefined || typeof k.value === 'object') continue;
    const value = k.value as Value;
    // Bounds of another kind than the first one found are left to the predicate itself.
    const first = lo ?? hi;
    if (first !== null && typeof first.value !== typeof value) continue;
    if (op === '>' || op === '>=') {
      const b = { value, inclusive: op === '>=' };
      if (lo === null || tighterLo(b, lo)) lo = b;
    } else {
      const b = { value, inclusive: op === '<=' };
      if (hi === null || tighterHi(b, hi)) hi = b;
    }
    preds.push(c);
  }
  return preds.length === 0 ? null : { lo, hi, preds };
}

function tighterLo(a: ValueBound, b: ValueBound): boolean {
  if (typeof a.value !== typeof b.value) return false;
  const c = compareValues(a.value, b.value);
  return c > 0 || (c === 0 && !a.inclusive);
}
function tighterHi(a: ValueBound, b: ValueBound): boolean {
  if (typeof a.value !== typeof b.value) return false;
  const c = compareValues(a.value, b.value);
  return c < 0 || (c === 0 && !a.inclusive);
}

function field(d: Datom, i: number): unknown {
  switch (i) {
    case 0: return d.e;
    case 1: return d.a;
    case 2: return d.v;
    case 3: return d.tx;
    default: return d.added;
  }
}

function sameValue(x: unknown, y: unknown): boolean {
  return x === y || (typeof x === 'object' && typeof y === 'object' && x !== null && y !== null && valuesEqual(x as Value, y as Value))
    || (typeof x === 'bigint' || typeof y === 'bigint' ? valuesEqual(x as Value, y as Value) : false);
}

function runPattern(c: PatternClause, rel: Rel, ctx: Ctx, dflt: string, pending: Clause[]): Rel {
  const plan = planPattern(c, rel, ctx, dflt, pending);
  const pos = plan.pos;
  // Output layout: the input columns, then each new variable in position order.
  const newVars: string[] = [];
  const outPos: number[] = []; // datom field for each new var
  const checkPos: Array<[number, number]> = []; // [field, field] equal (repeated new var)
  for (let i = 0; i < 5; i++) {
    const p = pos[i]!;
    if (p.kind === 3) {
      newVars.push(p.name);
      outPos.push(i);
    } else if (p.kind === 2 && p.col === -2) {
      const first = pos.findIndex((q) => q.kind === 3 && q.name === p.name);
      checkPos.push([first, i]);
    }
  }
  const noBlank = pos[0]!.kind !== 0 && pos[1]!.kind !== 0 && pos[2]!.kind !== 0;
  const out = new Rel([...rel.vars, ...newVars], [], rel.distinct && (newVars.length === 0 || (noBlank && plan.db !== null && !plan.db.isHistory)), prefixOf(rel));
  if (plan.mode === 'none') return out;
  if (plan.range !== null) for (const p of plan.range.preds) pending.splice(pending.indexOf(p), 1);
  const db = plan.db;
  if (db === null) return runCollectionPattern(c, rel, ctx, dflt, pos, outPos, checkPos, out);

  const w = rel.vars.length;
  const nOut = outPos.length;
  const rows = out.rows;
  const addedPos = pos[4]!;
  const txPos = pos[3]!;
  // Checks done per datom beyond what the index walk guarantees.
  const needAddedCheck = addedPos.kind === 1 || addedPos.kind === 2;

  if (plan.mode === 'lookup') {
    let cur: unknown[] = [];
    let addedWant: unknown;
    let found = false;
    const cb = (d: Datom): boolean | void => {
      if (needAddedCheck && d.added !== addedWant) return;
      for (let k = 0; k < checkPos.length; k++) {
        const [x, y] = checkPos[k]!;
        if (!sameValue(field(d, x), field(d, y))) return;
      }
      if (nOut === 0) {
        // A pure filter (semi-join): one match is enough, and the row is kept as it is.
        found = true;
        return false;
      }
      const r = new Array(w + nOut);
      for (let k = 0; k < w; k++) r[k] = cur[k];
      for (let k = 0; k < nOut; k++) r[w + k] = field(d, outPos[k]!);
      rows.push(r);
    };
    const pe = pos[0]!;
    const pa = pos[1]!;
    const pv = pos[2]!;
    const vIsRef = plan.attr !== undefined && plan.attr.valueType === 'ref';
    const srcRows = rel.rows;
    for (let ri = 0; ri < srcRows.length; ri++) {
      if ((++ctx.ticks & 1023) === 0) checkTime(ctx);
      const row = srcRows[ri]!;
      cur = row;
      let e = pe.kind === 1 ? pe.value : pe.kind === 2 ? row[pe.col] : undefined;
      let a = pa.kind === 1 ? pa.value : pa.kind === 2 ? row[pa.col] : undefined;
      let v = pv.kind === 1 ? pv.value : pv.kind === 2 ? row[pv.col] : undefined;
      const tx = txPos.kind === 1 ? txPos.value : txPos.kind === 2 ? row[txPos.col] : undefined;
      addedWant = addedPos.kind === 1 ? addedPos.value : addedPos.kind === 2 ? row[addedPos.col] : undefined;
      if (e !== undefined && typeof e !== 'number') {
        e = resolveEntity(db, e);
        if (e === undefined) continue;
      }
      if (a !== undefined && typeof a !== 'number') {
        const at = db.attrOf(a);
        if (at === undefined) continue;
        a = at.id;
      }
      if (v !== undefined && pv.kind === 2 && typeof v !== 'number' && (vIsRef || (plan.attr === undefined && a !== undefined && attrIsRef(db, a)))) {
        v = resolveEntity(db, v);
        if (v === undefined) continue;
      }
      if (tx !== undefined && typeof tx !== 'number') continue;
      let index: IndexName;
      let c0: unknown;
      let c1: unknown;
      let c2: unknown;
      if (e !== undefined) {
        index = 'eavt'; c0 = e; c1 = a; c2 = v;
      } else if (a !== undefined && v !== undefined) {
        index = 'avet'; c0 = a; c1 = v; c2 = undefined;
      } else if (a !== undefined) {
        index = 'aevt'; c0 = a; c1 = undefined; c2 = undefined;
      } else if (v !== undefined && typeof v === 'number') {
        index = 'vaet'; c0 = v; c1 = undefined; c2 = undefined;
      } else {
        index = 'eavt'; c0 = undefined; c1 = undefined; c2 = undefined;
        if (v !== undefined) {
          const want = v;
          const inner = cb;
          found = false;
          db.forDatoms(index, undefined, undefined, undefined, tx, (d) => {
            if ((++ctx.ticks & 4095) === 0) checkTime(ctx);
            return sameValue(d.v, want) ? inner(d) : undefined;
          });
          if (found) rows.push(row);
          continue;
        }
      }
      if (nOut === 0) {
        found = false;
        walk(db, index, c0, c1, c2, tx, cb);
        if (found) rows.push(row);
      } else walk(db, index, c0, c1, c2, tx, cb);
    }
    out.rows = rows;
    return out;
  }

  // Scan once with the constants only, then cross or hash join with the input rows.
  const datoms: Datom[] = [];
  const collect = (d: Datom): void => {
    if ((++ctx.ticks & 4095) === 0) checkTime(ctx);
    if (addedPos.kind === 1 && d.added !== addedPos.value) return;
    for (let k = 0; k < checkPos.length; k++) {
      const [x, y] = checkPos[k]!;
      if (!sameValue(field(d, x), field(d, y))) return;
    }
    datoms.push(d);
  };
  const pe = pos[0]!;
  const pa = pos[1]!;
  const pv = pos[2]!;
  const ce = pe.kind === 1 ? pe.value : undefined;
  const ca = pa.kind === 1 ? pa.value : undefined;
  const cv = pv.kind === 1 ? pv.value : undefined;
  const ctx3 = txPos.kind === 1 ? txPos.value : undefined;
  if (plan.range !== null && ca !== undefined) {
    db.forAvetRange(ca as number, plan.range.lo, plan.range.hi, ctx3 === undefined ? collect : (d) => (d.tx === ctx3 ? collect(d) : undefined));
  } else if (ce !== undefined) walk(db, 'eavt', ce, ca, ca === undefined ? undefined : cv, ctx3, ca === undefined && cv !== undefined ? (d) => (sameValue(d.v, cv) ? collect(d) : undefined) : collect);
  else if (ca !== undefined && cv !== undefined) walk(db, 'avet', ca, cv, undefined, ctx3, collect);
  else if (ca !== undefined) walk(db, 'aevt', ca, undefined, undefined, ctx3, collect);
  else if (cv !== undefined && typeof cv === 'number') walk(db, 'vaet', cv, undefined, undefined, ctx3, collect);
  else if (cv !== undefined) db.forDatoms('eavt', undefined, undefined, undefined, ctx3, (d) => (sameValue(d.v, cv) ? collect(d) : undefined));
  else db.forDatoms('eavt', undefined, undefined, undefined, ctx3, collect);

  // Shared (bound) positions.
  const sharedPos: number[] = [];
  const sharedCols: number[] = [];
  for (let i = 0; i < 5; i++) {
    const p = pos[i]!;
    if (p.kind === 2 && p.col >= 0) {
      sharedPos.push(i);
      sharedCols.push(p.col);
    }
  }
  const srcRows = rel.rows;
  if (sharedPos.length === 0) {
    if (nOut === 0) {
      if (datoms.length > 0) out.rows = srcRows;
      return out;
    }
    if (w === 0 && srcRows.length === 1) {
      for (let j = 0; j < datoms.length; j++) {
        const d = datoms[j]!;
        const r = new Array(nOut);
        for (let k = 0; k < nOut; k++) r[k] = field(d, outPos[k]!);
        rows.push(r);
      }
      return out;
    }
    for (let ri = 0; ri < srcRows.length; ri++) {
      if ((++ctx.ticks & 1023) === 0) checkTime(ctx);
      const row = srcRows[ri]!;
      for (let j = 0; j < datoms.length; j++) {
        const d = datoms[j]!;
        const r = new Array(w + nOut);
        for (let k = 0; k < w; k++) r[k] = row[k];
        for (let k = 0; k < nOut; k++) r[w + k] = field(d, outPos[k]!);
        rows.push(r);
      }
    }
    return out;
  }
  // Hash join: datoms keyed by their shared fields.
  const table = new Map<unknown, Datom[]>();
  const single = sharedPos.length === 1;
  const sp0 = sharedPos[0]!;
  const dkey = (d: Datom): unknown => {
    if (single) return key1(field(d, sp0));
    let s = '';
    for (let k = 0; k < sharedPos.length; k++) {
      const x = key1(field(d, sharedPos[k]!));
      s += typeof x === 'string' ? `s${x.length}:${x}` : typeof x === 'number' ? `n${x};` : `${typeof x}${String(x)};`;
    }
    return s;
  };
  for (let j = 0; j < datoms.length; j++) {
    const d = datoms[j]!;
    const k = dkey(d);
    const list = table.get(k);
    if (list === undefined) table.set(k, [d]);
    else list.push(d);
  }
  const refPositions = sharedPos.map((p) => p === 0 || (p === 2 && plan.attr !== undefined && plan.attr.valueType === 'ref'));
  for (let ri = 0; ri < srcRows.length; ri++) {
    if ((++ctx.ticks & 1023) === 0) checkTime(ctx);
    const row = srcRows[ri]!;
    let k: unknown;
    if (single) {
      let x = row[sharedCols[0]!];
      if (refPositions[0] && typeof x !== 'number') x = resolveEntity(db, x);
      k = key1(x);
    } else {
      const vals = sharedCols.map((col, i) => {
        const x = row[col];
        return refPositions[i] && typeof x !== 'number' ? resolveEntity(db, x) : x;
      });
      k = keyOf(vals, vals.map((_, i) => i));
    }
    const ms = table.get(k);
    if (ms === undefined) continue;
    for (let j = 0; j < ms.length; j++) {
      const d = ms[j]!;
      if (addedPos.kind === 2 && d.added !== row[addedPos.col]) continue;
      if (nOut === 0) {
        rows.push(row);
        break;
      }
      const r = new Array(w + nOut);
      for (let q = 0; q < w; q++) r[q] = row[q];
      for (let q = 0; q < nOut; q++) r[w + q] = field(d, outPos[q]!);
      rows.push(r);
    }
  }
  return out;
}

/** A pattern over a collection source: tuples matched position by position. */
function runCollectionPattern(
  c: PatternClause, rel: Rel, ctx: Ctx, dflt: string, pos: Pos[], outPos: number[], checkPos: Array<[number, number]>, out: Rel,
): Rel {
  const src = getSource(ctx, c.src, dflt, c.text) as readonly unknown[];
  const n = c.terms.length;
  for (const row of rel.rows) {
    for (const t of src) {
      if ((++ctx.ticks & 4095) === 0) checkTime(ctx);
      const tup = Array.isArray(t) ? t : [t];
      if (tup.length < n) continue;
      let ok = true;
      for (let i = 0; i < n && ok; i++) {
        const p = pos[i]!;
        if (p.kind === 1) ok = sameValue(tup[i], p.value);
        else if (p.kind === 2 && p.col >= 0) ok = sameValue(tup[i], row[p.col]);
      }
      for (const [x, y] of checkPos) if (ok && !sameValue(tup[x], tup[y])) ok = false;
      if (!ok) continue;
      const r = row.slice();
      for (const p of outPos) r.push(tup[p]);
      out.rows.push(r);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Predicates and functions

type Getter = { col: number; value: unknown };

function argGetters(args: readonly Term[], rel: Rel, ctx: Ctx, dflt: string, text: string): Getter[] {
  return args.map((t) => {
    if (t.t === 'var') {
      const col = rel.col(t.name);
      if (col < 0) throw incorrect('query/insufficient-binding', `Insufficient binding: ${t.name} not bound in ${text}`, { clause: text });
      return { col, value: undefined };
    }
    if (t.t === 'src') return { col: -1, value: t.name === '%' ? ctx.rules : getSource(ctx, t.name, dflt, text) };
    if (t.t === 'blank') throw incorrect('query/invalid', `Blank argument in ${text}`, { clause: text });
    return { col: -1, value: t.value };
  });
}

function callBuiltin(b: Builtin, fnName: string, args: unknown[], text: string): unknown {
  if (b.db && !isDbLike(args[0])) {
    throw incorrect('query/invalid', `${fnName} expects a database as its first argument in ${text}`, { clause: text });
  }
  try {
    return b.fn(...args);
  } catch (e) {
    if (e instanceof Error && (e as { category?: string }).category !== undefined) {
      const de = e as Error & { category: string; data?: Record<string, unknown> };
      if (de.category === 'incorrect' && !de.message.includes(text)) de.message = `${de.message} in ${text}`;
      throw e;
    }
    throw incorrect('query/function-error', `${fnName} failed in ${text}: ${(e as Error).message}`, { clause: text });
  }
}

const isDbLike = (x: unknown): boolean => typeof x === 'object' && x !== null && !Array.isArray(x) && typeof (x as Db).forDatoms === 'function';

const CMP_FAST: Record<string, (c: number) => boolean> = {
  '<': (c) => c < 0, '>': (c) => c > 0, '<=': (c) => c <= 0, '>=': (c) => c >= 0,
};

function runPred(c: PredClause, rel: Rel, ctx: Ctx, dflt: string): Rel {
  const b = BUILTINS[c.fn]!;
  const gs = argGetters(c.args, rel, ctx, dflt, c.text);
  const out: unknown[][] = [];
  const rows = rel.rows;
  const fast = CMP_FAST[c.fn];
  if (fast !== undefined && gs.length === 2) {
    const [g0, g1] = gs as [Getter, Getter];
    for (let i = 0; i < rows.length; i++) {
      if ((++ctx.ticks & 4095) === 0) checkTime(ctx);
      const row = rows[i]!;
      const x = g0.col >= 0 ? row[g0.col] : g0.value;
      const y = g1.col >= 0 ? row[g1.col] : g1.value;
      const keep = typeof x === 'number' && typeof y === 'number' ? fast(x < y ? -1 : x > y ? 1 : 0) : (b.fn(x, y) as boolean);
      if (keep) out.push(row);
    }
    return new Rel(rel.vars, out, rel.distinct, prefixOf(rel));
  }
  const args = new Array(gs.length);
  for (let i = 0; i < rows.length; i++) {
    if ((++ctx.ticks & 4095) === 0) checkTime(ctx);
    const row = rows[i]!;
    for (let k = 0; k < gs.length; k++) {
      const g = gs[k]!;
      args[k] = g.col >= 0 ? row[g.col] : g.value;
    }
    const r = callBuiltin(b, c.fn, args, c.text);
    if (r !== false && r !== null && r !== undefined) out.push(row);
  }
  return new Rel(rel.vars, out, rel.distinct, prefixOf(rel));
}

function runFn(c: FnClause, rel: Rel, ctx: Ctx, dflt: string): Rel {
  const b = BUILTINS[c.fn]!;
  const gs = argGetters(c.args, rel, ctx, dflt, c.text);
  // New variables of the binding form, in order; already bound ones are checked for equality.
  const bvars = [...new Set(bindingVars(c.binding))];
  const newVars = bvars.filter((v) => !rel.has(v));
  const out = new Rel([...rel.vars, ...newVars], [], rel.distinct && (c.binding.t === 'bvar' || c.binding.t === 'btuple'), prefixOf(rel));
  const w = rel.vars.length;
  const args = new Array(gs.length);
  const binds = new Map<string, unknown>();
  for (const row of rel.rows) {
    if ((++ctx.ticks & 4095) === 0) checkTime(ctx);
    for (let k = 0; k < gs.length; k++) {
      const g = gs[k]!;
      args[k] = g.col >= 0 ? row[g.col] : g.value;
    }
    const result = callBuiltin(b, c.fn, args, c.text);
    if (result === null || result === undefined) continue;
    const emit = (): void => {
      const r = new Array(w + newVars.length);
      for (let k = 0; k < w; k++) r[k] = row[k];
      for (let k = 0; k < newVars.length; k++) r[w + k] = binds.get(newVars[k]!);
      out.rows.push(r);
    };
    bindForm(c.binding, result, binds, row, rel, emit, c.text);
  }
  return out;
}

/** Destructures a value by a binding form, calling emit for every complete binding. */
function bindForm(b: Binding, value: unknown, binds: Map<string, unknown>, row: unknown[], rel: Rel, emit: () => void, text: string): void {
  const go = (forms: readonly Binding[], values: readonly unknown[], i: number): void => {
    if (i === forms.length) {
      emit();
      return;
    }
    one(forms[i]!, values[i], () => go(forms, values, i + 1));
  };
  const one = (f: Binding, v: unknown, k: () => void): void => {
    if (v === null || v === undefined) return;
    switch (f.t) {
      case 'bblank': k(); return;
      case 'bvar': {
        const col = rel.col(f.name);
        if (col >= 0) {
          if (sameValue(row[col], v)) k();
          return;
        }
        if (binds.has(f.name)) {
          if (sameValue(binds.get(f.name), v)) k();
          return;
        }
        binds.set(f.name, v);
        k();
        binds.delete(f.name);
        return;
      }
      case 'btuple': {
        const xs = toArray(v, text);
        if (xs.length < f.items.length) return;
        go2(f.items, xs, 0, k);
        return;
      }
      case 'bcoll': {
        for (const x of toArray(v, text)) one(f.item, x, k);
        return;
      }
      case 'brel': {
        for (const x of toArray(v, text)) {
          const xs = toArray(x, text);
          if (xs.length < f.items.length) continue;
          go2(f.items, xs, 0, k);
        }
        return;
      }
    }
  };
  const go2 = (forms: readonly Binding[], values: readonly unknown[], i: number, k: () => void): void => {
    if (i === forms.length) {
      k();
      return;
    }
    one(forms[i]!, values[i], () => go2(forms, values, i + 1, k));
  };
  void go;
  one(b, value, emit);
}

function toArray(v: unknown, text: string): readonly unknown[] {
  if (Array.isArray(v)) return v;
  if (v instanceof Set) return [...v];
  if (v instanceof Map) return [...v.entries()];
  if (typeof v === 'string') return [...v];
  throw incorrect('query/invalid', `Cannot destructure ${describeValue(v)} in ${text}`, { clause: text });
}

// ---------------------------------------------------------------------------------------------
// not, or

function runNot(c: NotClause, rel: Rel, ctx: Ctx, dflt: string): Rel {
  const join = (c.joinVars ?? clauseVars(c)).filter((v) => rel.has(v));
  const src = c.src ?? dflt;
  const input = project(rel, join);
  const res = evalClauses(c.clauses, input, ctx, src);
  if (res.rows.length === 0) return rel;
  if (join.length === 0) return new Rel(rel.vars, [], true);
  const rcols = join.map((v) => res.col(v));
  const bad = new Set<unknown>();
  for (const r of res.rows) bad.add(keyOf(r, rcols));
  const lcols = join.map((v) => rel.col(v));
  return new Rel(rel.vars, rel.rows.filter((r) => !bad.has(keyOf(r, lcols))), rel.distinct, prefixOf(rel));
}

function runOr(c: OrClause, rel: Rel, ctx: Ctx, dflt: string): Rel {
  const vars = c.joinVars ?? clauseVars(c);
  const boundVars = vars.filter((v) => rel.has(v));
  const src = c.src ?? dflt;
  const input = project(rel, boundVars);
  const seen = new Set<unknown>();
  const rows: unknown[][] = [];
  for (const branch of c.branches) {
    const res = evalClauses(branch, input, ctx, src);
    for (const v of vars) {
      if (!res.has(v)) throw incorrect('query/insufficient-binding', `Insufficient binding: ${v} not bound in a branch of ${c.text}`, { clause: c.text });
    }
    const cols = vars.map((v) => res.col(v));
    for (const r of res.rows) {
      const k = keyOf(r, cols);
      if (seen.has(k)) continue;
      seen.add(k);
      rows.push(cols.map((i) => r[i]));
    }
  }
  return join(rel, new Rel([...vars], rows, true));
}

// ---------------------------------------------------------------------------------------------
// Rules: tabled, semi-naive bottom-up evaluation

export interface RuleTable {
  readonly name: string;
  readonly src: string;
  /** Bound argument positions (the adornment). */
  readonly bound: readonly number[];
  readonly arity: number;
  readonly inputs: unknown[][];
  readonly inputKeys: Set<unknown>;
  inputsDone: number;
  /** Answers (full head tuples + a trailing iteration stamp) by input key. */
  readonly answers: Map<unknown, unknown[][]>;
  readonly answerKeys: Set<unknown>;
  added: number;
}

function tableFor(ctx: Ctx, name: string, src: string, bound: number[], arity: number): RuleTable {
  const key = `${name}\u0000${src}\u0000${bound.join(',')}`;
  let t = ctx.tables.get(key);
  if (t === undefined) {
    t = { name, src, bound, arity, inputs: [], inputKeys: new Set(), inputsDone: 0, answers: new Map(), answerKeys: new Set(), added: 0 };
    ctx.tables.set(key, t);
    ctx.tableList.push(t);
  }
  return t;
}

const allCols = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function runRule(c: RuleCall, rel: Rel, ctx: Ctx, dflt: string): Rel {
  const defs = ctx.rules?.get(c.name);
  if (defs === undefined) throw incorrect('query/unknown-rule', `Unknown rule ${c.name} in ${c.text}`, { rule: c.name, clause: c.text });
  const arity = defs[0]!.vars.length;
  if (c.args.length !== arity) {
    throw incorrect('query/wrong-arity', `Rule ${c.name} takes ${arity} arguments, got ${c.args.length} in ${c.text}`, { rule: c.name, clause: c.text });
  }
  const src = c.src ?? dflt;
  // Adornment: positions bound by constants or by variables of the relation.
  const bound: number[] = [];
  for (let i = 0; i < arity; i++) {
    const a = c.args[i]!;
    if (a.t === 'const' || (a.t === 'var' && rel.has(a.name))) bound.push(i);
  }
  for (let i = 0; i < defs[0]!.required; i++) {
    if (!bound.includes(i)) throw incorrect('query/insufficient-binding', `Insufficient binding: required argument ${i + 1} of rule ${c.name} is not bound in ${c.text}`, { clause: c.text });
  }
  const table = tableFor(ctx, c.name, src, bound, arity);
  // Demand: the distinct bound-argument tuples of the relation.
  const getters = bound.map((i) => {
    const a = c.args[i]!;
    return a.t === 'const' ? { col: -1, value: a.value } : { col: rel.col((a as { name: string }).name), value: undefined };
  });
  const bcols = allCols(bound.length);
  const inKeys: unknown[] = new Array(rel.rows.length);
  for (let ri = 0; ri < rel.rows.length; ri++) {
    const row = rel.rows[ri]!;
    const tup = getters.map((g) => (g.col >= 0 ? row[g.col] : g.value));
    const k = keyOf(tup, bcols);
    inKeys[ri] = k;
    if (!table.inputKeys.has(k)) {
      table.inputKeys.add(k);
      table.inputs.push(tup);
    }
  }
  if (!ctx.solving) solve(ctx);
  // Join the answers back.
  const isDelta = ctx.delta === c;
  const stamp = ctx.iter - 1;
  const newVars: string[] = [];
  const outIdx: number[] = [];
  const checks: Array<[number, number]> = []; // [arg position, col or -1-newIndex]
  for (let i = 0; i < arity; i++) {
    if (bound.includes(i)) continue;
    const a = c.args[i]!;
    if (a.t === 'blank') continue;
    if (a.t !== 'var') continue;
    const j = newVars.indexOf(a.name);
    if (j >= 0) checks.push([i, j]);
    else {
      newVars.push(a.name);
      outIdx.push(i);
    }
  }
  const w = rel.vars.length;
  const out = new Rel([...rel.vars, ...newVars], [], rel.distinct && !c.args.some((a) => a.t === 'blank'), prefixOf(rel));
  for (let ri = 0; ri < rel.rows.length; ri++) {
    if ((++ctx.ticks & 1023) === 0) checkTime(ctx);
    const ans = table.answers.get(inKeys[ri]);
    if (ans === undefined) continue;
    const row = rel.rows[ri]!;
    for (let j = 0; j < ans.length; j++) {
      const t = ans[j]!;
      if (isDelta && t[arity] !== stamp) continue;
      let ok = true;
      for (let q = 0; q < checks.length; q++) {
        const [i, n] = checks[q]!;
        if (!sameValue(t[i], t[outIdx[n]!])) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      const r = new Array(w + newVars.length);
      for (let q = 0; q < w; q++) r[q] = row[q];
      for (let q = 0; q < newVars.length; q++) r[w + q] = t[outIdx[q]!];
      out.rows.push(r);
    }
  }
  return out;
}

/** Rule calls at the top level of a body (the atoms semi-naive evaluation can read deltas for). */
function bodyInfo(r: Rule): { calls: RuleCall[]; nested: boolean } {
  const calls: RuleCall[] = [];
  let nested = false;
  const walk = (cs: readonly Clause[], top: boolean): void => {
    for (const c of cs) {
      if (c.kind === 'rule') {
        if (top) calls.push(c);
        else nested = true;
      } else if (c.kind === 'not') walk(c.clauses, false);
      else if (c.kind === 'or') for (const b of c.branches) walk(b, false);
    }
  };
  walk(r.clauses, true);
  return { calls, nested };
}

const bodyCache = new WeakMap<Rule, { calls: RuleCall[]; nested: boolean }>();

/** Iterates all rule tables until no table gains an input or an answer. */
function solve(ctx: Ctx): void {
  ctx.solving = true;
  try {
    for (;;) {
      let changed = false;
      for (let ti = 0; ti < ctx.tableList.length; ti++) {
        const t = ctx.tableList[ti]!;
        const before = t.answerKeys.size;
        const oldCount = t.inputsDone;
        const newInputs = t.inputs.slice(oldCount);
        t.inputsDone = t.inputs.length;
        if (newInputs.length > 0) changed = true;
        const defs = ctx.rules!.get(t.name)!;
        for (const r of defs) {
          let info = bodyCache.get(r);
          if (info === undefined) {
            info = bodyInfo(r);
            bodyCache.set(r, info);
          }
          if (newInputs.length > 0) evalBody(ctx, t, r, newInputs, null);
          if (oldCount > 0 && ctx.iter > 1) {
            const old = t.inputs.slice(0, oldCount);
            if (info.nested) evalBody(ctx, t, r, old, null);
            else for (const call of info.calls) evalBody(ctx, t, r, old, call);
          }
        }
        if (t.answerKeys.size !== before) changed = true;
      }
      ctx.iter++;
      if (!changed) {
        // One more pass is never needed: no table changed, so every delta of the next pass is empty.
        return;
      }
    }
  } finally {
    ctx.solving = false;
  }
}

function evalBody(ctx: Ctx, t: RuleTable, r: Rule, inputs: unknown[][], delta: RuleCall | null): void {
  checkTime(ctx);
  // Input relation over the head variables at bound positions.
  const vars: string[] = [];
  const cols: number[] = [];
  const dupChecks: Array<[number, number]> = [];
  t.bound.forEach((p, i) => {
    const v = r.vars[p]!;
    const j = vars.indexOf(v);
    if (j >= 0) dupChecks.push([j, i]);
    else {
      vars.push(v);
      cols.push(i);
    }
  });
  const rows: unknown[][] = [];
  for (const tup of inputs) {
    let ok = true;
    for (const [j, i] of dupChecks) if (!sameValue(tup[cols[j]!], tup[i])) ok = false;
    if (ok) rows.push(cols.map((i) => tup[i]));
  }
  const saved = ctx.delta;
  ctx.delta = delta;
  let res: Rel;
  try {
    res = evalClauses(r.clauses, new Rel(vars, rows, true), ctx, t.src);
  } finally {
    ctx.delta = saved;
  }
  if (res.rows.length === 0) return;
  const hcols = r.vars.map((v) => {
    const col = res.col(v);
    if (col < 0) throw incorrect('query/insufficient-binding', `Insufficient binding: ${v} is not bound by the body of rule ${r.text}`, { rule: r.name });
    return col;
  });
  const arity = t.arity;
  const all = allCols(arity);
  for (const row of res.rows) {
    const ans = new Array(arity + 1);
    for (let i = 0; i < arity; i++) ans[i] = row[hcols[i]!];
    const k = keyOf(ans, all);
    if (t.answerKeys.has(k)) continue;
    t.answerKeys.add(k);
    ans[arity] = ctx.iter;
    const ik = keyOf(t.bound.map((p) => ans[p]), allCols(t.bound.length));
    const list = t.answers.get(ik);
    if (list === undefined) t.answers.set(ik, [ans]);
    else list.push(ans);
    t.added++;
  }
}
