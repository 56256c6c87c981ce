/**
 * Small durable trees for storage tests (not a test file): for one database version (27
 * segments), each of the eight datom indexes as two leaves under a branch, and the log as two log leaves under a log
 * branch, encoded with the real codec; the root record naming them; unreferenced "junk"
 * segments; and a way to make an s3rver object old.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Datom, INDEX_NAMES, Retraction, TX0, type IndexName } from '../../../services/engine/datom';
import type { BranchSegment, LeafSegment, LogBranchSegment, LogLeafSegment, StoredSegment } from '../../../services/engine/segment';
import { encodeSegment, type EncodedSegment } from '../../../services/node/storage/segment-codec';
import { SEGMENT_FORMAT, type IndexRoot } from '../../../services/node/storage';

export interface TreeVersion {
  /** Every segment the root reaches, leaves before branches. */
  readonly segments: readonly EncodedSegment[];
  /** Every key the root reaches (its own segments and those it shares). */
  readonly keys: readonly string[];
  /** The current EAVT tree's keys (branch last). */
  readonly eavtKeys: readonly string[];
  /** The root record for database `db` at `indexedT`. */
  root(db: string, indexedT: number): IndexRoot;
}

const enc = (s: StoredSegment): EncodedSegment => encodeSegment(s);

/** Two datoms ascending in every index order (e, a and v all ascend). */
function pair(tag: string, history: boolean): [Datom, Datom] {
  const tx = TX0 + 1;
  return history
    ? [new Retraction(1000, 10, `${tag}-a`, tx + 1, tx), new Retraction(1001, 11, `${tag}-b`, tx + 1, tx)]
    : [new Datom(1000, 10, `${tag}-a`, tx, true), new Datom(1001, 11, `${tag}-b`, tx, true)];
}

function indexTree(tag: string, index: IndexName, history: boolean, out: EncodedSegment[]): EncodedSegment[] {
  const [d1, d2] = pair(`${tag}-${index}-${history ? 'h' : 'c'}`, history);
  const l1 = enc({ kind: 'leaf', index, history, datoms: [d1] } satisfies LeafSegment);
  const l2 = enc({ kind: 'leaf', index, history, datoms: [d2] } satisfies LeafSegment);
  const branch = enc({
    kind: 'branch', index, history,
    children: [{ key: l1.key, size: 1, last: d1 }, { key: l2.key, size: 1, last: d2 }],
  } satisfies BranchSegment);
  out.push(l1, l2, branch);
  return [l1, l2, branch];
}

/** A version of a database's trees; with `share`, its current EAVT tree is `share`'s (structural sharing). */
export function treeVersion(tag: string, share?: TreeVersion): TreeVersion {
  const segments: EncodedSegment[] = [];
  const current = {} as Record<IndexName, string>;
  const history = {} as Record<IndexName, string>;
  let eavtKeys: string[] = [];
  for (const index of INDEX_NAMES) {
    if (index === 'eavt' && share !== undefined) eavtKeys = [...share.eavtKeys];
    else {
      const tree = indexTree(tag, index, false, segments).map((x) => x.key);
      if (index === 'eavt') eavtKeys = tree;
    }
    current[index] = index === 'eavt' ? eavtKeys[eavtKeys.length - 1]! : segments[segments.length - 1]!.key;
    history[index] = indexTree(tag, index, true, segments)[2]!.key;
  }
  const entry = (t: number) => ({ t, tx: TX0 + t, instant: 1_700_000_000_000 + t, data: [new Datom(TX0 + t, 50, `${tag}-log-${t}`, TX0 + t, true)] });
  const log1 = enc({ kind: 'log-leaf', entries: [entry(1)] } satisfies LogLeafSegment);
  const log2 = enc({ kind: 'log-leaf', entries: [entry(2)] } satisfies LogLeafSegment);
  const logBranch = enc({
    kind: 'log-branch',
    children: [{ key: log1.key, size: 1, last: { ...entry(1), data: [] } }, { key: log2.key, size: 1, last: { ...entry(2), data: [] } }],
  } satisfies LogBranchSegment);
  segments.push(log1, log2, logBranch);
  const own = segments.map((x) => x.key);
  return {
    segments,
    keys: [...new Set([...own, ...eavtKeys])],
    eavtKeys,
    root: (db, indexedT) => ({
      db, indexedT, format: SEGMENT_FORMAT, current: { ...current }, history: { ...history }, log: logBranch.key,
      sizes: { current: { eavt: 2, aevt: 2, avet: 2, vaet: 2 }, history: { eavt: 2, aevt: 2, avet: 2, vaet: 2 }, log: 2 },
      maxEid: 1001, lastInstant: 1_700_000_000_002, datoms: 2, historyRecords: 2,
      createdAt: new Date(0).toISOString(), writtenBy: `test-${tag}`,
    }),
  };
}

/** A segment no root names. */
export function junk(tag: string): EncodedSegment {
  return enc({ kind: 'leaf', index: 'eavt', history: false, datoms: [new Datom(5000, 10, `junk-${tag}`, TX0 + 1, true)] });
}

/**
 * Sets an s3rver object's LastModified `ms` into the past: s3rver reports the mtime of the file
 * holding the object (`<dir>/<bucket>/<key>._S3rver_object`), so the test moves that file's
 * clock instead of waiting for an age to pass.
 */
export function ageObject(s3Dir: string, bucket: string, objectKey: string, ms: number): void {
  const parts = objectKey.split('/');
  const file = path.join(s3Dir, bucket, ...parts.slice(0, -1), `${parts[parts.length - 1]}._S3rver_object`);
  if (!fs.existsSync(file)) throw new Error(`no s3rver object file ${file} (has s3rver's layout changed?)`);
  const t = new Date(Date.now() - ms);
  fs.utimesSync(file, t, t);
}
