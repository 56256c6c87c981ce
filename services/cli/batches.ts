/**
 * Splitting a large import into transactions (`datalith transact --batch-size`).
 *
 * A file holds one or more EDN vectors of transaction data; each vector is one transaction,
 * unless it has more operations than the batch size: then it is cut into several transactions,
 * so that no request runs into the body or datoms-per-transaction limits. Tempids only mean
 * something inside one transaction, so operations that share a tempid are never separated
 * (they are grouped with union-find), and operations on the transaction entity (`"datomic.tx"`,
 * e.g. a `:db/txInstant` or provenance) are repeated in every batch of their vector.
 */
import { EdnList, Keyword, readEdnAll, writeEdn, type EdnValue, incorrect } from '../engine';

export const TX_TEMPID = 'datomic.tx';

export interface Batch {
  /** Index of the transaction vector in the file (0-based). */
  readonly source: number;
  /** The transaction data (EDN data, as the SDK accepts it). */
  readonly data: EdnValue[];
  /** Operations of the file in this batch (repeated transaction-entity ones count in the first). */
  readonly operations: number;
}

export interface Plan {
  readonly batches: Batch[];
  readonly operations: number;
}

const isDbId = (k: unknown): boolean => (k instanceof Keyword ? k.fqn === 'db/id' : k === ':db/id' || k === 'db/id');
const OPS_WITH_ENTITY = new Set(['db/add', 'db/retract', 'db/cas', 'db.fn/cas', 'db/retractEntity', 'db.fn/retractEntity']);

/** Strings in entity position: `:db/id` of (nested) maps and the entity of list forms. */
function declaredTempids(form: EdnValue, out: Set<string>): void {
  if (form instanceof Map) {
    for (const [k, v] of form) {
      if (isDbId(k) && typeof v === 'string') out.add(v);
      else declaredTempids(v, out);
    }
  } else if (Array.isArray(form) || form instanceof EdnList) {
    const items = Array.isArray(form) ? form : form.items;
    const op = items[0];
    if (op instanceof Keyword && OPS_WITH_ENTITY.has(op.fqn) && typeof items[1] === 'string') out.add(items[1]);
    for (const x of items) if (x instanceof Map) declaredTempids(x, out);
  }
}

/** Every string anywhere in the form (a superset of the tempids it refers to). */
function strings(form: EdnValue, out: Set<string>): void {
  if (typeof form === 'string') out.add(form);
  else if (form instanceof Map) for (const [k, v] of form) { strings(k, out); strings(v, out); }
  else if (Array.isArray(form)) for (const x of form) strings(x, out);
  else if (form instanceof EdnList) for (const x of form.items) strings(x, out);
  else if (form instanceof Set) for (const x of form) strings(x, out);
}

class UnionFind {
  private readonly parent: number[];
  constructor(n: number) {
    this.parent = Array.from({ length: n }, (_, i) => i);
  }
  find(i: number): number {
    let r = i;
    while (this.parent[r] !== r) r = this.parent[r] as number;
    while (this.parent[i] !== r) {
      const next = this.parent[i] as number;
      this.parent[i] = r;
      i = next;
    }
    return r;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    // The smaller index is the root, so a group is placed where its first operation was.
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

function itemsOf(form: EdnValue, index: number): EdnValue[] {
  if (Array.isArray(form)) return form;
  if (form instanceof EdnList) return form.items;
  throw incorrect('cli/invalid-tx-file', `Form ${index + 1} of the input is not a vector of transaction data: ${writeEdn(form).slice(0, 80)}`);
}

/**
 * Cuts one transaction's operations into batches of about `batchSize` operations (a group of
 * operations linked by tempids may make a batch larger). `repeated` operations, on the
 * transaction entity, are at the head of every batch.
 */
export function splitTransaction(ops: readonly EdnValue[], batchSize: number): { batches: EdnValue[][]; repeated: number } {
  if (ops.length <= batchSize) return { batches: [[...ops]], repeated: 0 };
  const declared = new Set<string>();
  for (const op of ops) declaredTempids(op, declared);
  const txOps: EdnValue[] = [];
  const rest: EdnValue[] = [];
  for (const op of ops) {
    const s = new Set<string>();
    strings(op, s);
    // An operation on the transaction entity itself goes with every batch.
    if (s.has(TX_TEMPID) && declared.has(TX_TEMPID)) txOps.push(op);
    else rest.push(op);
  }
  const uf = new UnionFind(rest.length);
  const firstUse = new Map<string, number>();
  rest.forEach((op, i) => {
    const s = new Set<string>();
    strings(op, s);
    for (const x of s) {
      if (!declared.has(x) || x === TX_TEMPID) continue;
      const j = firstUse.get(x);
      if (j === undefined) firstUse.set(x, i);
      else uf.union(i, j);
    }
  });
  const groups = new Map<number, EdnValue[]>();
  rest.forEach((op, i) => {
    const r = uf.find(i);
    const g = groups.get(r);
    if (g === undefined) groups.set(r, [op]);
    else g.push(op);
  });
  const batches: EdnValue[][] = [];
  let current: EdnValue[] = [];
  for (const g of groups.values()) {
    if (current.length > 0 && current.length + g.length > batchSize) {
      batches.push(current);
      current = [];
    }
    current.push(...g);
  }
  if (current.length > 0) batches.push(current);
  return { batches: batches.map((b) => [...txOps, ...b]), repeated: txOps.length };
}

/** Reads the EDN text of an import and plans its transactions. */
export function planImport(text: string, batchSize: number): Plan {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw incorrect('cli/invalid-option', `--batch-size must be a positive integer, got ${batchSize}`);
  }
  const forms = readEdnAll(text);
  if (forms.length === 0) throw incorrect('cli/empty-input', 'The input holds no transaction data (expected EDN vectors such as [{:db/id "a" …}])');
  const batches: Batch[] = [];
  let operations = 0;
  forms.forEach((form, source) => {
    const ops = itemsOf(form, source);
    operations += ops.length;
    const { batches: parts, repeated } = splitTransaction(ops, batchSize);
    parts.forEach((p, i) => batches.push({ source, data: p, operations: i === 0 ? p.length : p.length - repeated }));
  });
  return { batches, operations };
}
