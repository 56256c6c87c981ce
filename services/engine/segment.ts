/**
 * Index segments: the pure (no I/O) encoding of one node of a durable B+tree index.
 *
 * A segment is a leaf — a sorted run of datoms of one index — or a branch — its children's keys,
 * subtree sizes and separators (each child's largest datom, as the in-memory B+tree keeps them).
 * The body is one MessagePack value (msgpackr), columnar so that a compressor finds the runs:
 *
 *   { f: 1, k: 'leaf' | 'branch', i: 'eavt' | 'aevt' | 'avet' | 'vaet', h: history?,
 *     d: { e: number[], a: number[], v: Value[], tx: number[], f: flag[], at: number[] },
 *     c?: string[], s?: number[] }                       (c, s: a branch's child keys and sizes)
 *
 * `d` holds the leaf's datoms or the branch's separators. A datom's flag is 1 for an assertion,
 * 0 for a retraction and 2 for a history record (Retraction), whose assertion tx is the next
 * entry of `at`. Values keep their exact kind: numbers (a -0 stays -0), bigint (any size),
 * BigDec (unscaled and scale), Date (ms, including before 1970), strings (keywords, uuids,
 * symbols, uris are text), booleans, null and tuples (arrays, nested). Framing, compression
 * and the content key are the node's business (services/node/storage/segment-codec.ts).
 */
import { addExtension, Packr } from 'msgpackr';
import { BigDec } from './bigdec';
import { CURRENT_ORDER, Datom, HISTORY_ORDER, INDEX_NAMES, Retraction, type IndexName } from './datom';
import { fault, incorrect } from './errors';
import type { TxLogEntry } from './db';
import type { Value } from './values';

/** Version of the body layout above; a reader refuses any other. */
export const SEGMENT_BODY_FORMAT = 1;

export interface SegmentHeader {
  /** The index order the datoms are sorted in. */
  readonly index: IndexName;
  /** A history index (Retraction records, history order) rather than a current one. */
  readonly history: boolean;
}

export interface LeafSegment extends SegmentHeader {
  readonly kind: 'leaf';
  /** Strictly ascending in the index's order. */
  readonly datoms: readonly Datom[];
}

export interface BranchChild {
  /** Content key of the child segment. */
  readonly key: string;
  /** Datoms in the child's subtree. */
  readonly size: number;
  /** The largest datom of the child's subtree. */
  readonly last: Datom;
}

export interface BranchSegment extends SegmentHeader {
  readonly kind: 'branch';
  /** Ascending by `last`; at least one. */
  readonly children: readonly BranchChild[];
}

/** A leaf of the durable log: transactions ascending by t, each with its datoms. */
export interface LogLeafSegment {
  readonly kind: 'log-leaf';
  readonly entries: readonly TxLogEntry[];
}

export interface LogBranchChild {
  readonly key: string;
  /** Transactions in the child's subtree. */
  readonly size: number;
  /** The child's last transaction, without its datoms (t, tx, instant: the log is probed by t and by instant). */
  readonly last: TxLogEntry;
}

export interface LogBranchSegment {
  readonly kind: 'log-branch';
  readonly children: readonly LogBranchChild[];
}

/** A segment of one of the eight datom indexes. */
export type Segment = LeafSegment | BranchSegment;
export type LogSegment = LogLeafSegment | LogBranchSegment;
/** Any stored segment: of a datom index or of the log. */
export type StoredSegment = Segment | LogSegment;

/** Keys of the segments a segment names (a branch's children; none for a leaf). */
export function childKeys(s: StoredSegment): string[] {
  return s.kind === 'branch' || s.kind === 'log-branch' ? s.children.map((c) => c.key) : [];
}

const FLAG_RETRACTED = 0;
const FLAG_ADDED = 1;
const FLAG_RECORD = 2;

// msgpackr writes -0 as the integer 0 and has no hook for numbers, so the value column swaps
// -0 for this marker before packing.
class NegativeZero {}
const NEGATIVE_ZERO = new NegativeZero();

// Extension types 0x44.. ('D'): registered once per process, used only by this packer.
addExtension({ Class: BigDec, type: 0x44, write: (d: BigDec) => [d.unscaled, d.scale], read: readBigDec });
addExtension({ Class: NegativeZero, type: 0x45, write: () => 0, read: () => -0 });

function readBigDec(x: unknown): BigDec {
  if (!Array.isArray(x) || x.length !== 2 || typeof x[0] !== 'bigint' || typeof x[1] !== 'number') {
    throw corrupt('a bigdec is not [unscaled, scale]');
  }
  return new BigDec(x[0], x[1]);
}

