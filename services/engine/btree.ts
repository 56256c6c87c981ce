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

export interface Leaf<T> {
  leaf: true;
  keys: T[];
  size: number;
  edit: Edit | null;
  /** The segment this node was loaded from (durable and immutable); absent for nodes built in memory. */
  addr?: string;
}
export interface Branch<T> {
  leaf: false;
  keys: T[]; // the largest key of each child
  children: Child<T>[];
  size: number;
  edit: Edit | null;
  addr?: string;
}
export type Node<T> = Leaf<T> | Branch<T>;

/**
 * A durable child not loaded: the address of its segment, its subtree size and its largest key.
 * A tree restored from durable segments starts as one stub; walks resolve stubs through the
 * tree's NodeStore, so the nodes a walk needs are loaded and the rest stay in storage.
 */
export interface Stub<T> {
  readonly stub: true;
  readonly addr: string;
  readonly size: number;
  readonly last: T;
}
export type Child<T> = Node<T> | Stub<T>;

/**
 * Where a tree finds the nodes of its stubs: `load` answers a loaded (cached) node, or undefined
 * when it is not in memory. The engine never waits for storage: a walk that meets a stub whose
 * node is not loaded throws SegmentMiss, and its caller fetches the segments and runs it again.
 */
export interface NodeStore<T> {
  load(addr: string): Node<T> | undefined;
  /** Brings segments into memory (the node's store does the I/O; the engine only asks). */
  fetch?(addrs: readonly string[]): Promise<void>;
}

/**
 * A synchronous walk needed segments that are not in memory. Nothing the walk built is visible
 * (every value it started from is immutable): fetch `addrs` through `store` and run it again.
 */
export class SegmentMiss extends Error {
  constructor(readonly store: NodeStore<unknown>, readonly addrs: readonly string[]) {
    super(`index segments not loaded: ${addrs.length}`);
    this.name = 'SegmentMiss';
  }
}

const isStub = <T>(c: Child<T>): c is Stub<T> => (c as Stub<T>).stub === true;
const lastOf = <T>(c: Child<T>): T => (isStub(c) ? c.last : c.keys[c.keys.length - 1]!);

/** Most segments one miss asks for (a range walk asks for the rest of its range in the parent). */
const MISS_BATCH = 64;

/** While collectMisses runs: the segments walks missed, by store. */
let collecting: Map<NodeStore<unknown>, Set<string>> | null = null;

/** Whether a collectMisses pass is running: what is computed now must not be remembered. */
export function isCollectingMisses(): boolean {
  return collecting !== null;
}

/** A miss: thrown, or, while collecting, recorded and answered with an empty stand-in. */
function missed<T>(store: NodeStore<T>, addrs: readonly string[]): Node<T> {
  if (collecting === null) throw new SegmentMiss(store as NodeStore<unknown>, addrs);
  let set = collecting.get(store as NodeStore<unknown>);
  if (set === undefined) collecting.set(store as NodeStore<unknown>, set = new Set());
  for (const a of addrs) set.add(a);
  return { leaf: true, keys: [], size: 0, edit: null };
}

/**
 * Runs a synchronous operation that has already missed a segment, to learn every segment it
 * would miss: each miss is recorded and the walk goes on as if the segment were empty, so one
 * pass finds the misses of all its lookups (a query's per-entity reads, say) instead of one per
 * run. What the pass computes or throws is meaningless and dropped; only the misses are
 * answered. Nothing it builds is visible: every value it starts from is immutable.
 */
export function collectMisses(fn: () => unknown): Map<NodeStore<unknown>, Set<string>> {
  const prev = collecting;
  const found = new Map<NodeStore<unknown>, Set<string>>();
  collecting = found;
  try {
    fn();
  } catch {
    // The stand-ins may make the pass fail: its misses are what it was run for.
  } finally {
    collecting = prev;
  }
  return found;
}

function resolve<T>(c: Child<T>, store: NodeStore<T> | null): Node<T> {
  if (!isStub(c)) return c;
  const n = store?.load(c.addr);
  if (n === undefined) {
    if (store === null) throw new Error('a durable index node has no store to load it from');
    return missed(store, [c.addr]);
  }
  return n;
}

