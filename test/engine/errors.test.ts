/**
 * Bad transaction data fails with anomaly category `incorrect`, a `code`, and a message naming the
 * attribute and the value (docs: error handling, schema reference "Notes on Value Types"); a failed
 * transaction changes nothing.
 */
import { BigDec } from '../../services/engine/bigdec';
import { kw } from '../../services/engine/edn';
import { dbWith, fails, tx, val, datomSet, type Db } from './helpers';

const TYPES = `[
 {:db/ident :v/string :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :v/long :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :v/double :db/valueType :db.type/double :db/cardinality :db.cardinality/one}
 {:db/ident :v/float :db/valueType :db.type/float :db/cardinality :db.cardinality/one}
 {:db/ident :v/boolean :db/valueType :db.type/boolean :db/cardinality :db.cardinality/one}
 {:db/ident :v/instant :db/valueType :db.type/instant :db/cardinality :db.cardinality/one}
 {:db/ident :v/keyword :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}
 {:db/ident :v/symbol :db/valueType :db.type/symbol :db/cardinality :db.cardinality/one}
 {:db/ident :v/uuid :db/valueType :db.type/uuid :db/cardinality :db.cardinality/one}
 {:db/ident :v/uri :db/valueType :db.type/uri :db/cardinality :db.cardinality/one}
 {:db/ident :v/bigint :db/valueType :db.type/bigint :db/cardinality :db.cardinality/one}
 {:db/ident :v/bigdec :db/valueType :db.type/bigdec :db/cardinality :db.cardinality/one}
 {:db/ident :v/ref :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}
 {:db/ident :v/id :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
]`;

function typed(): { db: Db; e: number } {
  const r = tx(dbWith(TYPES), [{ 'db/id': 'e', 'v/id': 'e1', 'v/long': 1 }]);
  return { db: r.dbAfter, e: r.tempids['e']! };
}

/** Every failure must leave the database value exactly as it was. */
function failsCleanly(db: Db, data: unknown): ReturnType<typeof fails> {
  const before = datomSet(db.datoms('eavt'));
  const err = fails(() => tx(db, data));
  expect(datomSet(db.datoms('eavt'))).toEqual(before);
  return err;
}

describe('values of the wrong type', () => {
  test.each<[string, unknown]>([
    [':v/string', 42],
    [':v/long', 'forty-two'],
    [':v/long', 1.5],
    [':v/double', 'x'],
    [':v/boolean', 'true'],
    [':v/instant', '2020-01-01'],
    [':v/keyword', 'no-colon'],
    [':v/uuid', 'not-a-uuid'],
    [':v/uri', 'not a uri'],
    [':v/bigint', 1.5],
    [':v/ref', true],
    [':v/ref', 1.5],
  ])('%s refuses %p: incorrect, wrong-type-for-attribute, naming attribute and value', (attr, value) => {
    const { db, e } = typed();
    const err = failsCleanly(db, [[':db/add', e, attr, value]]);
    expect(err.category).toBe('incorrect');
    expect(err.message).toContain(attr);
    if (attr !== ':v/ref') {
      expect(err.code).toBe('db.error/wrong-type-for-attribute');
      expect(err.message).toContain(String(value));
    }
  });

  test('every value type accepts its public JS form', () => {
    const { db, e } = typed();
    const u = '6f1c3a7e-9ad5-11e7-abc4-cec278b6b50a';
    const r = tx(db, [{
      'db/id': e, 'v/string': 's', 'v/long': 9007199254740993n, 'v/double': 1.5, 'v/float': 2, 'v/boolean': false,
      'v/instant': new Date(5), 'v/keyword': ':a/b', 'v/symbol': 'my.ns/sym', 'v/uuid': u.toUpperCase(),
      'v/uri': 'https://www.datomic.com/details.html', 'v/bigint': 12345678901234567890123n, 'v/bigdec': BigDec.parse('1.50'), 'v/ref': e,
    }]);
    const d = r.dbAfter;
    expect(val(d, e, ':v/long')).toBe(9007199254740993n);
    expect(val(d, e, ':v/boolean')).toBe(false);
    expect(val(d, e, ':v/instant')).toEqual(new Date(5));
    expect(val(d, e, ':v/keyword')).toBe(':a/b');
    expect(val(d, e, ':v/uuid')).toBe(u);
    expect(String(val(d, e, ':v/bigdec'))).toBe('1.50');
    expect(val(d, e, ':v/bigint')).toBe(12345678901234567890123n);
  });

  test('EDN forms of values are accepted where Datomic writes them', () => {
    const { db, e } = typed();
    const r = tx(db, `[{:db/id ${e} :v/keyword :yellow :v/bigint 7N :v/bigdec 1.0M :v/instant #inst "2017-09-16T11:43:32.450-00:00"
                       :v/uuid #uuid "f40e770e-9ad5-11e7-abc4-cec278b6b50a" :v/symbol Foo}]`);
    expect(val(r.dbAfter, e, ':v/keyword')).toBe(':yellow');
    expect(val(r.dbAfter, e, ':v/bigint')).toBe(7n);
    expect((val(r.dbAfter, e, ':v/instant') as Date).toISOString()).toBe('2017-09-16T11:43:32.450Z');
    expect(val(r.dbAfter, e, ':v/uuid')).toBe('f40e770e-9ad5-11e7-abc4-cec278b6b50a');
    expect(val(r.dbAfter, e, ':v/symbol')).toBe('Foo');
  });

  test('a long outside 64 bits is refused', () => {
    const { db, e } = typed();
    const err = failsCleanly(db, [[':db/add', e, ':v/long', 2n ** 63n]]);
    expect(err.category).toBe('incorrect');
    expect(err.message).toContain(':v/long');
  });
});

