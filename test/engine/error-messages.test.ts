/**
 * Every error message that shows a value shows it as EDN (issue 12, item 9): keywords as
 * `:p/id`, not as the JSON of the Keyword object; strings quoted with EDN escapes; bigints as
 * `12N`; instants as `#inst "…"`; tuples and lookup refs as vectors.
 */
import { readEdn, printEdn } from '../../services/engine/edn';
import { describeValue } from '../../services/engine/errors';
import { fromWire } from '../../services/engine/wire';
import { q } from '../../services/engine/query';
import { transact } from '../../services/engine/transact';
import { dbWith, fails } from './helpers';

const SCHEMA = `[
 {:db/ident :p/id    :db/valueType :db.type/long    :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
 {:db/ident :p/name  :db/valueType :db.type/string  :db/cardinality :db.cardinality/one :db/unique :db.unique/value}
 {:db/ident :p/big   :db/valueType :db.type/bigint  :db/cardinality :db.cardinality/one}
 {:db/ident :p/born  :db/valueType :db.type/instant :db/cardinality :db.cardinality/one}
 {:db/ident :p/kind  :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}
 {:db/ident :p/pair  :db/valueType :db.type/tuple   :db/tupleTypes [:db.type/keyword :db.type/string] :db/cardinality :db.cardinality/one :db/unique :db.unique/value}
]`;
const make = () => {
  const r = transact(dbWith(SCHEMA), [{ 'p/id': 1, 'p/name': 'say "hi"', 'p/big': 12345678901234567890n, 'p/born': new Date(Date.UTC(2020, 0, 1)), 'p/kind': ':k/a', 'p/pair': [':k/b', 'x "y"'] }]);
  return { db: r.dbAfter, e: r.txData.find((d) => d.e < 1_000_000)!.e };
};

const base = () => make().db;

