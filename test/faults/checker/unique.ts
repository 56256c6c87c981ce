/**
 * Unique-writes checker (a set workload: every write adds a distinct value). Pure, no I/O.
 *
 * Operations: `write` with a unique scalar value, and `read` whose ok completion carries the list
 * of every value present. Against the final read (ok reads marked `final: true`, or else the last
 * ok read):
 *  - every acknowledged (ok) write completed before the final read began is present exactly once
 *    (missing = lost);
 *  - indeterminate (info) writes may or may not be present, never twice;
 *  - failed writes are never present (aborted), values nobody wrote never appear (unexpected).
 * Every ok read, final or not, is checked for duplicates and for aborted or unexpected values.
 */
import { displayOp, History, Op, OpPair, pairs } from './history';

export type Value = string | number;

export interface UniqueOptions {
  writeF?: string;
  readF?: string;
}

export interface UniqueResult {
  /** False on any anomaly, and when there was no ok read to check against. */
  valid: boolean;
  error?: string;
  /** Acknowledged writes missing from a final read that began after they were acknowledged. */
  lost: { value: Value; op: Op; read: Op }[];
  /** Values present more than once in a read. */
  duplicated: { value: Value; count: number; read: Op }[];
  /** Values from failed writes present in a read. */
  aborted: { value: Value; op: Op; read: Op }[];
  /** Values nobody tried to write. */
  unexpected: { value: Value; read: Op }[];
  stats: {
    writes: { ok: number; fail: number; info: number };
    reads: { ok: number; fail: number; info: number };
    finalReads: number;
    /** Size of the (last) final read. */
    finalSize: number;
    /** Indeterminate writes found in the final read. */
    recovered: number;
    /** Acknowledged writes absent from the final read but acknowledged after it began (allowed). */
    concurrent: number;
  };
}

export function checkUnique(history: History, opts: UniqueOptions = {}): UniqueResult {
  const writeF = opts.writeF ?? 'write';
  const readF = opts.readF ?? 'read';
  const writes = { ok: 0, fail: 0, info: 0 };
  const readCounts = { ok: 0, fail: 0, info: 0 };
  const writer = new Map<Value, OpPair>();
  const okReads: OpPair[] = [];
  for (const p of pairs(history)) {
    if (p.f === writeF) {
      writes[p.type]++;
      const v = p.invoke.value as Value;
      if (!writer.has(v)) writer.set(v, p);
    } else if (p.f === readF) {
      readCounts[p.type]++;
      if (p.type === 'ok') okReads.push(p);
    }
  }

  const res: UniqueResult = {
    valid: true,
    lost: [],
    duplicated: [],
    aborted: [],
    unexpected: [],
    stats: { writes, reads: readCounts, finalReads: 0, finalSize: 0, recovered: 0, concurrent: 0 },
  };

  for (const r of okReads) {
    const read = displayOp(r);
    const counts = new Map<Value, number>();
    for (const v of r.value as Value[]) counts.set(v, (counts.get(v) ?? 0) + 1);
    for (const [value, count] of counts) {
      if (count > 1) res.duplicated.push({ value, count, read });
      const w = writer.get(value);
      if (!w) res.unexpected.push({ value, read });
      else if (w.type === 'fail') res.aborted.push({ value, op: displayOp(w), read });
    }
  }

  let finals = okReads.filter((r) => r.invoke.final === true || r.completion?.final === true);
  if (finals.length === 0 && okReads.length) finals = [okReads.reduce((a, b) => (b.completePos > a.completePos ? b : a))];
  res.stats.finalReads = finals.length;
  for (const f of finals) {
    const read = displayOp(f);
    const present = new Set(f.value as Value[]);
    res.stats.finalSize = present.size;
    res.stats.recovered = 0;
    res.stats.concurrent = 0;
    for (const [value, w] of writer) {
      if (w.type === 'info') {
        if (present.has(value)) res.stats.recovered++;
      } else if (w.type === 'ok' && !present.has(value)) {
        if (w.completeTime < f.invokeTime) res.lost.push({ value, op: displayOp(w), read });
        else res.stats.concurrent++;
      }
    }
  }

  if (okReads.length === 0) res.error = 'no ok read';
  res.valid =
    okReads.length > 0 && !res.lost.length && !res.duplicated.length && !res.aborted.length && !res.unexpected.length;
  return res;
}