describe('nil', () => {
  test('nil is not a value: incorrect, nil-value, naming the attribute (list and map forms)', () => {
    const { db, e } = typed();
    for (const data of [[[':db/add', e, ':v/string', null]], [{ 'db/id': e, 'v/string': null }], `[[:db/add ${e} :v/long nil]]`]) {
      const err = failsCleanly(db, data);
      expect(err.category).toBe('incorrect');
      expect(err.code).toBe('db.error/nil-value');
      expect(err.message).toMatch(/:v\/(string|long)/);
    }
  });

  test('nil for a ref attribute', () => {
    const { db, e } = typed();
    const err = failsCleanly(db, [[':db/add', e, ':v/ref', null]]);
    expect(err.category).toBe('incorrect');
    expect(err.message).toContain(':v/ref');
  });
});

describe('strings over 4,096 characters', () => {
  test('4,096 characters are fine, 4,097 are refused naming the attribute', () => {
    const { db, e } = typed();
    expect(val(tx(db, [[':db/add', e, ':v/string', 'x'.repeat(4096)]]).dbAfter, e, ':v/string')).toHaveLength(4096);
    const err = failsCleanly(db, [[':db/add', e, ':v/string', 'x'.repeat(4097)]]);
    expect(err.category).toBe('incorrect');
    expect(err.code).toBe('db.error/string-too-long');
    expect(err.message).toContain(':v/string');
    expect(err.message).toContain('4097');
  });
});

describe('unknown attributes', () => {
  test('in list and map forms: incorrect, not-an-attribute, naming it', () => {
    const { db, e } = typed();
    for (const data of [[[':db/add', e, ':no/such', 1]], [{ 'db/id': e, 'no/such': 1 }], [[':db/retract', e, ':no/such']]]) {
      const err = failsCleanly(db, data);
      expect(err.category).toBe('incorrect');
      expect(err.code).toBe('db.error/not-an-attribute');
      expect(err.message).toContain(':no/such');
    }
  });

  test('an attribute cannot be used in the transaction that defines it', () => {
    const err = failsCleanly(dbWith(TYPES), [
      { 'db/ident': ':new/attr', 'db/valueType': ':db.type/string', 'db/cardinality': ':db.cardinality/one' },
      { 'new/attr': 'x' },
    ]);
    expect(err.category).toBe('incorrect');
    expect(err.message).toContain(':new/attr');
  });

  test('an entity that is not an attribute cannot be used as one', () => {
    const { db, e } = typed();
    const err = failsCleanly(tx(db, `[{:db/ident :color/red}]`).dbAfter, [[':db/add', e, ':color/red', 1]]);
    expect(err.category).toBe('incorrect');
    expect(err.message).toContain(':color/red');
  });
});

