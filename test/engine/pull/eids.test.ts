import { parsePullPattern, pull, pullerFor, pullMany, pullManySelector, pullSelector } from '../../../services/engine/pull';
import { kw, readEdn } from '../../../services/engine/edn';
import { transact } from '../../../services/engine/transact';
import { fixture, thrown } from './fixtures';

const { db, id } = fixture();

describe('pull: entity identifiers', () => {
  test('an entity id', () => {
    expect(pullSelector(db, '[:person/name]', id('petr'))).toEqual({ 'person/name': 'Petr' });
  });

  test('a lookup ref on a unique identity or unique value attribute', () => {
    expect(pullSelector(db, '[:person/name :person/aka]', [':person/name', 'Petr'])).toEqual({ 'person/name': 'Petr', 'person/aka': ['Devil', 'Tupen'] });
    expect(pullSelector(db, '[:db/id]', ['person/email', 'petr@example.com'])).toEqual({ 'db/id': id('petr') });
    expect(pullSelector(db, '[:db/id]', readEdn('[:person/name "Petr"]'))).toEqual({ 'db/id': id('petr') });
  });

  test('an ident, as a keyword string or a Keyword', () => {
    const male = db.entid(':sex/male')!;
    expect(pullSelector(db, '[:db/id :db/ident]', ':sex/male')).toEqual({ 'db/id': male, 'db/ident': ':sex/male' });
    expect(pullSelector(db, '[:db/ident :person/_sex]', kw(':sex/male'))).toEqual({ 'db/ident': ':sex/male', 'person/_sex': [{ 'db/id': id('petr') }] });
  });

  test('a lookup ref or ident that names no entity pulls {} (Datomic Cloud never returns nil)', () => {
    expect(pullSelector(db, '[:person/name :person/aka]', [':person/name', 'NotInDatabase'])).toEqual({});
    expect(pullSelector(db, '[*]', [':person/name', 'No such name'])).toEqual({});
    expect(pullSelector(db, '[:db/id]', ':no/such-ident')).toEqual({});
  });

  test('a lookup ref on an attribute that is not unique is incorrect', () => {
    const e = thrown(() => pullSelector(db, '[*]', [':person/aka', 'Devil']));
    expect(e.category).toBe('incorrect');
    expect(e.message).toMatch(/:person\/aka/);
  });

  test('a lookup ref on an attribute that does not exist is incorrect', () => {
    const e = thrown(() => pullSelector(db, '[*]', [':no/attr', 1]));
    expect(e.category).toBe('incorrect');
    expect(e.message).toMatch(/:no\/attr/);
  });

  test('nil, negative, fractional and non-identifier eids are incorrect', () => {
    for (const bad of [null, undefined, -1, 1.5, { a: 1 }, 'Ivan', true]) {
      expect(thrown(() => pullSelector(db, '[*]', bad)).category).toBe('incorrect');
    }
    expect(thrown(() => pull(db, parsePullPattern('[*]'), -3)).category).toBe('incorrect');
  });

  test('pullMany keeps order and gives {} for entities nothing matches', () => {
    const p = parsePullPattern('[:person/aka]');
    expect(pullMany(db, p, [id('elizabeth'), id('petr'), id('eunan')])).toEqual([{}, { 'person/aka': ['Devil', 'Tupen'] }, {}]);
    expect(
      pullManySelector(db, '[:person/aka]', [
        [':person/name', 'Elizabeth'],
        [':person/name', 'Petr'],
        [':person/name', 'Eunan'],
        [':person/name', 'Rebecca'],
        [':person/name', 'Unknown'],
      ]),
    ).toEqual([{}, { 'person/aka': ['Devil', 'Tupen'] }, {}, {}, {}]);
    expect(pullMany(db, parsePullPattern('[:person/name]'), [id('petr'), id('elizabeth'), id('eunan'), id('rebecca')])).toEqual([
      { 'person/name': 'Petr' },
      { 'person/name': 'Elizabeth' },
      { 'person/name': 'Eunan' },
      { 'person/name': 'Rebecca' },
    ]);
  });

  test('pullerFor pulls entity after entity with one plan', () => {
    const pullOne = pullerFor(db, parsePullPattern('[:person/name {:person/father [:person/name]}]'));
    expect([id('david'), id('lucy'), id('matthew')].map(pullOne)).toEqual([
      { 'person/name': 'David', 'person/father': { 'person/name': 'Petr' } },
      { 'person/name': 'Lucy' },
      { 'person/name': 'Matthew', 'person/father': { 'person/name': 'Thomas' } },
    ]);
    expect(thrown(() => pullOne(-1)).category).toBe('incorrect');
  });

  test('pullMany with :db/id gives { db/id } even for entities without datoms', () => {
    expect(pullMany(db, parsePullPattern('[:db/id]'), [id('lucy'), 999_999])).toEqual([{ 'db/id': id('lucy') }, { 'db/id': 999_999 }]);
  });

  test('a parsed pattern is reused across database values, even when the schema changes', () => {
    const p = parsePullPattern('[:person/name :person/nick]');
    expect(pull(db, p, id('lucy'))).toEqual({ 'person/name': 'Lucy' });
    const withNick = transact(db, [{ ':db/ident': ':person/nick', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' }]).dbAfter;
    const nicked = transact(withNick, [[':db/add', id('lucy'), ':person/nick', 'Lu']]).dbAfter;
    expect(pull(nicked, p, id('lucy'))).toEqual({ 'person/name': 'Lucy', 'person/nick': 'Lu' });
    expect(pull(db, p, id('lucy'))).toEqual({ 'person/name': 'Lucy' });
  });
});
