import { emptyDb } from '../../../services/engine/db';
import { transact } from '../../../services/engine/transact';
import { q } from '../../../services/engine/query';

describe('history and time', () => {
  const s = transact(emptyDb(), '[{:db/ident :acct/id :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity} {:db/ident :acct/balance :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]').dbAfter;
  const d1 = transact(s, '[{:acct/id 1 :acct/balance 100}]').dbAfter;
  const d2 = transact(d1, '[{:acct/id 1 :acct/balance 80}]').dbAfter;
  const d3 = transact(d2, '[{:acct/id 1 :acct/balance 50}]').dbAfter;

  test('5-position patterns over a history value', () => {
    const h = d3.history();
    const rows = q('[:find ?v ?op :where [?e :acct/id 1] [?e :acct/balance ?v _ ?op]]', [h]) as Array<[number, boolean]>;
    expect(rows.sort((a, b) => a[0] - b[0] || Number(a[1]) - Number(b[1]))).toEqual([[50, true], [80, false], [80, true], [100, false], [100, true]]);
    expect((q('[:find [?v ...] :where [_ :acct/balance ?v _ false]]', [h]) as number[]).sort()).toEqual([100, 80].sort());
    const txs = q('[:find ?v ?t :where [_ :acct/balance ?v ?tx true] [?tx :db/txInstant ?t]]', [h]) as unknown[][];
    expect(txs).toHaveLength(3);
  });

  test('asOf and since values', () => {
    expect(q('[:find ?v . :where [_ :acct/balance ?v]]', [d3.asOf(d2.t)])).toBe(80);
    expect(q('[:find ?v . :where [_ :acct/balance ?v]]', [d3])).toBe(50);
    expect(q('[:find ?v . :where [_ :acct/balance ?v]]', [d3.since(d2.t)])).toBe(50);
    expect(q('[:find ?id . :where [_ :acct/id ?id]]', [d3.since(d2.t)])).toBeNull();
  });

  test('comparing two values of a database as two sources', () => {
    expect(q('[:find ?before ?after :in $old $new :where [$old ?e :acct/balance ?before] [$new ?e :acct/balance ?after]]', [d1, d3])).toEqual([[100, 50]]);
  });
});
