/**
 * Intermediate relations: a list of variables and rows (arrays, one value per variable).
 * Rows are created once and never mutated afterwards, so they can be shared between relations.
 */
import { valueKey, type Value } from '../values';

export class Rel {
  readonly idx: Map<string, number>;
  constructor(
    readonly vars: string[],
    public rows: unknown[][],
    /** Known to hold no duplicate rows. */
    public distinct = false,
    /** The first constPrefix columns hold the same values in every row (bound by scalar inputs). */
    public constPrefix = 0,
  ) {
    this.idx = new Map();
    for (let i = 0; i < vars.length; i++) this.idx.set(vars[i]!, i);
  }
  has(v: string): boolean {
    return this.idx.has(v);
  }
  col(v: string): number {
    return this.idx.get(v) ?? -1;
  }
}

/** The relation with one empty row: the identity of joins. */
export const unitRel = (): Rel => new Rel([], [[]], true);

/** Hashable key of one value. */
export function key1(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? valueKey(v as Value) : v;
}

/** Hashable key of several columns of a row. */
export function keyOf(row: readonly unknown[], cols: readonly number[]): unknown {
  if (cols.length === 1) return key1(row[cols[0]!]);
  let s = '';
  for (let i = 0; i < cols.length; i++) {
    const v = row[cols[i]!];
    const k = key1(v);
    s += typeof k === 'string' ? `s${k.length}:${k}` : typeof k === 'number' ? `n${k};` : `${typeof k}${String(k)};`;
  }
  return s;
}

/** Distinct projection of a relation onto columns (in the given order). */
export function project(rel: Rel, vars: readonly string[]): Rel {
  const cols = vars.map((v) => rel.col(v));
  const out: unknown[][] = [];
  if (cols.length === 0) return new Rel([], rel.rows.length > 0 ? [[]] : [], true);
  const seen = new Set<unknown>();
  for (const row of rel.rows) {
    const k = keyOf(row, cols);
    if (seen.has(k)) continue;
    seen.add(k);
    const r = new Array(cols.length);
    for (let i = 0; i < cols.length; i++) r[i] = row[cols[i]!];
    out.push(r);
  }
  return new Rel([...vars], out, true);
}

/**
 * Natural join of `left` with `right` on their shared variables (hash join on the smaller
 * side is not needed: right is usually the smaller, derived one). The result has left's
 * variables followed by right's new ones.
 */
export function join(left: Rel, right: Rel): Rel {
  const shared = right.vars.filter((v) => left.has(v));
  const extra = right.vars.filter((v) => !left.has(v));
  const lcols = shared.map((v) => left.col(v));
  const rcols = shared.map((v) => right.col(v));
  const ecols = extra.map((v) => right.col(v));
  const vars = [...left.vars, ...extra];
  const lw = left.vars.length;
  const out: unknown[][] = [];
  if (shared.length === 0) {
    for (const l of left.rows) {
      for (const r of right.rows) {
        const row = l.slice();
        for (let i = 0; i < ecols.length; i++) row.push(r[ecols[i]!]);
        out.push(row);
      }
    }
    return new Rel(vars, out, left.distinct && right.distinct, prefixOf(left));
  }
  const table = new Map<unknown, unknown[][]>();
  for (const r of right.rows) {
    const k = keyOf(r, rcols);
    const list = table.get(k);
    if (list === undefined) table.set(k, [r]);
    else list.push(r);
  }
  for (const l of left.rows) {
    const matches = table.get(keyOf(l, lcols));
    if (matches === undefined) continue;
    if (ecols.length === 0) {
      out.push(l);
      continue;
    }
    for (const r of matches) {
      const row = new Array(lw + ecols.length);
      for (let i = 0; i < lw; i++) row[i] = l[i];
      for (let i = 0; i < ecols.length; i++) row[lw + i] = r[ecols[i]!];
      out.push(row);
    }
  }
  return new Rel(vars, out, left.distinct && right.distinct, prefixOf(left));
}

/** The constant prefix a relation derived from `rel` (extending its rows) inherits. */
export function prefixOf(rel: Rel): number {
  return rel.rows.length <= 1 ? rel.vars.length : rel.constPrefix;
}
