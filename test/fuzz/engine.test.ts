/**
 * Fuzzing the transaction processor, the query parser and evaluator and the pull parser and
 * evaluator with random, mostly wrong, input: every call answers or fails with a well-formed
 * anomaly (never a TypeError, a RangeError or a fault); a failed transaction changes nothing and
 * a successful one advances t by exactly one with consistent indexes.
 */
import fc from 'fast-check';
import type { Db } from '../../services/engine/db';
import { writeEdn } from '../../services/engine/edn';
import { parsePullPattern, pullManySelector, pullSelector } from '../../services/engine/pull';
import { parseQuery, parseRules, q } from '../../services/engine/query';
import { transact } from '../../services/engine/transact';
import { dbWith } from '../engine/helpers';
import { arbitraries, PEOPLE, RULES, SCHEMA } from './arbitraries';
import { budget, ednSoup, outcome, params } from './fuzz';

const STATS: Record<string, Record<string, number>> = {};
function tally(name: string, r: { ok: boolean; error?: { code?: string } }): void {
  const k = r.ok ? 'ok' : `${r.error?.code ?? '?'}${process.env.FUZZ_STATS === '2' ? ` ${(r.error as Error).message.slice(0, 80)}` : ''}`;
  (STATS[name] ??= {})[k] = (STATS[name]![k] ?? 0) + 1;
}
afterAll(() => {
  if (process.env.FUZZ_STATS) console.log(JSON.stringify(STATS, null, 1));
});

function seed(): Db {
  return transact(dbWith(SCHEMA), PEOPLE).dbAfter;
}
const base = seed();
const EIDS = (q('[:find [?e ...] :where [?e :p/name]]', [base]) as number[]).sort((a, b) => a - b);
const { anyValue, entity, txData, query, goodQuery, selector } = arbitraries(EIDS);

function indexesAgree(db: Db): void {
  const counts = ['eavt', 'aevt', 'avet', 'vaet'].map((ix) => {
    let n = 0;
    db.forDatoms(ix as never, undefined, undefined, undefined, undefined, () => {
      n++;
    });
    return n;
  });
  expect(counts[1]).toBe(counts[0]);
}

describe('transactions on random data', () => {
  test('JS data: an answer or an anomaly; t advances by one only on success; indexes agree', () => {
    fc.assert(fc.property(txData, (data) => {
      const before = base.datoms('eavt').length;
      const r = outcome(() => transact(base, data, { maxDatoms: 1_000 }));
      tally('tx', r);
      expect(base.t).toBe(1 + 1);
      expect(base.datoms('eavt').length).toBe(before);
      if (r.ok) {
        expect(r.value.dbAfter.t).toBe(base.t + 1);
        expect(r.value.dbBefore).toBe(base);
        indexesAgree(r.value.dbAfter);
      }
    }), params(600));
  });

  test('the same data as EDN text, and EDN token soup', () => {
    fc.assert(fc.property(fc.oneof(txData.map((d) => {
      const w = outcome(() => writeEdn(d));
      return w.ok ? w.value : '[]';
    }), ednSoup.map((s) => `[${s}]`)), (text) => {
      const r = outcome(() => transact(base, text, { maxDatoms: 1_000 }));
      tally('txEdn', r);
      if (r.ok) expect(r.value.dbAfter.t).toBe(base.t + 1);
    }), params(400));
  });
});

const input = fc.oneof(fc.constant(base), fc.constant(RULES), anyValue, fc.array(fc.array(anyValue, { maxLength: 2 }), { maxLength: 3 }));

describe('queries on random input', () => {
  test('the parser: JS data and EDN text parse or fail with an anomaly', () => {
    fc.assert(fc.property(fc.oneof(query, anyValue, ednSoup.map((s) => `[:find ${s}]`), ednSoup), (qd) => {
      outcome(() => parseQuery(qd));
      outcome(() => parseRules(qd));
    }), params(800));
  });

  test('evaluation of mostly well-formed queries answers or fails with an anomaly (100 ms timeout)', () => {
    fc.assert(fc.property(goodQuery, (qd) => {
      const inputs = 'in' in qd ? [base, RULES] : [base];
      const r = outcome(() => q(qd, inputs, { timeout: 100 }));
      tally('goodQ', r);
      if (!r.ok && r.error.category === 'interrupted') expect(r.error.code).toBe('query/timeout');
    }), params(800));
  });

  test('evaluation with random inputs answers or fails with an anomaly (100 ms timeout)', () => {
    fc.assert(fc.property(query, fc.array(input, { maxLength: 3 }), fc.option(fc.integer({ min: -2, max: 5 }), { nil: undefined }), (qd, inputs, limit) => {
      const r = outcome(() => q(qd, inputs.length === 0 ? [base] : inputs, { timeout: 100, limit, offset: limit === undefined ? undefined : Math.abs(limit) }));
      tally('q', r);
      if (!r.ok && r.error.category === 'interrupted') expect(r.error.code).toBe('query/timeout');
    }), params(800));
  });
});

describe('pull on random selectors', () => {
  test('the parser and evaluation answer or fail with an anomaly', () => {
    fc.assert(fc.property(fc.oneof(selector, anyValue, ednSoup.map((s) => `[${s}]`)), fc.oneof(fc.constantFrom(...EIDS), entity), (sel, eid) => {
      outcome(() => parsePullPattern(sel));
      const r = outcome(() => pullSelector(base, sel, eid));
      tally('pull', r);
      if (r.ok) expect(typeof r.value === 'object').toBe(true);
      outcome(() => pullManySelector(base, sel, [eid, EIDS[0]]));
    }), params(800));
  });
});

jest.setTimeout(budget(60_000));
