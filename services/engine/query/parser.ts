/**
 * Query parser: turns a query (EDN string, EDN data, or plain JS data) into a small AST, and
 * checks it before any evaluation (unbound variables, bindings of `not`, `or` branches, unknown
 * functions and arities, rules).
 *
 * JS-data convention (see docs/queries.md):
 *   - a string starting with `?` is a variable, `$` / `$name` a source, `%` the rules, `_` a blank,
 *     `...` and `.` are the find/binding markers; a string starting with `:` is a keyword constant;
 *     any other string is a string constant.
 *   - an EDN list is written as an array whose first element names the operator:
 *     `['not', clause...]`, `['not-join', ['?e'], clause...]`, `['or', ...]`, `['or-join', [...], ...]`,
 *     `['and', ...]`, a rule call `['follows', '?a', '?b']`, an aggregate `['count', '?e']`,
 *     a pull `['pull', '?e', selector]`.
 *   - an expression clause is an array whose first element is the call:
 *     `[['>', '?s', 50000]]`, `[['str', '?a', '?b'], '?c']`.
 *   - the query is `[':find', ..., ':in', ..., ':where', ...]` or `{ find, in, where, with, keys }`.
 */
import { EdnList, Keyword, Sym, readEdn } from '../edn';
import { describeValue, incorrect } from '../errors';
import { BUILTINS, AGGREGATES } from './builtins';

// ---- AST ------------------------------------------------------------------------------------

export type Term =
  | { readonly t: 'var'; readonly name: string }
  | { readonly t: 'const'; readonly value: unknown }
  | { readonly t: 'blank' }
  | { readonly t: 'src'; readonly name: string };

export type Binding =
  | { readonly t: 'bvar'; readonly name: string }
  | { readonly t: 'bblank' }
  | { readonly t: 'btuple'; readonly items: readonly Binding[] }
  | { readonly t: 'bcoll'; readonly item: Binding }
  | { readonly t: 'brel'; readonly items: readonly Binding[] };

/**
 * `src` of a clause: the source it names (`$`, `$2`, ...), or null when it names none and reads
 * the default source of its scope (`$`, or the source a `($2 not ...)`, `($2 or ...)` or
 * `($2 rule ...)` around it names). An explicit `$` always means the query's `$`.
 */
export interface PatternClause { readonly kind: 'pattern'; readonly src: string | null; readonly terms: readonly Term[]; readonly text: string }
export interface PredClause { readonly kind: 'pred'; readonly fn: string; readonly args: readonly Term[]; readonly text: string }
export interface FnClause { readonly kind: 'fn'; readonly fn: string; readonly args: readonly Term[]; readonly binding: Binding; readonly text: string }
export interface NotClause { readonly kind: 'not'; readonly src: string | null; readonly joinVars: readonly string[] | null; readonly clauses: readonly Clause[]; readonly text: string }
export interface OrClause {
  readonly kind: 'or'; readonly src: string | null;
  /** or-join: the join variables (required ones first); null for plain `or`. */
  readonly joinVars: readonly string[] | null;
  readonly required: readonly string[];
  readonly branches: ReadonlyArray<readonly Clause[]>; readonly text: string;
}
export interface RuleCall { readonly kind: 'rule'; readonly src: string | null; readonly name: string; readonly args: readonly Term[]; readonly text: string }
export type Clause = PatternClause | PredClause | FnClause | NotClause | OrClause | RuleCall;

export type FindElem =
  | { readonly t: 'var'; readonly name: string }
  | { readonly t: 'agg'; readonly fn: string; readonly args: readonly Term[]; readonly text: string }
  | {
    readonly t: 'pull'; readonly src: string; readonly name: string;
    /** The pattern as written, or null when `patternName` names a pattern input. */
    readonly pattern: unknown; readonly patternName: string | null;
  };

export type InSpec =
  | { readonly t: 'src'; readonly name: string } | { readonly t: 'rules' } | { readonly t: 'bind'; readonly b: Binding }
  /** A pattern name (a plain symbol): the input is a pull pattern for `(pull ?e name)` in :find. */
  | { readonly t: 'pattern'; readonly name: string };

export interface Rule {
  readonly name: string;
  /** Head variables in order (required ones first). */
  readonly vars: readonly string[];
  readonly required: number;
  readonly clauses: readonly Clause[];
  readonly text: string;
}

