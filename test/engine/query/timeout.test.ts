import { emptyDb } from '../../../services/engine/db';
import { transact } from '../../../services/engine/transact';
import { q } from '../../../services/engine/query';
import { DatalithError } from '../../../services/engine/errors';

describe('timeout', () => {
  const schema = transact(emptyDb(), '[{:db/ident :n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]').dbAfter;
  const db = transact(schema, Array.from({ length: 3000 }, (_, i) => ({ n: i }))).dbAfter;
  const cross = '[:find (count ?a) . :where [?a :n ?x] [?b :n ?y] [(< ?x ?y)]]';

  test('a long query is abandoned with category interrupted', () => {
    const t0 = Date.now();
    let caught: unknown;
    try {
      q(cross, [db], { timeout: 50 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DatalithError);
    expect((caught as DatalithError).category).toBe('interrupted');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  test('the map form takes a timeout too; fast queries finish', () => {
    expect(() => q({ query: cross, args: [db], timeout: 20 })).toThrow(/timed out/);
    expect(q({ query: '[:find (count ?a) . :where [?a :n ?x] [(< ?x 10)]]', args: [db], timeout: 5000 })).toBe(10);
  });
});
