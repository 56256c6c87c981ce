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

  test('non-matching nested entities are removed; a many attribute stays as [] (docs: Empty Results)', () => {
    expect(pullSelector(db, '[:person/name {:person/child [:penguins]}]', id('petr'))).toEqual({
      'person/name': 'Petr',
      'person/child': [],
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