describe('invalid entity ids', () => {
  test.each<[string, unknown]>([
    ['a negative number', -1],
    ['a fraction', 1.5],
    ['an id never allocated', 999_999_999],
    ['a boolean', true],
  ])('%s in entity position: incorrect, naming the id and the attribute', (_what, id) => {
    const { db } = typed();
    const err = failsCleanly(db, [[':db/add', id, ':v/string', 'x']]);
    expect(err.category).toBe('incorrect');
    expect(err.code).toBe('db.error/invalid-entity-id');
    expect(err.message).toContain(String(id));
    expect(err.message).toContain(':v/string');
  });

  test('an unknown ident as an entity', () => {
    const { db } = typed();
    const err = failsCleanly(db, [[':db/add', ':no/such-ident', ':v/string', 'x']]);
    expect(err.category).toBe('incorrect');
    expect(err.code).toBe('db.error/not-an-entity');
    expect(err.message).toContain(':no/such-ident');
  });

  test('an unknown ident as the value of a ref attribute (an enum that does not exist)', () => {
    const { db, e } = typed();
    const err = failsCleanly(db, [[':db/add', e, ':v/ref', ':color/ultraviolet']]);
    expect(err.category).toBe('incorrect');
    expect(err.code).toBe('db.error/not-an-entity');
    expect(err.message).toContain(':color/ultraviolet');
  });

  test('an invalid entity id in the value position of a ref', () => {
    const { db, e } = typed();
    const err = failsCleanly(db, [[':db/add', e, ':v/ref', 999_999_999]]);
    expect(err.category).toBe('incorrect');
    expect(err.message).toContain('999999999');
    expect(err.message).toContain(':v/ref');
  });
});

describe('missing lookup refs', () => {
  test('incorrect, not-an-entity, "Unable to resolve entity" with the lookup ref', () => {
    const { db, e } = typed();
    for (const data of [
      [[':db/add', [':v/id', 'missing'], ':v/string', 'x']],
      [[':db/add', e, ':v/ref', [':v/id', 'missing']]],
      [{ 'db/id': [':v/id', 'missing'], 'v/string': 'x' }],
    ]) {
      const err = failsCleanly(db, data);
      expect(err.category).toBe('incorrect');
      expect(err.code).toBe('db.error/not-an-entity');
      expect(err.message).toContain(':v/id');
      expect(err.message).toContain('missing');
    }
  });
});

describe('malformed transaction data', () => {
  test('not a list of forms', () => {
    const { db } = typed();
    for (const data of [42, 'not edn [', { 'v/string': 'x' }, null]) {
      expect(failsCleanly(db, data).category).toBe('incorrect');
    }
  });

  test('malformed EDN reports its position', () => {
    const err = failsCleanly(dbWith(TYPES), '[[:db/add "x" :v/string "y"]');
    expect(err.category).toBe('incorrect');
    expect(JSON.stringify(err.data)).toMatch(/line|offset|column/);
  });

  test('list forms with the wrong number of arguments', () => {
    const { db, e } = typed();
    for (const data of [[[':db/add', e, ':v/string']], [[':db/add', e, ':v/string', 'a', 'b']], [[':db/retract', e]], [[':db/cas', e, ':v/long', 1]], [[':db/retractEntity']]]) {
      const err = failsCleanly(db, data);
      expect(err.category).toBe('incorrect');
    }
  });

  test('an unknown operation names it', () => {
    const { db, e } = typed();
    const err = failsCleanly(db, [[':db/frobnicate', e]]);
    expect(err.category).toBe('incorrect');
    expect(err.message).toContain(':db/frobnicate');
  });

  test('a form that is neither a list nor a map', () => {
    const { db } = typed();
    expect(failsCleanly(db, ['just a string']).category).toBe('incorrect');
    expect(failsCleanly(db, [kw(':a/keyword')]).category).toBe('incorrect');
  });
});

describe('a failed transaction changes nothing', () => {
  test('a later failing form aborts earlier valid ones; the next transaction gets the next t', () => {
    const { db, e } = typed();
    failsCleanly(db, [[':db/add', e, ':v/string', 'ok'], { 'v/id': 'new' }, [':db/add', e, ':v/long', 'bad']]);
    expect(val(db, e, ':v/string')).toBeUndefined();
    expect(db.entid([':v/id', 'new'])).toBeUndefined();
    const r = tx(db, [[':db/add', e, ':v/string', 'fine']]);
    expect(r.dbAfter.t).toBe(db.t + 1);
  });

  test('errors carry data naming the attribute', () => {
    const { db, e } = typed();
    const err = failsCleanly(db, [[':db/add', e, ':v/long', 'x']]);
    expect(err.data).toMatchObject({ attribute: ':v/long' });
    expect(err.toJSON()).toEqual({ category: 'incorrect', message: err.message, code: 'db.error/wrong-type-for-attribute' });
  });
});