export interface Query {
  readonly findKind: 'rel' | 'coll' | 'scalar' | 'tuple';
  readonly find: readonly FindElem[];
  readonly keys: { readonly kind: 'keys' | 'strs' | 'syms'; readonly names: readonly string[] } | null;
  readonly with: readonly string[];
  readonly in: readonly InSpec[];
  readonly where: readonly Clause[];
  /** No :in was written (it defaults to `$`). */
  readonly inDefault: boolean;
}

/** The query argument of a nested `(q query inputs...)` call, parsed and checked with its enclosing query. */
export class NestedQuery {
  constructor(readonly query: Query) {}
}

// ---- helpers --------------------------------------------------------------------------------

const bad = (what: string, form: unknown, why: string): never => {
  throw incorrect('query/invalid', `${why} in ${what} ${show(form)}`, { form: show(form) });
};

export const isSeq = (x: unknown): x is unknown[] | EdnList => Array.isArray(x) || x instanceof EdnList;
export const seqItems = (x: unknown[] | EdnList): unknown[] => (Array.isArray(x) ? x : x.items);

/** Printable EDN-ish text of a form (JS-convention strings shown as symbols). */
export function show(x: unknown): string {
  const s = showInner(x, 0);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}
function showInner(x: unknown, depth: number): string {
  if (depth > 20) return '…';
  if (x instanceof Sym) return x.fqn;
  if (x instanceof Keyword) return x.toString();
  if (x instanceof EdnList) return `(${x.items.map((y) => showInner(y, depth + 1)).join(' ')})`;
  if (Array.isArray(x)) return `[${x.map((y) => showInner(y, depth + 1)).join(' ')}]`;
  if (typeof x === 'string') return /^([?$%:_]|\.\.\.$|\.$)/.test(x) && !/\s/.test(x) ? x : describeValue(x);
  if (x instanceof Map) return `{${[...x.entries()].map(([k, v]) => `${showInner(k, depth + 1)} ${showInner(v, depth + 1)}`).join(', ')}}`;
  if (x === null || x === undefined) return 'nil';
  if (typeof x === 'bigint') return `${x}N`;
  if (x instanceof Date) return Number.isNaN(x.getTime()) ? 'an invalid Date' : `#inst "${x.toISOString()}"`;
  if (typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
    return `{${Object.entries(x).map(([k, v]) => `${k} ${showInner(v, depth + 1)}`).join(', ')}}`;
  }
  return describeValue(x);
}

export class Parser {
  /** js: strings may denote symbols (the JS-data convention). */
  constructor(readonly js: boolean) {}

  /** Symbol text of x, or undefined. In JS mode, strings that look like symbols count. */
  sym(x: unknown): string | undefined {
    if (x instanceof Sym) return x.fqn;
    if (this.js && typeof x === 'string' && x.length > 0) {
      const c = x.charCodeAt(0);
      if (c === 63 /* ? */ || c === 36 /* $ */) return /\s/.test(x) ? undefined : x;
      if (x === '%' || x === '_' || x === '...' || x === '.') return x;
    }
    return undefined;
  }
  /** Function / rule / operator name in head position. */
  opName(x: unknown): string | undefined {
    if (x instanceof Sym) return x.fqn;
    // In JS data, `_`, `%`, `.` and `...` are markers (sym), never names.
    if (this.js && typeof x === 'string' && x.length > 0 && x.charCodeAt(0) !== 58 && this.sym(x) === undefined && !/\s/.test(x)) return x;
    return undefined;
  }
  isVar(x: unknown): boolean {
    const s = this.sym(x);
    return s !== undefined && s.charCodeAt(0) === 63 && s.length > 1;
  }
  varName(x: unknown): string | undefined {
    const s = this.sym(x);
    return s !== undefined && s.charCodeAt(0) === 63 && s.length > 1 ? s : undefined;
  }
  srcName(x: unknown): string | undefined {
    const s = this.sym(x);
    return s !== undefined && s.charCodeAt(0) === 36 ? s : undefined;
  }
  kwName(x: unknown): string | undefined {
    if (x instanceof Keyword) return x.fqn;
    if (typeof x === 'string' && x.length > 1 && x.charCodeAt(0) === 58) return x.slice(1);
    return undefined;
  }

