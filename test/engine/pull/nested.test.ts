import { pullSelector } from '../../../services/engine/pull';
import { fixture } from './fixtures';

const { db, id } = fixture();

describe('pull: map specs (nesting)', () => {
  test('a cardinality-one reference yields a map', () => {
    expect(pullSelector(db, '[:person/name {:person/father [:person/name]}]', id('matthew'))).toEqual({
      'person/name': 'Matthew',
      'person/father': { 'person/name': 'Thomas' },
    });
  });

  test('a cardinality-many reference yields an array of maps', () => {
    expect(pullSelector(db, '[:person/name {:person/child [:person/name]}]', id('petr'))).toEqual({
      'person/name': 'Petr',
      'person/child': [{ 'person/name': 'David' }, { 'person/name': 'Thomas' }],
    });
  });

  test('map specs nest arbitrarily', () => {
    expect(pullSelector(db, '[{:person/child [:person/name {:person/father [:person/name :person/aka]}]}]', id('petr'))).toEqual({
      'person/child': [
        { 'person/name': 'David', 'person/father': { 'person/name': 'Petr', 'person/aka': ['Devil', 'Tupen'] } },
        { 'person/name': 'Thomas', 'person/father': { 'person/name': 'Petr', 'person/aka': ['Devil', 'Tupen'] } },
      ],
    });
  });

  test('a map spec with several entries', () => {
    expect(pullSelector(db, '[{:person/child [:db/id] :person/sex [:db/ident]}]', id('petr'))).toEqual({
      'person/child': [{ 'db/id': id('david') }, { 'db/id': id('thomas') }],
      'person/sex': { 'db/ident': ':sex/male' },
    });
  });

  test('a missing reference is omitted', () => {
    expect(pullSelector(db, '[:person/name {:person/father [:person/name]}]', id('petr'))).toEqual({ 'person/name': 'Petr' });
  });

  test('non-matching nested entities are removed, and with them the attribute (docs: Empty Results)', () => {
    // The docs' text says such results are "removed entirely from the return map" (their example
    // shows `[]`); Datomic Pro and DataScript leave the attribute out, and so does Datalith.
    expect(pullSelector(db, '[:person/name {:person/child [:penguins]}]', id('petr'))).toEqual({ 'person/name': 'Petr' });
    expect(pullSelector(db, '[:person/name {:person/_father [:penguins]}]', id('petr'))).toEqual({ 'person/name': 'Petr' });
  });

  test('only the nested entities that match remain', () => {
    expect(pullSelector(db, '[{:person/child [:person/_father]}]', id('petr'))).toEqual({
      'person/child': [{ 'person/_father': [{ 'db/id': id('matthew') }] }],
    });
  });

  test(':limit counts the nested entities kept', () => {
    expect(pullSelector(db, '[{[:person/child :limit 1] [:person/_father]}]', id('petr'))).toEqual({
      'person/child': [{ 'person/_father': [{ 'db/id': id('matthew') }] }],
    });
  });

  test('a non-matching cardinality-one nested entity is omitted', () => {
    expect(pullSelector(db, '[:person/name {:person/father [:penguins]}]', id('david'))).toEqual({ 'person/name': 'David' });
  });

  test('seen entities are tracked per branch, not across branches', () => {
    expect(pullSelector(db, '[{:person/child [:person/name]} {:person/_father [:person/name]}]', id('petr'))).toEqual({
      'person/child': [{ 'person/name': 'David' }, { 'person/name': 'Thomas' }],
      'person/_father': [{ 'person/name': 'David' }, { 'person/name': 'Thomas' }],
    });
  });

  test('JS data map specs: objects, Maps, and EDN text keys for attribute expressions', () => {
    const want = { 'person/child': [{ 'person/name': 'David' }] };
    expect(pullSelector(db, [{ ':person/child': [':person/name'] }], id('petr'))).toEqual({
      'person/child': [{ 'person/name': 'David' }, { 'person/name': 'Thomas' }],
    });
    expect(pullSelector(db, [new Map([[[':person/child', ':limit', 1], [':person/name']]])], id('petr'))).toEqual(want);
    expect(pullSelector(db, [{ '[:person/child :limit 1]': ['person/name'] }], id('petr'))).toEqual(want);
  });
});
