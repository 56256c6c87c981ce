import { DEFAULT_LIMIT, parsePullPattern, pullSelector, type PullAttrSpec } from '../../../services/engine/pull';
import { EdnList, kw, readEdn, sym } from '../../../services/engine/edn';
import { fixture, thrown } from './fixtures';

const spec = (over: Partial<PullAttrSpec> & { name: string }): PullAttrSpec => ({
  key: over.name.slice(1),
  limit: undefined,
  hasDefault: false,
  defaultValue: undefined,
  sub: null,
  recursion: null,
  ...over,
});

describe('parsePullPattern: the grammar', () => {
  test('attribute names, the wildcard and :db/id', () => {
    const p = parsePullPattern('[:person/name * :db/id :person/_friends]');
    expect(p.wildcard).toBe(true);
    expect(p.attrs).toEqual([spec({ name: ':person/name' }), spec({ name: ':db/id' }), spec({ name: ':person/_friends' })]);
  });

  test('EDN text, EDN data and JS data give the same pattern', () => {
    const text = '[:a/b [:a/c :as "x" :limit 5 :default 0] {:a/d [:a/e] :a/f ...}]';
    const fromText = parsePullPattern(text);
    expect(parsePullPattern(readEdn(text))).toEqual(fromText);
    expect(parsePullPattern([':a/b', [':a/c', ':as', 'x', ':limit', 5, ':default', 0], { ':a/d': [':a/e'], ':a/f': '...' }])).toEqual(fromText);
    expect(parsePullPattern(['a/b', ['a/c', 'as', 'x', 'limit', 5, 'default', 0], { 'a/d': ['a/e'], 'a/f': '...' }])).toEqual(fromText);
    expect(parsePullPattern([kw(':a/b'), [kw(':a/c'), kw(':as'), 'x', kw(':limit'), 5, kw(':default'), 0], new Map<unknown, unknown>([[kw(':a/d'), [kw(':a/e')]], [kw(':a/f'), sym('...')]])])).toEqual(fromText);
  });

  test('attribute options', () => {
    expect(parsePullPattern('[[:a/b :as :c/d :limit nil :default "x"]]').attrs).toEqual([
      spec({ name: ':a/b', key: 'c/d', limit: Infinity, hasDefault: true, defaultValue: 'x' }),
    ]);
    expect(parsePullPattern('[(:a/b :limit 3)]').attrs).toEqual([spec({ name: ':a/b', limit: 3 })]);
    expect(parsePullPattern('[[:a/b :as 7]]').attrs[0]!.key).toBe('7');
    expect(DEFAULT_LIMIT).toBe(1000);
  });

  test('legacy limit and default expressions, with symbols or strings', () => {
    expect(parsePullPattern('[(limit :a/b 10) (default :a/c 0)]').attrs).toEqual([
      spec({ name: ':a/b', limit: 10 }),
      spec({ name: ':a/c', hasDefault: true, defaultValue: 0 }),
    ]);
    expect(parsePullPattern('[("limit" :a/b nil) ["default" :a/c :x/y]]').attrs).toEqual([
      spec({ name: ':a/b', limit: Infinity }),
      spec({ name: ':a/c', hasDefault: true, defaultValue: ':x/y' }),
    ]);
  });

  test('map specs: sub-patterns, recursion limits, attribute expressions as keys', () => {
    const p = parsePullPattern('[{:a/b [:a/c] :a/d 3 :a/e ... [:a/f :limit 2] [:a/g] (limit :a/h 4) [:a/i]}]');
    expect(p.attrs.map((a) => [a.name, a.recursion, a.limit, a.sub?.attrs.map((x) => x.name) ?? null])).toEqual([
      [':a/b', null, undefined, [':a/c']],
      [':a/d', 3, undefined, null],
      [':a/e', Infinity, undefined, null],
      [':a/f', null, 2, [':a/g']],
      [':a/h', null, 4, [':a/i']],
    ]);
  });

  test('unnamespaced attribute names', () => {
    expect(parsePullPattern('[:name {:follows ...}]').attrs.map((a) => a.key)).toEqual(['name', 'follows']);
  });

  test('a parsed pattern passes through', () => {
    const p = parsePullPattern('[:a/b]');
    expect(parsePullPattern(p)).toBe(p);
  });

  test('lists may stand for vectors', () => {
    expect(parsePullPattern(new EdnList([kw(':a/b')])).attrs).toEqual([spec({ name: ':a/b' })]);
  });
});

