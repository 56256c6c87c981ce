/**
 * Pull pattern parsing: selector text or data → a PullPattern, independent of any database.
 *
 * The grammar is Datomic's (docs.datomic.com, "Pull"):
 *
 *   pattern             = [attr-spec+]
 *   attr-spec           = attr-name | wildcard | map-spec | attr-expr
 *   attr-name           = an edn keyword that names an attr (`:ns/_name` navigates in reverse)
 *   wildcard            = "*" or '*'
 *   map-spec            = { ((attr-name | attr-expr) (pattern | recursion-limit))+ }
 *   attr-expr           = [attr-name attr-option+] | legacy-attr-expr      ; vector or list
 *   attr-option         = :as any-value | :limit (positive-number | nil) | :default any-value
 *                         | :xform symbol                                   ; unsupported here
 *   recursion-limit     = positive-number | '...'
 *   legacy-attr-expr    = (limit attr-name (positive-number | nil)) | (default attr-name any-value)
 *
 * A selector is an EDN string, EDN data (Keyword, Sym, EdnList, arrays, Map), or plain JS data
 * where keywords are strings with or without the colon (`':person/name'`, `'person/name'`),
 * `'*'` is the wildcard, `'...'` unbounded recursion, `null` nil, and map specs are objects or
 * Maps. An object key that starts with `[` or `(` is read as EDN, so JS data can use an
 * attribute expression as a map-spec key: `{ '[:person/friends :limit 2]': [':person/name'] }`.
 *
 * Whether an attribute exists, is a reference or is a component is a property of a database's
 * schema, not of the pattern: that is decided when the pattern is applied (see resolve.ts).
 */
import { EdnList, Keyword, Sym, Tagged, Uuid, readEdn } from '../edn';
import { describeValue, incorrect, unsupported } from '../errors';

/** The default number of values pulled for a cardinality-many attribute (Datomic's). */
export const DEFAULT_LIMIT = 1000;

/** One attribute of a pattern: a forward or reverse attribute, or `:db/id`. */
export interface PullAttrSpec {
  /** The attribute as written, as a keyword string with the colon: `':person/_friends'`. */
  readonly name: string;
  /** Key of the value in the result: the name without the colon, or the `:as` value. */
  readonly key: string;
  /** `:limit`: undefined = the default (1000), Infinity = `:limit nil`. */
  readonly limit: number | undefined;
  readonly hasDefault: boolean;
  /** `:default` value (plain JS data), meaningful when hasDefault. */
  readonly defaultValue: unknown;
  /** Explicit sub-pattern of a map spec, or null. */
  readonly sub: PullPattern | null;
  /** Recursion limit of a map spec (`{:friends 2}`, `{:friends ...}` = Infinity), or null. */
  readonly recursion: number | null;
}

/** A parsed pull pattern. Immutable; the evaluator caches per-schema plans inside it. */
export class PullPattern {
  /** @internal Plan cache for the last schema this pattern was applied with (see resolve.ts). */
  planCache: { schema: unknown; plan: unknown } | null = null;

  constructor(
    /** The pattern contains `*`. */
    readonly wildcard: boolean,
    /** Attribute specs in the order written; a later spec with the same key replaces an earlier one. */
    readonly attrs: readonly PullAttrSpec[],
  ) {}
}

export function isPullPattern(x: unknown): x is PullPattern {
  return x instanceof PullPattern;
}

/** Parses a pull selector (EDN text, EDN data or JS data); throws `incorrect` naming the bad part. */
export function parsePullPattern(selector: unknown): PullPattern {
  if (selector instanceof PullPattern) return selector;
  return parsePattern(typeof selector === 'string' ? readEdn(selector) : selector, 0);
}

const MAX_DEPTH = 100;

function parsePattern(x: unknown, depth: number): PullPattern {
  if (depth > MAX_DEPTH) {
    throw incorrect('pull/too-deep', `Pull pattern is nested more than ${MAX_DEPTH} levels deep`);
  }
  const items = seqItems(x);
  if (items === null) {
    throw incorrect('pull/invalid-pattern', `A pull pattern must be a vector of attribute specs, got ${show(x)}`, { pattern: show(x) });
  }
  if (items.length === 0) {
    throw incorrect('pull/invalid-pattern', 'A pull pattern must contain at least one attribute spec, got []', { pattern: '[]' });
  }
  let wildcard = false;
  const attrs: PullAttrSpec[] = [];
  const add = (spec: PullAttrSpec): void => {
    const i = attrs.findIndex((a) => a.key === spec.key);
    if (i === -1) attrs.push(spec);
    else attrs[i] = spec; // as DataScript and Datomic: the last spec for a key wins
  };
  for (const item of items) {
    if (isWildcard(item)) {
      wildcard = true;
    } else if (isMapLike(item)) {
      for (const [k, v] of mapEntries(item)) add(parseMapSpecEntry(k, v, depth));
    } else {
      const spec = parseAttrSpec(item, depth);
      if (spec === null) {
        throw incorrect(
          'pull/invalid-attr-spec',
          `Expected an attribute name, *, a map spec or an attribute expression in the pull pattern, got ${show(item)}`,
          { attrSpec: show(item) },
        );
      }
      add(spec);
    }
  }
  return new PullPattern(wildcard, attrs);
}

