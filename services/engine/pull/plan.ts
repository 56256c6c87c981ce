/**
 * Pull plans: a parsed PullPattern bound to one schema.
 *
 * Attribute names become attribute ids, cardinality, reference and component flags; forward
 * attributes are sorted by id so that one walk over an entity's EAVT range can be merged with
 * them; reverse attributes keep the attribute to look up in VAET. A plan is cached in its pattern
 * for the last schema it was built for (schemas are replaced, never mutated, when they change),
 * so a pattern parsed once and pulled many times resolves its attributes once.
 */
import { incorrect } from '../errors';
import type { Attribute, Schema } from '../schema';
import { DEFAULT_LIMIT, PullPattern, type PullAttrSpec } from './parser';

/** How a referenced entity is pulled. */
export type Expand = 0 | 1 | 2 | 3 | 4;
/** A reference pulled as `{ 'db/id': n }` (and its `db/ident` when it has one). */
export const STUB = 0;
/** Pulled with the explicit sub-pattern. */
export const SUB = 1;
/** Pulled with the pattern that holds the spec, up to its recursion limit. */
export const RECURSE = 2;
/** A component reference without sub-pattern: pulled with `[*]`, recursively. */
export const COMPONENT = 3;
/**
 * A component reference with an explicit wildcard sub-pattern (`{:release/media [* ...]}`):
 * pulled with the sub-pattern, and like component expansion it stops at entities already seen
 * on the path (as DataScript does), so cyclic component data cannot loop.
 */
export const SUB_SEEN = 4;

export interface AttrPlan {
  /** Key in the result object. */
  readonly key: string;
  /** Attribute id (forward: the datom's a; reverse: the referencing attribute). */
  readonly id: number;
  /** Result is an array (forward cardinality many, reverse of a non-component attribute). */
  readonly many: boolean;
  readonly ref: boolean;
  /** Maximum number of values of an array result (Infinity: no limit). */
  readonly limit: number;
  readonly hasDefault: boolean;
  readonly defaultValue: unknown;
  readonly expand: Expand;
  /** Sub-plan for SUB and SUB_SEEN. */
  readonly sub: PatternPlan | null;
  /** Recursion limit for RECURSE (Infinity for `...`). */
  readonly recursion: number;
  /** Index of this spec's recursion counter in the evaluator (RECURSE only). */
  readonly slot: number;
}

export interface PatternPlan {
  readonly wildcard: boolean;
  /** Keys under which the entity id goes (`:db/id`, its `:as` names, implied by `*`). */
  readonly idKeys: readonly string[];
  /** Forward attributes present in the schema, sorted by attribute id. */
  readonly forward: readonly AttrPlan[];
  /** Smallest and largest forward attribute id: the EAVT range to walk when not wildcard. */
  readonly minAttr: number;
  readonly maxAttr: number;
  readonly reverse: readonly AttrPlan[];
  /** Specs naming no attribute of the schema but carrying a :default: always defaulted. */
  readonly absentDefaults: readonly AttrPlan[];
  /** Per-schema plans for attributes met through `*`. */
  readonly schemaPlans: SchemaPlans;
}

export interface RootPlan {
  readonly root: PatternPlan;
  /** Number of recursion counters the evaluator needs. */
  readonly slots: number;
}

/** Plans that depend only on the schema: wildcard attributes and the component pattern `[*]`. */
export class SchemaPlans {
  private readonly byAttr = new Map<number, AttrPlan>();
  readonly componentPattern: PatternPlan;

  constructor(readonly schema: Schema) {
    this.componentPattern = {
      wildcard: true,
      idKeys: ['db/id'],
      forward: [],
      minAttr: 0,
      maxAttr: 0,
      reverse: [],
      absentDefaults: [],
      schemaPlans: this,
    };
  }

  /** The plan of attribute `a` when pulled by `*` (undefined if `a` is not an attribute). */
  wildcardAttr(a: number): AttrPlan | undefined {
    let p = this.byAttr.get(a);
    if (p === undefined) {
      const attr = this.schema.attrs.get(a);
      if (attr === undefined) return undefined;
      const ref = attr.valueType === 'ref';
      p = {
        key: attr.ident.slice(1),
        id: a,
        many: attr.cardinality === 'many',
        ref,
        limit: attr.cardinality === 'many' ? DEFAULT_LIMIT : Infinity,
        hasDefault: false,
        defaultValue: undefined,
        expand: ref && attr.isComponent ? COMPONENT : STUB,
        sub: null,
        recursion: 0,
        slot: -1,
      };
      this.byAttr.set(a, p);
    }
    return p;
  }
}