const packr = new Packr({
  useRecords: false,
  useBigIntExtension: true,
  int64AsType: 'bigint',
  mapsAsObjects: true,
});

function corrupt(what: string): Error {
  return fault('segment/corrupt', `corrupt index segment: ${what}`);
}

function packValue(v: Value): unknown {
  if (typeof v === 'number') return v === 0 && 1 / v < 0 ? NEGATIVE_ZERO : v;
  if (Array.isArray(v)) return v.map(packValue);
  return v;
}

interface Columns {
  e: number[];
  a: number[];
  v: unknown[];
  tx: number[];
  f: number[];
  at: number[];
}

function toColumns(datoms: readonly Datom[]): Columns {
  const n = datoms.length;
  const cols: Columns = { e: new Array(n), a: new Array(n), v: new Array(n), tx: new Array(n), f: new Array(n), at: [] };
  for (let i = 0; i < n; i++) {
    const d = datoms[i]!;
    cols.e[i] = d.e;
    cols.a[i] = d.a;
    cols.v[i] = packValue(d.v);
    cols.tx[i] = d.tx;
    if (d instanceof Retraction) {
      cols.f[i] = FLAG_RECORD;
      cols.at.push(d.assertTx);
    } else {
      cols.f[i] = d.added ? FLAG_ADDED : FLAG_RETRACTED;
    }
  }
  return cols;
}

const isIntArray = (x: unknown, n: number): x is number[] =>
  Array.isArray(x) && x.length === n && x.every((y) => Number.isSafeInteger(y));

function fromColumns(x: unknown): Datom[] {
  if (x === null || typeof x !== 'object') throw corrupt('datom columns missing');
  const c = x as Partial<Record<keyof Columns, unknown>>;
  const n = Array.isArray(c.e) ? c.e.length : -1;
  if (!isIntArray(c.e, n) || !isIntArray(c.a, n) || !isIntArray(c.tx, n) || !isIntArray(c.f, n)
    || !Array.isArray(c.v) || c.v.length !== n || !Array.isArray(c.at)) {
    throw corrupt('datom columns have different lengths or non-integer ids');
  }
  const at = c.at;
  const out: Datom[] = new Array(n);
  let next = 0;
  for (let i = 0; i < n; i++) {
    const v = c.v[i] as Value;
    const f = c.f[i];
    if (f === FLAG_RECORD) {
      const assertTx = at[next++];
      if (!Number.isSafeInteger(assertTx)) throw corrupt('a history record has no assertion tx');
      out[i] = new Retraction(c.e[i]!, c.a[i]!, v, c.tx[i]!, assertTx as number);
    } else if (f === FLAG_ADDED || f === FLAG_RETRACTED) {
      out[i] = new Datom(c.e[i]!, c.a[i]!, v, c.tx[i]!, f === FLAG_ADDED);
    } else {
      throw corrupt(`unknown datom flag ${String(f)}`);
    }
  }
  if (next !== at.length) throw corrupt('more assertion txs than history records');
  return out;
}

function orderOf(s: SegmentHeader): (x: Datom, y: Datom) => number {
  return (s.history ? HISTORY_ORDER : CURRENT_ORDER)[s.index];
}

function checkHeader(s: SegmentHeader): void {
  if (!INDEX_NAMES.includes(s.index)) {
    throw incorrect('segment/invalid', `segment index must be one of ${INDEX_NAMES.join(', ')}, got ${String(s.index)}`);
  }
}

function checkAscending(datoms: readonly Datom[], cmp: (x: Datom, y: Datom) => number, what: string): void {
  for (let i = 1; i < datoms.length; i++) {
    if (cmp(datoms[i - 1]!, datoms[i]!) >= 0) {
      throw incorrect('segment/unsorted', `${what} are not strictly ascending in index order at position ${i}`, { position: i });
    }
  }
}

/** The segment's body bytes. Refuses (`incorrect`) unsorted datoms, an empty branch, bad sizes. */
export function encodeSegmentBody(s: StoredSegment): Uint8Array {
  if (s.kind === 'log-leaf' || s.kind === 'log-branch') return encodeLogSegment(s);
  checkHeader(s);
  const cmp = orderOf(s);
  const head = { f: SEGMENT_BODY_FORMAT, k: s.kind, i: s.index, h: s.history };
  if (s.kind === 'leaf') {
    checkAscending(s.datoms, cmp, 'leaf datoms');
    return packr.pack({ ...head, d: toColumns(s.datoms) });
  }
  if (s.children.length === 0) throw incorrect('segment/invalid', 'a branch segment needs at least one child');
  for (const c of s.children) {
    if (typeof c.key !== 'string' || c.key.length === 0 || !Number.isSafeInteger(c.size) || c.size < 1) {
      throw incorrect('segment/invalid', `branch child ${JSON.stringify(c.key)} needs a key and a positive size, got ${c.size}`);
    }
  }
  const last = s.children.map((c) => c.last);
  checkAscending(last, cmp, 'branch separators');
  return packr.pack({ ...head, d: toColumns(last), c: s.children.map((c) => c.key), s: s.children.map((c) => c.size) });
}

