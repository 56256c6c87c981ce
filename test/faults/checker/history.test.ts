import { completions, HistoryError, HistoryRecorder, indexHistory, Op, pairHistory, Txn } from './history';

describe('history', () => {
  test('pairs invocations with completions per process; pending ops become info', () => {
    const h: Op[] = [
      { process: 0, type: 'invoke', f: 'txn', value: [['r', 'x', null]], time: 0 },
      { process: 1, type: 'invoke', f: 'txn', value: [['append', 'x', 1]], time: 1 },
      { process: 'nemesis', type: 'info', f: 'kill', value: 'n1', time: 2 },
      { process: 1, type: 'fail', f: 'txn', value: [['append', 'x', 1]], time: 3 },
      { process: 0, type: 'ok', f: 'txn', value: [['r', 'x', []]], time: 4 },
      { process: 2, type: 'invoke', f: 'txn', value: [['append', 'x', 2]], time: 5 },
      { process: 3, type: 'invoke', f: 'txn', value: [['append', 'x', 3]], time: 6 },
      { process: 3, type: 'info', f: 'txn', value: [['append', 'x', 3]], time: 7 },
    ];
    const { pairs, standalone } = pairHistory(h);
    expect(standalone.map((o) => o.f)).toEqual(['kill']);
    expect(pairs.map((p) => [p.process, p.type, p.invokeTime, p.completeTime])).toEqual([
      [0, 'ok', 0, 4],
      [1, 'fail', 1, 3],
      [2, 'info', 5, Infinity],
      [3, 'info', 6, Infinity],
    ]);
    expect(pairs[0]!.value).toEqual([['r', 'x', []]]);
    expect(pairs[2]!.completion).toBeUndefined();
    expect(completions(h).get(h[0]!)).toBe(h[4]);
    expect(indexHistory(h).map((o) => o.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test('malformed histories throw', () => {
    const inv: Op = { process: 0, type: 'invoke', f: 'txn', value: [], time: 0 };
    expect(() => pairHistory([inv, { ...inv, time: 1 }])).toThrow(HistoryError);
    expect(() => pairHistory([{ ...inv, type: 'ok' }])).toThrow(/no pending invocation/);
  });

  test('HistoryRecorder records with an injected clock and carries final/node to completions', () => {
    let t = 100;
    const rec = new HistoryRecorder<Txn>(() => t++);
    const a = rec.invoke(0, 'txn', [['r', 'x', null]], { final: true, node: 'n2' });
    const b = rec.invoke(1, 'txn', [['append', 'x', 1]]);
    rec.event('nemesis', 'pause', []);
    rec.ok(b);
    rec.ok(a, [['r', 'x', [1]]]);
    const c = rec.invoke(1, 'txn', [['append', 'x', 2]]);
    rec.info(c, new Error('timeout'));
    const h = rec.history();
    expect(h.map((o) => [o.index, o.time, o.type])).toEqual([
      [0, 100, 'invoke'],
      [1, 101, 'invoke'],
      [2, 102, 'info'],
      [3, 103, 'ok'],
      [4, 104, 'ok'],
      [5, 105, 'invoke'],
      [6, 106, 'info'],
    ]);
    expect(h[4]).toMatchObject({ final: true, node: 'n2', value: [['r', 'x', [1]]] });
    expect(h[6]!.error).toBeInstanceOf(Error);
    expect(pairHistory(h).pairs).toHaveLength(3);
  });
});
