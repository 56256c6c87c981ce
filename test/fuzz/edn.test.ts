/**
 * Fuzzing the strict EDN reader: any text reads or fails with an `edn/*` anomaly naming the
 * position (never another error, never a hang); any EDN value survives write → read; the depth
 * limit holds exactly.
 */
import fc from 'fast-check';
import { BigDec, EdnList, Keyword, kw, readEdn, readEdnAll, sym, Uuid, writeEdn, DEFAULT_MAX_DEPTH } from '../../services/engine/edn';
import { checkAnomaly, ednSoup, outcome, params } from './fuzz';

function expectReadable(text: string): void {
  for (const read of [() => readEdn(text), () => readEdnAll(text)]) {
    const r = outcome(read);
    if (!r.ok) {
      expect(r.error.category).toBe('incorrect');
      expect(r.error.code).toMatch(/^edn\//);
    }
  }
}

describe('the EDN reader on arbitrary text', () => {
  test('random strings (any code unit) read or fail with an edn anomaly', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), expectReadable), params(1_000));
  });

  test('EDN token soup reads or fails with an edn anomaly naming the position', () => {
    fc.assert(fc.property(ednSoup, (text) => {
      expectReadable(text);
      const r = outcome(() => readEdn(text));
      if (!r.ok && r.error.code === 'edn/syntax') expect(r.error.message).toMatch(/line \d+, column \d+/);
    }), params(1_500));
  });

  test('mutations of valid EDN read or fail cleanly', () => {
    const valid = '[{:db/id "a" :p/name "Ivan" :p/tags #{"x" "y"} :p/at #inst "2020-01-01T00:00:00Z" :p/n 1.5M} [:db/add "a" :p/big 18446744073709551616N] (f ?x) #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"]';
    fc.assert(fc.property(fc.nat(valid.length), fc.nat(valid.length), fc.string({ maxLength: 3 }), (at, cut, insert) => {
      expectReadable(valid.slice(0, at) + insert + valid.slice(Math.min(valid.length, at + (cut % 4))));
    }), params(1_000));
  });
});

const keyword = fc.tuple(fc.option(fc.stringMatching(/^[a-z][a-z0-9.-]{0,6}$/)), fc.stringMatching(/^[a-z][a-z0-9*+!?-]{0,6}$/))
  .map(([ns, name]) => kw(ns === null ? name : `${ns}/${name}`));
const scalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
  fc.double(),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  keyword,
  fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/).map((s) => sym(s)),
  fc.date({ noInvalidDate: true, min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z') }),
  fc.uuid().map((u) => new Uuid(u)),
  fc.tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.nat(6)).map(([u, s]) => BigDec.parse(`${u}e-${s}`)),
);
const unique = (xs: unknown) => xs as unknown[];
const ednValue = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.array(tie('v'), { maxLength: 4 }).map((xs) => new EdnList(xs as never[])),
    fc.uniqueArray(scalar, { maxLength: 4, selector: (x) => writeEdn(x) }).map((xs) => new Set(unique(xs))),
    fc.uniqueArray(fc.tuple(scalar, tie('v')), { maxLength: 4, selector: ([k]) => writeEdn(k) }).map((es) => new Map(es)),
  ),
})).v;

describe('EDN values', () => {
  test('write then read gives the same value', () => {
    fc.assert(fc.property(ednValue, (v) => {
      const text = writeEdn(v);
      expect(writeEdn(readEdn(text))).toBe(text);
    }), params(800));
  });

  test(`nesting: up to ${DEFAULT_MAX_DEPTH} levels read, deeper is edn/too-deep`, () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 400 }), fc.constantFrom(['[', ']'], ['(', ')'], ['{:a ', '}'], ['#{', '}'], ['#_ 1 [', ']']), (depth, [open, close]) => {
      const text = `${open!.repeat(depth)}${close!.repeat(depth)}`;
      const r = outcome(() => readEdn(text));
      if (depth <= DEFAULT_MAX_DEPTH) {
        if (!r.ok) expect(r.error.code).not.toBe('edn/too-deep');
      } else {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error.code).toBe('edn/too-deep');
      }
    }), params(300));
  });

  test('keywords and symbols from arbitrary text are valid or edn anomalies', () => {
    fc.assert(fc.property(fc.string({ maxLength: 10 }), (s) => {
      for (const f of [() => kw(s), () => sym(s)]) {
        const r = outcome(f);
        if (r.ok) expect(r.value instanceof Keyword || typeof r.value === 'object').toBe(true);
        else checkAnomaly(r.error);
      }
    }), params(500));
  });
});
