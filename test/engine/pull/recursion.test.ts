import { pullSelector } from '../../../services/engine/pull';
import { emptyDb } from '../../../services/engine/db';
import { transact } from '../../../services/engine/transact';
import { fixture } from './fixtures';

// DataScript's recursion data: friends 4→5→6→7→8 (Lucy, Elizabeth, Matthew, Eunan, Kerri), enemies 4→6→8, 5→7→4.
const base = fixture((id) => [
  [':db/add', id('lucy'), ':person/friend', id('elizabeth')],
  [':db/add', id('elizabeth'), ':person/friend', id('matthew')],
  [':db/add', id('matthew'), ':person/friend', id('eunan')],
  [':db/add', id('eunan'), ':person/friend', id('kerri')],
  [':db/add', id('lucy'), ':person/enemy', id('matthew')],
  [':db/add', id('elizabeth'), ':person/enemy', id('eunan')],
  [':db/add', id('matthew'), ':person/enemy', id('kerri')],
  [':db/add', id('eunan'), ':person/enemy', id('lucy')],
]);
const { db, id } = base;

function person(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { 'db/id': id(name.toLowerCase()), 'person/name': name, ...extra };
}

describe('pull: recursion', () => {
  test('unbounded recursion with ...', () => {
    expect(pullSelector(db, '[:db/id :person/name {:person/friend ...}]', id('lucy'))).toEqual(
      person('Lucy', { 'person/friend': [person('Elizabeth', { 'person/friend': [person('Matthew', { 'person/friend': [person('Eunan', { 'person/friend': [person('Kerri')] })] })] })] }),
    );
  });

  test('a recursion limit bounds the depth', () => {
    expect(pullSelector(db, '[:person/name {:person/friend 2}]', id('lucy'))).toEqual({
      'person/name': 'Lucy',
      'person/friend': [{ 'person/name': 'Elizabeth', 'person/friend': [{ 'person/name': 'Matthew' }] }],
    });
    expect(pullSelector(db, '[:person/name {:person/friend 1}]', id('lucy'))).toEqual({
      'person/name': 'Lucy',
      'person/friend': [{ 'person/name': 'Elizabeth' }],
    });
  });

  test('several recursion specs in one pattern count their depths apart (DataScript test-pull-recursion)', () => {
    const r = pullSelector(db, '[:db/id :person/name {:person/friend 2 :person/enemy 2}]', id('lucy'));
    expect(r).toEqual(
      person('Lucy', {
        'person/friend': [
          person('Elizabeth', {
            'person/friend': [person('Matthew', { 'person/enemy': [person('Kerri')] })],
            'person/enemy': [
              person('Eunan', {
                'person/friend': [person('Kerri')],
                'person/enemy': [person('Lucy', { 'person/friend': [{ 'db/id': id('elizabeth') }] })],
              }),
            ],
          }),
        ],
        'person/enemy': [
          person('Matthew', {
            'person/friend': [
              person('Eunan', {
                'person/friend': [person('Kerri')],
                'person/enemy': [
                  person('Lucy', {
                    'person/enemy': [{ 'db/id': id('matthew') }],
                    'person/friend': [person('Elizabeth', { 'person/enemy': [{ 'db/id': id('eunan') }], 'person/friend': [{ 'db/id': id('matthew') }] })],
                  }),
                ],
              }),
            ],
            'person/enemy': [person('Kerri')],
          }),
        ],
      }),
    );
  });

  test('reverse recursion', () => {
    expect(pullSelector(db, '[:db/id {:person/_friend ...}]', id('kerri'))).toEqual({
      'db/id': id('kerri'),
      'person/_friend': [{ 'db/id': id('eunan'), 'person/_friend': [{ 'db/id': id('matthew'), 'person/_friend': [{ 'db/id': id('elizabeth'), 'person/_friend': [{ 'db/id': id('lucy') }] }] }] }],
    });
    expect(pullSelector(db, '[:db/id {:person/_friend 2}]', id('kerri'))).toEqual({
      'db/id': id('kerri'),
      'person/_friend': [{ 'db/id': id('eunan'), 'person/_friend': [{ 'db/id': id('matthew') }] }],
    });
  });

  test('an entity already seen on the path is returned as { db/id } (docs: cycles)', () => {
    const cyclic = transact(db, [[':db/add', id('kerri'), ':person/friend', id('lucy')]]).dbAfter;
    const r = pullSelector(cyclic, '[:db/id :person/name {:person/friend ...}]', id('lucy'));
    // Lucy is the root, not on the recursion path yet: she is pulled once more, then Elizabeth is seen.
    const lucyAgain = person('Lucy', { 'person/friend': [{ 'db/id': id('elizabeth') }] });
    expect(r).toEqual(
      person('Lucy', {
        'person/friend': [person('Elizabeth', { 'person/friend': [person('Matthew', { 'person/friend': [person('Eunan', { 'person/friend': [person('Kerri', { 'person/friend': [lucyAgain] })] })] })] })],
      }),
    );
  });

  test('self references terminate', () => {
    const self = transact(db, [[':db/add', id('rebecca'), ':person/friend', id('rebecca')]]).dbAfter;
    expect(pullSelector(self, '[:person/name {:person/friend ...}]', id('rebecca'))).toEqual({
      'person/name': 'Rebecca',
      'person/friend': [{ 'person/name': 'Rebecca', 'person/friend': [{ 'db/id': id('rebecca') }] }],
    });
  });

  test('dual recursion through cardinality-one refs (DataScript test-dual-recursion)', () => {
    const schema = transact(emptyDb(), [
      { ':db/ident': ':r/friend', ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/one' },
      { ':db/ident': ':r/enemy', ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/one' },
    ]).dbAfter;
    const rep = transact(schema, [
      { ':db/id': '1', ':r/friend': '2' },
      { ':db/id': '2', ':r/enemy': '3' },
      { ':db/id': '3', ':r/friend': '4' },
      { ':db/id': '4', ':r/enemy': '5' },
      { ':db/id': '5', ':r/friend': '6' },
      { ':db/id': '6', ':r/enemy': '7' },
      { ':db/id': '7', ':db/doc': 'seven' },
    ]);
    const e = (t: string): number => rep.tempids[t]!;
    const d = rep.dbAfter;
    expect(pullSelector(d, '[:db/id {:r/friend ...}]', e('1'))).toEqual({ 'db/id': e('1'), 'r/friend': { 'db/id': e('2') } });
    expect(pullSelector(d, '[:db/id {:r/friend 1 :r/enemy 1}]', e('1'))).toEqual({ 'db/id': e('1'), 'r/friend': { 'db/id': e('2'), 'r/enemy': { 'db/id': e('3') } } });
    expect(pullSelector(d, '[:db/id {:r/friend 2 :r/enemy 1}]', e('1'))).toEqual({
      'db/id': e('1'),
      'r/friend': { 'db/id': e('2'), 'r/enemy': { 'db/id': e('3'), 'r/friend': { 'db/id': e('4') } } },
    });
    expect(pullSelector(d, '[:db/id {:r/friend 2 :r/enemy 2}]', e('1'))).toEqual({
      'db/id': e('1'),
      'r/friend': { 'db/id': e('2'), 'r/enemy': { 'db/id': e('3'), 'r/friend': { 'db/id': e('4'), 'r/enemy': { 'db/id': e('5') } } } },
    });
  });

  test('recursion inside a nested pattern recurses that pattern', () => {
    expect(pullSelector(db, '[:person/name {:person/enemy [:person/name {:person/friend 1}]}]', id('lucy'))).toEqual({
      'person/name': 'Lucy',
      'person/enemy': [{ 'person/name': 'Matthew', 'person/friend': [{ 'person/name': 'Eunan' }] }],
    });
  });

  test('deep recursion does not overflow the stack (a chain of 5,000)', () => {
    const schema = transact(emptyDb(), [
      { ':db/ident': ':c/next', ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/one' },
      { ':db/ident': ':c/n', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/one' },
    ]).dbAfter;
    const n = 5000;
    const rep = transact(schema, Array.from({ length: n }, (_, i) => ({ ':db/id': `c${i}`, ':c/n': i, ...(i + 1 < n ? { ':c/next': `c${i + 1}` } : {}) })));
    let x = pullSelector(rep.dbAfter, '[:c/n {:c/next ...}]', rep.tempids['c0']) as Record<string, unknown>;
    let depth = 0;
    while (x['c/next'] !== undefined) {
      x = x['c/next'] as Record<string, unknown>;
      depth++;
    }
    expect(depth).toBe(n - 1);
    expect(x['c/n']).toBe(n - 1);
  });

  test('the benchmark tree: [:name {:follows ...}] reaches every node', () => {
    const schema = transact(emptyDb(), [
      { ':db/ident': ':name', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/one' },
      { ':db/ident': ':follows', ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many' },
    ]).dbAfter;
    const tx: unknown[] = [];
    const grow = (k: number, depth: number): void => {
      const kids = depth > 0 ? [0, 1, 2, 3, 4].map((i) => k * 5 + i) : [];
      tx.push({ ':db/id': String(k), ':name': `n${k}`, ...(kids.length ? { ':follows': kids.map(String) } : {}) });
      for (const c of kids) grow(c, depth - 1);
    };
    grow(1, 4);
    const rep = transact(schema, tx);
    const count = (x: Record<string, unknown>): number =>
      1 + ((x['follows'] as Array<Record<string, unknown>> | undefined) ?? []).reduce((s, y) => s + count(y), 0);
    expect(count(pullSelector(rep.dbAfter, '[:name {:follows ...}]', rep.tempids['1']))).toBe(781);
  });
});