/** No message shows a Keyword (or any object) as JSON. */
const NO_JSON = /\{"|"ns"|"fqn"/;

describe('lookup refs', () => {
  test('an unresolved lookup ref in EDN reads as EDN', () => {
    const e = fails(() => transact(base(), '[[:db/add [:p/id 999999] :p/name "x"]]'));
    expect(e.message).toBe('Unable to resolve entity: [:p/id 999999]');
    expect(e.data['entity']).toBe('[:p/id 999999]');
  });

  test('in JS data the keyword string of a lookup ref is shown as the keyword it stands for', () => {
    expect(fails(() => transact(base(), [[':db/add', [':p/id', 999999], ':p/name', 'x']])).message).toBe('Unable to resolve entity: [:p/id 999999]');
  });

  test('an unknown attribute in a query', () => {
    const e = fails(() => q('[:find ?n :where [?e :p/nope ?n]]', [base()]));
    expect(e.message).toBe('Unable to resolve entity: :p/nope in data pattern [?e :p/nope ?n]');
  });
});

describe('values', () => {
  test('cas: expected and found values, keywords and strings with quotes', () => {
    const { db, e: p } = make();
    const kind = fails(() => transact(db, '[[:db/cas [:p/id 1] :p/kind :k/z :k/c]]'));
    expect(kind.message).toBe(`Compare failed: :p/kind of entity ${p} expected :k/z but found :k/a`);
    const name = fails(() => transact(db, [[':db/cas', [':p/id', 1], ':p/name', 'a \\ b', 'c']]));
    expect(name.message).toBe(`Compare failed: :p/name of entity ${p} expected "a \\\\ b" but found "say \\"hi\\""`);
    expect(name.data).toMatchObject({ expected: '"a \\\\ b"', found: '"say \\"hi\\""' });
  });

  test('bigints and instants', () => {
    const { db, e: p } = make();
    expect(fails(() => transact(db, '[[:db/cas [:p/id 1] :p/big 1N 2N]]')).message).toBe(`Compare failed: :p/big of entity ${p} expected 1N but found 12345678901234567890N`);
    expect(fails(() => transact(db, '[[:db/cas [:p/id 1] :p/born #inst "2021-01-01" #inst "2022-01-01"]]')).message)
      .toBe(`Compare failed: :p/born of entity ${p} expected #inst "2021-01-01T00:00:00.000Z" but found #inst "2020-01-01T00:00:00.000Z"`);
  });

  test('unique conflicts show the value as EDN: a string with quotes, a tuple', () => {
    const { db, e: p } = make();
    expect(fails(() => transact(db, [{ 'p/id': 2, 'p/name': 'say "hi"' }])).message)
      .toBe(`Unique conflict: :p/name "say \\"hi\\"" asserted for entity ${p + 1} already belongs to entity ${p}`);
    const tuple = fails(() => transact(db, '[{:p/id 3 :p/pair [:k/b "x \\"y\\""]}]'));
    expect(tuple.message).toBe(`Unique conflict: :p/pair [:k/b "x \\"y\\""] asserted for entity ${p + 1} already belongs to entity ${p}`);
    expect(tuple.data['value']).toBe('[:k/b "x \\"y\\""]');
  });

  test('a wrong tuple, an invalid entity, a bad transaction form', () => {
    const db = base();
    expect(fails(() => transact(db, '[{:p/id 3 :p/pair :k/b}]')).message).toBe('Value :k/b is not a valid tuple for attribute :p/pair');
    expect(fails(() => transact(db, '[[:db/add {:a 1} :p/name "x"]]')).message).toMatch(/^Invalid entity identifier \{:a 1\}/);
    expect(fails(() => transact(db, '[[:db/add 1 :p/name]]')).message).toBe(':db/add takes an entity, an attribute and a value: [:db/add 1 :p/name]');
    expect(fails(() => transact(db, '[[:db/add "x" :p/big 1.5]]')).message).not.toMatch(NO_JSON);
  });

  test('tempids are shown as EDN strings', () => {
    expect(fails(() => transact(dbWith('[{:db/ident :p/ref :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}]'), [[':db/add', 'x', ':p/ref', 'only "a" value'], [':db/add', 'x', ':p/ref', 'only "a" value']])).message)
      .toBe('Tempid "only \\"a\\" value" is used only as a value in the transaction, never as an entity');
  });

  test('malformed wire values', () => {
    expect(fails(() => fromWire({ '#bigint': 'x"1' })).message).toBe('Malformed wire value: #bigint "x\\"1"');
  });

  test('query functions', () => {
    const e = fails(() => q('[:find ?x :where [(+ :k/a 1) ?x]]', []));
    expect(e.message).toContain(':k/a');
    expect(e.message).not.toMatch(NO_JSON);
  });
});

describe('the printer', () => {
  test('is EDN, never throws and never grows past its budget', () => {
    expect(describeValue(readEdn('{:a [1 2N 1.5M #uuid "00000000-0000-0000-0000-000000000000"] :b #{nil}}')))
      .toBe('{:a [1 2N 1.5M #uuid "00000000-0000-0000-0000-000000000000"], :b #{nil}}');
    expect(describeValue({ 'p/id': 1, 'not a keyword': 'x' })).toBe('{:p/id 1, "not a keyword" "x"}');
    expect(describeValue(':not a keyword')).toBe('":not a keyword"');
    expect(describeValue(new Date(NaN))).toBe('#inst "invalid"');
    const cyclic: unknown[] = [1];
    cyclic.push(cyclic);
    expect(describeValue(cyclic)).toBe('[1 …]');
    expect(describeValue(() => 1)).toBe('#object[function]');
    const long = describeValue(Array.from({ length: 1_000_000 }, (_, i) => i));
    expect(long).toHaveLength(120);
    expect(long.endsWith('...')).toBe(true);
    expect(printEdn('x'.repeat(50), 20)).toBe(`"${'x'.repeat(16)}...`);
  });
});