/** The datom-index segment in `bytes` (see decodeStoredSegment); a log segment is `segment/corrupt` here. */
export function decodeSegmentBody(bytes: Uint8Array): Segment {
  const s = decodeStoredSegment(bytes);
  if (s.kind === 'log-leaf' || s.kind === 'log-branch') throw corrupt(`a ${s.kind} segment where an index segment was expected`);
  return s;
}

/** The segment in `bytes`; `fault` `segment/corrupt` or `segment/unsupported-format` if it is not one. */
export function decodeStoredSegment(bytes: Uint8Array): StoredSegment {
  let x: unknown;
  try {
    x = packr.unpack(bytes);
  } catch (e) {
    if (e instanceof Error && 'category' in e) throw e;
    throw corrupt(`undecodable body (${(e as Error).message})`);
  }
  if (x === null || typeof x !== 'object') throw corrupt('body is not a map');
  const b = x as Record<string, unknown>;
  if (b['f'] !== SEGMENT_BODY_FORMAT) {
    throw fault('segment/unsupported-format',
      `index segment body format ${String(b['f'])} is not supported (this node reads format ${SEGMENT_BODY_FORMAT})`);
  }
  if (b['k'] === 'log-leaf' || b['k'] === 'log-branch') return decodeLogSegment(b);
  const index = b['i'] as IndexName;
  if (!INDEX_NAMES.includes(index) || typeof b['h'] !== 'boolean') throw corrupt('bad index or history flag');
  const history = b['h'];
  const datoms = fromColumns(b['d']);
  if (b['k'] === 'leaf') return { kind: 'leaf', index, history, datoms };
  if (b['k'] !== 'branch') throw corrupt(`unknown segment kind ${String(b['k'])}`);
  const keys = b['c'];
  const sizes = b['s'];
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string') || !isIntArray(sizes, keys.length) || keys.length !== datoms.length) {
    throw corrupt('branch children, sizes and separators disagree');
  }
  const children = keys.map((key: string, i): BranchChild => ({ key, size: sizes[i]!, last: datoms[i]! }));
  return { kind: 'branch', index, history, children };
}

function checkLogAscending(ts: readonly number[], what: string): void {
  for (let i = 0; i < ts.length; i++) {
    if (!Number.isSafeInteger(ts[i]) || ts[i]! < 1 || (i > 0 && ts[i - 1]! >= ts[i]!)) {
      throw incorrect('segment/unsorted', `${what} are not positive and strictly ascending by t at position ${i}`, { position: i });
    }
  }
}

/**
 * Log segments: `{ f, k: 'log-leaf', t, x: instants, n: datoms per transaction, d: columns }` or
 * `{ f, k: 'log-branch', t, x, c: child keys, s: sizes }` (t and x: each child's last transaction).
 */
function encodeLogSegment(s: LogLeafSegment | LogBranchSegment): Uint8Array {
  if (s.kind === 'log-leaf') {
    const ts = s.entries.map((e) => e.t);
    checkLogAscending(ts, 'log entries');
    const all: Datom[] = [];
    for (const e of s.entries) for (const d of e.data) all.push(d);
    return packr.pack({ f: SEGMENT_BODY_FORMAT, k: s.kind, t: ts, x: s.entries.map((e) => e.instant), n: s.entries.map((e) => e.data.length), d: toColumns(all) });
  }
  if (s.children.length === 0) throw incorrect('segment/invalid', 'a branch segment needs at least one child');
  for (const c of s.children) {
    if (typeof c.key !== 'string' || c.key.length === 0 || !Number.isSafeInteger(c.size) || c.size < 1) {
      throw incorrect('segment/invalid', `branch child ${JSON.stringify(c.key)} needs a key and a positive size, got ${c.size}`);
    }
  }
  const ts = s.children.map((c) => c.last.t);
  checkLogAscending(ts, 'log branch separators');
  return packr.pack({ f: SEGMENT_BODY_FORMAT, k: s.kind, t: ts, x: s.children.map((c) => c.last.instant), c: s.children.map((c) => c.key), s: s.children.map((c) => c.size) });
}