  term(x: unknown): Term {
    const s = this.sym(x);
    if (s !== undefined) {
      if (s === '_') return { t: 'blank' };
      if (s === '%') return { t: 'src', name: '%' }; // the rules, as an argument of a nested q
      if (s.charCodeAt(0) === 63) return { t: 'var', name: s };
      if (s.charCodeAt(0) === 36) return { t: 'src', name: s };
      if (x instanceof Sym) return { t: 'const', value: x.fqn }; // a bare symbol constant
    }
    return { t: 'const', value: constValue(x) };
  }

  // ---- query ---------------------------------------------------------------------------------

  query(form: unknown): Query {
    const parts = this.queryParts(form);
    const findForm = parts.get('find');
    if (findForm === undefined || findForm.length === 0) bad('query', form, 'Missing :find');
    const { kind, elems } = this.findSpec(findForm!, form);
    let keys: Query['keys'] = null;
    for (const k of ['keys', 'strs', 'syms'] as const) {
      const ks = parts.get(k);
      if (ks === undefined) continue;
      if (keys !== null) bad('query', form, 'Only one of :keys, :strs, :syms');
      const names = ks.map((x) => this.kwName(x) ?? this.sym(x) ?? (x instanceof Sym ? x.fqn : typeof x === 'string' ? x : bad(`:${k}`, ks, 'Expected names')));
      if (names.length !== elems.length) {
        throw incorrect('query/invalid', `:${k} has ${names.length} names but :find has ${elems.length} elements`, { keys: show(ks) });
      }
      if (kind !== 'rel') bad(`:${k}`, ks, `:${k} needs a relation find spec`);
      keys = { kind: k, names };
    }
    const withVars = (parts.get('with') ?? []).map((x) => this.varName(x) ?? bad(':with', parts.get('with'), `Expected variables, got ${show(x)}`));
    const inForms = parts.get('in');
    const ins: InSpec[] = inForms === undefined ? [{ t: 'src', name: '$' }] : inForms.map((x) => this.inSpec(x));
    const where = (parts.get('where') ?? []).map((c) => this.clause(c));
    return { findKind: kind, find: elems, keys, with: withVars, in: ins, where, inDefault: inForms === undefined };
  }

  private queryParts(form: unknown): Map<string, unknown[]> {
    const out = new Map<string, unknown[]>();
    const asList = (v: unknown): unknown[] => (isSeq(v) ? seqItems(v) : [v]);
    if (form instanceof Map) {
      for (const [k, v] of form) {
        const name = this.kwName(k) ?? (typeof k === 'string' ? k : undefined);
        if (name === undefined || !QUERY_KEYS.has(name)) bad('query', form, `Unexpected key ${show(k)}`);
        out.set(name!, asList(v));
      }
      return out;
    }
    if (isSeq(form)) {
      let cur: unknown[] | null = null;
      for (const x of seqItems(form)) {
        const k = this.kwName(x);
        if (k !== undefined && QUERY_KEYS.has(k)) {
          cur = [];
          if (out.has(k)) bad('query', form, `Duplicate :${k}`);
          out.set(k, cur);
        } else if (cur === null) bad('query', form, 'Query must start with :find');
        else cur.push(x);
      }
      return out;
    }
    if (typeof form === 'object' && form !== null && Object.getPrototypeOf(form) === Object.prototype) {
      for (const [k, v] of Object.entries(form)) {
        const name = k.charCodeAt(0) === 58 ? k.slice(1) : k;
        if (!QUERY_KEYS.has(name)) bad('query', form, `Unexpected key ${k}`);
        out.set(name, asList(v));
      }
      return out;
    }
    return bad('query', form, 'Expected a query vector or map');
  }

  private findSpec(forms: unknown[], whole: unknown): { kind: Query['findKind']; elems: FindElem[] } {
    if (forms.length === 2 && this.sym(forms[1]) === '.') return { kind: 'scalar', elems: [this.findElem(forms[0], whole)] };
    if (forms.length === 1 && Array.isArray(forms[0]) && !this.isCallForm(forms[0])) {
      const inner = forms[0];
      if (inner.length === 2 && this.sym(inner[1]) === '...') return { kind: 'coll', elems: [this.findElem(inner[0], whole)] };
      if (inner.length === 0) bad(':find', whole, 'Empty tuple find spec');
      return { kind: 'tuple', elems: inner.map((x) => this.findElem(x, whole)) };
    }
    for (const f of forms) if (this.sym(f) === '.' || this.sym(f) === '...') bad(':find', forms, 'Misplaced find marker');
    return { kind: 'rel', elems: forms.map((x) => this.findElem(x, whole)) };
  }

