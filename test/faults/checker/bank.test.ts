import fc from 'fast-check';
import { checkBank } from './bank';
import { Op } from './history';

let clock = 0;
const op = (process: number, type: Op['type'], f: string, value: unknown, extra: Partial<Op> = {}): Op => ({
  process,
  type,
  f,
  value,
  time: clock++,
  ...extra,
});
const read = (p: number, balances: Record<string, number | null>): Op[] => [op(p, 'invoke', 'read', null), op(p, 'ok', 'read', balances)];
const transfer = (p: number, from: string, to: string, amount: number, type: Op['type'] = 'ok'): Op[] => [
  op(p, 'invoke', 'transfer', { from, to, amount }),
  op(p, type, 'transfer', { from, to, amount }),
];

describe('bank checker', () => {
  const accounts = ['a', 'b', 'c'];

  test('constant total: valid', () => {
    const h = [
      ...read(0, { a: 10, b: 10, c: 10 }),
      ...transfer(1, 'a', 'b', 5),
      ...transfer(1, 'b', 'c', 50, 'fail'),
      ...read(0, { a: 5, b: 15, c: 10 }),
    ];
    const res = checkBank(h, { total: 30, accounts });
    expect(res).toMatchObject({ valid: true, errors: [], badReads: [] });
    expect(res.stats).toEqual({ reads: { ok: 2, fail: 0, info: 0 }, transfers: { ok: 1, fail: 1, info: 0 }, totals: [[30, 2]] });
  });

  test('a broken total is reported with the bad read', () => {
    const h = [...read(0, { a: 10, b: 10, c: 10 }), ...transfer(1, 'a', 'b', 5), ...read(0, { a: 5, b: 10, c: 10 })];
    const res = checkBank(h, { total: 30 });
    expect(res.valid).toBe(false);
    expect(res.errorTypes).toEqual({ 'wrong-total': 1 });
    expect(res.errors[0]).toMatchObject({ type: 'wrong-total', total: 25, expected: 30, op: { type: 'ok', value: { a: 5 } } });
    expect(res.badReads).toHaveLength(1);
    expect(res.stats.totals).toEqual([
      [30, 1],
      [25, 1],
    ]);
  });

  test('negative balances are errors unless allowed', () => {
    const h = read(0, { a: -5, b: 25, c: 10 });
    expect(checkBank(h, { total: 30 }).errors).toMatchObject([{ type: 'negative-value', account: 'a', balance: -5 }]);
    expect(checkBank(h, { total: 30, negativeBalances: true }).valid).toBe(true);
  });

  test('missing, unexpected and nil balances', () => {
    const h = [...read(0, { a: 10, b: null, d: 20 })];
    const res = checkBank(h, { total: 30, accounts });
    expect(res.errorTypes).toEqual({ 'nil-balance': 1, 'unexpected-key': 1, 'missing-key': 1 });
    expect(res.badReads).toHaveLength(1);
  });

  test('balances as a Map or entries; failed and info reads are ignored', () => {
    const h = [
      op(0, 'invoke', 'read', null),
      op(0, 'ok', 'read', new Map([['a', 30]])),
      op(1, 'invoke', 'read', null),
      op(1, 'ok', 'read', [['a', 30]]),
      op(2, 'invoke', 'read', null),
      op(2, 'info', 'read', null),
      op(3, 'invoke', 'read', null),
      op(3, 'fail', 'read', { a: 1 }),
    ];
    const res = checkBank(h, { total: 30 });
    expect(res.valid).toBe(true);
    expect(res.stats.reads).toEqual({ ok: 2, fail: 1, info: 1 });
  });

  test('no ok read: not valid', () => {
    expect(checkBank(transfer(0, 'a', 'b', 1), { total: 30 })).toMatchObject({ valid: false, error: 'no ok read' });
  });

  test('generated serial bank histories are valid; a read that skips half a transfer is caught', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('read' as const) }),
            fc.record({
              kind: fc.constant('transfer' as const),
              from: fc.constantFrom(...accounts),
              to: fc.constantFrom(...accounts),
              amount: fc.integer({ min: 1, max: 20 }),
              ok: fc.boolean(),
            }),
          ),
          { minLength: 1, maxLength: 60 },
        ),
        fc.nat(),
        (steps, pick) => {
          const bal: Record<string, number> = { a: 20, b: 20, c: 20 };
          const h: Op[] = [];
          const tornable: number[] = [];
          steps.forEach((s, i) => {
            if (s.kind === 'read') h.push(...read(i, { ...bal }));
            else {
              const ok = s.ok && s.from !== s.to && bal[s.from]! >= s.amount;
              if (ok) {
                bal[s.from]! -= s.amount;
                bal[s.to]! += s.amount;
                // A read between the debit and the credit of this transfer.
                tornable.push(h.length);
              }
              h.push(...transfer(i, s.from, s.to, s.amount, ok ? 'ok' : 'fail'));
            }
          });
          h.push(...read(999, { ...bal }));
          expect(checkBank(h, { total: 60, accounts }).valid).toBe(true);
          fc.pre(tornable.length > 0);
          const at = tornable[pick % tornable.length]!;
          const t = h[at]!.value as { from: string; to: string; amount: number };
          const torn = h.slice();
          // Reconstruct the balances just before the transfer, then apply only the debit.
          const before = { a: 20, b: 20, c: 20 } as Record<string, number>;
          for (const o of h.slice(0, at)) {
            if (o.f === 'transfer' && o.type === 'ok') {
              const v = o.value as { from: string; to: string; amount: number };
              before[v.from]! -= v.amount;
              before[v.to]! += v.amount;
            }
          }
          before[t.from]! -= t.amount;
          torn.splice(at, 0, ...read(500, before));
          const res = checkBank(torn, { total: 60, accounts });
          expect(res.valid).toBe(false);
          expect(res.errors).toMatchObject([{ type: 'wrong-total', total: 60 - t.amount }]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
