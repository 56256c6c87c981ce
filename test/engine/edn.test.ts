import fc from 'fast-check';
import { BigDec } from '../../services/engine/bigdec';
import {
  EdnList,
  type EdnValue,
  Keyword,
  Sym,
  Tagged,
  Uuid,
  isKeyword,
  isList,
  isSym,
  kw,
  readEdn,
  readEdnAll,
  sym,
  writeEdn,
} from '../../services/engine/edn';
import { DatalithError, isDatalithError } from '../../services/engine/errors';

// ---------------------------------------------------------------------------------------------
// helpers

/** Structural equality on EDN values: Object.is on numbers (NaN, -0), scale-exact BigDecs, ordered Maps/Sets. */
function ednEqual(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (a instanceof Keyword || a instanceof Sym) return a === b;
  if (a instanceof BigDec) return a.identical(b);
  if (a instanceof Date) return b instanceof Date && Object.is(a.getTime(), b.getTime());
  if (a instanceof Uuid) return b instanceof Uuid && a.value === b.value;
  if (a instanceof Tagged) return b instanceof Tagged && a.tag === b.tag && ednEqual(a.value, b.value);
  if (a instanceof EdnList) return b instanceof EdnList && ednEqual(a.items, b.items);
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => ednEqual(x, b[i]));
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    const ea = [...a];
    const eb = [...b];
    return ea.every(([k, v], i) => ednEqual(k, eb[i]![0]) && ednEqual(v, eb[i]![1]));
  }
  if (a instanceof Set) {
    if (!(b instanceof Set) || a.size !== b.size) return false;
    const eb = [...b];
    return [...a].every((x, i) => ednEqual(x, eb[i]));
  }
  return false;
}