  private isCallForm(x: unknown[]): boolean {
    if (x.length === 0) return false;
    const head = this.opName(x[0]);
    return head !== undefined && !(x[0] instanceof Sym && /^[?$]/.test(head));
  }

  private findElem(x: unknown, whole: unknown): FindElem {
    const v = this.varName(x);
    if (v !== undefined) return { t: 'var', name: v };
    if (x instanceof EdnList || (Array.isArray(x) && this.isCallForm(x))) {
      const items = seqItems(x as unknown[] | EdnList);
      const head = this.opName(items[0]);
      if (head === 'pull') {
        let i = 1;
        let src = '$';
        const s = this.srcName(items[1]);
        if (s !== undefined) {
          src = s;
          i = 2;
        }
        const name = this.varName(items[i]);
        if (name === undefined || items.length !== i + 2) bad(':find', x, 'Expected (pull ?e pattern) or (pull $src ?e pattern)');
        const patternName = this.patternName(items[i + 1]) ?? null;
        return { t: 'pull', src, name: name!, pattern: patternName === null ? items[i + 1] : null, patternName };
      }
      if (head !== undefined) {
        const agg = AGGREGATES[head];
        if (agg === undefined) {
          throw incorrect('query/unknown-function', `Unknown aggregate function ${head} in :find ${show(x)}`, { fn: head });
        }
        const args = items.slice(1).map((y) => this.term(y));
        const last = args[args.length - 1];
        if (last === undefined || last.t !== 'var') bad(':find', x, 'Aggregate must take a variable as its last argument');
        if (args.length - 1 < agg.params[0] || args.length - 1 > agg.params[1]) {
          throw incorrect('query/wrong-arity', `Wrong number of arguments to aggregate ${head} in :find ${show(x)}`, { fn: head });
        }
        for (const a of args.slice(0, -1)) if (a.t !== 'const') bad(':find', x, 'Aggregate parameters must be constants');
        return { t: 'agg', fn: head, args, text: show(x) };
      }
    }
    return bad(':find', whole, `Invalid find element ${show(x)}`);
  }

  inSpec(x: unknown): InSpec {
    const s = this.sym(x);
    if (s === '%') return { t: 'rules' };
    if (s !== undefined && s.charCodeAt(0) === 36) return { t: 'src', name: s };
    const p = this.patternName(x);
    if (p !== undefined) return { t: 'pattern', name: p };
    return { t: 'bind', b: this.binding(x, ':in') };
  }

  /**
   * A pattern name: a plain symbol (not starting with `?`, `$` or `%`). In JS data, a string of
   * symbol characters that is not a variable, source, keyword or marker (a written pull pattern
   * is a vector, or an EDN string starting with `[`).
   */
  patternName(x: unknown): string | undefined {
    if (x instanceof Sym) return /^[?$%_.]/.test(x.fqn) ? undefined : x.fqn;
    if (this.js && typeof x === 'string' && /^[A-Za-z*+!\-<>=][\w*+!\-<>=?.\/]*$/.test(x) && x !== '...') return x;
    return undefined;
  }

  binding(x: unknown, where: string): Binding {
    const s = this.sym(x);
    if (s === '_') return { t: 'bblank' };
    if (s !== undefined && s.charCodeAt(0) === 63 && s.length > 1) return { t: 'bvar', name: s };
    if (Array.isArray(x)) {
      if (x.length === 2 && this.sym(x[1]) === '...') return { t: 'bcoll', item: this.binding(x[0], where) };
      if (x.length === 1 && Array.isArray(x[0])) {
        const inner = x[0];
        return { t: 'brel', items: inner.map((y) => this.binding(y, where)) };
      }
      if (x.length === 0) bad(where, x, 'Empty binding form');
      return { t: 'btuple', items: x.map((y) => this.binding(y, where)) };
    }
    return bad(where, x, `Invalid binding form ${show(x)}`);
  }

  // ---- clauses -------------------------------------------------------------------------------