const schemaPlansCache = new WeakMap<Schema, SchemaPlans>();

export function schemaPlansFor(schema: Schema): SchemaPlans {
  let s = schemaPlansCache.get(schema);
  if (s === undefined) {
    s = new SchemaPlans(schema);
    schemaPlansCache.set(schema, s);
  }
  return s;
}

/** The plan of `pattern` for `schema`, built once per schema and cached in the pattern. */
export function planFor(pattern: PullPattern, schema: Schema): RootPlan {
  const cached = pattern.planCache;
  if (cached !== null && cached.schema === schema) return cached.plan as RootPlan;
  const b = new Builder(schemaPlansFor(schema));
  const root = b.pattern(pattern);
  const plan: RootPlan = { root, slots: b.slots };
  pattern.planCache = { schema, plan };
  return plan;
}

class Builder {
  slots = 0;
  constructor(readonly plans: SchemaPlans) {}

  pattern(p: PullPattern): PatternPlan {
    const idKeys: string[] = [];
    const forward: AttrPlan[] = [];
    const reverse: AttrPlan[] = [];
    const absentDefaults: AttrPlan[] = [];
    for (const spec of p.attrs) {
      if (spec.name === ':db/id') {
        idKeys.push(spec.key);
        continue;
      }
      const r = this.attr(spec);
      if (r === null) continue;
      if (r.attr === null) absentDefaults.push(r.plan);
      else if (r.reverse) reverse.push(r.plan);
      else forward.push(r.plan);
    }
    if (p.wildcard && !p.attrs.some((s) => s.name === ':db/id')) idKeys.unshift('db/id');
    forward.sort((x, y) => x.id - y.id);
    const plan: PatternPlan = {
      wildcard: p.wildcard,
      idKeys,
      forward,
      minAttr: forward.length > 0 ? forward[0]!.id : 0,
      maxAttr: forward.length > 0 ? forward[forward.length - 1]!.id : 0,
      reverse,
      absentDefaults,
      schemaPlans: this.plans,
    };
    return plan;
  }

  /** The plan of one spec; null when it names no attribute and has no default (it is omitted). */
  private attr(spec: PullAttrSpec): { plan: AttrPlan; attr: Attribute | null; reverse: boolean } | null {
    const schema = this.plans.schema;
    let attr = schema.attrByIdent(spec.name);
    let reverse = false;
    if (attr === undefined) {
      // `:ns/_name` (or `:_name`) navigates `:ns/name` backwards.
      const slash = spec.name.indexOf('/');
      const at = slash > 0 ? slash + 1 : 1;
      if (spec.name.charCodeAt(at) === 95 /* _ */ && spec.name.length > at + 1) {
        attr = schema.attrByIdent(`${spec.name.slice(0, at)}${spec.name.slice(at + 1)}`);
        reverse = true;
      }
    }
    if (attr === undefined) {
      if (!spec.hasDefault) return null;
      return { plan: this.make(spec, -1, false, false, STUB, null), attr: null, reverse: false };
    }
    const ref = attr.valueType === 'ref';
    if (!ref && (reverse || spec.sub !== null || spec.recursion !== null)) {
      throw incorrect(
        'pull/not-a-ref',
        reverse
          ? `Cannot pull ${spec.name} in reverse: ${attr.ident} is not a reference attribute (:db.type/${attr.valueType})`
          : `Cannot pull a sub-pattern of ${spec.name}: it is not a reference attribute (:db.type/${attr.valueType})`,
        { attribute: spec.name },
      );
    }
    const many = reverse ? !attr.isComponent : attr.cardinality === 'many';
    let expand: Expand;
    let sub: PatternPlan | null = null;
    if (spec.recursion !== null) expand = RECURSE;
    else if (spec.sub !== null) {
      expand = attr.isComponent && spec.sub.wildcard ? SUB_SEEN : SUB;
      sub = this.pattern(spec.sub);
    } else if (ref && !reverse && attr.isComponent) expand = COMPONENT;
    else expand = STUB;
    return { plan: this.make(spec, attr.id, many, ref, expand, sub), attr, reverse };
  }

  private make(spec: PullAttrSpec, id: number, many: boolean, ref: boolean, expand: Expand, sub: PatternPlan | null): AttrPlan {
    return {
      key: spec.key,
      id,
      many,
      ref,
      limit: many ? (spec.limit ?? DEFAULT_LIMIT) : Infinity,
      hasDefault: spec.hasDefault,
      defaultValue: spec.defaultValue,
      expand,
      sub,
      recursion: spec.recursion ?? 0,
      slot: expand === RECURSE ? this.slots++ : -1,
    };
  }
}
