/**
 * Pull evaluation: applies a plan to entities of a database value.
 *
 * Each entity is read with one walk over its EAVT range (all of it for `*`, else from the
 * smallest to the largest attribute the pattern names), merged with the plan's forward
 * attributes sorted by id; reverse attributes read VAET. The datoms of the entities being pulled
 * are kept on one shared stack (`buf`): an entity's datoms occupy a segment, the entities it
 * refers to push their segments above it, and the segment is dropped when the entity is done.
 *
 * Nested entities are pulled with an explicit stack of frames (reused, one per depth) rather than
 * with JS recursion, so `{:friends ...}` over a chain of many thousands of entities cannot
 * overflow the call stack. A frame is a small state machine: it scans its datoms until it meets a
 * reference to pull, pushes a frame for it, and resumes when that frame delivers its result.
 *
 * Semantics (Datomic's, docs.datomic.com "Pull"): missing attributes are omitted; an entity
 * nothing matches is `{}` at the top and is dropped when nested, and a reference attribute whose
 * nested entities were all dropped is omitted too; references without sub-pattern
 * are `{ 'db/id': n }` (with `'db/ident'` when the entity has one), component references are
 * pulled whole; recursion stops at its limit, and an entity already met on the recursion path is
 * returned as `{ 'db/id': n }`.
 */
import type { Datom } from '../datom';
import type { Db } from '../db';
import { incorrect } from '../errors';
import { COMPONENT, RECURSE, STUB, SUB, SUB_SEEN, type AttrPlan, type PatternPlan, type RootPlan } from './plan';

export type PulledEntity = Record<string, unknown>;

// Frame states.
const INIT = 0;
/** Walking the entity's datoms, attribute by attribute. */
const SCAN = 1;
/** Pulling the references of a cardinality-many forward attribute (f.spec, datoms f.x..f.j). */
const MANY = 2;
/** Waiting for the one referenced entity of a cardinality-one forward attribute. */
const ONE = 3;
/** Next reverse attribute (f.r). */
const REVERSE = 4;
/** Pulling the entities referring to this one through f.spec (datoms f.x..f.j). */
const REVERSE_MANY = 5;
/** Waiting for the one entity referring to this one through a component attribute. */
const REVERSE_ONE = 6;

// How a frame was entered, to undo on exit.
const ENTER_PLAIN = 0;
const ENTER_RECURSE = 1;
const ENTER_COMPONENT = 2;

class Frame {
  p!: PatternPlan;
  e = 0;
  out: PulledEntity = {};
  n = 0;
  state = INIT;
  enter = ENTER_PLAIN;
  slot = -1;
  /** This entity's EAVT segment of buf. */
  start = 0;
  end = 0;
  /** Scan position: datom index of the current attribute run [i, j), next forward spec k. */
  i = 0;
  j = 0;
  k = 0;
  /** The current spec came from `*` (no explicit spec shares its run). */
  wild = false;
  spec: AttrPlan | null = null;
  arr: unknown[] | null = null;
  x = 0;
  /** Next reverse spec. */
  r = 0;
}

/** Returned by `follow` when it pushed a frame whose result is delivered later. */
const PENDING: PulledEntity = Object.freeze({}) as PulledEntity;

export class Puller {
  /** Datoms of the entities on the current pull path, one segment per entity. */
  private readonly buf: Datom[] = [];
  private readonly frames: Frame[] = [];
  private top = -1;
  /** Probe bounds of the EAVT walk in progress. */
  private e = 0;
  private aLo = 0;
  private aHi = 0;
  /** Entities entered through recursion or component expansion on the current path. */
  private readonly seen = new Set<number>();
  /** Recursion steps taken on the current path, per recursive spec (RootPlan slots). */
  private readonly used: number[];
  private readonly identOf: ReadonlyMap<number, string>;