  clause(x: unknown): Clause {
    if (x instanceof EdnList) return this.listClause(x.items, x, null);
    if (!Array.isArray(x) || x.length === 0) return bad('clause', x, 'Invalid clause');
    const first = x[0];
    // Expression clause: [(f args) binding?]
    if (first instanceof EdnList || (Array.isArray(first) && this.isCallForm(first) && this.kwName(first[0]) === undefined)) {
      return this.exprClause(x);
    }
    // Datomic's grammar writes not/or/rule forms as lists or vectors: a vector whose head (after an
    // optional source) is a plain symbol is one (a symbol cannot name an entity in a data pattern).
    const head = this.srcName(first) !== undefined ? x[1] : first;
    if (head instanceof Sym && !/^[?$%_]/.test(head.fqn)) return this.listClause(x, x, null);
    if (this.js) {
      const op = this.opName(first);
      if (op !== undefined && typeof first === 'string') return this.listClause(x, x, null);
      const s = this.srcName(first);
      if (s !== undefined && x.length > 1) {
        const op2 = this.opName(x[1]);
        if (op2 !== undefined && typeof x[1] === 'string') return this.listClause(x.slice(1), x, s);
      }
    }
    // Data pattern [src? e a v tx added]
    let src: string | null = null;
    let items = x;
    const s = this.srcName(first);
    if (s !== undefined) {
      src = s;
      items = x.slice(1);
    }
    if (items.length === 0) bad('data pattern', x, 'Empty data pattern');
    if (items.length > 5) bad('data pattern', x, 'Too many elements');
    const terms = items.map((y) => {
      const t = this.term(y);
      if (t.t === 'src') bad('data pattern', x, `Unexpected source ${t.name}`);
      return t;
    });
    return { kind: 'pattern', src, terms, text: show(x) };
  }

  private listClause(items: unknown[], whole: unknown, src: string | null): Clause {
    let i = 0;
    const s = this.srcName(items[0]);
    if (s !== undefined) {
      src = s;
      i = 1;
    }
    const op = this.opName(items[i]);
    if (op === undefined) return bad('clause', whole, 'Expected an operator or rule name');
    const rest = items.slice(i + 1);
    const text = show(whole);
    switch (op) {
      case 'not':
        if (rest.length === 0) bad('not', whole, 'Empty not clause');
        return { kind: 'not', src, joinVars: null, clauses: rest.map((c) => this.clause(c)), text };
      case 'not-join': {
        const vars = this.joinVarList(rest[0], whole).vars;
        if (rest.length < 2) bad('not-join', whole, 'Empty not-join clause');
        return { kind: 'not', src, joinVars: vars, clauses: rest.slice(1).map((c) => this.clause(c)), text };
      }
      case 'or':
        if (rest.length === 0) bad('or', whole, 'Empty or clause');
        return { kind: 'or', src, joinVars: null, required: [], branches: rest.map((c) => this.branch(c)), text };
      case 'or-join': {
        const { vars, required } = this.joinVarList(rest[0], whole);
        if (rest.length < 2) bad('or-join', whole, 'Empty or-join clause');
        return { kind: 'or', src, joinVars: vars, required, branches: rest.slice(1).map((c) => this.branch(c)), text };
      }
      case 'and':
        return bad('and', whole, '`and` is only allowed inside `or`');
      default: {
        const args = rest.map((y) => this.term(y));
        for (const a of args) if (a.t === 'src') bad('rule call', whole, 'Unexpected source argument');
        return { kind: 'rule', src, name: op, args, text };
      }
    }
  }

  private branch(x: unknown): Clause[] {
    const items = x instanceof EdnList ? x.items : Array.isArray(x) ? x : null;
    if (items !== null && items.length > 0 && this.opName(items[0]) === 'and') {
      if (items.length < 2) bad('and', x, 'Empty and clause');
      return items.slice(1).map((c) => this.clause(c));
    }
    return [this.clause(x)];
  }

  private joinVarList(x: unknown, whole: unknown): { vars: string[]; required: string[] } {
    if (!Array.isArray(x)) return bad('clause', whole, 'Expected a vector of join variables');
    const vars: string[] = [];
    const required: string[] = [];
    for (const y of x) {
      if (Array.isArray(y)) {
        for (const z of y) {
          const v = this.varName(z) ?? bad('clause', whole, 'Expected join variables');
          required.push(v);
          vars.push(v);
        }
      } else vars.push(this.varName(y) ?? bad('clause', whole, 'Expected join variables'));
    }
    return { vars, required };
  }

