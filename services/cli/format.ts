/**
 * How the CLI prints results: `table` (aligned columns for people), `edn` (Datomic's notation,
 * readable back by `--args` and `transact`) and `json` (the HTTP API's wire encoding, exact for
 * instants, bigints and bigdecs).
 */
import { BigDec, EdnList, Keyword, Sym, kw, readEdn, writeEdn, type EdnValue, toWire } from '../engine';

export type Format = 'table' | 'edn' | 'json';
export const FORMATS: readonly Format[] = ['table', 'edn', 'json'];

/** The find spec's shape, which decides how a result is laid out. */
export type FindShape =
  | { kind: 'relation'; columns: string[] }
  | { kind: 'maps'; columns: string[] }
  | { kind: 'collection'; column: string }
  | { kind: 'scalar'; column: string }
  | { kind: 'tuple'; columns: string[] };

const KEYWORD_STRING = /^:[^\s:"\\,;()[\]{}#^@`~][^\s"\\,;()[\]{}^@`~]*$/;

/** Public value → EDN value: keyword strings (':ns/name') become keywords again. */
export function toEdnValue(v: unknown): unknown {
  if (typeof v === 'string') {
    if (KEYWORD_STRING.test(v)) {
      try {
        return kw(v);
      } catch {
        return v;
      }
    }
    return v;
  }
  if (Array.isArray(v)) return v.map(toEdnValue);
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Date || v instanceof BigDec || v instanceof Keyword || v instanceof Sym || v instanceof EdnList) return v;
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [toEdnValue(k), toEdnValue(x)]));
  if (v instanceof Set) return new Set([...v].map(toEdnValue));
  const m = new Map<unknown, unknown>();
  // Pulled entities and `:keys` maps: attribute names become keywords as in Datomic's output.
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) m.set(keyOf(k), toEdnValue(x));
  return m;
}

function keyOf(k: string): unknown {
  try {
    return kw(k);
  } catch {
    return k;
  }
}

export function edn(v: unknown): string {
  return writeEdn(toEdnValue(v));
}

/** One line per element for a top-level collection, so long results stay readable. */
export function ednLines(rows: readonly unknown[]): string {
  if (rows.length === 0) return '[]';
  return `[${rows.map((r) => edn(r)).join('\n ')}]`;
}

export function json(v: unknown): string {
  return JSON.stringify(toWire(v));
}

/** Text of a value in a table cell: strings, numbers and instants bare, everything else as EDN. */
export function cell(v: unknown): string {
  if (typeof v === 'string' && !KEYWORD_STRING.test(v)) return v;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof BigDec || typeof v === 'bigint') return v.toString();
  return edn(v);
}

export function table(columns: readonly string[], rows: readonly unknown[][]): string {
  const text = rows.map((r) => r.map(cell).map((s) => s.replace(/\n/g, '\\n')));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((s, i) => s.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}

/** A stable order for printing a set of rows: numbers numerically, everything else by its text. */
export function compareRows(a: readonly unknown[], b: readonly unknown[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = compareCell(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

function compareCell(a: unknown, b: unknown): number {
  const na = typeof a === 'number' || typeof a === 'bigint';
  const nb = typeof b === 'number' || typeof b === 'bigint';
  if (na && nb) return a < b ? -1 : a > b ? 1 : 0;
  if (na !== nb) return na ? -1 : 1;
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  const sa = cell(a);
  const sb = cell(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

const FIND_END = new Set([':with', ':in', ':where', ':keys', ':strs', ':syms', ':timeout']);

function text(x: EdnValue | unknown): string {
  if (x instanceof Sym || x instanceof Keyword) return x.toString();
  return writeEdn(x);
}

/**
 * Reads the find spec of a query (EDN text, EDN data, the map form or JS data) to name the
 * columns. Anything it cannot read is laid out as a relation with numbered columns.
 */
export function findShape(query: unknown): FindShape | undefined {
  let q: unknown = query;
  if (typeof q === 'string') {
    try {
      q = readEdn(q);
    } catch {
      return undefined;
    }
  }
  let find: unknown[] | undefined;
  let keys: string[] | undefined;
  const keyName = (k: unknown): string => (k instanceof Sym || k instanceof Keyword ? k.name : String(k).replace(/^:/, ''));
  if (Array.isArray(q)) {
    const items = q.map((x) => (typeof x === 'string' && x.startsWith(':') ? x : x instanceof Keyword ? x.toString() : x));
    const at = items.indexOf(':find');
    if (at === -1) return undefined;
    find = [];
    for (let i = at + 1; i < items.length && !FIND_END.has(items[i] as string); i++) find.push(q[i]);
    for (const k of [':keys', ':strs', ':syms']) {
      const j = items.indexOf(k);
      if (j === -1) continue;
      keys = [];
      for (let i = j + 1; i < items.length && !(typeof items[i] === 'string' && (items[i] as string).startsWith(':')); i++) keys.push(keyName(q[i]));
    }
  } else if (q instanceof Map) {
    const get = (k: string): unknown => q instanceof Map ? q.get(kw(k)) : undefined;
    const f = get('find');
    if (!Array.isArray(f)) return undefined;
    find = f;
    const k = get('keys') ?? get('strs') ?? get('syms');
    if (Array.isArray(k)) keys = k.map(keyName);
  } else if (typeof q === 'object' && q !== null) {
    const o = q as Record<string, unknown>;
    if ('query' in o) return findShape(o['query']);
    if (!Array.isArray(o['find'])) return undefined;
    find = o['find'] as unknown[];
    const k = o['keys'] ?? o['strs'] ?? o['syms'];
    if (Array.isArray(k)) keys = k.map(keyName);
  }
  if (find === undefined || find.length === 0) return undefined;
  const isDot = (x: unknown): boolean => (x instanceof Sym ? x.fqn === '.' : x === '.');
  const isEllipsis = (x: unknown): boolean => (x instanceof Sym ? x.fqn === '...' : x === '...');
  if (keys !== undefined) return { kind: 'maps', columns: keys };
  if (find.length === 2 && isDot(find[1])) return { kind: 'scalar', column: text(find[0]) };
  if (find.length === 1 && Array.isArray(find[0])) {
    const inner = find[0] as unknown[];
    if (inner.length === 2 && isEllipsis(inner[1])) return { kind: 'collection', column: text(inner[0]) };
    return { kind: 'tuple', columns: inner.map(text) };
  }
  return { kind: 'relation', columns: find.map(text) };
}

/** Lays out a query result in one of the formats. Relation rows are sorted for stable output. */
export function formatQueryResult(result: unknown, shape: FindShape | undefined, format: Format): string {
  let rows: unknown[] | undefined;
  if (Array.isArray(result) && (shape === undefined || shape.kind === 'relation')) {
    rows = [...result];
    if (rows.every(Array.isArray)) (rows as unknown[][]).sort(compareRows);
  } else if (Array.isArray(result) && shape?.kind === 'collection') {
    rows = [...result].sort((a, b) => compareCell(a, b));
  } else if (Array.isArray(result) && shape?.kind === 'maps') {
    rows = [...result].sort((a, b) => compareRows(shape.columns.map((c) => (a as Record<string, unknown>)[c]), shape.columns.map((c) => (b as Record<string, unknown>)[c])));
  }
  if (format === 'json') return json(rows ?? result);
  if (format === 'edn') return rows !== undefined ? ednLines(rows) : edn(result);
  // table
  if (result === null || result === undefined) return 'nil';
  if (shape?.kind === 'scalar') return cell(result);
  if (shape?.kind === 'collection' && rows !== undefined) return table([shape.column], rows.map((r) => [r]));
  if (shape?.kind === 'tuple' && Array.isArray(result)) return table(shape.columns, [result]);
  if (shape?.kind === 'maps' && rows !== undefined) return table(shape.columns, rows.map((r) => shape.columns.map((c) => (r as Record<string, unknown>)[c])));
  if (rows !== undefined && rows.every(Array.isArray)) {
    const width = Math.max(0, ...(rows as unknown[][]).map((r) => r.length));
    const columns = shape?.kind === 'relation' ? shape.columns : Array.from({ length: width }, (_, i) => `col${i + 1}`);
    return table(columns, rows as unknown[][]);
  }
  return edn(result);
}

/** Transaction report datoms as rows. */
export function datomRows(datoms: ReadonlyArray<{ e: number; a: string; v: unknown; tx: number; added: boolean }>): unknown[][] {
  return datoms.map((d) => [d.e, d.a, d.v, d.tx, d.added]);
}
