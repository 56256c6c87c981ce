import { pullSelector } from '../../../services/engine/pull';
import { transact } from '../../../services/engine/transact';
import { fixture } from './fixtures';

const { db, id } = fixture();

const parts = (x: (t: string) => number) => ({
  'thing/name': 'Part A',
  'thing/part': [
    {
      'db/id': x('aa'),
      'thing/name': 'Part A.A',
      'thing/part': [
        {
          'db/id': x('aaa'),
          'thing/name': 'Part A.A.A',
          'thing/part': [
            { 'db/id': x('aaaa'), 'thing/name': 'Part A.A.A.A' },
            { 'db/id': x('aaab'), 'thing/name': 'Part A.A.A.B' },
          ],
        },
      ],
    },
    {
      'db/id': x('ab'),
      'thing/name': 'Part A.B',
      'thing/part': [
        {
          'db/id': x('aba'),
          'thing/name': 'Part A.B.A',
          'thing/part': [
            { 'db/id': x('abaa'), 'thing/name': 'Part A.B.A.A' },
            { 'db/id': x('abab'), 'thing/name': 'Part A.B.A.B' },
          ],
        },
      ],
    },
  ],
});

describe('pull: component attributes', () => {
  test('a named component attribute pulls the components whole, recursively (docs: Component Defaults)', () => {
    expect(pullSelector(db, '[:thing/name :thing/part]', id('a'))).toEqual(parts(id));
  });

  test('the wildcard expands components too', () => {
    expect(pullSelector(db, '[*]', id('a'))).toEqual({ 'db/id': id('a'), ...parts(id) });
  });

  test('a map spec overrides component expansion', () => {
    const want = { 'thing/name': 'Part A', 'thing/part': [{ 'thing/name': 'Part A.A' }, { 'thing/name': 'Part A.B' }] };
    expect(pullSelector(db, '[:thing/name {:thing/part [:thing/name]}]', id('a'))).toEqual(want);
    expect(pullSelector(db, '[:thing/name {:thing/part 1}]', id('a'))).toEqual(want);
  });

  test('a cardinality-one component', () => {
    const d = transact(db, [{ ':db/id': id('a'), ':thing/spec': { ':thing/name': 'Spec A', ':thing/part': [{ ':thing/name': 'Spec A.1' }] } }]).dbAfter;
    const r = pullSelector(d, '[:thing/spec]', id('a'));
    expect(r).toEqual({
      'thing/spec': {
        'db/id': expect.any(Number),
        'thing/name': 'Spec A',
        'thing/part': [{ 'db/id': expect.any(Number), 'thing/name': 'Spec A.1' }],
      },
    });
  });

  test('like explicit recursion, component expansion does not loop', () => {
    const d = transact(db, [[':db/add', id('aaa'), ':thing/part', id('a')]]).dbAfter;
    const r = pullSelector(d, '[:thing/name :thing/part]', id('a')) as { 'thing/part': Array<Record<string, unknown>> };
    const aaa = (r['thing/part'][0]!['thing/part'] as Array<Record<string, unknown>>)[0]!;
    const looped = (aaa['thing/part'] as Array<Record<string, unknown>>).find((x) => x['db/id'] === id('a'))!;
    // Part A itself is the root, not yet seen: it is expanded once more; its own parts were seen.
    expect(looped['thing/name']).toBe('Part A');
    expect(looped['thing/part']).toEqual([
      { 'db/id': id('aa') },
      {
        'db/id': id('ab'),
        'thing/name': 'Part A.B',
        'thing/part': [
          {
            'db/id': id('aba'),
            'thing/name': 'Part A.B.A',
            'thing/part': [
              { 'db/id': id('abaa'), 'thing/name': 'Part A.B.A.A' },
              { 'db/id': id('abab'), 'thing/name': 'Part A.B.A.B' },
            ],
          },
        ],
      },
    ]);
  });

  test('reverse recursion over a component attribute (DataScript issue 411)', () => {
    expect(pullSelector(db, '[:thing/name {:thing/_part ...}]', id('aaab'))).toEqual({
      'thing/name': 'Part A.A.A.B',
      'thing/_part': { 'thing/name': 'Part A.A.A', 'thing/_part': { 'thing/name': 'Part A.A', 'thing/_part': { 'thing/name': 'Part A' } } },
    });
    expect(pullSelector(db, '[:thing/name {:thing/_part 2}]', id('aaab'))).toEqual({
      'thing/name': 'Part A.A.A.B',
      'thing/_part': { 'thing/name': 'Part A.A.A', 'thing/_part': { 'thing/name': 'Part A.A' } },
    });
  });
});