  private readonly lo = (d: Datom): number => (d.e < this.e ? -1 : d.e > this.e ? 1 : d.a < this.aLo ? -1 : 0);
  private readonly hi = (d: Datom): number => (d.e < this.e ? -1 : d.e > this.e ? 1 : d.a > this.aHi ? 1 : 0);
  private readonly push = (d: Datom): void => {
    this.buf.push(d);
  };

  constructor(
    private readonly db: Db,
    readonly plan: RootPlan,
  ) {
    if (db.isHistory) {
      throw incorrect('pull/history-db', 'Pull is not available on a history database value; use datoms or q with the history value');
    }
    this.used = new Array<number>(plan.slots).fill(0);
    this.identOf = db.schema.identOf;
  }

  /** The pulled entity `e`; `{}` when nothing in the pattern matches it. */
  pull(e: number): PulledEntity {
    // A clean start even if an earlier pull on this Puller threw half-way.
    this.top = -1;
    this.buf.length = 0;
    if (this.seen.size > 0) {
      this.seen.clear();
      this.used.fill(0);
    }
    this.enter(this.plan.root, e, ENTER_PLAIN, -1);
    for (;;) {
      const f = this.frames[this.top]!;
      const result = this.run(f);
      if (result === PENDING) continue;
      // f is done: undo what entering it did, and hand its result to the frame below.
      if (f.enter === ENTER_RECURSE) {
        this.seen.delete(f.e);
        this.used[f.slot]!--;
      } else if (f.enter === ENTER_COMPONENT) {
        this.seen.delete(f.e);
      }
      f.arr = null;
      f.spec = null;
      if (--this.top < 0) return result ?? {};
      this.deliver(this.frames[this.top]!, result);
    }
  }

  private enter(p: PatternPlan, e: number, enter: number, slot: number): void {
    const depth = ++this.top;
    let f = this.frames[depth];
    if (f === undefined) {
      f = new Frame();
      this.frames[depth] = f;
    }
    f.p = p;
    f.e = e;
    f.n = 0;
    f.state = INIT;
    f.enter = enter;
    f.slot = slot;
  }