/** Child i of a branch, loaded; a miss asks for the stubs from i through the one that reaches hi. */
function kid<T>(node: Branch<T>, i: number, store: NodeStore<T> | null, hi?: Probe<T>): Node<T> {
  const c = node.children[i]!;
  if (!isStub(c)) return c;
  const n = store?.load(c.addr);
  if (n !== undefined) return n;
  if (store === null) throw new Error('a durable index node has no store to load it from');
  const addrs = [c.addr];
  if (hi !== undefined && hi(node.keys[i]!) <= 0) {
    for (let j = i + 1; j < node.children.length && addrs.length < MISS_BATCH; j++) {
      const s = node.children[j]!;
      if (isStub(s) && store.load(s.addr) === undefined) addrs.push(s.addr);
      if (hi(node.keys[j]!) > 0) break;
    }
  }
  return missed(store, addrs);
}

const owned = (n: { edit: Edit | null }, edit: Edit | null): boolean => edit !== null && edit.live && n.edit === edit;

function leafOf<T>(keys: T[], edit: Edit | null): Leaf<T> {
  return { leaf: true, keys, size: keys.length, edit };
}
function branchOf<T>(children: Child<T>[], edit: Edit | null): Branch<T> {
  let size = 0;
  const keys: T[] = new Array(children.length);
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    size += c.size;
    keys[i] = lastOf(c);
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
function insertInto<T>(node: Node<T>, key: T, cmp: Comparator<T>, edit: Edit | null, store: NodeStore<T> | null): Node<T>[] | null {
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
  const replaced = insertInto(kid(node, i, store), key, cmp, edit, store);
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
function removeFrom<T>(node: Node<T>, key: T, cmp: Comparator<T>, edit: Edit | null, store: NodeStore<T> | null): Node<T> | null {
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
  const child = removeFrom(kid(node, i, store), key, cmp, edit, store);
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
  // Keep leaves from thinning out under many removals: merge a small child into a neighbour
  // (one in memory: a durable neighbour is not loaded for it, the segment writer repacks runs).
  const j = i > 0 ? i - 1 : i + 1;
  if (child.keys.length < MIN && target.children.length > 1 && !isStub(target.children[j]!)) {
    const l = Math.min(i, j);
    const left = target.children[l] as Node<T>;
    const right = target.children[l + 1] as Node<T>;
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

function forRange<T>(node: Node<T>, lo: Probe<T>, hi: Probe<T>, fn: (key: T) => boolean | void, store: NodeStore<T> | null): boolean {
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
    if (!forRange(kid(node, i, store, hi), lo, hi, fn, store)) return false;
    // This child's largest key is past hi: so is everything after it.
    if (hi(keys[i]!) > 0) return false;
  }
  return true;
}

const ALL = (): number => 0;

/**
 * Calls fn for the keys from the one at position `rank` (0-based, in the whole tree) on, while
 * they are inside hi. Reaching the rank costs O(log n): whole subtrees are skipped by their size.
 */
function forFrom<T>(node: Node<T>, rank: number, hi: Probe<T>, fn: (key: T) => boolean | void, store: NodeStore<T> | null): boolean {
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
  if (!forFrom(kid(node, i, store, hi), r, hi, fn, store)) return false;
  if (hi(node.keys[i]!) > 0) return false;
  for (i++; i < children.length; i++) {
    if (!forRange(kid(node, i, store, hi), ALL, hi, fn, store)) return false;
    if (hi(node.keys[i]!) > 0) return false;
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

  constructor(root: Node<T>, lo: Probe<T>, private readonly hi: Probe<T>, private readonly store: NodeStore<T> | null = null) {
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
      node = kid(node, i, store, hi);
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
      // A subtree whose largest key is past hi ends the walk (the rest is past it too).
      if (top !== undefined && this.hi(top.node.keys[top.i]!) > 0) {
        this.leaf = null;
        return undefined;
      }
      while (top !== undefined && top.i + 1 >= top.node.children.length) {
        this.path.pop();
        top = this.path[this.path.length - 1];
      }
      if (top === undefined) {
        this.leaf = null;
        return undefined;
      }
      // A miss leaves the cursor where it was: run again, it resumes here.
      let node = kid(top.node, top.i + 1, this.store, this.hi);
      top.i++;
      while (!node.leaf) {
        const child = kid(node, 0, this.store, this.hi);
        this.path.push({ node, i: 0 });
        node = child;
      }
      this.leaf = node;
      this.i = 0;
    }
  }
}

/** Number of keys k with below(k) true, where below is monotone (true then false). */
function countBelow<T>(node: Node<T>, below: (k: T) => boolean, store: NodeStore<T> | null): number {
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
    cur = kid(cur, lo, store);
  }
}

const EMPTY_LEAF: Leaf<never> = { leaf: true, keys: [], size: 0, edit: null };

export class SortedSet<T> {
  private constructor(
    private readonly top: Child<T>,
    readonly cmp: Comparator<T>,
    /** Where stubs are loaded from; null for a tree wholly in memory. */
    readonly store: NodeStore<T> | null = null,
  ) {}

  static empty<T>(cmp: Comparator<T>, store: NodeStore<T> | null = null): SortedSet<T> {
    return new SortedSet<T>(EMPTY_LEAF as Leaf<T>, cmp, store);
  }

  /** A tree restored from its durable root segment: nothing is loaded until a walk needs it. */
  static durable<T>(root: { addr: string; size: number }, cmp: Comparator<T>, store: NodeStore<T>): SortedSet<T> {
    if (root.size === 0) return new SortedSet<T>(EMPTY_LEAF as Leaf<T>, cmp, store);
    // A root's largest key is never read: only a parent's separators are.
    return new SortedSet<T>({ stub: true, addr: root.addr, size: root.size, last: undefined as T }, cmp, store);
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

  /** The root node, loaded (a SegmentMiss when it is not). */
  get root(): Node<T> {
    return resolve(this.top, this.store);
  }

  /** The root as stored in the tree: a node or a stub (for writing segments). */
  get rootChild(): Child<T> {
    return this.top;
  }

  get size(): number {
    return this.top.size;
  }

  private with(root: Node<T>): SortedSet<T> {
    return new SortedSet(root, this.cmp, this.store);
  }

  /**
   * How many nodes this tree has, and how many of them are the very objects of `other`'s tree
   * (structural sharing between versions; for diagnostics and tests). Stubs are not walked.
   */
  sharing(other: SortedSet<T>): { nodes: number; shared: number } {
    const theirs = new Set<Child<T>>();
    const collect = (n: Child<T>): void => {
      theirs.add(n);
      if (!isStub(n) && !n.leaf) for (const c of n.children) collect(c);
    };
    collect(other.top);
    let nodes = 0;
    let shared = 0;
    const walk = (n: Child<T>): void => {
      nodes++;
      if (theirs.has(n)) shared++;
      if (!isStub(n) && !n.leaf) for (const c of n.children) walk(c);
    };
    walk(this.top);
    return { nodes, shared };
  }

  /** Adds a key; with an edit token, nodes owned by that batch are mutated in place. */
  insert(key: T, edit: Edit | null = null): SortedSet<T> {
    const nodes = insertInto(this.root, key, this.cmp, edit, this.store);
    if (nodes === null) return this;
    if (nodes.length === 1) return this.with(nodes[0]!);
    return this.with(branchOf(nodes, edit));
  }

  remove(key: T, edit: Edit | null = null): SortedSet<T> {
    let node = removeFrom(this.root, key, this.cmp, edit, this.store);
    if (node === null) return this;
    while (!node.leaf && node.children.length === 1) node = kid(node, 0, this.store);
    if (!node.leaf && node.children.length === 0) node = EMPTY_LEAF as Leaf<T>;
    return this.with(node);
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
      node = kid(node, i, this.store);
    }
  }

  /**
   * Adds to `out` the address of the first unloaded segment on the path to where `key` is or
   * would be inserted (the path an insert, a remove or a get walks), if there is one.
   */
  missing(key: T, out: Set<string>): void {
    let c: Child<T> = this.top;
    for (;;) {
      let node: Node<T>;
      if (isStub(c)) {
        const n = this.store?.load(c.addr);
        if (n === undefined) {
          out.add(c.addr);
          return;
        }
        node = n;
      } else node = c;
      if (node.leaf) return;
      let i = lowerIndex(node.keys, key, this.cmp);
      if (i === node.keys.length) i--;
      if (i < 0) return;
      c = node.children[i]!;
    }
  }

  /** Calls fn for every key inside [lo, hi] in order; fn returning false stops the walk. */
  forRange(lo: Probe<T>, hi: Probe<T>, fn: (key: T) => boolean | void): void {
    forRange(this.root, lo, hi, fn, this.store);
  }

  forEach(fn: (key: T) => boolean | void): void {
    forRange(this.root, () => 0, () => 0, fn, this.store);
  }

  /** Number of keys inside [lo, hi], in O(log n). */
  countRange(lo: Probe<T>, hi: Probe<T>): number {
    const root = this.root;
    const below = countBelow(root, (k) => lo(k) < 0, this.store);
    const upTo = countBelow(root, (k) => hi(k) <= 0, this.store);
    return Math.max(0, upTo - below);
  }

  /**
   * Like forRange, but starting `skip` keys past the first key inside [lo, hi]: the skip costs
   * O(log n) (subtree sizes), not O(skip). For paging an index with an offset.
   */
  forRangeFrom(lo: Probe<T>, hi: Probe<T>, skip: number, fn: (key: T) => boolean | void): void {
    const root = this.root;
    if (skip <= 0) {
      forRange(root, lo, hi, fn, this.store);
      return;
    }
    forFrom(root, countBelow(root, (k) => lo(k) < 0, this.store) + skip, hi, fn, this.store);
  }

  /** A lazy walk over the keys inside [lo, hi] (see RangeCursor). */
  cursor(lo: Probe<T>, hi: Probe<T>): RangeCursor<T> {
    return new RangeCursor(this.root, lo, hi, this.store);
  }

  first(lo: Probe<T>, hi: Probe<T>): T | undefined {
    let found: T | undefined;
    forRange(this.root, lo, hi, (k) => {
      found = k;
      return false;
    }, this.store);
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
    }, this.store);
    return out;
  }
}