describe('parsePullPattern: errors name the offending part', () => {
  const bad = (selector: unknown, code: string, mention: RegExp | string): void => {
    const e = thrown(() => parsePullPattern(selector));
    expect(e.category).toBe('incorrect');
    expect(e.code).toBe(code);
    expect(e.message).toMatch(mention);
  };

  test('not a pattern', () => {
    bad(':a/b', 'pull/invalid-pattern', ':a/b');
    bad('{:a/b [:c/d]}', 'pull/invalid-pattern', '{:a/b [:c/d]}');
    bad(42, 'pull/invalid-pattern', '42');
    bad('[]', 'pull/invalid-pattern', 'at least one');
  });

  test('malformed EDN', () => {
    const e = thrown(() => parsePullPattern('[:a/b'));
    expect(e.category).toBe('incorrect');
  });

  test('attribute specs that are none of the grammar', () => {
    bad('[42]', 'pull/invalid-attr-spec', '42');
    bad('[:a/b #{:c}]', 'pull/invalid-attr-spec', '#{:c}');
    bad([':a/b', true], 'pull/invalid-attr-spec', 'true');
    bad('[[42 :as "x"]]', 'pull/invalid-attr-spec', '[42 :as "x"]');
    bad('[[:a/b]]', 'pull/invalid-attr-spec', '[:a/b]');
    bad('[[:a/b :as]]', 'pull/invalid-attr-spec', '[:a/b :as]');
    bad(['a b'], 'pull/invalid-attr-name', 'a b');
  });

  test('unknown options and bad option values', () => {
    bad('[[:a/b :sort :asc]]', 'pull/invalid-option', ':sort');
    bad('[[:a/b :limit 0]]', 'pull/invalid-limit', '0');
    bad('[[:a/b :limit -1]]', 'pull/invalid-limit', '-1');
    bad('[[:a/b :limit "5"]]', 'pull/invalid-limit', '"5"');
    bad('[(limit :a/b 1.5)]', 'pull/invalid-limit', '1.5');
    bad('[(limit :a/b)]', 'pull/invalid-attr-spec', '(limit :a/b)');
    bad('[(default :a/b)]', 'pull/invalid-attr-spec', '(default :a/b)');
    bad('[[:a/b :as [1]]]', 'pull/invalid-option', '[:a/b :as [1]]');
  });

  test(':xform is unsupported', () => {
    const e = thrown(() => parsePullPattern('[[:a/b :xform str]]'));
    expect(e.category).toBe('unsupported');
    expect(e.code).toBe('pull/xform-unsupported');
    expect(e.message).toMatch(':xform');
  });

  test('map specs', () => {
    bad('[{:a/b 0}]', 'pull/invalid-recursion-limit', ':a/b');
    bad('[{:a/b -2}]', 'pull/invalid-recursion-limit', '-2');
    bad('[{:a/b 1.5}]', 'pull/invalid-recursion-limit', '1.5');
    bad('[{:a/b :c/d}]', 'pull/invalid-map-spec', ':c/d');
    bad('[{:a/b "x"}]', 'pull/invalid-map-spec', '"x"');
    bad('[{42 [:a/b]}]', 'pull/invalid-map-spec', '42');
    bad('[{:db/id [:a/b]}]', 'pull/invalid-map-spec', ':db/id');
    bad('[{:a/b []}]', 'pull/invalid-pattern', 'at least one');
  });

  test('too deep nesting', () => {
    let text = '[:a/b]';
    for (let i = 0; i < 150; i++) text = `[{:a/b ${text}}]`;
    const e = thrown(() => parsePullPattern(text));
    expect(e.category).toBe('incorrect');
  });
});

describe('pull: schema-dependent errors', () => {
  const { db, id } = fixture();

  test('a sub-pattern or recursion on a non-reference attribute is incorrect', () => {
    for (const p of ['[{:person/name [:a/b]}]', '[{:person/name ...}]', '[{:person/name 2}]']) {
      const e = thrown(() => pullSelector(db, p, id('petr')));
      expect(e.category).toBe('incorrect');
      expect(e.code).toBe('pull/not-a-ref');
      expect(e.message).toMatch(':person/name');
    }
  });

  test('a reverse lookup of a non-reference attribute is incorrect', () => {
    const e = thrown(() => pullSelector(db, '[:person/_name]', id('petr')));
    expect(e.code).toBe('pull/not-a-ref');
    expect(e.message).toMatch(':person/_name');
  });

  test('pull on a history database value is incorrect', () => {
    const e = thrown(() => pullSelector(db.history(), '[*]', id('petr')));
    expect(e.category).toBe('incorrect');
    expect(e.code).toBe('pull/history-db');
  });
});