const TX_BASE = 2 ** 29; // datom.ts TX0: a transaction's entity id is TX0 + t

function decodeLogSegment(b: Record<string, unknown>): LogLeafSegment | LogBranchSegment {
  const ts = b['t'];
  const xs = b['x'];
  const n = Array.isArray(ts) ? ts.length : -1;
  if (!isIntArray(ts, n) || !isIntArray(xs, n)) throw corrupt('log segment t and instant columns disagree');
  if (b['k'] === 'log-leaf') {
    const counts = b['n'];
    if (!isIntArray(counts, n)) throw corrupt('log segment datom counts disagree');
    const all = fromColumns(b['d']);
    let at = 0;
    const entries: TxLogEntry[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const c = counts[i]!;
      if (c < 0 || at + c > all.length) throw corrupt('log segment datom counts exceed its datoms');
      entries[i] = { t: ts[i]!, tx: TX_BASE + ts[i]!, instant: xs[i]!, data: all.slice(at, at + c) };
      at += c;
    }
    if (at !== all.length) throw corrupt('log segment has datoms no transaction counts');
    return { kind: 'log-leaf', entries };
  }
  const keys = b['c'];
  const sizes = b['s'];
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string') || keys.length !== n || !isIntArray(sizes, n)) {
    throw corrupt('log branch children, sizes and separators disagree');
  }
  return {
    kind: 'log-branch',
    children: keys.map((key: string, i): LogBranchChild => ({ key, size: sizes[i]!, last: { t: ts[i]!, tx: TX_BASE + ts[i]!, instant: xs[i]!, data: [] } })),
  };
}

// ---- log transaction bodies ---------------------------------------------------------------

/** Version of the transaction body layout below; a reader refuses any other. */
export const TX_BODY_FORMAT = 1;

/** What the log holds of one transaction: its datoms as committed (all of one tx), instant, tempids. */
export interface TxBody<R = unknown> {
  readonly instant: number;
  readonly tempids: Record<string, number>;
  readonly datoms: readonly Datom[];
  /** Refusals an empty transaction seals (opaque here: the node's records). */
  readonly refused?: readonly R[];
}

/**
 * A transaction's body in the same MessagePack codec as segments (values keep their exact kind):
 * `{ f, i: instant, m: tempids, e, a, v, x: added 0|1, r?: refused }`, columnar. The tx is not
 * stored: the log item's t names it.
 */
export function encodeTxBody<R>(b: TxBody<R>): Uint8Array {
  const n = b.datoms.length;
  const e = new Array<number>(n);
  const a = new Array<number>(n);
  const v = new Array<unknown>(n);
  const x = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const d = b.datoms[i]!;
    e[i] = d.e;
    a[i] = d.a;
    v[i] = packValue(d.v);
    x[i] = d.added ? 1 : 0;
  }
  return packr.pack({ f: TX_BODY_FORMAT, i: b.instant, m: b.tempids, e, a, v, x, ...(b.refused !== undefined && b.refused.length > 0 ? { r: b.refused } : {}) });
}

/** The body encodeTxBody wrote, its datoms given transaction entity `tx`. */
export function decodeTxBody<R>(bytes: Uint8Array, tx: number): TxBody<R> & { readonly refused: readonly R[] } {
  let x: unknown;
  try {
    x = packr.unpack(bytes);
  } catch (e) {
    throw fault('log/corrupt-payload', `corrupt transaction body: ${(e as Error).message}`);
  }
  const b = (x ?? {}) as Record<string, unknown>;
  if (b['f'] !== TX_BODY_FORMAT) {
    throw fault('log/unsupported-format', `transaction body format ${String(b['f'])} is not supported (this node reads format ${TX_BODY_FORMAT})`);
  }
  const es = b['e'];
  const n = Array.isArray(es) ? es.length : -1;
  const as = b['a'];
  const vs = b['v'];
  const xs = b['x'];
  if (!isIntArray(es, n) || !isIntArray(as, n) || !isIntArray(xs, n) || !Array.isArray(vs) || vs.length !== n
    || typeof b['i'] !== 'number' || b['m'] === null || typeof b['m'] !== 'object') {
    throw fault('log/corrupt-payload', 'corrupt transaction body: columns disagree or fields are missing');
  }
  const datoms: Datom[] = new Array(n);
  for (let i = 0; i < n; i++) datoms[i] = new Datom(es[i]!, as[i]!, vs[i] as Value, tx, xs[i] === 1);
  return { instant: b['i'], tempids: b['m'] as Record<string, number>, datoms, refused: (Array.isArray(b['r']) ? b['r'] : []) as R[] };
}
