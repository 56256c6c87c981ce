import { pullSelector } from '../../../services/engine/pull';
import { fixture } from './fixtures';

const { db, id } = fixture();

describe('pull: wildcard *', () => {
  test('pulls every attribute and the entity id', () => {
    expect(pullSelector(db, '[*]', id('david'))).toEqual({
      'db/id': id('david'),
      'person/name': 'David',
      'person/father': { 'db/id': id('petr') },
    });
  });

  test('cardinality-many attributes are arrays; non-component refs are { db/id }', () => {
    const r = pullSelector(db, '[*]', id('petr'));
    expect(r['person/aka']).toEqual(['Devil', 'Tupen']);
    expect(r['person/child']).toEqual([{ 'db/id': id('david') }, { 'db/id': id('thomas') }]);
    expect(r['person/sex']).toEqual({ 'db/id': db.entid(':sex/male'), 'db/ident': ':sex/male' });
  });

  test('is combined with named attributes and reverse attributes', () => {
    expect(pullSelector(db, '[* :person/_child]', id('david'))).toEqual({
      'db/id': id('david'),
      'person/name': 'David',
      'person/father': { 'db/id': id('petr') },
      'person/_child': [{ 'db/id': id('petr') }],
    });
    const all = pullSelector(db, '[*]', id('petr'));
    expect(pullSelector(db, '[:person/name *]', id('petr'))).toEqual(all);
    expect(pullSelector(db, '[:person/aka :person/child :person/name *]', id('petr'))).toEqual(all);
  });

  test('options on named attributes apply next to the wildcard', () => {
    const r = pullSelector(db, '[[:person/aka :as :alias] [:person/name :as :first-name] *]', id('petr'));
    expect(r['alias']).toEqual(['Devil', 'Tupen']);
    expect(r['first-name']).toBe('Petr');
    expect(r['db/id']).toBe(id('petr'));
  });

  test('a map spec overrides how the wildcard pulls that attribute (docs: wildcard + map spec)', () => {
    expect(pullSelector(db, '[* {:person/child [:person/name]}]', id('petr'))['person/child']).toEqual([
      { 'person/name': 'David' },
      { 'person/name': 'Thomas' },
    ]);
  });

  test('wildcard with recursion', () => {
    expect(pullSelector(db, '[* {:person/child ...}]', id('petr'))['person/child']).toEqual([
      { 'db/id': id('david'), 'person/name': 'David', 'person/father': { 'db/id': id('petr') } },
      { 'db/id': id('thomas'), 'person/name': 'Thomas', 'person/father': { 'db/id': id('petr') } },
    ]);
  });

  test('wildcard on an entity without datoms is { db/id }', () => {
    expect(pullSelector(db, '[*]', 999_999)).toEqual({ 'db/id': 999_999 });
  });

  test('wildcard on a schema entity shows its attributes, enum refs with their idents', () => {
    expect(pullSelector(db, '[*]', ':person/aka')).toEqual({
      'db/id': db.entid(':person/aka'),
      'db/ident': ':person/aka',
      'db/valueType': { 'db/id': db.entid(':db.type/string'), 'db/ident': ':db.type/string' },
      'db/cardinality': { 'db/id': db.entid(':db.cardinality/many'), 'db/ident': ':db.cardinality/many' },
    });
  });

  test('the wildcard in JS data is "*"', () => {
    expect(pullSelector(db, ['*'], id('lucy'))).toEqual({ 'db/id': id('lucy'), 'person/name': 'Lucy' });
  });
});