/** Node i of a branch, loaded (for walks outside this module, such as the query's fast scan). */
export function childOf<T>(set: SortedSet<T>, node: Branch<T>, i: number): Node<T> {
  return kid(node, i, set.store);
}

// ---- writing a tree as durable segments ------------------------------------------------------

/** A written segment as its parent names it. */
export interface SegmentRef<T> {
  readonly addr: string;
  readonly size: number;
  /** Its largest key; undefined only for the empty tree's one empty leaf. */
  readonly last: T | undefined;
}

/** A segment to write: a leaf's keys, or a branch's children. Answered with its address. */
export type SegmentWrite<T> =
  | { readonly kind: 'leaf'; readonly keys: readonly T[] }
  | { readonly kind: 'branch'; readonly children: readonly SegmentRef<T>[] };

/** Sizes of written segments: runs are cut into pieces of about TARGET, at most MAX_* each. */
export const SEGMENT_LEAF_TARGET = 512;
export const SEGMENT_LEAF_MAX = 1024;
export const SEGMENT_BRANCH_TARGET = 256;
export const SEGMENT_BRANCH_MAX = 512;

function pieces<X>(xs: readonly X[], target: number, max: number, weight?: (x: X) => number): X[][] {
  if (weight !== undefined) return weighedPieces(xs, target, max, weight);
  if (xs.length <= max) return [xs.slice()];
  const n = Math.ceil(xs.length / target);
  const out: X[][] = [];
  for (let k = 0; k < n; k++) out.push(xs.slice(Math.floor((k * xs.length) / n), Math.floor(((k + 1) * xs.length) / n)));
  return out;
}

