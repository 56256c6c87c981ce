import { pullSelector } from '../../../services/engine/pull';
import { fixture } from './fixtures';

// Kerri has 2,000 aliases and four friends (DataScript's limit test data).
const { db, id } = fixture((id) => [
  ...Array.from({ length: 2000 }, (_, i) => [':db/add', id('kerri'), ':person/aka', `aka-${String(i).padStart(4, '0')}`]),
  ...['elizabeth', 'matthew', 'eunan', 'rebecca'].map((f) => [':db/add', id('lucy'), ':person/friend', id(f)]),
]);

const count = (x: unknown): number => (x as unknown[]).length;

describe('pull: :limit', () => {
  test('a cardinality-many attribute returns at most 1000 values by default', () => {
    expect(count(pullSelector(db, '[:person/aka]', id('kerri'))['person/aka'])).toBe(1000);
    expect(count(pullSelector(db, '[*]', id('kerri'))['person/aka'])).toBe(1000);
  });

  test('an explicit limit reduces or raises the default', () => {
    expect(count(pullSelector(db, '[[:person/aka :limit 500]]', id('kerri'))['person/aka'])).toBe(500);
    expect(count(pullSelector(db, '[[:person/aka :limit 1500]]', id('kerri'))['person/aka'])).toBe(1500);
  });

  test(':limit nil returns every value', () => {
    expect(count(pullSelector(db, '[[:person/aka :limit nil]]', id('kerri'))['person/aka'])).toBe(2000);
    expect(count(pullSelector(db, [[':person/aka', ':limit', null]], id('kerri'))['person/aka'])).toBe(2000);
  });

  test('the first values in index order are kept', () => {
    expect(pullSelector(db, '[[:person/aka :limit 3]]', id('kerri'))).toEqual({ 'person/aka': ['aka-0000', 'aka-0001', 'aka-0002'] });
  });

  test('legacy (limit attr n) expression', () => {
    expect(count(pullSelector(db, '[(limit :person/aka 500)]', id('kerri'))['person/aka'])).toBe(500);
    expect(count(pullSelector(db, '[(limit :person/aka nil)]', id('kerri'))['person/aka'])).toBe(2000);
    expect(count(pullSelector(db, '[["limit" :person/aka 7]]', id('kerri'))['person/aka'])).toBe(7);
    expect(count(pullSelector(db, [['limit', ':person/aka', 9]], id('kerri'))['person/aka'])).toBe(9);
  });

  test('limits as map spec keys (docs: :limit inside a map specification)', () => {
    expect(pullSelector(db, '[:person/name {[:person/friend :limit 2] [:person/name]}]', id('lucy'))).toEqual({
      'person/name': 'Lucy',
      'person/friend': [{ 'person/name': 'Elizabeth' }, { 'person/name': 'Matthew' }],
    });
    expect(pullSelector(db, '[:person/name {(limit :person/friend 2) [:person/name]}]', id('lucy'))).toEqual({
      'person/name': 'Lucy',
      'person/friend': [{ 'person/name': 'Elizabeth' }, { 'person/name': 'Matthew' }],
    });
  });

  test('attribute options may be written as a list', () => {
    expect(pullSelector(db, '[(:person/aka :limit 2 :as "a")]', id('kerri'))).toEqual({ a: ['aka-0000', 'aka-0001'] });
    expect(pullSelector(db, '[{(:person/friend :as "f" :limit 1) [:person/name]}]', id('lucy'))).toEqual({ f: [{ 'person/name': 'Elizabeth' }] });
  });
});