  /**
   * Runs frame f until it needs a referenced entity (PENDING, with that entity's frame pushed)
   * or is done (its entity, or null when nothing matched).
   */
  private run(f: Frame): PulledEntity | null {
    const buf = this.buf;
    const p = f.p;
    const fw = p.forward;
    const nf = fw.length;
    for (;;) {
      switch (f.state) {
        case INIT: {
          const out: PulledEntity = {};
          f.out = out;
          const idKeys = p.idKeys;
          for (let q = 0; q < idKeys.length; q++) out[idKeys[q]!] = f.e;
          f.n = idKeys.length;
          if (p.wildcard || nf > 0) {
            f.start = buf.length;
            this.e = f.e;
            if (p.wildcard) {
              this.aLo = 0;
              this.aHi = Infinity;
            } else {
              this.aLo = p.minAttr;
              this.aHi = p.maxAttr;
            }
            this.db.forRange('eavt', this.lo, this.hi, this.push);
            f.end = buf.length;
            f.i = f.start;
            f.j = f.start;
            f.k = 0;
            f.state = SCAN;
          } else {
            f.start = buf.length;
            f.r = 0;
            f.state = REVERSE;
          }
          break;
        }

        case SCAN: {
          const i = f.i;
          if (i >= f.end) {
            // Specs for attributes the entity lacks, beyond its last attribute.
            while (f.k < nf) this.absent(f, fw[f.k++]!);
            buf.length = f.start;
            f.r = 0;
            f.state = REVERSE;
            break;
          }
          const a = buf[i]!.a;
          if (f.j <= i) {
            // A new attribute run: find its end, and default the specs for absent attributes below it.
            let j = i + 1;
            while (j < f.end && buf[j]!.a === a) j++;
            f.j = j;
            while (f.k < nf && fw[f.k]!.id < a) this.absent(f, fw[f.k++]!);
            f.wild = !(f.k < nf && fw[f.k]!.id === a);
            if (f.wild) {
              const s = p.wildcard ? p.schemaPlans.wildcardAttr(a) : undefined;
              if (s === undefined) {
                f.i = j;
                break;
              }
              if (this.begin(f, s) === PENDING) return PENDING;
              break;
            }
          }
          if (f.k < nf && fw[f.k]!.id === a) {
            if (this.begin(f, fw[f.k++]!) === PENDING) return PENDING;
          } else {
            f.i = f.j;
          }
          break;
        }

        case MANY: {
          const s = f.spec!;
          const arr = f.arr!;
          while (f.x < f.j && arr.length < s.limit) {
            const r = this.follow(f, s, buf[f.x++]!.v as number);
            if (r === PENDING) return PENDING;
            if (r !== null) arr.push(r);
          }
          // Nested entities nothing matched were dropped; with none left the attribute goes too.
          if (arr.length > 0) this.set(f, s.key, arr);
          this.next(f);
          break;
        }

        case REVERSE: {
          const rev = p.reverse;
          if (f.r >= rev.length) {
            const absent = p.absentDefaults;
            for (let q = 0; q < absent.length; q++) this.set(f, absent[q]!.key, absent[q]!.defaultValue);
            buf.length = f.start;
            return f.n === 0 ? null : f.out;
          }
          const s = rev[f.r]!;
          const rs = buf.length;
          this.db.forDatoms('vaet', f.e, s.id, undefined, undefined, this.push);
          const re = buf.length;
          if (re === rs) {
            this.absent(f, s);
            f.r++;
            break;
          }
          f.spec = s;
          if (s.expand === RECURSE && this.exhausted(s)) {
            const r = this.seenOnly(s, rs, re, true);
            if (r !== undefined) this.set(f, s.key, r);
            buf.length = rs;
            f.r++;
            break;
          }
          if (!s.many) {
            const v = buf[rs]!.e;
            buf.length = rs;
            f.state = REVERSE_ONE;
            const r = this.follow(f, s, v);
            if (r === PENDING) return PENDING;
            if (r !== null) this.set(f, s.key, r);
            f.r++;
            f.state = REVERSE;
            break;
          }
          f.arr = [];
          f.x = rs;
          f.j = re;
          f.state = REVERSE_MANY;
          break;
        }

        case REVERSE_MANY: {
          const s = f.spec!;
          const arr = f.arr!;
          while (f.x < f.j && arr.length < s.limit) {
            const r = this.follow(f, s, buf[f.x++]!.e);
            if (r === PENDING) return PENDING;
            if (r !== null) arr.push(r);
          }
          if (arr.length > 0) this.set(f, s.key, arr);
          buf.length = f.start;
          f.r++;
          f.state = REVERSE;
          break;
        }

        default:
          // ONE and REVERSE_ONE only resume through deliver().
          throw new Error(`pull: frame resumed in state ${f.state}`);
      }
    }
  }

  /** Starts forward spec s on the current run [f.i, f.j); PENDING if it waits for a referenced entity. */
  private begin(f: Frame, s: AttrPlan): PulledEntity | null {
    const buf = this.buf;
    f.spec = s;
    if (s.expand === RECURSE && this.exhausted(s)) {
      const r = this.seenOnly(s, f.i, f.j, false);
      if (r !== undefined) this.set(f, s.key, r);
      this.next(f);
      return null;
    }
    if (!s.many) {
      const v = buf[f.i]!.v;
      if (!s.ref) {
        this.set(f, s.key, v);
        this.next(f);
        return null;
      }
      f.state = ONE;
      const r = this.follow(f, s, v as number);
      if (r === PENDING) return PENDING;
      if (r !== null) this.set(f, s.key, r);
      f.state = SCAN;
      this.next(f);
      return null;
    }
    if (!s.ref) {
      const arr: unknown[] = [];
      const lim = s.limit;
      for (let x = f.i; x < f.j && arr.length < lim; x++) arr.push(buf[x]!.v);
      this.set(f, s.key, arr);
      this.next(f);
      return null;
    }
    f.arr = [];
    f.x = f.i;
    f.state = MANY;
    return null;
  }