/** Runs cut where their weight passes the target (a key heavier than the maximum goes alone). */
function weighedPieces<X>(xs: readonly X[], target: number, max: number, weight: (x: X) => number): X[][] {
  let total = 0;
  for (const x of xs) total += weight(x);
  if (total <= max) return [xs.slice()];
  const out: X[][] = [];
  let cur: X[] = [];
  let w = 0;
  for (const x of xs) {
    const wx = weight(x);
    if (cur.length > 0 && w + wx > target) {
      out.push(cur);
      cur = [];
      w = 0;
    }
    cur.push(x);
    w += wx;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

const refOf = <T>(c: Child<T>): SegmentRef<T> | null =>
  isStub(c) ? { addr: c.addr, size: c.size, last: c.last } : c.addr !== undefined ? { addr: c.addr, size: c.size, last: lastOf(c) } : null;

/**
 * Writes the nodes of `set` that are not durable yet as segments, bottom up, children before the
 * branch that names them, and returns the root's reference. Durable subtrees (stubs, loaded
 * nodes) are named, not rewritten: a new root shares everything that did not change. New
 * leaves are merged and cut again into pieces of about SEGMENT_LEAF_TARGET keys, and each level,
 * across the whole tree, into branches of about SEGMENT_BRANCH_TARGET children: a written tree
 * has the segments' fan-out, not the in-memory one, and its depth (the round trips of a cold
 * read) follows from it. A generator: it yields each segment to write and is resumed with the
 * segment's address (the caller does the encoding and the I/O).
 */
export function* writeSegments<T>(set: SortedSet<T>, weight?: (key: T) => number): Generator<SegmentWrite<T>, SegmentRef<T>, string> {
  const top = set.rootChild;
  const done = refOf(top);
  if (done !== null) return done;
  const node = top as Node<T>;
  if (node.size === 0) {
    const addr = yield { kind: 'leaf', keys: [] };
    return { addr, size: 0, last: undefined };
  }
  // Bottom up, the whole level at once: runs of references of the level's height (new or
  // durable) are cut into branch segments; a durable subtree higher than the level waits for
  // the runs around it to reach its height. Every leaf stays at the same depth.
  let items: Item<T>[] = node.leaf
    ? (yield* leaves(node.keys, weight)).map((ref) => ({ ref, height: 0 }))
    : yield* levelItems<T>(node, weight);
  for (let h = 0; items.length > 1; h++) {
    const next: Item<T>[] = [];
    let run: SegmentRef<T>[] = [];
    function* flush(): Generator<SegmentWrite<T>, void, string> {
      if (run.length === 0) return;
      for (const ref of yield* branches(run)) next.push({ ref, height: h + 1 });
      run = [];
    }
    for (const it of items) {
      if (it.height === h) run.push(it.ref);
      else {
        yield* flush();
        next.push(it);
      }
    }
    yield* flush();
    items = next;
  }
  return items[0]!.ref;
}

/** A reference in the level-by-level write, with the height of its subtree (0: a leaf). */
interface Item<T> {
  readonly ref: SegmentRef<T>;
  readonly height: number;
}

/**
 * The tree below a new branch as a sequence: leaf segments of its new leaves (runs of keys merged
 * across parents, then cut) and references to its durable subtrees, with heights relative to the
 * deepest of them. The tree is balanced, so everything at the deepest level has one height (the
 * leaves', when a leaf is new) and a subtree k levels up is k higher.
 */
function* levelItems<T>(top: Branch<T>, weight?: (key: T) => number): Generator<SegmentWrite<T>, Item<T>[], string> {
  const out: Array<{ ref: SegmentRef<T>; depth: number }> = [];
  let keys: T[] = [];
  let keysDepth = 0;
  function* flush(): Generator<SegmentWrite<T>, void, string> {
    if (keys.length === 0) return;
    for (const ref of yield* leaves(keys, weight)) out.push({ ref, depth: keysDepth });
    keys = [];
  }
  function* walk(n: Branch<T>, depth: number): Generator<SegmentWrite<T>, void, string> {
    for (const c of n.children) {
      const ref = refOf(c);
      if (ref !== null) {
        yield* flush();
        out.push({ ref, depth: depth + 1 });
      } else if ((c as Node<T>).leaf) {
        keysDepth = depth + 1;
        for (const k of (c as Leaf<T>).keys) keys.push(k);
        // Long runs are cut as they come: a piece ends early at most once per this many keys.
        if (keys.length >= 1 << 16) yield* flush();
      } else {
        yield* walk(c as Branch<T>, depth + 1);
      }
    }
  }
  yield* walk(top, 0);
  yield* flush();
  let deepest = 0;
  for (const x of out) deepest = Math.max(deepest, x.depth);
  return out.map((x) => ({ ref: x.ref, height: deepest - x.depth }));
}

function* leaves<T>(keys: T[], weight?: (key: T) => number): Generator<SegmentWrite<T>, SegmentRef<T>[], string> {
  const out: SegmentRef<T>[] = [];
  for (const piece of pieces(keys, SEGMENT_LEAF_TARGET, SEGMENT_LEAF_MAX, weight)) {
    const addr = yield { kind: 'leaf', keys: piece };
    out.push({ addr, size: piece.length, last: piece[piece.length - 1] });
  }
  return out;
}

function* branches<T>(children: SegmentRef<T>[]): Generator<SegmentWrite<T>, SegmentRef<T>[], string> {
  const out: SegmentRef<T>[] = [];
  for (const piece of pieces(children, SEGMENT_BRANCH_TARGET, SEGMENT_BRANCH_MAX)) {
    const addr = yield { kind: 'branch', children: piece };
    let size = 0;
    for (const c of piece) size += c.size;
    out.push({ addr, size, last: piece[piece.length - 1]!.last });
  }
  return out;
}

/** A node made from a leaf segment (loaded: immutable, never owned by an edit). */
export function loadedLeaf<T>(addr: string, keys: T[]): Leaf<T> {
  return { leaf: true, keys, size: keys.length, edit: null, addr };
}

/** A node made from a branch segment: its children are stubs until a walk loads them. */
export function loadedBranch<T>(addr: string, children: readonly SegmentRef<T>[]): Branch<T> {
  const stubs: Stub<T>[] = children.map((c) => ({ stub: true, addr: c.addr, size: c.size, last: c.last as T }));
  const b = branchOf<T>(stubs, null);
  b.addr = addr;
  return b;
}
