/**
 * Values as they live in datoms, and the total order the indexes sort them by.
 *
 * A value is held in its public JS form, so nothing is converted on the way out:
 * string, number (long, double, float), boolean, Date (instant), bigint (bigint; also a long
 * outside the safe-integer range), BigDec (bigdec), a keyword as the string ':ns/name', a symbol
 * and a uri as their text, a uuid as its lowercase canonical text, a reference as the entity id
 * (number), and a tuple as an array (with null for a missing element).
 */
import { BigDec } from './bigdec';
import { Keyword, Sym, Uuid, Tagged } from './edn';
import { describeValue, incorrect } from './errors';

export type Value = string | number | boolean | bigint | Date | BigDec | null | Value[];

export const VALUE_TYPES = [
  'string', 'long', 'double', 'float', 'boolean', 'instant', 'keyword', 'symbol',
  'uuid', 'uri', 'bigint', 'bigdec', 'ref', 'tuple',
] as const;
export type ValueType = (typeof VALUE_TYPES)[number];
/** Scalar types allowed inside a tuple. */
export type TupleElementType = Exclude<ValueType, 'tuple'>;

export const MAX_STRING_LENGTH = 4096;

/** Rank of a value's kind in the cross-type order (numbers of every kind compare as numbers). */
function rank(v: Value): number {
  switch (typeof v) {
    case 'boolean': return 1;
    case 'number': case 'bigint': return 2;
    case 'string': return 3;
    case 'object':
      if (v === null) return 0;
      if (v instanceof Date) return 4;
      if (v instanceof BigDec) return 2;
      if (Array.isArray(v)) return 5;
      return 6;
    default: return 7;
  }
}

function toNumber(v: number | bigint | BigDec): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return Number(v.toString());
}

/** Doubles in a total order: NaN (never stored, but it can be asked for) after every number. */
function compareDoubles(x: number, y: number): number {
  if (x < y) return -1;
  if (x > y) return 1;
  if (x === y) return 0;
  const nx = Number.isNaN(x);
  return nx === Number.isNaN(y) ? 0 : nx ? 1 : -1;
}

function compareNumeric(a: number | bigint | BigDec, b: number | bigint | BigDec): number {
  if (typeof a === 'number' && typeof b === 'number') return compareDoubles(a, b);
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  if (a instanceof BigDec && b instanceof BigDec) return a.compare(b);
  if (typeof a === 'bigint' && typeof b === 'number' && Number.isInteger(b)) {
    const bb = BigInt(b);
    return a < bb ? -1 : a > bb ? 1 : 0;
  }
  if (typeof a === 'number' && typeof b === 'bigint' && Number.isInteger(a)) {
    const aa = BigInt(a);
    return aa < b ? -1 : aa > b ? 1 : 0;
  }
  return compareDoubles(toNumber(a), toNumber(b));
}

/**
 * Strings in order; two keywords (':ns/name' strings) in Clojure's keyword order: a keyword
 * without a namespace first, then by namespace, then by name (`:b` < `:a/b` < `:a-/b`), as
 * Datomic sorts them (docs/adr/009-keyword-order.md). Keywords are a contiguous block of the
 * string order (every string starting with ':'), so reordering within it keeps the order total.
 */