  /** After a forward spec: the next spec on the same run, or the next run. */
  private next(f: Frame): void {
    f.state = SCAN;
    f.arr = null;
    if (f.wild) {
      f.i = f.j;
      return;
    }
    const fw = f.p.forward;
    const a = this.buf[f.i]!.a;
    if (!(f.k < fw.length && fw[f.k]!.id === a)) f.i = f.j;
  }

  /** Hands the result of a finished frame to the frame that asked for it. */
  private deliver(f: Frame, r: PulledEntity | null): void {
    switch (f.state) {
      case MANY:
      case REVERSE_MANY:
        if (r !== null) f.arr!.push(r);
        return;
      case ONE:
        if (r !== null) this.set(f, f.spec!.key, r);
        this.next(f);
        return;
      case REVERSE_ONE:
        if (r !== null) this.set(f, f.spec!.key, r);
        f.r++;
        f.state = REVERSE;
        return;
      default:
        throw new Error(`pull: result delivered in state ${f.state}`);
    }
  }

  /**
   * The referenced entity v as spec s pulls it: a result, null to drop it, or PENDING when a
   * frame was pushed to pull it.
   */
  private follow(f: Frame, s: AttrPlan, v: number): PulledEntity | null {
    switch (s.expand) {
      case STUB:
        return this.stub(v);
      case SUB:
        this.enter(s.sub!, v, ENTER_PLAIN, -1);
        return PENDING;
      case RECURSE: {
        if (this.seen.has(v)) return { 'db/id': v };
        const slot = s.slot;
        this.used[slot]!++;
        this.seen.add(v);
        this.enter(f.p, v, ENTER_RECURSE, slot);
        return PENDING;
      }
      case COMPONENT:
        if (this.seen.has(v)) return { 'db/id': v };
        this.seen.add(v);
        this.enter(f.p.schemaPlans.componentPattern, v, ENTER_COMPONENT, -1);
        return PENDING;
      case SUB_SEEN:
        if (this.seen.has(v)) return { 'db/id': v };
        this.seen.add(v);
        this.enter(s.sub!, v, ENTER_COMPONENT, -1);
        return PENDING;
      default:
        return this.stub(v);
    }
  }

  /** The recursion of s has reached its limit on this path. */
  private exhausted(s: AttrPlan): boolean {
    return this.used[s.slot]! >= s.recursion;
  }

  /**
   * The value of a recursive spec past its limit, from datoms buf[i..j): only the entities
   * already seen on the path remain, as `{ db/id }`; with none the attribute is left out
   * altogether (Datomic: `{:part 1}` pulls the parts' parts no more, not even as `[]`).
   */
  private seenOnly(s: AttrPlan, i: number, j: number, reverse: boolean): unknown {
    const buf = this.buf;
    let arr: PulledEntity[] | undefined;
    for (let x = i; x < j; x++) {
      const v = reverse ? buf[x]!.e : (buf[x]!.v as number);
      if (!this.seen.has(v)) continue;
      if (!s.many) return { 'db/id': v };
      if (arr === undefined) arr = [];
      if (arr.length < s.limit) arr.push({ 'db/id': v });
    }
    return arr;
  }

  private set(f: Frame, key: string, v: unknown): void {
    f.out[key] = v;
    f.n++;
  }

  private absent(f: Frame, s: AttrPlan): void {
    if (s.hasDefault) this.set(f, s.key, s.defaultValue);
  }

  private stub(v: number): PulledEntity {
    const ident = this.identOf.get(v);
    return ident === undefined ? { 'db/id': v } : { 'db/id': v, 'db/ident': ident };
  }
}
