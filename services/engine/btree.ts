/**
 * A persistent (immutable, structurally shared) B+tree sorted set.
 *
 * Every update copies only the path from the root to the changed leaf, so successive database
 * values share all untouched nodes: transacting into a large database never copies it.
 * A transaction applies many updates at once through an `Edit` token: nodes created under the
 * same token are owned by that batch and mutated in place (like Clojure's transients), and the
 * token is frozen when the batch ends, which makes the result immutable again.
 *
 * Nodes keep their subtree size, so counting the keys in a range is O(log n): the query planner
 * uses it to estimate the selectivity of a clause before choosing join order, and a page of an
 * index read skips its offset by the sizes too.
 */

export type Comparator<T> = (a: T, b: T) => number;
/** Position of a key relative to a bound: < 0 below it, 0 inside it, > 0 above it. */
export type Probe<T> = (key: T) => number;

const MAX = 64;
const MIN = 16;

/** Ownership token for in-place mutation during one batch of updates. */
export class Edit {
  live = true;
}

interface Leaf<T> {
  leaf: true;
  keys: T[];
  size: number;
  edit: Edit | null;
}
interface Branch<T> {
  leaf: false;
  keys: T[]; // the largest key of each child
  children: Node<T>[];
  size: number;
  edit: Edit | null;
}
type Node<T> = Leaf<T> | Branch<T>;

const owned = (n: { edit: Edit | null }, edit: Edit | null): boolean => edit !== null && edit.live && n.edit === edit;

function leafOf<T>(keys: T[], edit: Edit | null): Leaf<T> {
  return { leaf: true, keys, size: keys.length, edit };
}
function branchOf<T>(children: Node<T>[], edit: Edit | null): Branch<T> {
  let size = 0;
  const keys: T[] = new Array(children.length);
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    size += c.size;
    keys[i] = c.keys[c.keys.length - 1]!;
  }
  return { leaf: false, keys, children, size, edit };
}