export function compareStrings(a: string, b: string): number {
  if (a.charCodeAt(0) === 58 && b.charCodeAt(0) === 58 && a.length > 1 && b.length > 1) return compareKeywords(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKeywords(a: string, b: string): number {
  // The namespace separator is the first '/' after at least one namespace character.
  const sa = a.indexOf('/', 2);
  const sb = b.indexOf('/', 2);
  if ((sa < 0) !== (sb < 0)) return sa < 0 ? -1 : 1;
  if (sa < 0) return a < b ? -1 : a > b ? 1 : 0;
  const c = compareRanges(a, 1, sa, b, 1, sb);
  return c !== 0 ? c : compareRanges(a, sa + 1, a.length, b, sb + 1, b.length);
}

/** a[i..ie) against b[j..je), by UTF-16 code units like `<` on strings. */
function compareRanges(a: string, i: number, ie: number, b: string, j: number, je: number): number {
  for (; i < ie && j < je; i++, j++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(j);
    if (x !== y) return x < y ? -1 : 1;
  }
  const la = ie - i;
  const lb = je - j;
  return la === lb ? 0 : la < lb ? -1 : 1;
}

/** Total order over values: by kind, then within the kind. */
export function compareValues(a: Value, b: Value): number {
  if (a === b) return 0;
  const ta = typeof a;
  if (ta === typeof b) {
    if (ta === 'number') return compareDoubles(a as number, b as number);
    if (ta === 'string') return compareStrings(a as string, b as string);
  }
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0: return 0;
    case 1: return a === b ? 0 : a ? 1 : -1;
    case 2: return compareNumeric(a as number, b as number);
    case 3: return compareStrings(a as string, b as string);
    case 4: {
      const x = (a as Date).getTime();
      const y = (b as Date).getTime();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 5: {
      const xa = a as Value[];
      const xb = b as Value[];
      const n = Math.min(xa.length, xb.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(xa[i]!, xb[i]!);
        if (c !== 0) return c;
      }
      return xa.length - xb.length;
    }
    default: {
      const x = String(a);
      const y = String(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
  }
}

/** Value equality as the indexes see it (Dates by time, tuples element-wise). */
export function valuesEqual(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    if (typeof a === 'bigint' || typeof b === 'bigint') return rank(a) === rank(b) && compareValues(a, b) === 0;
    return false;
  }
  return rank(a) === rank(b) && compareValues(a, b) === 0;
}

/** A hashable key for a value (for Maps and Sets keyed by value). */
export function valueKey(v: Value): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Date) return `#inst:${v.getTime()}`;
  if (v instanceof BigDec) return `#bigdec:${bigDecKey(v)}`;
  if (Array.isArray(v)) return `#tuple:${v.map((x) => String(valueKey(x))).join('\u0001')}`;
  return v;
}

/**
 * A BigDec's key ignores its scale, as the indexes do (compareValues is numeric: 1.0M and 1.00M
 * are the same value), so that redundancy elimination and the indexes agree.
 */
function bigDecKey(v: BigDec): string {
  let u = v.unscaled;
  if (u === 0n) return '0';
  let scale = v.scale;
  while (u % 10n === 0n) {
    u /= 10n;
    scale--;
  }
  return `${u}e${-scale}`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isKeywordString(x: unknown): x is string {
  return typeof x === 'string' && x.length > 1 && x.charCodeAt(0) === 58 /* : */;
}

/** ':ns/name' for a Keyword or a keyword string (with or without the colon), else undefined. */
export function keywordText(x: unknown): string | undefined {
  if (x instanceof Keyword) return x.toString();
  if (isKeywordString(x)) return x;
  return undefined;
}

function typeError(attr: string, type: string, v: unknown, hint = ''): never {
  throw incorrect(
    'db.error/wrong-type-for-attribute',
    `Value ${describeValue(v)} is not a valid ${type} for attribute ${attr}${hint}`,
    { attribute: attr, value: describeValue(v), valueType: `:db.type/${type}` },
  );
}

/**
 * Converts an input value (JS data or EDN) to the stored form for a scalar type, or throws
 * `incorrect` naming the attribute and value. Refs are resolved elsewhere (they need the db).
 */
export function coerceScalar(attr: string, type: TupleElementType, v: unknown): Value {
  if (v === null || v === undefined) {
    throw incorrect('db.error/nil-value', `Nil is not a legal value for attribute ${attr}`, { attribute: attr });
  }
  switch (type) {
    case 'string':
      if (typeof v !== 'string') typeError(attr, type, v);
      if (v.length > MAX_STRING_LENGTH) {
        throw incorrect(
          'db.error/string-too-long',
          `String of ${v.length} characters for attribute ${attr} exceeds the limit of ${MAX_STRING_LENGTH}`,
          { attribute: attr, length: v.length, limit: MAX_STRING_LENGTH },
        );
      }
      return v;
    case 'long':
      if (typeof v === 'number') {
        if (!Number.isInteger(v)) typeError(attr, type, v);
        if (!Number.isSafeInteger(v)) typeError(attr, type, v, ' (outside the exact integer range; pass a bigint)');
        return v;
      }
      if (typeof v === 'bigint') {
        if (v < -(2n ** 63n) || v >= 2n ** 63n) typeError(attr, type, v, ' (outside the 64-bit range)');
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : v;
      }
      return typeError(attr, type, v);
    case 'double':
    case 'float':
      if (typeof v === 'number') {
        if (Number.isNaN(v)) typeError(attr, type, v, ' (NaN cannot be stored)');
        return v;
      }
      if (typeof v === 'bigint') return Number(v);
      return typeError(attr, type, v);
    case 'boolean':
      if (typeof v !== 'boolean') typeError(attr, type, v);
      return v;
    case 'instant':
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) typeError(attr, type, v, ' (invalid date)');
        return new Date(v.getTime());
      }
      return typeError(attr, type, v);
    case 'keyword': {
      const k = keywordText(v);
      if (k === undefined) typeError(attr, type, v, " (keywords are written ':ns/name')");
      return k;
    }
    case 'symbol':
      if (v instanceof Sym) return v.fqn;
      if (typeof v === 'string' && v.length > 0) return v;
      return typeError(attr, type, v);
    case 'uuid': {
      const s = v instanceof Uuid ? v.value : v;
      if (typeof s !== 'string' || !UUID_RE.test(s)) typeError(attr, type, v);
      return s.toLowerCase();
    }
    case 'uri': {
      const s = v instanceof Tagged ? v.value : v;
      if (typeof s !== 'string') typeError(attr, type, v);
      try {
        new URL(s);
      } catch {
        typeError(attr, type, v);
      }
      return s;
    }
    case 'bigint':
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
      return typeError(attr, type, v);
    case 'bigdec':
      if (v instanceof BigDec) return v;
      if (typeof v === 'number' && Number.isFinite(v)) return BigDec.fromNumber(v);
      if (typeof v === 'bigint') return BigDec.parse(v.toString());
      if (typeof v === 'string') {
        try {
          return BigDec.parse(v);
        } catch {
          return typeError(attr, type, v);
        }
      }
      return typeError(attr, type, v);
    case 'ref':
      return typeError(attr, type, v);
  }
}