function readError(text: string): DatalithError {
  try {
    readEdn(text);
  } catch (e) {
    if (e instanceof DatalithError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(text)} to fail`);
}

/** Reading never throws anything but an `incorrect` DatalithError. */
function readsOrRejects(text: string, all = false): EdnValue | EdnValue[] | undefined {
  try {
    return all ? readEdnAll(text) : readEdn(text);
  } catch (e) {
    if (!isDatalithError(e) || e.category !== 'incorrect') throw e;
    expect(e.code === 'edn/syntax' || e.code === 'edn/too-deep').toBe(true);
    expect(typeof e.data.line).toBe('number');
    expect(typeof e.data.column).toBe('number');
    expect(typeof e.data.offset).toBe('number');
    return undefined;
  }
}

const m = (...entries: [EdnValue, EdnValue][]): Map<EdnValue, EdnValue> => new Map(entries);
const list = (...items: EdnValue[]): EdnList => new EdnList(items);

// ---------------------------------------------------------------------------------------------
// scalars

describe('readEdn scalars', () => {
  test('nil, booleans', () => {
    expect(readEdn('nil')).toBeNull();
    expect(readEdn('true')).toBe(true);
    expect(readEdn('false')).toBe(false);
  });

  test('integers: number when safe, bigint otherwise or with N', () => {
    expect(readEdn('0')).toBe(0);
    expect(readEdn('42')).toBe(42);
    expect(readEdn('-17')).toBe(-17);
    expect(readEdn('+5')).toBe(5);
    expect(Object.is(readEdn('-0'), 0)).toBe(true);
    expect(readEdn('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(readEdn('-9007199254740991')).toBe(Number.MIN_SAFE_INTEGER);
    expect(readEdn('9007199254740992')).toBe(9007199254740992n);
    expect(readEdn('18446744073709551616')).toBe(18446744073709551616n);
    expect(readEdn('-18446744073709551616')).toBe(-18446744073709551616n);
    expect(readEdn('1N')).toBe(1n);
    expect(readEdn('-0N')).toBe(0n);
    expect(readEdn('123456789012345678901234567890N')).toBe(123456789012345678901234567890n);
  });

  test('hex and radix integers', () => {
    expect(readEdn('0x1F')).toBe(31);
    expect(readEdn('0XfF')).toBe(255);
    expect(readEdn('-0x10')).toBe(-16);
    expect(readEdn('0x10N')).toBe(16n);
    expect(readEdn('0xFFFFFFFFFFFFFFFFFF')).toBe(0xffffffffffffffffffn);
    expect(readEdn('36rZZ')).toBe(1295);
    expect(readEdn('2r1010')).toBe(10);
    expect(readEdn('-16rff')).toBe(-255);
    expect(readEdn('36rZZZZZZZZZZZZZZZZ')).toBe(36n ** 16n - 1n);
    expect(readEdn('36r2GOSA7PA2GV')).toBe(9007199254740991);
    expect(readEdn('36r2GOSA7PA2GW')).toBe(9007199254740992n);
  });

  test('floats', () => {
    expect(readEdn('1.5')).toBe(1.5);
    expect(readEdn('-1.5')).toBe(-1.5);
    expect(readEdn('1e10')).toBe(1e10);
    expect(readEdn('1E-3')).toBe(0.001);
    expect(readEdn('2.5e+3')).toBe(2500);
    expect(readEdn('1.')).toBe(1);
    expect(Object.is(readEdn('-0.0'), -0)).toBe(true);
    expect(readEdn('1e400')).toBe(Infinity);
    expect(readEdn('##Inf')).toBe(Infinity);
    expect(readEdn('##-Inf')).toBe(-Infinity);
    expect(readEdn('##NaN')).toBeNaN();
  });

  test('M decimals are exact BigDecs that keep their scale', () => {
    const d = readEdn('1.50M') as BigDec;
    expect(d).toBeInstanceOf(BigDec);
    expect(d.unscaled).toBe(150n);
    expect(d.scale).toBe(2);
    expect(d.toString()).toBe('1.50');
    expect((readEdn('1M') as BigDec).toString()).toBe('1');
    expect((readEdn('-0.000001M') as BigDec).toString()).toBe('-0.000001');
    expect((readEdn('1e3M') as BigDec).toString()).toBe('1E+3');
    const big = readEdn('123456789012345678901234567890.123456789M') as BigDec;
    expect(big.toString()).toBe('123456789012345678901234567890.123456789');
  });

  test('strings and escapes', () => {
    expect(readEdn('""')).toBe('');
    expect(readEdn('"hello"')).toBe('hello');
    expect(readEdn(String.raw`"a\nb\tc\rd\"e\\f\bg\fh"`)).toBe('a\nb\tc\rd"e\\f\bg\fh');
    expect(readEdn(String.raw`"\u00e9\u00E9 \ud83d\ude00"`)).toBe('éé 😀');
    expect(readEdn('"multi\nline"')).toBe('multi\nline');
    expect(readEdn('"😀 ünïcode"')).toBe('😀 ünïcode');
  });

  test('characters become one-character strings', () => {
    expect(readEdn('\\a')).toBe('a');
    expect(readEdn('\\newline')).toBe('\n');
    expect(readEdn('\\space')).toBe(' ');
    expect(readEdn('\\tab')).toBe('\t');
    expect(readEdn('\\return')).toBe('\r');
    expect(readEdn('\\u00e9')).toBe('é');
    expect(readEdn('\\o101')).toBe('A');
    expect(readEdn('\\u')).toBe('u');
    expect(readEdn('\\😀')).toBe('😀');
    expect(readEdn('[\\( \\) \\\\ \\" \\;]')).toEqual(['(', ')', '\\', '"', ';']);
    expect(readEdn('[\\a\\b]')).toEqual(['a', 'b']);
  });
});

// ---------------------------------------------------------------------------------------------
// keywords and symbols

describe('keywords and symbols', () => {
  test('keywords are interned Keyword instances', () => {
    const k = readEdn(':person/name');
    expect(k).toBeInstanceOf(Keyword);
    expect(isKeyword(k)).toBe(true);
    expect(k).toBe(kw('person/name'));
    expect(k).toBe(kw(':person/name'));
    expect(k).toBe(readEdn(':person/name'));
    const key = k as Keyword;
    expect(key.ns).toBe('person');
    expect(key.name).toBe('name');
    expect(key.fqn).toBe('person/name');
    expect(key.toString()).toBe(':person/name');
    const plain = kw('name');
    expect(plain.ns).toBeNull();
    expect(plain.fqn).toBe('name');
    expect(String(plain)).toBe(':name');
  });

  test('keywords work as Map keys', () => {
    const v = readEdn('{:db/id 1 :person/name "Ivan"}') as Map<EdnValue, EdnValue>;
    expect(v.get(kw(':db/id'))).toBe(1);
    expect(v.get(kw('person/name'))).toBe('Ivan');
  });

  test('keyword edge cases follow Clojure', () => {
    expect(kw(':1').fqn).toBe('1');
    expect(kw('a.b.c/d-e?').ns).toBe('a.b.c');
    expect(kw('a:b').name).toBe('a:b');
    expect(kw('clojure.core//').name).toBe('/');
    for (const bad of [':', '::a', ':a/', ':/a', ':a/1', ':a:', ':a::b', ':a b', ':a/b/c', ':@x']) {
      expect(() => kw(bad)).toThrow(DatalithError);
      expect(() => readEdn(bad.startsWith(':') ? bad : `:${bad}`)).toThrow(DatalithError);
    }
  });

  test('Datalog symbols', () => {
    const names = ['?e', '$', '$src', '%', '_', '...', '.', '>=', '!=', '<', '=', '+', '-', '*', 're-find', 'missing?', 'clojure.string/includes?', 'ground', 'x\'', 'a#b'];
    const v = readEdn(`[${names.join(' ')}]`) as EdnValue[];
    expect(v.map((s) => (s as Sym).fqn)).toEqual(names);
    for (const s of v) expect(isSym(s)).toBe(true);
    expect(v[0]).toBe(sym('?e'));
    const q = readEdn('clojure.string/includes?') as Sym;
    expect(q.ns).toBe('clojure.string');
    expect(q.name).toBe('includes?');
    expect(q.toString()).toBe('clojure.string/includes?');
    expect((readEdn('/') as Sym).name).toBe('/');
  });

  test('invalid symbols', () => {
    for (const bad of ['a\u200bb', 'a\u202eb', 'a\u00a0b', '\ufeff\ufeff', 'a\ud800', '@a', 'a@b', '~a', '`a', 'a|b', 'a/b/c', '/a', 'a/', '.5', '-.5', '+.5', 'a:', 'a::b', "'a", 'a/1']) {
      const e = readError(bad);
      expect(e.code).toBe('edn/syntax');
    }
    expect(() => sym('nil')).toThrow(DatalithError);
    expect(() => sym('1a')).toThrow(DatalithError);
  });
});