  private exprClause(x: unknown[]): Clause {
    const call = seqItems(x[0] as unknown[] | EdnList);
    const fn = this.opName(call[0]);
    if (fn === undefined) return bad('expression clause', x, 'Expected a function name');
    const text = show(x);
    for (const y of call.slice(fn === 'q' || fn === 'clojure.core/q' ? 2 : 1)) {
      if (y instanceof EdnList) bad('expression clause', x, 'Nested function calls are not supported (bind the inner call to a variable first)');
    }
    const args = call.slice(1).map((y, i) => (i === 0 && (fn === 'q' || fn === 'clojure.core/q') ? this.nestedQuery(y, x) : this.term(y)));
    const spec = BUILTINS[fn];
    if (spec === undefined) {
      throw incorrect('query/unknown-function', `Unknown function ${fn} in ${text}`, { fn, clause: text });
    }
    if (args.length < spec.arity[0] || args.length > spec.arity[1]) {
      throw incorrect('query/wrong-arity', `Wrong number of arguments (${args.length}) to ${fn} in ${text}`, { fn, clause: text });
    }
    if (x.length === 1) return { kind: 'pred', fn, args, text };
    if (x.length !== 2) bad('expression clause', x, 'Expected [(f args) binding]');
    return { kind: 'fn', fn, args, binding: this.binding(x[1], text), text };
  }

  /** The first argument of `q`: a query form, written as is or as `(quote form)`; a string is EDN text. */
  private nestedQuery(y: unknown, clause: unknown): Term {
    let form = y;
    if (form instanceof EdnList && form.items.length === 2 && this.opName(form.items[0]) === 'quote') form = form.items[1];
    if (typeof form === 'string' && !this.js) bad('expression clause', clause, 'The query of q must be a query form, not a string');
    if (this.varName(form) !== undefined) bad('expression clause', clause, 'The query of q must be written in the query (a variable is not supported)');
    const parsed = typeof form === 'string' ? parseQuery(form) : this.query(form);
    return { t: 'const', value: new NestedQuery(parsed) };
  }

  // ---- rules ---------------------------------------------------------------------------------

  rules(x: unknown): Rule[] {
    const form = typeof x === 'string' ? readEdn(x) : x;
    if (!isSeq(form)) return bad('rules', form, 'Expected a vector of rules');
    return seqItems(form).map((r) => this.rule(r));
  }

  private rule(x: unknown): Rule {
    if (!isSeq(x)) return bad('rule', x, 'Expected [(name ?vars...) clauses...]');
    const items = seqItems(x);
    const head = items[0];
    if (!isSeq(head)) return bad('rule', x, 'Expected a rule head (name ?vars...)');
    const hitems = seqItems(head);
    const name = this.opName(hitems[0]);
    if (name === undefined) return bad('rule', x, 'Expected a rule name');
    const vars: string[] = [];
    let required = 0;
    hitems.slice(1).forEach((y, i) => {
      if (Array.isArray(y)) {
        if (i !== 0) bad('rule', x, 'Required variables must come first');
        for (const z of y) {
          vars.push(this.varName(z) ?? bad('rule', x, 'Expected variables in rule head'));
          required++;
        }
      } else vars.push(this.varName(y) ?? bad('rule', x, 'Expected variables in rule head'));
    });
    if (items.length < 2) bad('rule', x, 'Rule has no clauses');
    return { name, vars, required, clauses: items.slice(1).map((c) => this.clause(c)), text: show(head) };
  }
}

const QUERY_KEYS = new Set(['find', 'in', 'where', 'with', 'keys', 'strs', 'syms', 'timeout', 'offset', 'limit']);

/** A constant as a value: keywords as ':ns/name', lists as arrays. */
export function constValue(x: unknown): unknown {
  if (x instanceof Keyword) return x.toString();
  if (x instanceof EdnList) return x.items.map(constValue);
  if (Array.isArray(x)) return x.map(constValue);
  if (x instanceof Sym) return x.fqn;
  return x;
}

// ---- validation -----------------------------------------------------------------------------

export function termVars(ts: readonly Term[]): string[] {
  const out: string[] = [];
  for (const t of ts) if (t.t === 'var') out.push(t.name);
  return out;
}

export function bindingVars(b: Binding, out: string[] = []): string[] {
  switch (b.t) {
    case 'bvar': out.push(b.name); break;
    case 'bblank': break;
    case 'btuple': case 'brel': for (const i of b.items) bindingVars(i, out); break;
    case 'bcoll': bindingVars(b.item, out); break;
  }
  return out;
}

