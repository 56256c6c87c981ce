import { parsePullPattern, pull, pullSelector } from '../../../services/engine/pull';
import { transact } from '../../../services/engine/transact';
import { fixture } from './fixtures';

const f = fixture();
const { db, id } = f;

describe('pull: attribute names', () => {
  test('returns the named attributes, keyed without the colon', () => {
    expect(pullSelector(db, '[:person/name :person/aka]', id('petr'))).toEqual({
      'person/name': 'Petr',
      'person/aka': ['Devil', 'Tupen'],
    });
  });

  test('values keep their public forms: keywords, instants, doubles, bigints, tuples', () => {
    const r = pullSelector(db, '[:person/mood :person/born :person/height :person/wealth :person/point]', id('petr'));
    expect(r).toEqual({
      'person/mood': ':mood/happy',
      'person/born': new Date('1980-05-06T00:00:00.000Z'),
      'person/height': 1.82,
      'person/wealth': 18446744073709551616n,
      'person/point': [3, 'x'],
    });
    expect(r['person/born']).toBeInstanceOf(Date);
  });

  test('cardinality-many values are arrays, cardinality-one values are scalars', () => {
    const r = pullSelector(db, '[:person/aka :person/name]', id('petr'));
    expect(Array.isArray(r['person/aka'])).toBe(true);
    expect(typeof r['person/name']).toBe('string');
  });

  test(':db/id is the entity id', () => {
    expect(pullSelector(db, '[:person/name :person/father :db/id]', id('matthew'))).toEqual({
      'person/name': 'Matthew',
      'person/father': { 'db/id': id('thomas') },
      'db/id': id('matthew'),
    });
  });

  test('a reference without sub-pattern is { db/id }, with db/ident when the entity has one (Datomic Cloud)', () => {
    const r = pullSelector(db, '[:person/sex :person/father]', id('david'));
    expect(r).toEqual({ 'person/father': { 'db/id': id('petr') } });
    const male = db.entid(':sex/male')!;
    expect(pullSelector(db, '[:person/sex]', id('petr'))).toEqual({ 'person/sex': { 'db/id': male, 'db/ident': ':sex/male' } });
  });

  test('missing attributes are omitted, not nil', () => {
    expect(pullSelector(db, '[:person/name :person/aka :person/father]', id('lucy'))).toEqual({ 'person/name': 'Lucy' });
  });

  test('attributes not in the schema are omitted (docs: [:artist/name :died-in-1966?])', () => {
    expect(pullSelector(db, '[:person/name :died-in-1966?]', id('lucy'))).toEqual({ 'person/name': 'Lucy' });
  });

  test('no match is an empty map (docs: Empty Results)', () => {
    expect(pullSelector(db, '[:penguins]', id('petr'))).toEqual({});
    expect(pullSelector(db, '[:person/father]', id('petr'))).toEqual({});
  });

  test('an entity without datoms: {} for attributes, { db/id } for :db/id', () => {
    const nowhere = 999_999;
    expect(pullSelector(db, '[:person/name]', nowhere)).toEqual({});
    expect(pullSelector(db, '[:db/id :person/name]', nowhere)).toEqual({ 'db/id': nowhere });
  });

  test('JS data patterns: keywords as strings with or without the colon', () => {
    const want = { 'person/name': 'Petr', 'person/aka': ['Devil', 'Tupen'] };
    expect(pullSelector(db, [':person/name', ':person/aka'], id('petr'))).toEqual(want);
    expect(pullSelector(db, ['person/name', 'person/aka'], id('petr'))).toEqual(want);
  });

  test('the key is the attribute as written in the pattern', () => {
    expect(pullSelector(db, ['person/name'], id('lucy'))).toEqual({ 'person/name': 'Lucy' });
  });

  test('a later spec for the same key replaces an earlier one', () => {
    expect(pullSelector(db, '[[:person/aka :limit 1] :person/aka]', id('petr'))).toEqual({ 'person/aka': ['Devil', 'Tupen'] });
  });

  test('two specs of one attribute under different keys both apply', () => {
    expect(pullSelector(db, '[:person/aka [:person/aka :as "first" :limit 1]]', id('petr'))).toEqual({
      'person/aka': ['Devil', 'Tupen'],
      first: ['Devil'],
    });
  });

  test('pull honours asOf: the entity as it was', () => {
    const before = db.t;
    const later = transact(db, [
      [':db/add', id('lucy'), ':person/aka', 'Lu'],
      [':db/add', id('lucy'), ':person/name', 'Lucia'],
    ]).dbAfter;
    const p = parsePullPattern('[:person/name :person/aka]');
    expect(pull(later, p, id('lucy'))).toEqual({ 'person/name': 'Lucia', 'person/aka': ['Lu'] });
    expect(pull(later.asOf(before), p, id('lucy'))).toEqual({ 'person/name': 'Lucy' });
  });

  test('pull honours since: only datoms after the point', () => {
    const t0 = db.t;
    const later = transact(db, [[':db/add', id('lucy'), ':person/aka', 'Lu']]).dbAfter;
    expect(pullSelector(later.since(t0), '[:person/name :person/aka]', id('lucy'))).toEqual({ 'person/aka': ['Lu'] });
  });
});