// ---------------------------------------------------------------------------------------------
// collections

describe('collections', () => {
  test('lists, vectors, maps, sets', () => {
    const l = readEdn('(1 2 (3))');
    expect(isList(l)).toBe(true);
    expect(ednEqual(l, list(1, 2, list(3)))).toBe(true);
    expect(readEdn('[1 [2 []]]')).toEqual([1, [2, []]]);
    expect(ednEqual(readEdn('{:a 1, "b" [2], nil nil, [1 2] {}}'), m([kw('a'), 1], ['b', [2]], [null, null], [[1, 2], new Map()]))).toBe(true);
    expect(ednEqual(readEdn('#{1 :a "x" #{}}'), new Set<EdnValue>([1, kw('a'), 'x', new Set()]))).toBe(true);
    expect(ednEqual(readEdn('()'), list())).toBe(true);
  });

  test('commas are whitespace; comments and discards are skipped', () => {
    expect(readEdn('[1,2,,3]')).toEqual([1, 2, 3]);
    expect(readEdn('[1 ; comment ]\n 2]')).toEqual([1, 2]);
    expect(readEdn('[1 #_ 2 3]')).toEqual([1, 3]);
    expect(readEdn('[1 #_[2 [3]] 4]')).toEqual([1, 4]);
    expect(readEdn('#_ #_ 1 2 3')).toBe(3);
    expect(readEdn('[#_1]')).toEqual([]);
    expect(readEdn(' ; only a comment before\n 7 ; and after')).toBe(7);
    expect(readEdn('\uFEFF[1]')).toEqual([1]);
    expect(ednEqual(readEdn('{:a 1 #_ :b #_ 2}'), m([kw('a'), 1]))).toBe(true);
  });

  test('namespaced maps', () => {
    const v = readEdn('#:person{:name "x" :age 3 :_/plain 1 :other/k 2 sym 4}');
    expect(
      ednEqual(v, m([kw('person/name'), 'x'], [kw('person/age'), 3], [kw('plain'), 1], [kw('other/k'), 2], [sym('person/sym'), 4])),
    ).toBe(true);
    expect(ednEqual(readEdn('#:a {:b 1}'), m([kw('a/b'), 1]))).toBe(true);
    expect(readError('#:a{:b 1 :a/b 2}').message).toMatch(/duplicate map key :a\/b/);
    expect(readError('#::{:a 1}').message).toMatch(/not supported/);
    expect(readError('#:a/b{:c 1}').message).toMatch(/namespace/);
    expect(readError('#:a [1]').message).toMatch(/must be followed by a map/);
    expect(readError('#:a{:1 2}').message).toMatch(/invalid key/);
  });
});

// ---------------------------------------------------------------------------------------------
// tagged elements

