/**
 * The wire encoding (services/engine/wire.ts): every value survives JSON text and back, objects
 * whose keys start with '#' included; malformed tags are refused with `incorrect`.
 */
import fc from 'fast-check';
import { BigDec, EdnList, kw, sym, Tagged, Uuid } from '../../services/engine/edn';
import { DatalithError } from '../../services/engine/errors';
import { fromWire, toWire } from '../../services/engine/wire';

const roundTrip = (v: unknown): unknown => fromWire(JSON.parse(JSON.stringify(toWire(v))));

const scalar = fc.oneof(
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.double(),
  fc.bigInt(),
  fc.date({ noInvalidDate: true }),
  fc.stringMatching(/^:[a-z]{1,5}\/[a-z]{1,5}$/).map((s) => kw(s)),
  fc.stringMatching(/^\?[a-z]{1,5}$/).map((s) => sym(s)),
  fc.uuid().map((u) => new Uuid(u)),
  fc.tuple(fc.bigInt(), fc.integer({ min: 0, max: 6 })).map(([m, e]) => BigDec.parse(`${m}e-${e}`)),
);

const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, scalar, tie('arr'), tie('obj'), tie('set'), tie('map'), tie('list'), tie('tagged')),
  arr: fc.array(tie('v'), { maxLength: 4 }),
  // Keys starting with '#' must not be taken for tags.
  obj: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('#inst', '#kw', '#object', '#')), tie('v'), { maxKeys: 4 }),
  set: fc.array(tie('v'), { maxLength: 3 }).map((xs) => new Set(xs)),
  map: fc.array(fc.tuple(tie('v'), tie('v')), { maxLength: 3 }).map((es) => new Map(es)),
  list: fc.array(tie('v'), { maxLength: 3 }).map((xs) => new EdnList(xs as never[])),
  tagged: fc.tuple(fc.stringMatching(/^[a-z]{1,4}\/[a-z]{1,4}$/), tie('v')).map(([t, x]) => new Tagged(t, x as never)),
})).v;

/** Structural equality that knows the engine's value classes (NaN equals NaN, -0 is 0 in JSON). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return (Number.isNaN(a) && Number.isNaN(b)) || a === b || (a === 0 && b === 0);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof BigDec && b instanceof BigDec) return a.toString() === b.toString();
  if (a instanceof Set && b instanceof Set) return same([...a], [...b]);
  if (a instanceof Map && b instanceof Map) return same([...a], [...b]);
  if (a instanceof EdnList && b instanceof EdnList) return same(a.items, b.items);
  if (a instanceof Tagged && b instanceof Tagged) return a.tag === b.tag && same(a.value, b.value);
  if (a instanceof Uuid && b instanceof Uuid) return a.value === b.value;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const plain = (x: object): boolean => [Object.prototype, null].includes(Object.getPrototypeOf(x));
    if (!plain(a) || !plain(b)) return Object.getPrototypeOf(a) === Object.getPrototypeOf(b) && String(a) === String(b);
    const ka = Object.keys(a);
    return same(ka, Object.keys(b)) && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

test('every value survives the wire and JSON text', () => {
  fc.assert(fc.property(value, (v) => same(roundTrip(v), v)), { numRuns: 500 });
});

test('plain objects keep their keys; a key starting with # makes the object a tagged #object', () => {
  expect(toWire({ e: 1, a: ':x/y', v: new Date(0) })).toEqual({ e: 1, a: ':x/y', v: { '#inst': '1970-01-01T00:00:00.000Z' } });
  expect(toWire({ a: 1, '#kw': 'not a keyword' })).toEqual({ '#object': [['a', 1], ['#kw', 'not a keyword']] });
  expect(roundTrip({ '#inst': 'text' })).toEqual({ '#inst': 'text' });
  expect(toWire(Object.assign(Object.create(null), { z: 1n }))).toEqual({ z: { '#bigint': '1' } });
});

test('malformed tags and values are refused as incorrect', () => {
  for (const bad of [{ '#inst': 'yesterday' }, { '#bigint': '1.5' }, { '#double': 'big' }, { '#kw': ':' }, { '#map': [[1]] }, { '#object': [[1, 2]] }]) {
    let err: unknown;
    try {
      fromWire(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DatalithError);
    expect((err as DatalithError).category).toBe('incorrect');
  }
  expect(() => toWire(new Date(NaN))).toThrow(/invalid Date/);
  expect(() => toWire(() => 1)).toThrow(/function/);
});