/** attr-name | attr-expr, or null when x has neither shape. */
function parseAttrSpec(x: unknown, depth: number): PullAttrSpec | null {
  const name = attrName(x);
  if (name !== undefined) return plainSpec(name);
  const items = seqItems(x);
  if (items === null) return null;
  const head = items[0];
  const legacy = legacyOp(head);
  if (legacy !== null) return parseLegacyExpr(legacy, items, x);
  const attr = attrName(head);
  if (attr === undefined) {
    throw incorrect(
      'pull/invalid-attr-spec',
      `An attribute expression must start with an attribute name, limit or default, got ${show(x)}`,
      { attrSpec: show(x) },
    );
  }
  if (items.length < 3 || items.length % 2 === 0) {
    throw incorrect(
      'pull/invalid-attr-spec',
      `An attribute expression is [attr-name option value ...] with at least one option, got ${show(x)}`,
      { attrSpec: show(x) },
    );
  }
  let spec = plainSpec(attr);
  for (let i = 1; i < items.length; i += 2) {
    const opt = optionName(items[i]);
    const value = items[i + 1];
    switch (opt) {
      case 'as':
        spec = { ...spec, key: asKey(value, x) };
        break;
      case 'limit':
        spec = { ...spec, limit: limitValue(value, x) };
        break;
      case 'default':
        spec = { ...spec, hasDefault: true, defaultValue: ednToJs(value, depth) };
        break;
      case 'xform':
        throw unsupported(
          'pull/xform-unsupported',
          `The :xform option is not supported by Datalith's pull (in ${show(x)}); transform the pulled value in your code`,
          { attrSpec: show(x) },
        );
      default:
        throw incorrect(
          'pull/invalid-option',
          `Unknown attribute option ${show(items[i])} in ${show(x)}: expected :as, :limit or :default`,
          { attrSpec: show(x), option: show(items[i]) },
        );
    }
  }
  return spec;
}

function parseLegacyExpr(op: 'limit' | 'default', items: readonly unknown[], x: unknown): PullAttrSpec {
  const attr = items.length === 3 ? attrName(items[1]) : undefined;
  if (attr === undefined) {
    throw incorrect(
      'pull/invalid-attr-spec',
      op === 'limit'
        ? `Expected (limit attr-name (positive-number | nil)), got ${show(x)}`
        : `Expected (default attr-name any-value), got ${show(x)}`,
      { attrSpec: show(x) },
    );
  }
  const spec = plainSpec(attr);
  return op === 'limit'
    ? { ...spec, limit: limitValue(items[2], x) }
    : { ...spec, hasDefault: true, defaultValue: ednToJs(items[2], 0) };
}

function parseMapSpecEntry(k: unknown, v: unknown, depth: number): PullAttrSpec {
  let keyForm = k;
  if (typeof k === 'string' && (k.startsWith('[') || k.startsWith('('))) keyForm = readEdn(k);
  const spec = parseAttrSpec(keyForm, depth);
  if (spec === null) {
    throw incorrect(
      'pull/invalid-map-spec',
      `A map spec key must be an attribute name or an attribute expression, got ${show(k)}`,
      { attrSpec: show(k) },
    );
  }
  if (spec.name === ':db/id') {
    throw incorrect('pull/invalid-map-spec', `:db/id is not a reference and cannot have a sub-pattern (in map spec {${show(k)} ${show(v)}})`, { attrSpec: show(k) });
  }
  if (isRecursionEllipsis(v)) return { ...spec, recursion: Infinity };
  if (typeof v === 'number' || typeof v === 'bigint') {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) {
      throw incorrect(
        'pull/invalid-recursion-limit',
        `A recursion limit must be a positive integer or ..., got ${show(v)} for ${show(k)}`,
        { attrSpec: show(k), limit: show(v) },
      );
    }
    return { ...spec, recursion: n };
  }
  if (seqItems(v) === null) {
    throw incorrect(
      'pull/invalid-map-spec',
      `A map spec value must be a pattern (vector), a positive recursion limit or ..., got ${show(v)} for ${show(k)}`,
      { attrSpec: show(k), value: show(v) },
    );
  }
  return { ...spec, sub: parsePattern(v, depth + 1) };
}