describe('tagged elements', () => {
  test('#inst', () => {
    const d = readEdn('#inst "1985-04-12T23:20:50.520Z"');
    expect(d).toBeInstanceOf(Date);
    expect((d as Date).toISOString()).toBe('1985-04-12T23:20:50.520Z');
    expect((readEdn('#inst "2020-01-02T03:04:05.123456789-05:00"') as Date).toISOString()).toBe('2020-01-02T08:04:05.123Z');
    expect((readEdn('#inst "2020-01-02T03:04:05+01:30"') as Date).toISOString()).toBe('2020-01-02T01:34:05.000Z');
    expect((readEdn('#inst "2020"') as Date).toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect((readEdn('#inst "2020-02-29"') as Date).toISOString()).toBe('2020-02-29T00:00:00.000Z');
    expect((readEdn('#inst "0001-01-01T00:00:00Z"') as Date).getUTCFullYear()).toBe(1);
    expect((readEdn('#inst "+275760-09-13T00:00:00.000Z"') as Date).getTime()).toBe(8.64e15);
    expect((readEdn('#inst"2020-01-01"') as Date).getTime()).toBe(Date.UTC(2020, 0, 1));
    for (const bad of ['"2020-13-01"', '"2019-02-29"', '"2020-01-01T24:00"', '"2020-01-01T00:60"', '"2020-01-01 00:00"', '"yesterday"', '"2020-01-01T00:00:00+15:00"', '1', '"+275760-09-13T00:00:00.001Z"']) {
      const e = readError(`#inst ${bad}`);
      expect(e.code).toBe('edn/syntax');
      expect(e.message).toMatch(/#inst/);
    }
  });

  test('#inst agrees with Date for any instant, offset and fraction length', () => {
    const arb = fc.tuple(
      fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }),
      fc.integer({ min: -12 * 60, max: 14 * 60 }),
      fc.integer({ min: 0, max: 9 }),
      fc.boolean(),
    );
    fc.assert(
      fc.property(arb, ([date, offset, fractionDigits, zulu]) => {
        const local = new Date(date.getTime() + offset * 60000);
        if (local.getUTCFullYear() < 0 || local.getUTCFullYear() > 9999) return;
        const iso = local.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
        const fraction = fractionDigits === 0 ? '' : `.${(iso.slice(20, 23) + '987654').slice(0, fractionDigits)}`;
        const sign = offset < 0 ? '-' : '+';
        const abs = Math.abs(offset);
        const zone = offset === 0 && zulu ? 'Z' : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        const text = `${iso.slice(0, 19)}${fraction}${zone}`;
        const parsed = readEdn(`#inst "${text}"`) as Date;
        // Digits beyond the third are truncated; fewer digits drop the rest of the milliseconds.
        const expectedMs = fractionDigits >= 3 ? date.getTime() : date.getTime() - (local.getUTCMilliseconds() % 10 ** (3 - fractionDigits));
        expect(parsed.getTime()).toBe(expectedMs);
      }),
      { numRuns: 500 },
    );
    expect((readEdn('#inst "0050-06-01T00:00:00Z"') as Date).getUTCFullYear()).toBe(50);
    expect((readEdn('#inst "0050-06-01"') as Date).getUTCFullYear()).toBe(50);
    expect((readEdn('#inst "2016-12-31T23:59:60Z"') as Date).toISOString()).toBe('2017-01-01T00:00:00.000Z');
    expect((readEdn('#inst "2020-01-01T00:00:00.5"') as Date).getUTCMilliseconds()).toBe(500);
    expect((readEdn('#inst "2020-01-01T00:00:00-00:00"') as Date).getTime()).toBe(Date.UTC(2020, 0, 1));
    expect(() => readEdn('#inst "2020-01-01T00:00:00."')).toThrow(/#inst/);
    expect(() => readEdn('#inst "2020-01-01T00:00:00Zx"')).toThrow(/#inst/);
  });

  test('#uuid', () => {
    const u = readEdn('#uuid "F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6"');
    expect(u).toBeInstanceOf(Uuid);
    expect((u as Uuid).value).toBe('f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
    for (const bad of ['"f81d4fae7dec11d0a76500a0c91e6bf6"', '"1-1-1-1-1"', '"f81d4fae-7dec-11d0-a765-00a0c91e6bfg"', '42']) {
      expect(readError(`#uuid ${bad}`).message).toMatch(/#uuid/);
    }
    expect(() => new Uuid('nope')).toThrow(DatalithError);
  });

  test('other tags', () => {
    const t = readEdn('#my/tag [1 #other {:a 1}]');
    expect(t).toBeInstanceOf(Tagged);
    expect(ednEqual(t, new Tagged('my/tag', [1, new Tagged('other', m([kw('a'), 1]))]))).toBe(true);
    expect(ednEqual(readEdn('#a #_ 1 2'), new Tagged('a', 2))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// errors

describe('errors carry the position', () => {
  test.each([
    // input, message fragment, line, column
    ['[1 2', 'unclosed vector', 1, 5],
    ['(1 2', 'unclosed list', 1, 5],
    ['{:a 1', 'unclosed map', 1, 6],
    ['#{1', 'unclosed set', 1, 4],
    ['"abc', 'unclosed string', 1, 5],
    ['(1 2))', "unmatched ')'", 1, 6],
    [']', "unmatched ']'", 1, 1],
    ['[1 2)', "unmatched ')'", 1, 5],
    ['{:a}', 'even number of forms', 1, 4],
    ['{:a 1 :a 2}', 'duplicate map key :a', 1, 7],
    ['#{1 2 1}', 'duplicate set element 1', 1, 7],
    ['{1 :a 1.0 :b}', 'duplicate map key 1', 1, 7],
    ['"\\q"', 'unsupported escape', 1, 2],
    ['"\\u12"', 'unicode escape', 1, 2],
    ['"\\', 'unclosed string', 1, 3],
    ['1.2.3', 'invalid number', 1, 1],
    ['08', 'leading zeros', 1, 1],
    ['017', 'leading zeros', 1, 1],
    ['1/2', 'ratios are not supported', 1, 1],
    ['1e', 'exponent', 1, 1],
    ['12abc', 'invalid number', 1, 1],
    ['1.5N', 'invalid number', 1, 1],
    ['0x', 'invalid number', 1, 1],
    ['0xFG', 'invalid number', 1, 1],
    ['37r1', 'radix', 1, 1],
    ['2r2', 'not a digit in radix 2', 1, 1],
    ['1e99999999999M', 'invalid number', 1, 1],
    ['#', "end of input after '#'", 1, 1],
    ['# a', "'#' must be followed", 1, 1],
    ['#!foo', "'#' must be followed", 1, 1],
    ['##Foo', 'unknown symbolic value', 1, 1],
    ['#"re"', 'regular expressions', 1, 1],
    ['#(inc %)', 'anonymous functions', 1, 1],
    ['^:meta [1]', 'metadata', 1, 1],
    ['#_', "'#_' must be followed by a form", 1, 3],
    ['[#_]', "'#_' must be followed by a form", 1, 4],
    ['#tag', 'must be followed by a form', 1, 5],
    ['\\', "end of input after '\\'", 1, 1],
    ['\\ ', 'whitespace', 1, 1],
    ['\\abc', 'unsupported character literal', 1, 1],
    ['\\ud800', 'lone surrogate', 1, 1],
    ['\\o400', 'range', 1, 1],
    [':', 'invalid keyword', 1, 1],
    ['::a', 'auto-resolved', 1, 1],
    ['', 'empty input', 1, 1],
    ['  ; nothing\n', 'empty input', 2, 1],
    ['1 2', 'unexpected content after the form', 1, 3],
    ['[1\n 2\n  )', "unmatched ')'", 3, 3],
    ['{:a 1\n :b}', 'even number', 2, 4],
  ])('%j → %s at %i:%i', (input, fragment, line, column) => {
    const e = readError(input);
    expect(e.category).toBe('incorrect');
    expect(e.code).toBe('edn/syntax');
    expect(e.message).toContain(`EDN syntax error at line ${line}, column ${column}: `);
    expect(e.message).toContain(fragment);
    expect(e.data).toMatchObject({ line, column });
    expect(typeof e.data.offset).toBe('number');
  });

  test('the message format from the brief', () => {
    expect(readError('[1 2').message).toMatch(/^EDN syntax error at line 1, column 5: unclosed vector/);
  });

  test('the three edn-data 1.2.2 failures are errors or exact values here', () => {
    expect(() => readEdn('[1 2')).toThrow(/unclosed vector/);
    expect(() => readEdn('(1 2))')).toThrow(/unmatched '\)'/);
    expect(readEdn('18446744073709551616')).toBe(18446744073709551616n);
    expect((readEdn('1.5M') as BigDec).identical(new BigDec(15n, 1))).toBe(true);
  });
});

describe('nesting limit', () => {
  const nested = (n: number): string => '['.repeat(n) + ']'.repeat(n);

  test('default limit is 100 levels', () => {
    expect(() => readEdn(nested(100))).not.toThrow();
    const e = readError(nested(101));
    expect(e.category).toBe('incorrect');
    expect(e.code).toBe('edn/too-deep');
    expect(e.data).toMatchObject({ line: 1, column: 101, offset: 100 });
  });

  test('applies to every kind of nesting', () => {
    const shapes: ((n: number) => string)[] = [
      (n) => '('.repeat(n) + ')'.repeat(n),
      (n) => '{:a '.repeat(n) + '1' + '}'.repeat(n),
      (n) => '#{'.repeat(n) + '}'.repeat(n),
      (n) => '#t '.repeat(n) + '1',
      (n) => '#_ '.repeat(n) + '1 '.repeat(n + 1), // nested discards: #_ #_ 1 1 1
      (n) => '#:a{:k '.repeat(n) + '1' + '}'.repeat(n),
      (n) => '[#t '.repeat(Math.ceil(n / 2)) + '1' + ']'.repeat(Math.ceil(n / 2)), // 12 → 12 levels, 13 → 14
    ];
    for (const shape of shapes) {
      expect(() => readEdn(shape(12), { maxDepth: 12 })).not.toThrow();
      expect(() => readEdn(shape(13), { maxDepth: 12 })).toThrow(expect.objectContaining({ code: 'edn/too-deep' }));
    }
  });

  test('custom limits and hostile inputs never overflow the stack', () => {
    expect(() => readEdn(nested(5), { maxDepth: 4 })).toThrow(expect.objectContaining({ code: 'edn/too-deep' }));
    expect(readEdn('1', { maxDepth: 0 })).toBe(1);
    expect(() => readEdn('[]', { maxDepth: 0 })).toThrow(expect.objectContaining({ code: 'edn/too-deep' }));
    expect(() => readEdn('['.repeat(1_000_000))).toThrow(expect.objectContaining({ code: 'edn/too-deep' }));
    expect(() => readEdn('#_'.repeat(1_000_000))).toThrow(expect.objectContaining({ code: 'edn/too-deep' }));
    // Even with an absurd limit the result is an anomaly, not a RangeError.
    expect(() => readEdn('['.repeat(1_000_000), { maxDepth: 10_000_000 })).toThrow(expect.objectContaining({ code: 'edn/too-deep' }));
    expect(() => readEdn('1', { maxDepth: -1 })).toThrow(expect.objectContaining({ code: 'edn/invalid-option' }));
  });
});

describe('readEdnAll', () => {
  test('reads a sequence of forms', () => {
    const forms = readEdnAll('1 [2] ; comment\n {:a 3} #_ 4 :k');
    expect(forms.length).toBe(4);
    expect(ednEqual(forms, [1, [2], m([kw('a'), 3]), kw('k')])).toBe(true);
    expect(readEdnAll('')).toEqual([]);
    expect(readEdnAll(' ;; nothing \n')).toEqual([]);
  });

  test('is strict too', () => {
    expect(() => readEdnAll('[1] [2')).toThrow(/unclosed vector/);
    expect(() => readEdnAll('[1] )')).toThrow(/line 1, column 5: unmatched/);
  });
});

// ---------------------------------------------------------------------------------------------
// writer

describe('writeEdn', () => {
  test('scalars', () => {
    expect(writeEdn(null)).toBe('nil');
    expect(writeEdn(true)).toBe('true');
    expect(writeEdn(1)).toBe('1');
    expect(writeEdn(-2.5)).toBe('-2.5');
    expect(writeEdn(-0)).toBe('-0.0');
    expect(writeEdn(1e21)).toBe('1e+21');
    expect(writeEdn(2 ** 53 + 2)).toBe('9007199254740994.0');
    expect(writeEdn(NaN)).toBe('##NaN');
    expect(writeEdn(-Infinity)).toBe('##-Inf');
    expect(writeEdn(18446744073709551616n)).toBe('18446744073709551616N');
    expect(writeEdn(BigDec.parse('1.50'))).toBe('1.50M');
    expect(writeEdn('a"b\\c\nd\u0001\ud800😀')).toBe('"a\\"b\\\\c\\nd\\u0001\\ud800😀"');
    expect(writeEdn(kw('a/b'))).toBe(':a/b');
    expect(writeEdn(sym('?e'))).toBe('?e');
    expect(writeEdn(new Date(Date.UTC(2020, 0, 2)))).toBe('#inst "2020-01-02T00:00:00.000Z"');
    expect(writeEdn(new Uuid('F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6'))).toBe('#uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"');
  });

  test('collections', () => {
    expect(writeEdn([1, [2], list(3, sym('x'))])).toBe('[1 [2] (3 x)]');
    expect(writeEdn(m([kw('a'), 1], ['b', [2]]))).toBe('{:a 1, "b" [2]}');
    expect(writeEdn(new Set([1, 2]))).toBe('#{1 2}');
    expect(writeEdn(new Tagged('my/tag', [1]))).toBe('#my/tag [1]');
    expect(writeEdn([])).toBe('[]');
    expect(writeEdn(new Map())).toBe('{}');
  });

  test('plain objects become maps with keyword keys where the key looks like one', () => {
    expect(writeEdn({ 'a/b': 1 })).toBe('{:a/b 1}');
    expect(writeEdn({ ':x': 1, name: 2, 'db/id': 3 })).toBe('{:x 1, :name 2, :db/id 3}');
    expect(writeEdn({ 'hello world': 1, '': 2 })).toBe('{"hello world" 1, "" 2}');
    expect(writeEdn({ a: undefined, b: 1 })).toBe('{:b 1}');
    expect(writeEdn({ find: [sym('?e')], where: [[sym('?e'), kw('a/b'), 1]] })).toBe('{:find [?e], :where [[?e :a/b 1]]}');
  });

  test('unwritable values', () => {
    expect(() => writeEdn(undefined)).toThrow(expect.objectContaining({ code: 'edn/unwritable' }));
    expect(() => writeEdn(() => 1)).toThrow(expect.objectContaining({ code: 'edn/unwritable' }));
    expect(() => writeEdn(new (class Foo {})())).toThrow(/Foo/);
    expect(() => writeEdn(new Date(NaN))).toThrow(expect.objectContaining({ code: 'edn/unwritable' }));
    expect(() => writeEdn(new Tagged('1x', 1))).toThrow(expect.objectContaining({ code: 'edn/unwritable' }));
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(() => writeEdn(cyclic)).toThrow(expect.objectContaining({ code: 'edn/cyclic' }));
    // Shared (acyclic) structure is fine.
    const shared = [1];
    expect(writeEdn([shared, shared])).toBe('[[1] [1]]');
  });
});

// ---------------------------------------------------------------------------------------------
// BigDec

describe('BigDec', () => {
  test('parse and toString keep the scale', () => {
    for (const [text, unscaled, scale, printed] of [
      ['1.50', 150n, 2, '1.50'],
      ['-1.5', -15n, 1, '-1.5'],
      ['0', 0n, 0, '0'],
      ['0.000', 0n, 3, '0.000'],
      ['.5', 5n, 1, '0.5'],
      ['1.', 1n, 0, '1'],
      ['1e3', 1n, -3, '1E+3'],
      ['1.5e-3', 15n, 4, '0.0015'],
      ['1e-7', 1n, 7, '1E-7'],
      ['123.456e2', 123456n, 1, '12345.6'],
      ['+7', 7n, 0, '7'],
    ] as const) {
      const d = BigDec.parse(text);
      expect([d.unscaled, d.scale, d.toString()]).toEqual([unscaled, scale, printed]);
      expect(BigDec.parse(d.toString()).identical(d)).toBe(true);
    }
    for (const bad of ['', '-', '.', 'e5', '1e', '1.2.3', 'NaN', '1M', ' 1', '1e99999999999']) {
      expect(() => BigDec.parse(bad)).toThrow(DatalithError);
    }
  });

  test('compare and equals are numeric; identical also compares the scale', () => {
    const a = BigDec.parse('1.5');
    const b = BigDec.parse('1.50');
    expect(a.compare(b)).toBe(0);
    expect(a.equals(b)).toBe(true);
    expect(a.identical(b)).toBe(false);
    expect(a.identical(BigDec.parse('1.5'))).toBe(true);
    expect(BigDec.parse('1.49').compare(a)).toBe(-1);
    expect(BigDec.parse('-2').compare(BigDec.parse('-1.9'))).toBe(-1);
    expect(BigDec.parse('0').compare(BigDec.parse('-0.0'))).toBe(0);
    expect(BigDec.parse('1e999999999').compare(BigDec.parse('1e999999998'))).toBe(1);
    expect(BigDec.parse('-1e-999999999').compare(BigDec.parse('-1e-999999998'))).toBe(1);
    expect(BigDec.parse('100').compare(BigDec.parse('1e2'))).toBe(0);
  });

  test('equal negative decimals compare as 0, not -0', () => {
    expect(Object.is(BigDec.parse('-0.001').compare(BigDec.parse('-0.0010')), 0)).toBe(true);
  });

  test('compare agrees with exact rational comparison', () => {
    const dec = fc.tuple(fc.bigInt({ min: -1_000_000n, max: 1_000_000n }), fc.integer({ min: -5, max: 5 })).map(([u, s]) => new BigDec(u, s));
    fc.assert(
      fc.property(dec, dec, (x, y) => {
        // x = ux / 10^sx; compare ux * 10^(S - sx) against uy * 10^(S - sy) with S = 10.
        const scaleTo = (d: BigDec): bigint => d.unscaled * 10n ** BigInt(10 - d.scale);
        const [a, b] = [scaleTo(x), scaleTo(y)];
        expect(x.compare(y)).toBe(a === b ? 0 : a < b ? -1 : 1);
      }),
      { numRuns: 500 },
    );
  });

  test('fromNumber uses the shortest decimal of the double', () => {
    expect(BigDec.fromNumber(0.1).toString()).toBe('0.1');
    expect(BigDec.fromNumber(-2).toString()).toBe('-2');
    expect(BigDec.fromNumber(1.5e-7).toString()).toBe('1.5E-7');
    expect(BigDec.fromNumber(-0).toString()).toBe('0');
    expect(BigDec.fromNumber(1e21).compare(BigDec.parse('1000000000000000000000'))).toBe(0);
    expect(BigDec.fromNumber(12.25).toNumber()).toBe(12.25);
    expect(() => BigDec.fromNumber(NaN)).toThrow(DatalithError);
    expect(() => BigDec.fromNumber(Infinity)).toThrow(DatalithError);
  });
});

// ---------------------------------------------------------------------------------------------
// properties

const isValid = (f: (s: string) => unknown) => (s: string): boolean => {
  try {
    f(s);
    return true;
  } catch {
    return false;
  }
};
const segment = fc.string({ unit: fc.constantFrom(...[...'abzXY019.*+!-_?$%&=<>:#\'é名😀', '\u00a0', '\ufeff', '\u200b']), minLength: 1, maxLength: 6 });
const symbolicText = fc.tuple(fc.option(segment, { nil: undefined }), segment).map(([ns, n]) => (ns === undefined ? n : `${ns}/${n}`));
const keywordArb = symbolicText.filter(isValid(kw)).map(kw);
const symbolArb = symbolicText.filter(isValid(sym)).map(sym);
const tagArb = symbolicText.filter((t) => /^[a-zA-Z]/.test(t) && t !== 'inst' && t !== 'uuid' && isValid(sym)(t));

const scalarArb: fc.Arbitrary<EdnValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt(),
  fc.double(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)) }), // lone surrogates too
  keywordArb,
  symbolArb,
  fc.date({ noInvalidDate: true }),
  fc.uuid().map((u) => new Uuid(u)),
  fc.tuple(fc.bigInt(), fc.integer({ min: -40, max: 40 })).map(([u, s]) => new BigDec(u, s)),
);

const { value: ednArb } = fc.letrec<{ value: EdnValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarArb,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(tie('value'), { maxLength: 5 }).map((xs) => new EdnList(xs)),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((es) => new Map(es)),
    fc.array(tie('value'), { maxLength: 4 }).map((xs) => new Set(xs)),
    fc.tuple(tagArb, tie('value')).map(([t, v]) => new Tagged(t, v)),
  ),
}));

/** EDN_FUZZ_FACTOR=20 npx jest test/engine/edn.test.ts for a longer fuzzing session. */
const FACTOR = Number(process.env.EDN_FUZZ_FACTOR ?? 1);

describe('properties', () => {
  test('readEdn(writeEdn(x)) equals x', () => {
    fc.assert(
      fc.property(ednArb, (x) => {
        const text = writeEdn(x);
        const back = readEdn(text, { maxDepth: 1000 });
        if (!ednEqual(back, x)) throw new Error(`round trip changed ${text} into ${writeEdn(back)}`);
      }),
      { numRuns: 500 * FACTOR },
    );
  });

  test('readEdnAll reads back a sequence of written values', () => {
    fc.assert(
      fc.property(fc.array(ednArb, { maxLength: 5 }), (xs) => {
        const text = xs.map(writeEdn).join('\n;; next\n');
        expect(ednEqual(readEdnAll(text, { maxDepth: 1000 }), xs)).toBe(true);
      }),
      { numRuns: 100 * FACTOR },
    );
  });

  test('random strings never crash the reader', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        readsOrRejects(s);
        readsOrRejects(s, true);
      }),
      { numRuns: 1000 * FACTOR },
    );
  });

  const soupArb = fc
    .array(
      fc.constantFrom(
        '(', ')', '[', ']', '{', '}', '#{', '#_', '#:a', '#::', '#inst', '#uuid', '#tag', '##', '##Inf', '##NaN', ':', ':a', '::a', ':a/b',
        '"', '"x"', '\\', '\\u', '\\u00', '\\n', '\\newline', '\\o7', 'nil', 'true', '1', '0', '-', '+', '0x', 'N', 'M', '.', 'e', '/', 'r',
        '36r', ' ', ',', ';', '\n', 'a', '?e', '"2020-01-01"', '"f81d4fae-7dec-11d0-a765-00a0c91e6bf6"', '"x\\"', '^', '@', '08', '1.5',
        '9007199254740993', 'é', '\u2028', '\uFEFF', '\ud800', '#<', '#"', '#(', "'",
      ),
      { maxLength: 25 },
    )
    .map((parts) => parts.join(''));

  test('EDN-ish token soup: rejected with a position, or read and re-written faithfully', () => {
    fc.assert(
      fc.property(soupArb, (s) => {
        const v = readsOrRejects(s) as EdnValue | undefined;
        if (v !== undefined || s.trim() === 'nil') {
          const again = readEdn(writeEdn(v ?? null));
          if (!ednEqual(again, v ?? null)) throw new Error(`${JSON.stringify(s)} did not survive a round trip`);
        }
        readsOrRejects(s, true);
      }),
      { numRuns: 3000 * FACTOR },
    );
  });

  test('mutated valid EDN never crashes the reader', () => {
    fc.assert(
      fc.property(ednArb, fc.nat(), fc.nat(5), fc.string({ maxLength: 3 }), (x, at, cut, insert) => {
        const text = writeEdn(x);
        const i = text.length === 0 ? 0 : at % text.length;
        readsOrRejects(text.slice(0, i) + insert + text.slice(i + cut));
        readsOrRejects(text.slice(0, i));
      }),
      { numRuns: 1000 * FACTOR },
    );
  });
});