/** Every variable a clause mentions (for not/or: the visible ones). */
export function clauseVars(c: Clause): string[] {
  switch (c.kind) {
    case 'pattern': return termVars(c.terms);
    case 'pred': case 'rule': return termVars(c.args);
    case 'fn': return [...termVars(c.args), ...bindingVars(c.binding)];
    case 'not':
      if (c.joinVars !== null) return [...c.joinVars];
      return unique(c.clauses.flatMap(clauseVars));
    case 'or':
      if (c.joinVars !== null) return [...c.joinVars];
      return unique((c.branches[0] ?? []).flatMap(clauseVars));
  }
}

/** Variables a clause can bind (as opposed to only consume). */
function producedVars(c: Clause): string[] {
  switch (c.kind) {
    case 'pattern': return termVars(c.terms);
    case 'rule': return termVars(c.args);
    case 'fn': return bindingVars(c.binding);
    case 'or': return clauseVars(c);
    case 'pred': case 'not': return [];
  }
}

const unique = <T>(xs: T[]): T[] => [...new Set(xs)];

/**
 * Static checks of a clause list given the variables bound on entry: every variable consumed by
 * a predicate, function, `not` or required rule binding must be bound by something.
 */
export function checkClauses(clauses: readonly Clause[], bound: ReadonlySet<string>, rules: ReadonlyMap<string, readonly Rule[]> | null): void {
  const all = new Set(bound);
  for (const c of clauses) for (const v of producedVars(c)) all.add(v);
  for (const c of clauses) {
    if (c.kind === 'rule') {
      // A required argument must be bound by something other than the call itself.
      const others = new Set(bound);
      for (const o of clauses) if (o !== c) for (const v of producedVars(o)) others.add(v);
      checkClause(c, others, rules);
    } else checkClause(c, all, rules);
  }
}

function checkClause(c: Clause, avail: ReadonlySet<string>, rules: ReadonlyMap<string, readonly Rule[]> | null): void {
  const unbound = (vs: readonly string[]): string[] => vs.filter((v) => !avail.has(v));
  switch (c.kind) {
    case 'pattern': return;
    case 'pred': case 'fn': {
      const u = unbound(termVars(c.args));
      if (u.length > 0) {
        throw incorrect('query/unbound-variable', `Insufficient binding: ${u.join(', ')} not bound in ${c.text}`, { vars: u, clause: c.text });
      }
      if (c.kind === 'fn' && c.binding.t === 'bvar' && termVars(c.args).includes(c.binding.name)) return;
      return;
    }
    case 'not': {
      const join = c.joinVars ?? unique(c.clauses.flatMap(clauseVars));
      const required = c.joinVars ?? join;
      const u = unbound(required);
      if (u.length > 0) {
        throw incorrect('query/insufficient-binding', `Insufficient binding: ${u.join(', ')} not bound in ${c.text}`, { vars: u, clause: c.text });
      }
      checkClauses(c.clauses, new Set(join), rules);
      return;
    }
    case 'or': {
      if (c.joinVars === null) {
        const sets = c.branches.map((b) => unique(b.flatMap(clauseVars)).sort());
        const first = sets[0]!.join(' ');
        for (const s of sets) {
          if (s.join(' ') !== first) {
            throw incorrect('query/or-vars', `All clauses in 'or' must use the same set of variables, got [${sets.map((x) => x.join(' ')).join('] and [')}] in ${c.text}`, { clause: c.text });
          }
        }
      } else {
        const u = unbound([...c.required]);
        if (u.length > 0) {
          throw incorrect('query/insufficient-binding', `Insufficient binding: ${u.join(', ')} not bound in ${c.text}`, { vars: u, clause: c.text });
        }
        for (const b of c.branches) {
          const bv = new Set(b.flatMap((x) => [...clauseVars(x), ...producedVars(x)]));
          for (const v of c.joinVars) {
            if (!bv.has(v)) throw incorrect('query/insufficient-binding', `Variable ${v} of or-join is not used in a branch of ${c.text}`, { clause: c.text });
          }
        }
      }
      const visible = new Set(c.joinVars ?? clauseVars(c));
      const inner = new Set<string>();
      for (const v of visible) if (avail.has(v)) inner.add(v);
      for (const b of c.branches) checkClauses(b, inner, rules);
      return;
    }
    case 'rule': {
      if (rules === null) {
        throw incorrect('query/unknown-rule', `Unknown rule ${c.name} in ${c.text}: no rules were given (pass them as % in :in)`, { rule: c.name, clause: c.text });
      }
      const defs = rules.get(c.name);
      if (defs === undefined) {
        throw incorrect('query/unknown-rule', `Unknown rule ${c.name} in ${c.text}`, { rule: c.name, clause: c.text });
      }
      const def = defs[0]!;
      if (def.vars.length !== c.args.length) {
        throw incorrect('query/wrong-arity', `Rule ${c.name} takes ${def.vars.length} arguments, got ${c.args.length} in ${c.text}`, { rule: c.name, clause: c.text });
      }
      for (let i = 0; i < def.required; i++) {
        const a = c.args[i]!;
        if (a.t === 'blank' || (a.t === 'var' && !avail.has(a.name))) {
          throw incorrect('query/insufficient-binding', `Insufficient binding: required argument ${i + 1} of rule ${c.name} is not bound in ${c.text}`, { rule: c.name, clause: c.text });
        }
      }
      return;
    }
  }
}

