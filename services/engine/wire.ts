/**
 * The wire encoding: JSON that preserves every value type. JSON's own types carry strings,
 * finite numbers, booleans, null, arrays and plain objects; everything else is a one-key object
 * whose key starts with '#':
 *
 *   {"#inst": "2024-01-01T00:00:00.000Z"}   Date
 *   {"#bigint": "18446744073709551616"}     bigint
 *   {"#bigdec": "1.50"}                     BigDec
 *   {"#double": "NaN" | "Infinity" | "-Infinity"}
 *   {"#kw": ":ns/name"}  {"#sym": "?x"}     EDN keyword and symbol objects
 *   {"#uuid": "…"}  {"#list": […]}  {"#set": […]}  {"#map": [[k, v], …]}
 *   {"#tag": "my/tag", "#value": …}         other tagged EDN values
 *   {"#object": [[k, v], …]}                a plain object that has a key starting with '#'
 *
 * Keywords in public values are already strings (':ns/name'), so results need no tags but for
 * instants, bigints, bigdecs and non-finite numbers. The log stores transactions in this
 * encoding too.
 */
import { BigDec } from './bigdec';

/**
 * HTTP header the SDK sends on every attempt after the first (`2`, `3`, …): the client does not
 * know whether its earlier attempt committed, so a node refuses the transaction only by writing
 * the refusal to the log first (services/node/log/transactor.ts, RecordedRefusal).
 */
export const ATTEMPT_HEADER = 'x-datalith-attempt';
import { EdnList, Keyword, Sym, Tagged, Uuid, kw, sym } from './edn';
import { describeValue, incorrect } from './errors';

export function toWire(v: unknown): unknown {
  switch (typeof v) {
    case 'string': case 'boolean': return v;
    case 'number': return Number.isFinite(v) ? v : { '#double': String(v) };
    case 'bigint': return { '#bigint': v.toString() };
    case 'undefined': return null;
    case 'object': {
      if (v === null) return null;
      if (Array.isArray(v)) return v.map(toWire);
      // Plain objects (entity maps, datoms, results) are the common case: no class checks.
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto === Object.prototype || proto === null) return plainToWire(v as Record<string, unknown>);
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) throw incorrect('wire/unencodable', 'Cannot encode an invalid Date');
        return { '#inst': v.toISOString() };
      }
      if (v instanceof BigDec) return { '#bigdec': v.toString() };
      if (v instanceof Keyword) return { '#kw': v.toString() };
      if (v instanceof Sym) return { '#sym': v.toString() };
      if (v instanceof Uuid) return { '#uuid': v.value };
      if (v instanceof EdnList) return { '#list': v.items.map(toWire) };
      if (v instanceof Set) return { '#set': [...v].map(toWire) };
      if (v instanceof Map) return { '#map': [...v].map(([k, x]) => [toWire(k), toWire(x)]) };
      if (v instanceof Tagged) return { '#tag': v.tag, '#value': toWire(v.value) };
      return objectToWire(Object.entries(v as Record<string, unknown>));
    }
    default:
      throw incorrect('wire/unencodable', `Cannot encode a value of type ${typeof v}`);
  }
}

/** A plain object's own keys, without building an entries array unless a key starts with '#'. */
function plainToWire(o: Record<string, unknown>): unknown {
  const out: Record<string, unknown> = {};
  for (const k in o) {
    if (k.charCodeAt(0) === 35 /* # */) return objectToWire(Object.entries(o));
    out[k] = toWire(o[k]);
  }
  return out;
}

function objectToWire(entries: Array<[string, unknown]>): unknown {
  if (entries.some(([k]) => k.charCodeAt(0) === 35 /* # */)) return { '#object': entries.map(([k, x]) => [k, toWire(x)]) };
  const out: Record<string, unknown> = {};
  for (const [k, x] of entries) out[k] = toWire(x);
  return out;
}

function bad(what: string): never {
  throw incorrect('wire/malformed', `Malformed wire value: ${what}`);
}

export function fromWire(v: unknown, depth = 0): unknown {
  if (depth > 200) throw incorrect('wire/too-deep', 'Wire value is nested more than 200 levels deep');
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => fromWire(x, depth + 1));
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  const k0 = keys[0];
  if (k0 !== undefined && k0.charCodeAt(0) === 35) {
    const x = o[k0];
    switch (k0) {
      case '#inst': {
        const d = new Date(typeof x === 'string' ? x : NaN);
        if (Number.isNaN(d.getTime())) bad(`#inst ${describeValue(x)}`);
        return d;
      }
      case '#bigint':
        if (typeof x !== 'string' || !/^-?\d+$/.test(x)) bad(`#bigint ${describeValue(x)}`);
        return BigInt(x);
      case '#bigdec':
        if (typeof x !== 'string') bad('#bigdec');
        try {
          return BigDec.parse(x);
        } catch {
          return bad(`#bigdec ${describeValue(x)}`);
        }
      case '#double':
        if (x === 'NaN') return NaN;
        if (x === 'Infinity') return Infinity;
        if (x === '-Infinity') return -Infinity;
        return bad(`#double ${describeValue(x)}`);
      case '#kw':
        if (typeof x !== 'string' || x.length < 2) bad('#kw');
        return kw(x);
      case '#sym':
        if (typeof x !== 'string' || x.length < 1) bad('#sym');
        return sym(x);
      case '#uuid':
        if (typeof x !== 'string') bad('#uuid');
        return new Uuid(x.toLowerCase());
      case '#list':
        if (!Array.isArray(x)) bad('#list');
        return new EdnList(x.map((y) => fromWire(y, depth + 1)) as never[]);
      case '#set':
        if (!Array.isArray(x)) bad('#set');
        return new Set(x.map((y) => fromWire(y, depth + 1)));
      case '#map':
        if (!Array.isArray(x)) bad('#map');
        return new Map(x.map((e) => {
          if (!Array.isArray(e) || e.length !== 2) bad('#map entry');
          return [fromWire(e[0], depth + 1), fromWire(e[1], depth + 1)];
        }));
      case '#tag':
        if (typeof x !== 'string') bad('#tag');
        return new Tagged(x, fromWire(o['#value'], depth + 1) as never);
      case '#object': {
        if (!Array.isArray(x)) bad('#object');
        const out: Record<string, unknown> = {};
        for (const e of x) {
          if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string') bad('#object entry');
          out[e[0]] = fromWire(e[1], depth + 1);
        }
        return out;
      }
      default:
        return bad(`unknown tag ${k0}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = fromWire(o[k], depth + 1);
  return out;
}
