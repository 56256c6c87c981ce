import { pullSelector } from '../../../services/engine/pull';
import { transact } from '../../../services/engine/transact';
import { fixture } from './fixtures';

const { db, id } = fixture();

describe('pull: reverse references :ns/_attr', () => {
  test('navigates a reference backwards, as an array of { db/id }', () => {
    expect(pullSelector(db, '[:person/name :person/_child]', id('david'))).toEqual({
      'person/name': 'David',
      'person/_child': [{ 'db/id': id('petr') }],
    });
    expect(pullSelector(db, '[:person/name :person/_father]', id('petr'))).toEqual({
      'person/name': 'Petr',
      'person/_father': [{ 'db/id': id('david') }, { 'db/id': id('thomas') }],
    });
  });

  test('a reverse reference of a cardinality-one attribute is still a collection', () => {
    expect(pullSelector(db, '[:person/_father]', id('thomas'))).toEqual({ 'person/_father': [{ 'db/id': id('matthew') }] });
  });

  test('with a sub-pattern', () => {
    expect(pullSelector(db, '[:person/name {:person/_father [:person/name]}]', id('petr'))).toEqual({
      'person/name': 'Petr',
      'person/_father': [{ 'person/name': 'David' }, { 'person/name': 'Thomas' }],
    });
  });

  test('several reverse attributes', () => {
    expect(pullSelector(db, '[:person/name :person/_father :person/_child]', id('david'))).toEqual({
      'person/name': 'David',
      'person/_child': [{ 'db/id': id('petr') }],
    });
  });

  test('no referring entity: omitted', () => {
    expect(pullSelector(db, '[:person/name :person/_child]', id('lucy'))).toEqual({ 'person/name': 'Lucy' });
  });

  test('a reverse component reference is a single map (docs: Multiple Results)', () => {
    expect(pullSelector(db, '[:thing/name :thing/_part]', id('aa'))).toEqual({ 'thing/name': 'Part A.A', 'thing/_part': { 'db/id': id('a') } });
    expect(pullSelector(db, '[:thing/name {:thing/_part [:thing/name]}]', id('aa'))).toEqual({
      'thing/name': 'Part A.A',
      'thing/_part': { 'thing/name': 'Part A' },
    });
  });

  test('reverse component references nest (DataScript issue 430)', () => {
    const base = fixture().db;
    const schema = transact(base, [{ ':db/ident': ':n/ref', ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/one', ':db/isComponent': true }, { ':db/ident': ':n/name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' }]).dbAfter;
    const r = transact(schema, [{ ':db/id': 'one', ':n/name': '1', ':n/ref': { ':n/name': '2', ':n/ref': { ':n/name': '3' } } }]);
    expect(pullSelector(r.dbAfter, '[:n/name {:n/ref [:n/name {:n/ref [:n/name {:n/_ref [:n/name]}]}]}]', r.tempids['one'])).toEqual({
      'n/name': '1',
      'n/ref': { 'n/name': '2', 'n/ref': { 'n/name': '3', 'n/_ref': { 'n/name': '2' } } },
    });
  });

  test('reverse references and :limit', () => {
    expect(pullSelector(db, '[[:person/_father :limit 1]]', id('petr'))).toEqual({ 'person/_father': [{ 'db/id': id('david') }] });
    expect(pullSelector(db, '[{[:person/_father :limit 1] [:person/name]}]', id('petr'))).toEqual({ 'person/_father': [{ 'person/name': 'David' }] });
  });

  test('reverse references with :as and :default', () => {
    expect(pullSelector(db, '[[:person/_father :as "kids"]]', id('petr'))).toEqual({ kids: [{ 'db/id': id('david') }, { 'db/id': id('thomas') }] });
    expect(pullSelector(db, '[[:person/_father :default []]]', id('lucy'))).toEqual({ 'person/_father': [] });
  });

  test('a reverse name of an attribute that does not exist is omitted', () => {
    expect(pullSelector(db, '[:person/name :person/_nothing]', id('lucy'))).toEqual({ 'person/name': 'Lucy' });
  });

  test('an attribute whose name starts with _ is a forward attribute (docs: Reverse Lookup)', () => {
    const s = transact(db, [{ ':db/ident': ':person/_note', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' }]).dbAfter;
    const d = transact(s, [[':db/add', id('lucy'), ':person/_note', 'hi']]).dbAfter;
    expect(pullSelector(d, '[:person/_note]', id('lucy'))).toEqual({ 'person/_note': 'hi' });
  });

  test('in JS data', () => {
    expect(pullSelector(db, ['person/_child'], id('david'))).toEqual({ 'person/_child': [{ 'db/id': id('petr') }] });
  });
});