/** First index i in keys with cmp(keys[i], key) >= 0 (keys.length if none). */
function lowerIndex<T>(keys: T[], key: T, cmp: Comparator<T>): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
/** First index i with probe(keys[i]) >= 0. */
function probeLower<T>(keys: T[], probe: Probe<T>): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (probe(keys[mid]!) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
/** Returns the new node(s) replacing `node`, or null when the key was already present. */
function insertInto<T>(node: Node<T>, key: T, cmp: Comparator<T>, edit: Edit | null): Node<T>[] | null {
  if (node.leaf) {
    const i = lowerIndex(node.keys, key, cmp);
    if (i < node.keys.length && cmp(node.keys[i]!, key) === 0) return null;
    if (owned(node, edit)) {
      node.keys.splice(i, 0, key);
      node.size++;
      if (node.keys.length <= MAX) return [node];
      const right = node.keys.splice(node.keys.length >>> 1);
      node.size = node.keys.length;
      return [node, leafOf(right, edit)];
    }
    // One allocation of the exact size (a copy, then a splice, would grow the copy again).
    const keys = node.keys.toSpliced(i, 0, key);
    if (keys.length <= MAX) return [leafOf(keys, edit)];
    const half = keys.length >>> 1;
    return [leafOf(keys.slice(0, half), edit), leafOf(keys.slice(half), edit)];
  }
  let i = lowerIndex(node.keys, key, cmp);
  if (i === node.keys.length) i--; // beyond every key: goes into the last child
  const replaced = insertInto(node.children[i]!, key, cmp, edit);
  if (replaced === null) return null;
  const mine = owned(node, edit);
  if (replaced.length === 1) {
    const target = mine ? node : { leaf: false as const, keys: node.keys.slice(), children: node.children.slice(), size: node.size, edit };
    target.size++;
    const c = replaced[0]!;
    target.children[i] = c;
    target.keys[i] = c.keys[c.keys.length - 1]!;
    return [target];
  }
  const a = replaced[0]!;
  const b = replaced[1]!;
  const lastA = a.keys[a.keys.length - 1]!;
  const lastB = b.keys[b.keys.length - 1]!;
  let target: Branch<T>;
  if (mine) {
    target = node;
    target.children.splice(i, 1, a, b);
    target.keys.splice(i, 1, lastA, lastB);
  } else {
    target = { leaf: false, keys: node.keys.toSpliced(i, 1, lastA, lastB), children: node.children.toSpliced(i, 1, a, b), size: node.size, edit };
  }
  target.size++;
  if (target.children.length <= MAX) return [target];
  const half = target.children.length >>> 1;
  const rightChildren = target.children.splice(half);
  target.keys.length = half;
  target.size = 0;
  for (const c of target.children) target.size += c.size;
  return [target, branchOf(rightChildren, edit)];
}

/** Returns the replacement node (possibly empty), or null when the key was absent. */
function removeFrom<T>(node: Node<T>, key: T, cmp: Comparator<T>, edit: Edit | null): Node<T> | null {
  if (node.leaf) {
    const i = lowerIndex(node.keys, key, cmp);
    if (i === node.keys.length || cmp(node.keys[i]!, key) !== 0) return null;
    if (owned(node, edit)) {
      node.keys.splice(i, 1);
      node.size--;
      return node;
    }
    const keys = node.keys.toSpliced(i, 1);
    return leafOf(keys, edit);
  }
  const i = lowerIndex(node.keys, key, cmp);
  if (i === node.keys.length) return null;
  const child = removeFrom(node.children[i]!, key, cmp, edit);
  if (child === null) return null;
  const target: Branch<T> = owned(node, edit)
    ? node
    : { leaf: false, keys: node.keys.slice(), children: node.children.slice(), size: node.size, edit };
  target.size--;
  if (child.keys.length === 0) {
    target.children.splice(i, 1);
    target.keys.splice(i, 1);
    return target;
  }
  target.children[i] = child;
  target.keys[i] = child.keys[child.keys.length - 1]!;
  // Keep leaves from thinning out under many removals: merge a small child into a neighbour.
  if (child.keys.length < MIN && target.children.length > 1) {
    const j = i > 0 ? i - 1 : i + 1;
    const l = Math.min(i, j);
    const left = target.children[l]!;
    const right = target.children[l + 1]!;
    if (left.keys.length + right.keys.length <= MAX && left.leaf === right.leaf) {
      const merged: Node<T> = left.leaf
        ? leafOf(left.keys.concat(right.keys), edit)
        : branchOf((left as Branch<T>).children.concat((right as Branch<T>).children), edit);
      target.children.splice(l, 2, merged);
      target.keys.splice(l, 2, merged.keys[merged.keys.length - 1]!);
    }
  }
  return target;
}

function forRange<T>(node: Node<T>, lo: Probe<T>, hi: Probe<T>, fn: (key: T) => boolean | void): boolean {
  const keys = node.keys;
  let i = probeLower(keys, lo);
  if (node.leaf) {
    for (; i < keys.length; i++) {
      const k = keys[i]!;
      if (hi(k) > 0) return false;
      if (fn(k) === false) return false;
    }
    return true;
  }
  for (; i < keys.length; i++) {
    if (!forRange(node.children[i]!, lo, hi, fn)) return false;
  }
  return true;
}

const ALL = (): number => 0;

/**
 * Calls fn for the keys from the one at position `rank` (0-based, in the whole tree) on, while
 * they are inside hi. Reaching the rank costs O(log n): whole subtrees are skipped by their size.
 */
function forFrom<T>(node: Node<T>, rank: number, hi: Probe<T>, fn: (key: T) => boolean | void): boolean {
  if (node.leaf) {
    const keys = node.keys;
    for (let i = rank; i < keys.length; i++) {
      const k = keys[i]!;
      if (hi(k) > 0) return false;
      if (fn(k) === false) return false;
    }
    return true;
  }
  const children = node.children;
  let i = 0;
  let r = rank;
  while (i < children.length && r >= children[i]!.size) r -= children[i++]!.size;
  if (i === children.length) return true;
  if (!forFrom(children[i]!, r, hi, fn)) return false;
  for (i++; i < children.length; i++) {
    if (!forRange(children[i]!, ALL, hi, fn)) return false;
  }
  return true;
}

/**
 * A pull-style walk over the keys inside [lo, hi], in order: `next()` answers the next key, or
 * undefined at the end. It holds the path from the root to its leaf, so each step is O(1)
 * amortized and nothing is materialised (two cursors can be merged lazily).
 */
export class RangeCursor<T> {
  private readonly path: Array<{ node: Branch<T>; i: number }> = [];
  private leaf: Leaf<T> | null;
  private i: number;

  constructor(root: Node<T>, lo: Probe<T>, private readonly hi: Probe<T>) {
    let node = root;
    while (!node.leaf) {
      const i = probeLower(node.keys, lo);
      if (i === node.keys.length) {
        // Every key is below lo.
        this.leaf = null;
        this.i = 0;
        return;
      }
      this.path.push({ node, i });
      node = node.children[i]!;
    }
    this.leaf = node;
    this.i = probeLower(node.keys, lo);
  }

  next(): T | undefined {
    for (;;) {
      const leaf = this.leaf;
      if (leaf === null) return undefined;
      if (this.i < leaf.keys.length) {
        const k = leaf.keys[this.i++]!;
        if (this.hi(k) > 0) {
          this.leaf = null;
          return undefined;
        }
        return k;
      }
      // The leaf is done: up to the nearest ancestor with a next child, then down its left edge.
      let top = this.path[this.path.length - 1];
      while (top !== undefined && top.i + 1 >= top.node.children.length) {
        this.path.pop();
        top = this.path[this.path.length - 1];
      }
      if (top === undefined) {
        this.leaf = null;
        return undefined;
      }
      top.i++;
      let node = top.node.children[top.i]!;
      while (!node.leaf) {
        this.path.push({ node, i: 0 });
        node = node.children[0]!;
      }
      this.leaf = node;
      this.i = 0;
    }
  }
}

/** Number of keys k with below(k) true, where below is monotone (true then false). */
function countBelow<T>(node: Node<T>, below: (k: T) => boolean): number {
  let n = 0;
  let cur: Node<T> = node;
  for (;;) {
    const keys = cur.keys;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (below(keys[mid]!)) lo = mid + 1;
      else hi = mid;
    }
    if (cur.leaf) return n + lo;
    for (let j = 0; j < lo; j++) n += cur.children[j]!.size;
    if (lo === keys.length) return n;
    cur = cur.children[lo]!;
  }
}