describe('pull: :as', () => {
  test('renames the key: strings as they are, keywords without the colon', () => {
    expect(pullSelector(db, '[[:person/name :as "Name"] [:person/aka :as :alias]]', id('petr'))).toEqual({
      Name: 'Petr',
      alias: ['Devil', 'Tupen'],
    });
    expect(pullSelector(db, '[[:person/name :as :the/name]]', id('petr'))).toEqual({ 'the/name': 'Petr' });
  });

  test('on :db/id, refs and map specs', () => {
    expect(pullSelector(db, '[[:db/id :as "id"] [:person/father :as "dad"]]', id('david'))).toEqual({ id: id('david'), dad: { 'db/id': id('petr') } });
    expect(pullSelector(db, '[{[:person/father :as "dad"] [:person/name]}]', id('david'))).toEqual({ dad: { 'person/name': 'Petr' } });
  });

  test('in JS data', () => {
    expect(pullSelector(db, [[':person/name', ':as', 'Name']], id('petr'))).toEqual({ Name: 'Petr' });
    expect(pullSelector(db, [['person/name', 'as', 'Name']], id('petr'))).toEqual({ Name: 'Petr' });
  });
});

describe('pull: :default', () => {
  test('replaces a missing value (docs: [:artist/endYear :default 0])', () => {
    expect(pullSelector(db, '[:person/name [:person/father :default 0]]', id('lucy'))).toEqual({ 'person/name': 'Lucy', 'person/father': 0 });
  });

  test('need not have the attribute\'s type, and may be false or nil-like values', () => {
    expect(pullSelector(db, '[[:person/height :default "N/A"]]', id('lucy'))).toEqual({ 'person/height': 'N/A' });
    expect(pullSelector(db, '[[:person/height :default false]]', id('lucy'))).toEqual({ 'person/height': false });
  });

  test('EDN defaults become public JS values', () => {
    expect(pullSelector(db, '[[:person/mood :default :mood/none] [:person/aka :default ["x" :y]]]', id('lucy'))).toEqual({
      'person/mood': ':mood/none',
      'person/aka': ['x', ':y'],
    });
  });

  test('applies to attributes the schema does not have', () => {
    expect(pullSelector(db, '[[:foo :default "bar"]]', id('petr'))).toEqual({ foo: 'bar' });
  });

  test('does not override values', () => {
    const p = '[[:person/name :default "[name]"] [:person/aka :default "[aka]"] {[:person/child :default "[child]"] ...}]';
    expect(pullSelector(db, p, id('petr'))).toEqual({
      'person/name': 'Petr',
      'person/aka': ['Devil', 'Tupen'],
      'person/child': [
        { 'person/name': 'David', 'person/aka': '[aka]', 'person/child': '[child]' },
        { 'person/name': 'Thomas', 'person/aka': '[aka]', 'person/child': '[child]' },
      ],
    });
  });

  test('with :as, and on references and reverse references', () => {
    expect(pullSelector(db, '[[:foo :as :bar :default false]]', id('petr'))).toEqual({ bar: false });
    expect(pullSelector(db, '[:db/id [:person/child :default 1]]', id('david'))).toEqual({ 'db/id': id('david'), 'person/child': 1 });
    expect(pullSelector(db, '[:db/id [:person/_child :default 2]]', id('petr'))).toEqual({ 'db/id': id('petr'), 'person/_child': 2 });
  });

  test('legacy (default attr value) expression', () => {
    expect(pullSelector(db, '[:person/name (default :person/father "none")]', id('lucy'))).toEqual({ 'person/name': 'Lucy', 'person/father': 'none' });
    expect(pullSelector(db, [['default', ':person/father', 'none']], id('lucy'))).toEqual({ 'person/father': 'none' });
  });

  test('all options together', () => {
    expect(pullSelector(db, '[[:x :as "Name" :default "Nothing"] [:person/aka :as "a" :limit 1 :default []]]', id('petr'))).toEqual({
      Name: 'Nothing',
      a: ['Devil'],
    });
  });

  test('an entity without datoms still gets its defaults', () => {
    expect(pullSelector(db, '[[:person/name :default "?"]]', 999_999)).toEqual({ 'person/name': '?' });
  });
});