function plainSpec(name: string): PullAttrSpec {
  return { name, key: name.slice(1), limit: undefined, hasDefault: false, defaultValue: undefined, sub: null, recursion: null };
}

// ---- terminals ---------------------------------------------------------------------------------

const NAME_RE = /^:[^\s,;"'`~@^\\()[\]{}]+$/;

/** ':ns/name' for an attribute name (Keyword, or string with or without the colon), else undefined. */
function attrName(x: unknown): string | undefined {
  let text: string;
  if (x instanceof Keyword) text = x.toString();
  else if (typeof x === 'string') {
    if (x === '*' || x === '...' || x === 'limit' || x === 'default' || x.length === 0) return undefined;
    text = x.charCodeAt(0) === 58 ? x : `:${x}`;
  } else return undefined;
  if (!NAME_RE.test(text) || text === ':') {
    throw incorrect('pull/invalid-attr-name', `Invalid attribute name ${show(x)} in pull pattern`, { attribute: show(x) });
  }
  return text;
}

function isWildcard(x: unknown): boolean {
  return x === '*' || (x instanceof Sym && x.fqn === '*');
}

function isRecursionEllipsis(x: unknown): boolean {
  return x === '...' || (x instanceof Sym && x.fqn === '...');
}

function legacyOp(x: unknown): 'limit' | 'default' | null {
  const t = x instanceof Sym ? x.fqn : typeof x === 'string' ? x : null;
  return t === 'limit' || t === 'default' ? t : null;
}

function optionName(x: unknown): string | undefined {
  if (x instanceof Keyword) return x.ns === null ? x.name : undefined;
  if (typeof x === 'string') return x.charCodeAt(0) === 58 ? x.slice(1) : x;
  return undefined;
}

function asKey(v: unknown, where: unknown): string {
  if (typeof v === 'string') return v.charCodeAt(0) === 58 && v.length > 1 ? v.slice(1) : v;
  if (v instanceof Keyword || v instanceof Sym) return v.fqn;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  throw incorrect('pull/invalid-option', `The :as option needs a keyword, string, symbol or number, got ${show(v)} in ${show(where)}`, {
    attrSpec: show(where),
  });
}

function limitValue(v: unknown, where: unknown): number {
  if (v === null || v === undefined) return Infinity;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n > 0) return n;
  throw incorrect('pull/invalid-limit', `A :limit must be a positive integer or nil, got ${show(v)} in ${show(where)}`, {
    attrSpec: show(where),
    limit: show(v),
  });
}

// ---- data shapes -------------------------------------------------------------------------------

function seqItems(x: unknown): readonly unknown[] | null {
  if (Array.isArray(x)) return x;
  if (x instanceof EdnList) return x.items;
  return null;
}

function isMapLike(x: unknown): boolean {
  if (x instanceof Map) return true;
  if (typeof x !== 'object' || x === null) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

function mapEntries(x: unknown): Array<[unknown, unknown]> {
  if (x instanceof Map) return [...(x as Map<unknown, unknown>).entries()];
  return Object.entries(x as Record<string, unknown>);
}

/** EDN data as the plain JS values of the public contract (keywords as ':ns/name', lists as arrays). */
function ednToJs(v: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) throw incorrect('pull/too-deep', `A :default value is nested more than ${MAX_DEPTH} levels deep`);
  if (v === undefined) return null;
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Keyword) return v.toString();
  if (v instanceof Sym) return v.fqn;
  if (v instanceof Uuid) return v.value;
  if (v instanceof EdnList) return v.items.map((x) => ednToJs(x, depth + 1));
  if (Array.isArray(v)) return v.map((x) => ednToJs(x, depth + 1));
  if (v instanceof Set) return [...v].map((x) => ednToJs(x, depth + 1));
  if (v instanceof Tagged) return v;
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v) out[k instanceof Keyword || k instanceof Sym ? k.fqn : String(ednToJs(k, depth + 1))] = ednToJs(x, depth + 1);
    return out;
  }
  return v; // Date, BigDec, plain objects: already public values
}

/** Printable form of a pattern fragment for messages: EDN when possible, short. */
export function show(x: unknown): string {
  return describeValue(x);
}