const EMPTY_LEAF: Leaf<never> = { leaf: true, keys: [], size: 0, edit: null };

export class SortedSet<T> {
  private constructor(
    private readonly root: Node<T>,
    readonly cmp: Comparator<T>,
  ) {}

  static empty<T>(cmp: Comparator<T>): SortedSet<T> {
    return new SortedSet<T>(EMPTY_LEAF as Leaf<T>, cmp);
  }

  /** Builds a set from keys already sorted by cmp and free of duplicates. */
  static fromSorted<T>(keys: readonly T[], cmp: Comparator<T>): SortedSet<T> {
    if (keys.length === 0) return SortedSet.empty(cmp);
    const width = (MAX * 3) >>> 2;
    let level: Node<T>[] = [];
    for (let i = 0; i < keys.length; i += width) level.push(leafOf(keys.slice(i, i + width), null));
    while (level.length > 1) {
      const next: Node<T>[] = [];
      for (let i = 0; i < level.length; i += width) next.push(branchOf(level.slice(i, i + width), null));
      level = next;
    }
    return new SortedSet(level[0]!, cmp);
  }

  get size(): number {
    return this.root.size;
  }

  /**
   * How many nodes this tree has, and how many of them are the very objects of `other`'s tree
   * (structural sharing between versions; for diagnostics and tests).
   */
  sharing(other: SortedSet<T>): { nodes: number; shared: number } {
    const theirs = new Set<Node<T>>();
    const collect = (n: Node<T>): void => {
      theirs.add(n);
      if (!n.leaf) for (const c of n.children) collect(c);
    };
    collect(other.root);
    let nodes = 0;
    let shared = 0;
    const walk = (n: Node<T>): void => {
      nodes++;
      if (theirs.has(n)) shared++;
      if (!n.leaf) for (const c of n.children) walk(c);
    };
    walk(this.root);
    return { nodes, shared };
  }

