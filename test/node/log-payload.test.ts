/**
 * Log payloads (services/node/log/payload.ts): format 2 is binary (the engine's MessagePack
 * transaction body, brotli above 1 KB), round-trips every value kind exactly, is smaller than
 * the JSON of format 1, and logs written in format 1 stay readable.
 */
import { BigDec, emptyDb, toWire, transact, tToTx } from '../../services/engine';
import { decodeTx, encodeTx, PAYLOAD_FORMAT } from '../../services/node/log/payload';

const SCHEMA = [
  { ':db/ident': ':v/long', ':db/valueType': ':db.type/long', ':db/cardinality': ':db.cardinality/many' },
  { ':db/ident': ':v/bigint', ':db/valueType': ':db.type/bigint', ':db/cardinality': ':db.cardinality/many' },
  { ':db/ident': ':v/dec', ':db/valueType': ':db.type/bigdec', ':db/cardinality': ':db.cardinality/many' },
  { ':db/ident': ':v/double', ':db/valueType': ':db.type/double', ':db/cardinality': ':db.cardinality/many' },
  { ':db/ident': ':v/inst', ':db/valueType': ':db.type/instant', ':db/cardinality': ':db.cardinality/many' },
  { ':db/ident': ':v/str', ':db/valueType': ':db.type/string', ':db/cardinality': ':db.cardinality/many' },
  { ':db/ident': ':v/kw', ':db/valueType': ':db.type/keyword', ':db/cardinality': ':db.cardinality/many' },
  { ':db/ident': ':v/bool', ':db/valueType': ':db.type/boolean', ':db/cardinality': ':db.cardinality/many' },
];

function report(n = 1, negativeZero = true) {
  const db = transact(emptyDb(), SCHEMA, { now: 1 }).dbAfter;
  const forms = Array.from({ length: n }, (_, i) => ({
    ':db/id': `e${i}`, ':v/long': [i, -(2 ** 40)], ':v/bigint': [12345678901234567890123n + BigInt(i)], ':v/dec': [new BigDec(150n + BigInt(i), 2)],
    ':v/double': [negativeZero ? -0 : 0.25, 1.5 + i], ':v/inst': [new Date(-86_400_000 + i)], ':v/str': [`s ${i} ✓`], ':v/kw': [':a/b'], ':v/bool': [i % 2 === 0],
  }));
  return transact(db, forms, { now: 1_000 });
}

describe('log payloads', () => {
  it('round-trip every value kind exactly, with tempids and instant', () => {
    const r = report(3);
    const bytes = encodeTx(r);
    expect(bytes[0]).toBe(0xd1);
    expect(bytes[1]).toBe(PAYLOAD_FORMAT);
    const back = decodeTx(r.dbAfter.t, bytes);
    expect(back.instant).toBe(1_000);
    expect(back.tempids).toEqual(r.tempids);
    expect(back.datoms).toEqual(r.txData);
    const negZero = back.datoms.find((d) => typeof d.v === 'number' && d.v === 0 && 1 / d.v < 0);
    expect(negZero).toBeDefined();
    expect(back.datoms.every((d) => d.tx === tToTx(r.dbAfter.t))).toBe(true);
  });

  it('are compressed when large, and several times smaller than JSON', () => {
    const r = report(400);
    const bytes = encodeTx(r);
    expect(bytes[2]).toBe(2);
    const json = Buffer.from(JSON.stringify({ instant: 1_000, tempids: r.tempids, datoms: r.txData.map((d) => [d.e, d.a, toWire(d.v), d.added ? 1 : 0]) }));
    expect(bytes.byteLength * 3).toBeLessThan(json.byteLength);
    expect(decodeTx(r.dbAfter.t, bytes).datoms).toEqual(r.txData);
  });

  it('read the JSON payloads of format 1', () => {
    // (JSON turned -0 into 0: format 1 never kept it, format 2 does.)
    const r = report(2, false);
    const json = Buffer.from(JSON.stringify({ instant: 1_000, tempids: r.tempids, datoms: r.txData.map((d) => [d.e, d.a, toWire(d.v), d.added ? 1 : 0]) }));
    const back = decodeTx(r.dbAfter.t, new Uint8Array(json));
    expect(back.datoms).toEqual(r.txData);
    expect(back.tempids).toEqual(r.tempids);
  });

  it('refuse an unknown format and a damaged body as faults', () => {
    const bytes = encodeTx(report(400));
    const newer = bytes.slice();
    newer[1] = 9;
    expect(() => decodeTx(2, newer)).toThrow(expect.objectContaining({ category: 'fault', code: 'log/unsupported-format' }));
    expect(() => decodeTx(2, bytes.slice(0, 40))).toThrow(expect.objectContaining({ category: 'fault', code: 'log/corrupt-payload' }));
  });
});
