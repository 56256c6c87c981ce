import fc from 'fast-check';
import { Op } from './history';
import { checkUnique } from './unique';

let clock = 0;
const op = (process: number | string, type: Op['type'], f: string, value: unknown, extra: Partial<Op> = {}): Op => ({
  process,
  type,
  f,
  value,
  time: clock++,
  ...extra,
});
const write = (p: number, v: number, type: Op['type'] = 'ok'): Op[] => [op(p, 'invoke', 'write', v), op(p, type, 'write', v)];
const read = (p: number | string, values: number[], extra: Partial<Op> = {}): Op[] => [
  op(p, 'invoke', 'read', null, extra),
  op(p, 'ok', 'read', values, extra),
];

describe('unique-writes checker', () => {
  test('every acknowledged write exactly once: valid', () => {
    const h = [...write(0, 1), ...write(1, 2), ...write(2, 3, 'fail'), ...write(3, 4, 'info'), ...read(9, [2, 1])];
    const res = checkUnique(h);
    expect(res).toMatchObject({ valid: true, lost: [], duplicated: [], aborted: [], unexpected: [] });
    expect(res.stats).toMatchObject({ writes: { ok: 2, fail: 1, info: 1 }, finalReads: 1, finalSize: 2, recovered: 0 });
  });

  test('indeterminate writes may appear (once)', () => {
    const h = [...write(0, 1), ...write(3, 4, 'info'), ...read(9, [1, 4])];
    expect(checkUnique(h)).toMatchObject({ valid: true, stats: { recovered: 1 } });
    const twice = [...write(0, 1), ...write(3, 4, 'info'), ...read(9, [1, 4, 4])];
    expect(checkUnique(twice)).toMatchObject({ valid: false, duplicated: [{ value: 4, count: 2 }] });
  });

  test('lost and duplicated acknowledged writes are reported', () => {
    const h = [...write(0, 1), ...write(1, 2), ...write(2, 3), ...read(9, [1, 3, 3])];
    const res = checkUnique(h);
    expect(res.valid).toBe(false);
    expect(res.lost).toMatchObject([{ value: 2, op: { process: 1, type: 'ok' }, read: { process: 9 } }]);
    expect(res.duplicated).toMatchObject([{ value: 3, count: 2 }]);
  });

  test('failed writes and values nobody wrote must not appear', () => {
    const h = [...write(0, 1), ...write(1, 2, 'fail'), ...read(9, [1, 2, 77])];
    const res = checkUnique(h);
    expect(res.aborted).toMatchObject([{ value: 2, op: { type: 'fail' } }]);
    expect(res.unexpected).toMatchObject([{ value: 77 }]);
    expect(res.valid).toBe(false);
  });

  test('final reads: flagged ones win; writes acknowledged after the final read began may be missing', () => {
    const h: Op[] = [
      ...write(0, 1),
      op(9, 'invoke', 'read', null, { final: true }),
      op(1, 'invoke', 'write', 2),
      op(1, 'ok', 'write', 2),
      op(9, 'ok', 'read', [1], { final: true }),
      ...read(8, []), // a later but non-final read (e.g. a stale node) is not held to completeness
    ];
    const res = checkUnique(h);
    expect(res).toMatchObject({ valid: true, stats: { finalReads: 1, concurrent: 1 } });
  });

  test('without flags the last ok read is the final read', () => {
    const h = [...write(0, 1), ...read(9, []), ...read(9, [1])];
    expect(checkUnique(h).valid).toBe(true);
    const h2 = [...write(0, 1), ...read(9, [1]), ...read(9, [])];
    expect(checkUnique(h2).lost).toHaveLength(1);
  });

  test('no ok read: not valid', () => {
    expect(checkUnique(write(0, 1))).toMatchObject({ valid: false, error: 'no ok read' });
  });

  test('generated histories: a faithful set is valid, dropping or duplicating an acked write is caught', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom<'ok' | 'fail' | 'info'>('ok', 'ok', 'fail', 'info'), { minLength: 1, maxLength: 80 }),
        fc.array(fc.boolean(), { minLength: 80, maxLength: 80 }),
        fc.nat(),
        (outcomes, applied, pick) => {
          const h: Op[] = [];
          const present: number[] = [];
          const acked: number[] = [];
          outcomes.forEach((t, i) => {
            h.push(...write(i, i, t));
            if (t === 'ok') acked.push(i);
            if (t === 'ok' || (t === 'info' && applied[i])) present.push(i);
          });
          expect(checkUnique([...h, ...read('final', present, { final: true })]).valid).toBe(true);
          fc.pre(acked.length > 0);
          const v = acked[pick % acked.length]!;
          const dropped = checkUnique([...h, ...read('final', present.filter((x) => x !== v), { final: true })]);
          expect(dropped.lost.map((l) => l.value)).toEqual([v]);
          const dup = checkUnique([...h, ...read('final', [...present, v], { final: true })]);
          expect(dup.duplicated.map((d) => d.value)).toEqual([v]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