/** Checks a rule set: consistent arity per name; bodies well formed. */
export function indexRules(rules: readonly Rule[]): Map<string, Rule[]> {
  const m = new Map<string, Rule[]>();
  for (const r of rules) {
    const list = m.get(r.name);
    if (list === undefined) m.set(r.name, [r]);
    else {
      if (list[0]!.vars.length !== r.vars.length) {
        throw incorrect('query/wrong-arity', `Rule ${r.name} is defined with different arities (${list[0]!.text} and ${r.text})`, { rule: r.name });
      }
      list.push(r);
    }
  }
  for (const r of rules) {
    checkClauses(r.clauses, new Set(r.vars), m);
  }
  return m;
}

/** Parses a query given as an EDN string, EDN data or JS data. */
export function parseQuery(q: unknown): Query {
  if (typeof q === 'string') return new Parser(false).query(readEdn(q));
  return new Parser(true).query(q);
}

/** Parses rules given as an EDN string, EDN data or JS data. */
export function parseRules(r: unknown): Rule[] {
  return new Parser(typeof r !== 'string').rules(r);
}

/** Checks a parsed query against its rules before evaluation. */
export function checkQuery(q: Query, rules: ReadonlyMap<string, readonly Rule[]> | null): void {
  const bound = new Set<string>();
  for (const i of q.in) if (i.t === 'bind') for (const v of bindingVars(i.b)) bound.add(v);
  checkClauses(q.where, bound, rules);
  const avail = new Set(bound);
  for (const c of q.where) for (const v of producedVars(c)) avail.add(v);
  const findVars: string[] = [];
  for (const f of q.find) {
    if (f.t === 'var' || f.t === 'pull') findVars.push(f.name);
    else for (const a of f.args) if (a.t === 'var') findVars.push(a.name);
  }
  for (const v of [...findVars, ...q.with]) {
    if (!avail.has(v)) {
      throw incorrect('query/unbound-variable', `Unbound variable ${v} in :find`, { var: v });
    }
  }
  const patterns = new Set(q.in.filter((i) => i.t === 'pattern').map((i) => (i as { name: string }).name));
  for (const f of q.find) {
    if (f.t === 'pull' && f.patternName !== null && !patterns.has(f.patternName)) {
      throw incorrect('query/invalid', `Pull pattern ${f.patternName} in :find is not an input (name it in :in)`, { pattern: f.patternName });
    }
  }
  const srcs = new Set(q.in.filter((i) => i.t === 'src').map((i) => (i as { name: string }).name));
  const checkSrc = (cs: readonly Clause[], dflt: string): void => {
    for (const c of cs) {
      if (c.kind !== 'pattern' && c.kind !== 'rule' && c.kind !== 'not' && c.kind !== 'or') continue;
      const src = c.src ?? dflt;
      // A rule that reads the default `$` may not read a database at all: it is checked when it runs.
      const unknown = !srcs.has(src) && !(src === '$' && (srcs.size === 0 || c.kind === 'rule'));
      if (unknown) throw incorrect('query/unknown-source', `Unknown source ${src} in ${c.text}`, { clause: c.text });
      if (c.kind === 'not') checkSrc(c.clauses, src);
      if (c.kind === 'or') for (const b of c.branches) checkSrc(b, src);
    }
  };
  checkSrc(q.where, '$');
}
