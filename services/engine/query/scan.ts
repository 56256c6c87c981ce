/**
 * Index walks for the query's hot loops.
 *
 * `Db.forDatoms` builds probe closures for every call; a query joining thousands of rows by
 * per-entity lookups pays for them on every row. For an unfiltered database value, `walk`
 * descends the B+tree of the current index directly with inline comparisons and no allocation.
 * It reads the tree's nodes (btree.ts exports their shape) and loads durable children through
 * the tree's store; a filtered value (asOf, since, history) goes through `Db.forDatoms`.
 */
import { childOf, type Node as BtreeNode, type SortedSet } from '../btree';
import type { Db } from '../db';
import type { Datom, IndexName } from '../datom';
import { compareStrings, compareValues, type Value } from '../values';

type Node = BtreeNode<Datom>;

const rootCache = new WeakMap<SortedSet<Datom>, Node>();

function rootOf(db: Db, index: IndexName): Node {
  const set = db.state.current[index];
  // A durable tree's root is resolved through its store each time: a miss being collected is
  // answered with an empty stand-in, which must never be remembered as the root.
  if (set.store !== null) return set.root;
  let r = rootCache.get(set);
  if (r === undefined) {
    r = set.root;
    rootCache.set(set, r);
  }
  return r;
}

function cv(x: Value, y: unknown): number {
  if (typeof x === 'string' && typeof y === 'string') return compareStrings(x, y); // keywords have their own order
  if (typeof x === 'number' && typeof y === 'number') {
    if (x < (y as typeof x)) return -1;
    if (x > (y as typeof x)) return 1;
    if (x === y) return 0;
    // NaN: compareValues orders it after every number.
  }
  return compareValues(x, y as Value);
}

/** Compares the leading n components of d (in the index's order) with c0..c2. */
function cmpPrefix(index: number, d: Datom, n: number, c0: unknown, c1: unknown, c2: unknown): number {
  switch (index) {
    case 0: { // eavt
      if (d.e !== c0) return d.e < (c0 as number) ? -1 : 1;
      if (n === 1) return 0;
      if (d.a !== c1) return d.a < (c1 as number) ? -1 : 1;
      return n === 2 ? 0 : cv(d.v, c2);
    }
    case 1: { // aevt
      if (d.a !== c0) return d.a < (c0 as number) ? -1 : 1;
      if (n === 1) return 0;
      if (d.e !== c1) return d.e < (c1 as number) ? -1 : 1;
      return n === 2 ? 0 : cv(d.v, c2);
    }
    case 2: { // avet
      if (d.a !== c0) return d.a < (c0 as number) ? -1 : 1;
      if (n === 1) return 0;
      const c = cv(d.v, c1);
      if (c !== 0 || n === 2) return c;
      return d.e === c2 ? 0 : d.e < (c2 as number) ? -1 : 1;
    }
    default: { // vaet
      const c = cv(d.v, c0);
      if (c !== 0 || n === 1) return c;
      if (d.a !== c1) return d.a < (c1 as number) ? -1 : 1;
      if (n === 2) return 0;
      return d.e === c2 ? 0 : d.e < (c2 as number) ? -1 : 1;
    }
  }
}

const INDEX_NO: Record<IndexName, number> = { eavt: 0, aevt: 1, avet: 2, vaet: 3 };

function walkNode(set: SortedSet<Datom>, node: Node, ix: number, n: number, c0: unknown, c1: unknown, c2: unknown, fn: (d: Datom) => boolean | void): boolean {
  const keys = node.keys;
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (cmpPrefix(ix, keys[m]!, n, c0, c1, c2) < 0) lo = m + 1;
    else hi = m;
  }
  if (node.leaf) {
    for (let i = lo; i < keys.length; i++) {
      const k = keys[i]!;
      if (cmpPrefix(ix, k, n, c0, c1, c2) !== 0) return false;
      if (fn(k) === false) return false;
    }
    return true;
  }
  const ch = node.children;
  for (let i = lo; i < keys.length; i++) {
    const c = ch[i]!;
    // A durable child (a stub) is loaded through the tree's store.
    if (!walkNode(set, 'stub' in c ? childOf(set, node, i) : c, ix, n, c0, c1, c2, fn)) return false;
    // The child's largest datom is past the prefix: so is the rest.
    if (cmpPrefix(ix, keys[i]!, n, c0, c1, c2) > 0) return false;
  }
  return true;
}

/**
 * Calls fn for the datoms of `index` whose leading components equal c0.. (undefined ends the
 * prefix; components after the first undefined are checked by forDatoms' semantics: here they
 * must all be undefined). tx filters on the transaction when given.
 */
export function walk(db: Db, index: IndexName, c0: unknown, c1: unknown, c2: unknown, tx: unknown, fn: (d: Datom) => boolean | void): void {
  const n = c0 === undefined ? 0 : c1 === undefined ? 1 : c2 === undefined ? 2 : 3;
  const gapped = (n < 1 && c1 !== undefined) || (n < 2 && c2 !== undefined);
  if (n === 0 || gapped || tx !== undefined || db.isFiltered) {
    db.forDatoms(index, c0, c1, c2, tx, fn);
    return;
  }
  walkNode(db.state.current[index], rootOf(db, index), INDEX_NO[index], n, c0, c1, c2, fn);
}