  /** Adds a key; with an edit token, nodes owned by that batch are mutated in place. */
  insert(key: T, edit: Edit | null = null): SortedSet<T> {
    const nodes = insertInto(this.root, key, this.cmp, edit);
    if (nodes === null) return this;
    if (nodes.length === 1) return new SortedSet(nodes[0]!, this.cmp);
    return new SortedSet(branchOf(nodes, edit), this.cmp);
  }

  remove(key: T, edit: Edit | null = null): SortedSet<T> {
    let node = removeFrom(this.root, key, this.cmp, edit);
    if (node === null) return this;
    while (!node.leaf && node.children.length === 1) node = node.children[0]!;
    if (!node.leaf && node.children.length === 0) node = EMPTY_LEAF as Leaf<T>;
    return new SortedSet(node, this.cmp);
  }

  has(key: T): boolean {
    return this.get(key) !== undefined;
  }

  /** The stored key equal to `key` under the comparator, if any. */
  get(key: T): T | undefined {
    let node: Node<T> = this.root;
    for (;;) {
      const i = lowerIndex(node.keys, key, this.cmp);
      if (i === node.keys.length) return undefined;
      if (node.leaf) {
        const k = node.keys[i]!;
        return this.cmp(k, key) === 0 ? k : undefined;
      }
      node = node.children[i]!;
    }
  }

  /** Calls fn for every key inside [lo, hi] in order; fn returning false stops the walk. */
  forRange(lo: Probe<T>, hi: Probe<T>, fn: (key: T) => boolean | void): void {
    forRange(this.root, lo, hi, fn);
  }

  forEach(fn: (key: T) => boolean | void): void {
    forRange(this.root, () => 0, () => 0, fn);
  }

  /** Number of keys inside [lo, hi], in O(log n). */
  countRange(lo: Probe<T>, hi: Probe<T>): number {
    const below = countBelow(this.root, (k) => lo(k) < 0);
    const upTo = countBelow(this.root, (k) => hi(k) <= 0);
    return Math.max(0, upTo - below);
  }

  /**
   * Like forRange, but starting `skip` keys past the first key inside [lo, hi]: the skip costs
   * O(log n) (subtree sizes), not O(skip). For paging an index with an offset.
   */
  forRangeFrom(lo: Probe<T>, hi: Probe<T>, skip: number, fn: (key: T) => boolean | void): void {
    if (skip <= 0) {
      forRange(this.root, lo, hi, fn);
      return;
    }
    forFrom(this.root, countBelow(this.root, (k) => lo(k) < 0) + skip, hi, fn);
  }

  /** A lazy walk over the keys inside [lo, hi] (see RangeCursor). */
  cursor(lo: Probe<T>, hi: Probe<T>): RangeCursor<T> {
    return new RangeCursor(this.root, lo, hi);
  }

  first(lo: Probe<T>, hi: Probe<T>): T | undefined {
    let found: T | undefined;
    forRange(this.root, lo, hi, (k) => {
      found = k;
      return false;
    });
    return found;
  }

  toArray(): T[] {
    const out: T[] = [];
    this.forEach((k) => {
      out.push(k);
    });
    return out;
  }

  rangeToArray(lo: Probe<T>, hi: Probe<T>): T[] {
    const out: T[] = [];
    forRange(this.root, lo, hi, (k) => {
      out.push(k);
    });
    return out;
  }
}
