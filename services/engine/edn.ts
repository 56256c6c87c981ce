/**
 * Strict EDN reader and writer (https://github.com/edn-format/edn), pure TypeScript, no I/O.
 *
 * Why our own reader, and what "strict" means, is recorded in docs/adr/001-strict-edn-reader.md.
 * In short: every malformed input is an `incorrect` anomaly (code `edn/syntax`) whose message
 * and data carry the line, column and offset; integers that do not fit a double stay `bigint`;
 * `M` decimals are exact `BigDec`s; nesting is bounded (`edn/too-deep`).
 *
 * Representation (see `EdnValue`):
 *   nil → null, true/false → boolean, integers → number when safe else bigint (`N` → always
 *   bigint), floats → number, `M` → BigDec, strings and characters → string, keywords → Keyword
 *   (interned), symbols → Sym (interned), (…) → EdnList, […] → array, {…} → Map, #{…} → Set,
 *   #inst → Date, #uuid → Uuid, any other #tag → Tagged.
 *
 * Where the EDN spec is silent we follow Clojure's `clojure.edn/read-string`, with these
 * deliberate deviations (all rejections, except the first):
 *   - hex `0x1F` and radix `36rZZ` integers are accepted (as Clojure does), and a leading BOM is
 *     skipped;
 *   - octal integers (`017`) are rejected rather than silently read as 15; `01` and `08` too;
 *   - ratios (`1/2`), metadata (`^`), `#"regex"`, `#(...)`, `#'var`, `::auto` keywords are rejected;
 *   - symbols may only use the EDN constituent characters (letters, digits, `.*+!-_?$%&=<>/:#'`)
 *     and visible non-ASCII characters; Clojure also lets through `@`, `~`, `` ` ``, `|`, and
 *     invisible ones such as zero-width spaces or bidi overrides;
 *   - a symbol may contain at most one `/` (except the name `/` itself, as in `clojure.core//`);
 *   - `.5`, `-.5`, `+.5` are rejected instead of being read as symbols;
 *   - map keys and set elements are duplicates when they are the same JS key (SameValueZero on
 *     the representation, so `{1 :a 1.0 :b}` is rejected because both keys are the number 1).
 * Columns are counted in UTF-16 code units, lines are separated by `\n`.
 */
import { BigDec } from './bigdec';
import { DatalithError, incorrect } from './errors';

export { BigDec } from './bigdec';

// ---------------------------------------------------------------------------------------------
// Value classes

/**
 * Weakly interned instances: the same text always yields the same live object (so `===` and
 * Map keys work), while keywords nobody references any more can be garbage collected — the
 * reader may see arbitrary untrusted keywords and must not grow a table forever.
 */
class Interner<T extends object> {
  private readonly table = new Map<string, WeakRef<T>>();
  private readonly registry = new FinalizationRegistry<string>((key) => {
    // The key may have been re-interned since this object died; only drop a dead entry.
    const ref = this.table.get(key);
    if (ref !== undefined && ref.deref() === undefined) this.table.delete(key);
  });

  get(key: string): T | undefined {
    const ref = this.table.get(key);
    return ref === undefined ? undefined : ref.deref();
  }

  add(key: string, value: T): T {
    this.table.set(key, new WeakRef(value));
    this.registry.register(value, key);
    return value;
  }
}

/** Splits validated symbolic text into namespace and name (`a/b`, `/`, `clojure.core//`). */
function splitFqn(fqn: string): [string | null, string] {
  if (fqn === '/') return [null, '/'];
  if (fqn.endsWith('//')) return [fqn.slice(0, -2), '/'];
  const slash = fqn.indexOf('/');
  return slash === -1 ? [null, fqn] : [fqn.slice(0, slash), fqn.slice(slash + 1)];
}

const keywords = new Interner<Keyword>();
const symbols = new Interner<Sym>();

/** An EDN keyword, `:ns/name`. Interned: create with `kw()`, compare with `===`. */
export class Keyword {
  readonly ns: string | null;
  readonly name: string;
  /** `ns/name`, or `name` without a namespace (no leading colon). */
  readonly fqn: string;

  private constructor(fqn: string) {
    const [ns, name] = splitFqn(fqn);
    this.ns = ns;
    this.name = name;
    this.fqn = fqn;
  }

  /** @internal `fqn` must already be valid keyword text. */
  static intern(fqn: string): Keyword {
    return keywords.get(fqn) ?? keywords.add(fqn, new Keyword(fqn));
  }

  toString(): string {
    return `:${this.fqn}`;
  }
}

/** An EDN symbol, `ns/name` (`?e`, `$`, `...`, `clojure.string/includes?`). Interned like Keyword. */
export class Sym {
  readonly ns: string | null;
  readonly name: string;
  readonly fqn: string;

  private constructor(fqn: string) {
    const [ns, name] = splitFqn(fqn);
    this.ns = ns;
    this.name = name;
    this.fqn = fqn;
  }

  /** @internal `fqn` must already be valid symbol text. */
  static intern(fqn: string): Sym {
    return symbols.get(fqn) ?? symbols.add(fqn, new Sym(fqn));
  }

  toString(): string {
    return this.fqn;
  }
}

/** An EDN list `( … )` (vectors are plain arrays). */
export class EdnList {
  constructor(readonly items: EdnValue[]) {}
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `#uuid "…"`: the canonical 8-4-4-4-12 hex form, stored lowercase. */
export class Uuid {
  readonly value: string;

  constructor(value: string) {
    if (!UUID_RE.test(value)) {
      throw incorrect('edn/invalid-uuid', `Invalid UUID: ${quoteString(value)}`, { value });
    }
    this.value = value.toLowerCase();
  }

  toString(): string {
    return this.value;
  }
}

/** A tagged element with a tag that has no built-in meaning: `#my/tag value`. */
export class Tagged {
  constructor(
    readonly tag: string,
    readonly value: EdnValue,
  ) {}
}

export type EdnValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Keyword
  | Sym
  | EdnList
  | EdnValue[]
  | Map<EdnValue, EdnValue>
  | Set<EdnValue>
  | Date
  | Uuid
  | BigDec
  | Tagged;

export interface EdnReadOptions {
  /** Maximum nesting of collections, tags and discards; default 100. */
  maxDepth?: number;
  /**
   * Most items the outermost list or vector may hold: reading stops at the first item
   * beyond them and throws `error()` (a caller's size limit, checked before the rest is read).
   */
  maxOuterItems?: { readonly count: number; readonly error: () => Error };
}

export const DEFAULT_MAX_DEPTH = 100;

export const isKeyword = (x: unknown): x is Keyword => x instanceof Keyword;
export const isSym = (x: unknown): x is Sym => x instanceof Sym;
export const isList = (x: unknown): x is EdnList => x instanceof EdnList;

/** The keyword for `ns/name`, `name`, `:ns/name` or `:name`; throws `edn/invalid-keyword` if not valid EDN. */
export function kw(text: string): Keyword {
  const body = text.charCodeAt(0) === COLON ? text.slice(1) : text;
  const known = keywords.get(body);
  if (known !== undefined) return known;
  const err = symbolicError(body, true);
  if (err !== null) {
    throw incorrect('edn/invalid-keyword', `Invalid keyword ${quoteString(text)}: ${err}`, { value: text });
  }
  return Keyword.intern(body);
}

/** The symbol for `ns/name` or `name`; throws `edn/invalid-symbol` if not valid EDN. */
export function sym(text: string): Sym {
  const known = symbols.get(text);
  if (known !== undefined) return known;
  const err = text === 'nil' || text === 'true' || text === 'false' ? 'reserved word' : symbolicError(text, false);
  if (err !== null) {
    throw incorrect('edn/invalid-symbol', `Invalid symbol ${quoteString(text)}: ${err}`, { value: text });
  }
  return Sym.intern(text);
}

// ---------------------------------------------------------------------------------------------
// Character classes

const WS = 1; // whitespace (commas included)
const TERM = 2; // ends a token: " ; ( ) [ ] { } \ ^
const SYM = 4; // may appear in a symbol or keyword
const DELIM = WS | TERM;

const COLON = 0x3a;
const SLASH = 0x2f;
const HASH = 0x23;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const CLASS = new Uint8Array(128);
// Java's Character.isWhitespace for ASCII (what Clojure uses), plus the comma.
for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x2c]) CLASS[c] = WS;
for (const ch of '";()[]{}\\^') CLASS[ch.charCodeAt(0)] = TERM;
for (const ch of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.*+!-_?$%&=<>/:#\'') {
  CLASS[ch.charCodeAt(0)] = SYM;
}

/** Non-ASCII whitespace as Java's Character.isWhitespace sees it (no-break spaces excluded). */
function isUnicodeSpace(c: number): boolean {
  return (
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x2006) ||
    (c >= 0x2008 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x205f ||
    c === 0x3000
  );
}

function isWhitespace(c: number): boolean {
  return c < 128 ? (CLASS[c]! & WS) !== 0 : isUnicodeSpace(c);
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAsciiLetter = (c: number): boolean => ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);

/** Value of c as a digit in base 36, or 99. */
function digitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x7a) return l - 0x61 + 10;
  return 99;
}

function showChar(c: number): string {
  if (c >= 0x21 && c < 0x7f) return `'${String.fromCharCode(c)}'`;
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Non-ASCII characters that may not appear in symbols and keywords: controls, format characters
 * (zero-width spaces, bidi overrides, the BOM), separators and lone surrogates. Letters, marks,
 * digits, punctuation and emoji of any script are fine.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Z}\p{Cs}]/u;

/**
 * Why `text` is not a valid symbol (or, with `keyword`, keyword text after the colon), or null.
 * Follows the EDN spec plus Clojure's extra checks: a keyword's first segment may start with a
 * digit (`:1`, `:2fa` — Clojure accepts them), no `::`, no segment ending with `:`.
 */
function symbolicError(text: string, keyword: boolean): string | null {
  const n = text.length;
  if (n === 0) return 'empty name';
  let nonAscii = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      if ((CLASS[c]! & SYM) === 0) return `invalid character ${showChar(c)}`;
    } else {
      nonAscii = true;
    }
  }
  if (nonAscii) {
    const bad = INVISIBLE.exec(text);
    if (bad !== null) return `invalid character ${showChar(bad[0].charCodeAt(0))}`;
  }
  if (text === '/') return null;
  let ns: string | null = null;
  let name: string;
  const slash = text.indexOf('/');
  if (slash === -1) {
    name = text;
  } else if (slash === n - 2 && text.charCodeAt(n - 1) === SLASH) {
    ns = text.slice(0, slash);
    name = '/';
  } else {
    if (text.indexOf('/', slash + 1) !== -1) return "more than one '/'";
    ns = text.slice(0, slash);
    name = text.slice(slash + 1);
  }
  if (ns !== null) {
    if (ns === '' || name === '') return "'/' must separate a namespace and a name";
    const e = segmentError(ns, keyword);
    if (e !== null) return e;
    if (ns.charCodeAt(ns.length - 1) === COLON) return "namespace cannot end with ':'";
  }
  if (name !== '/') {
    const e = segmentError(name, keyword && ns === null);
    if (e !== null) return e;
    if (name.charCodeAt(name.length - 1) === COLON) return "name cannot end with ':'";
  }
  if (text.includes('::')) return "'::' is not allowed";
  return null;
}

function segmentError(seg: string, digitStartOk: boolean): string | null {
  const c0 = seg.charCodeAt(0);
  if (c0 === COLON || c0 === HASH || c0 === 0x27 /* ' */) return `cannot start with ${showChar(c0)}`;
  if (digitStartOk) return null;
  if (isDigit(c0)) return 'cannot start with a digit';
  if ((c0 === 0x2b || c0 === 0x2d || c0 === 0x2e) /* + - . */ && seg.length > 1 && isDigit(seg.charCodeAt(1))) {
    return `cannot start with ${showChar(c0)} followed by a digit`;
  }
  // `-.5` / `+.5` are symbols by the letter of the spec, but certainly meant as numbers.
  if ((c0 === 0x2b || c0 === 0x2d) && seg.charCodeAt(1) === 0x2e && isDigit(seg.charCodeAt(2))) {
    return 'looks like a number (write 0.5, not .5)';
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Reader

const CLOSER_NAME: Record<number, string> = { 0x29: "')'", 0x5d: "']'", 0x7d: "'}'" };
const isCloser = (c: number): boolean => c === 0x29 || c === 0x5d || c === 0x7d;

/** Line (1-based) and column (1-based, UTF-16 units) of an offset; computed only on error. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

class Reader {
  pos = 0;
  private readonly len: number;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
    private readonly maxOuterItems?: EdnReadOptions['maxOuterItems'],
  ) {
    this.len = text.length;
    if (text.charCodeAt(0) === 0xfeff) this.pos = 1; // byte order mark
  }

  // --- errors

  fail(offset: number, message: string): never {
    const { line, column } = lineColumn(this.text, offset);
    throw incorrect('edn/syntax', `EDN syntax error at line ${line}, column ${column}: ${message}`, {
      line,
      column,
      offset,
    });
  }

  private where(offset: number): string {
    const { line, column } = lineColumn(this.text, offset);
    return `line ${line}, column ${column}`;
  }

  private tooDeep(offset: number): never {
    const { line, column } = lineColumn(this.text, offset);
    throw incorrect(
      'edn/too-deep',
      `EDN nesting too deep at line ${line}, column ${column}: more than ${this.maxDepth} levels`,
      { line, column, offset, maxDepth: this.maxDepth },
    );
  }

  // --- whitespace, comments, discards

  /**
   * Skips whitespace, comments and `#_` discarded forms. Returns the char code at the next form
   * (or closer) with `pos` on it, or -1 at end of input.
   */
  skipToForm(depth: number): number {
    const text = this.text;
    const len = this.len;
    let i = this.pos;
    for (;;) {
      let c = 0;
      while (i < len) {
        c = text.charCodeAt(i);
        if (c < 128) {
          if ((CLASS[c]! & WS) !== 0) {
            i++;
          } else if (c === 0x3b /* ; */) {
            const nl = text.indexOf('\n', i);
            i = nl === -1 ? len : nl + 1;
          } else {
            break;
          }
        } else if (isUnicodeSpace(c)) {
          i++;
        } else {
          break;
        }
      }
      this.pos = i;
      if (i >= len) return -1;
      if (c === HASH && text.charCodeAt(i + 1) === 0x5f /* _ */) {
        this.pos = i + 2;
        this.discard(depth, i);
        i = this.pos;
        continue;
      }
      return c;
    }
  }

  /** Reads and drops the form after `#_` (itself possibly preceded by more discards). */
  private discard(depth: number, at: number): void {
    const d = depth + 1;
    if (d > this.maxDepth) this.tooDeep(at);
    this.readRequired(d, "'#_' must be followed by a form to discard");
  }

  /** Skips to the next form and reads it; a form must be there. */
  readRequired(depth: number, what: string): EdnValue {
    const c = this.skipToForm(depth);
    if (c === -1) this.fail(this.pos, `unexpected end of input: ${what}`);
    if (isCloser(c)) this.fail(this.pos, `unexpected ${CLOSER_NAME[c]}: ${what}`);
    return this.readForm(depth);
  }

  // --- forms

  /** Reads the form starting at `pos` (skipToForm left it on a non-blank char). */
  readForm(depth: number): EdnValue {
    const text = this.text;
    const start = this.pos;
    const c = text.charCodeAt(start);
    switch (c) {
      case 0x28 /* ( */:
        return new EdnList(this.readSeq(depth, 0x29, 'list'));
      case 0x5b /* [ */:
        return this.readSeq(depth, 0x5d, 'vector');
      case 0x7b /* { */:
        return this.readMap(depth, start, null);
      case QUOTE:
        return this.readString();
      case COLON:
        return this.readKeyword();
      case BACKSLASH:
        return this.readChar();
      case HASH:
        return this.readDispatch(depth);
      case 0x29:
      case 0x5d:
      case 0x7d:
        return this.fail(start, `unmatched ${CLOSER_NAME[c]}`);
      case 0x5e /* ^ */:
        return this.fail(start, 'metadata (^) is not supported in EDN');
      case 0x2b /* + */:
      case 0x2d /* - */:
        if (isDigit(text.charCodeAt(start + 1))) return this.readNumber();
        return this.readSymbol();
      default:
        if (isDigit(c)) return this.readNumber();
        return this.readSymbol();
    }
  }

  /** End offset of the token starting at `from` (up to whitespace or a terminating char). */
  private tokenEnd(from: number): number {
    const text = this.text;
    const len = this.len;
    let i = from;
    while (i < len) {
      const c = text.charCodeAt(i);
      if (c < 128 ? (CLASS[c]! & DELIM) !== 0 : isUnicodeSpace(c)) break;
      i++;
    }
    return i;
  }

  private readSeq(depth: number, close: number, kind: string): EdnValue[] {
    const open = this.pos;
    const d = depth + 1;
    if (d > this.maxDepth) this.tooDeep(open);
    this.pos = open + 1;
    const items: EdnValue[] = [];
    for (;;) {
      const c = this.skipToForm(d);
      if (c === close) {
        this.pos++;
        return items;
      }
      if (c === -1) this.fail(this.pos, `unclosed ${kind} (opened at ${this.where(open)})`);
      if (isCloser(c)) {
        this.fail(this.pos, `unmatched ${CLOSER_NAME[c]}: expected ${CLOSER_NAME[close]} to close the ${kind} opened at ${this.where(open)}`);
      }
      if (d === 1 && this.maxOuterItems !== undefined && items.length >= this.maxOuterItems.count) throw this.maxOuterItems.error();
      items.push(this.readForm(d));
    }
  }

  /** `{…}`, or with `ns` the body of a namespaced map `#:ns{…}`; `pos` is on the `{`. */
  private readMap(depth: number, open: number, ns: string | null): Map<EdnValue, EdnValue> {
    const d = depth + 1;
    if (d > this.maxDepth) this.tooDeep(open);
    this.pos++;
    const map = new Map<EdnValue, EdnValue>();
    for (;;) {
      let c = this.skipToForm(d);
      if (c === 0x7d) {
        this.pos++;
        return map;
      }
      if (c === -1) this.fail(this.pos, `unclosed map (opened at ${this.where(open)})`);
      if (isCloser(c)) this.fail(this.pos, `unmatched ${CLOSER_NAME[c]}: expected '}' to close the map opened at ${this.where(open)}`);
      const keyAt = this.pos;
      let key = this.readForm(d);
      if (ns !== null) key = this.qualifyKey(key, ns, keyAt);
      if (map.has(key)) this.fail(keyAt, `duplicate map key ${preview(key)}`);
      c = this.skipToForm(d);
      if (c === 0x7d) this.fail(this.pos, `map literal must contain an even number of forms (key ${preview(key)} has no value)`);
      if (c === -1) this.fail(this.pos, `unclosed map (opened at ${this.where(open)})`);
      if (isCloser(c)) this.fail(this.pos, `unmatched ${CLOSER_NAME[c]}: expected '}' to close the map opened at ${this.where(open)}`);
      map.set(key, this.readForm(d));
    }
  }

  /** `#{…}`; `pos` is on the `#`. */
  /** `#:ns{…}` keys: `:k` and `k` gain the namespace, `:_/k` and `_/k` lose theirs. */
  private qualifyKey(key: EdnValue, ns: string, at: number): EdnValue {
    if (key instanceof Keyword) {
      if (key.ns === '_') return Keyword.intern(key.name);
      if (key.ns !== null) return key;
      const fqn = `${ns}/${key.name}`;
      // `:1` is a keyword but `:ns/1` is not (a name after '/' cannot start with a digit).
      const err = symbolicError(fqn, true);
      if (err !== null) this.fail(at, `invalid key ${preview(key)} in namespaced map #:${ns}: ${err}`);
      return Keyword.intern(fqn);
    }
    if (key instanceof Sym) {
      if (key.ns === null) return Sym.intern(`${ns}/${key.name}`);
      if (key.ns === '_') return Sym.intern(key.name);
    }
    return key;
  }

  private readSet(depth: number): Set<EdnValue> {
    const open = this.pos;
    const d = depth + 1;
    if (d > this.maxDepth) this.tooDeep(open);
    this.pos = open + 2;
    const set = new Set<EdnValue>();
    for (;;) {
      const c = this.skipToForm(d);
      if (c === 0x7d) {
        this.pos++;
        return set;
      }
      if (c === -1) this.fail(this.pos, `unclosed set (opened at ${this.where(open)})`);
      if (isCloser(c)) this.fail(this.pos, `unmatched ${CLOSER_NAME[c]}: expected '}' to close the set opened at ${this.where(open)}`);
      const at = this.pos;
      const v = this.readForm(d);
      if (set.has(v)) this.fail(at, `duplicate set element ${preview(v)}`);
      set.add(v);
    }
  }

  private readString(): string {
    const text = this.text;
    const len = this.len;
    const open = this.pos;
    let i = open + 1;
    let chunk = i;
    let out = '';
    for (;;) {
      if (i >= len) this.fail(len, `unclosed string (opened at ${this.where(open)})`);
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        this.pos = i + 1;
        return chunk === open + 1 ? text.slice(chunk, i) : out + text.slice(chunk, i);
      }
      if (c !== BACKSLASH) {
        i++;
        continue;
      }
      out += text.slice(chunk, i);
      const e = text.charCodeAt(i + 1);
      switch (e) {
        case 0x6e /* n */: out += '\n'; break;
        case 0x74 /* t */: out += '\t'; break;
        case 0x72 /* r */: out += '\r'; break;
        case 0x22 /* " */: out += '"'; break;
        case 0x5c /* \ */: out += '\\'; break;
        case 0x62 /* b */: out += '\b'; break;
        case 0x66 /* f */: out += '\f'; break;
        case 0x75 /* u */: {
          const code = this.hex4(i + 2);
          if (code < 0) this.fail(i, 'invalid unicode escape: \\u must be followed by 4 hex digits');
          out += String.fromCharCode(code);
          i += 4;
          break;
        }
        default:
          if (i + 1 >= len) this.fail(len, `unclosed string (opened at ${this.where(open)})`);
          this.fail(i, `unsupported escape character \\${String.fromCharCode(e)} in string`);
      }
      i += 2;
      chunk = i;
    }
  }

  /** Value of 4 hex digits at `at`, or -1. */
  private hex4(at: number): number {
    if (at + 4 > this.len) return -1;
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const d = digitValue(this.text.charCodeAt(at + k));
      if (d > 15) return -1;
      v = v * 16 + d;
    }
    return v;
  }

  /** `\a`, `\newline`, `\u00e9`, `\o101`… → a one-character string. */
  private readChar(): string {
    const text = this.text;
    const start = this.pos;
    const first = start + 1;
    if (first >= this.len) this.fail(start, "unexpected end of input after '\\'");
    const c = text.charCodeAt(first);
    if (isWhitespace(c)) this.fail(start, "'\\' must not be followed by whitespace");
    // The first character is always part of the token, even a delimiter: \( \" \\ \;
    const end = this.tokenEnd(first + 1);
    this.pos = end;
    const token = text.slice(first, end);
    if (token.length === 1) return token;
    if (token.length === 2 && c >= 0xd800 && c <= 0xdbff) {
      const c2 = token.charCodeAt(1);
      if (c2 >= 0xdc00 && c2 <= 0xdfff) return token; // one astral code point
    }
    switch (token) {
      case 'newline': return '\n';
      case 'space': return ' ';
      case 'tab': return '\t';
      case 'return': return '\r';
      case 'backspace': return '\b';
      case 'formfeed': return '\f';
    }
    if (c === 0x75 /* u */ && token.length === 5) {
      const code = this.hex4(first + 1);
      if (code < 0) this.fail(start, `invalid character literal \\${token}`);
      if (code >= 0xd800 && code <= 0xdfff) this.fail(start, `invalid character literal \\${token} (a lone surrogate)`);
      return String.fromCharCode(code);
    }
    if (c === 0x6f /* o */ && token.length >= 2 && token.length <= 4) {
      let v = 0;
      for (let k = 1; k < token.length; k++) {
        const d = token.charCodeAt(k) - 0x30;
        if (d < 0 || d > 7) this.fail(start, `invalid character literal \\${token}`);
        v = v * 8 + d;
      }
      if (v > 0o377) this.fail(start, `octal character literal \\${token} must be in range [0, 377]`);
      return String.fromCharCode(v);
    }
    return this.fail(start, `unsupported character literal \\${preview(token)}`);
  }

  /**
   * Direct-mapped caches of the keywords and symbols this reader has seen, indexed by a cheap
   * hash of the token's length and a few of its characters. Transaction files repeat the same
   * attribute names over and over; a hit costs one startsWith instead of a slice, a string hash
   * and a WeakRef lookup in the global table.
   */
  private readonly keywordCache: (Keyword | undefined)[] = new Array<Keyword | undefined>(256);
  private readonly symbolCache: (Sym | undefined)[] = new Array<Sym | undefined>(256);

  private cacheSlot(from: number, end: number): number {
    const text = this.text;
    const n = end - from;
    return (n * 31 + text.charCodeAt(from) * 7 + text.charCodeAt(from + (n >> 1)) * 3 + text.charCodeAt(end - 1)) & 255;
  }

  private readKeyword(): Keyword {
    const start = this.pos;
    const from = start + 1;
    const end = this.tokenEnd(from);
    this.pos = end;
    const slot = this.cacheSlot(from, end);
    const cached = this.keywordCache[slot];
    if (cached !== undefined && cached.fqn.length === end - from && this.text.startsWith(cached.fqn, from)) return cached;
    const body = this.text.slice(from, end);
    let k = keywords.get(body);
    if (k === undefined) {
      if (body.charCodeAt(0) === COLON) this.fail(start, 'auto-resolved keywords (::) are not supported in EDN');
      const err = symbolicError(body, true);
      if (err !== null) this.fail(start, `invalid keyword ':${preview(body)}': ${err}`);
      k = Keyword.intern(body);
    }
    this.keywordCache[slot] = k;
    return k;
  }

  private readSymbol(): EdnValue {
    const start = this.pos;
    const end = this.tokenEnd(start);
    this.pos = end;
    const token = this.text.slice(start, end);
    switch (token) {
      case 'nil': return null;
      case 'true': return true;
      case 'false': return false;
    }
    const slot = this.cacheSlot(start, end);
    const cached = this.symbolCache[slot];
    if (cached !== undefined && cached.fqn === token) return cached;
    let s = symbols.get(token);
    if (s === undefined) {
      const err = symbolicError(token, false);
      if (err !== null) this.fail(start, `invalid symbol ${preview(token)}: ${err}`);
      s = Sym.intern(token);
    }
    this.symbolCache[slot] = s;
    return s;
  }

  /**
   * Numbers (`pos` is on a digit or on a sign followed by a digit), single pass over the token:
   *   integer  [+-]? (0 | [1-9][0-9]*) N?     → number if safe, else (or with N) bigint
   *   hex      [+-]? 0[xX][0-9a-fA-F]+ N?
   *   radix    [+-]? [1-9][0-9]? [rR] [0-9a-zA-Z]+   (radix 2..36)
   *   float    [+-]? [0-9]+ (\.[0-9]*)? ([eE][+-]?[0-9]+)? M?   (needs . or e, unless M)
   */
  private readNumber(): EdnValue {
    const text = this.text;
    const start = this.pos;
    const end = this.tokenEnd(start);
    this.pos = end;
    let i = start;
    let negative = false;
    const c0 = text.charCodeAt(i);
    if (c0 === 0x2b || c0 === 0x2d) {
      negative = c0 === 0x2d;
      i++;
    }
    const intStart = i;

    // Hexadecimal.
    if (text.charCodeAt(i) === 0x30 && (text.charCodeAt(i + 1) | 0x20) === 0x78 /* x */) {
      let j = i + 2;
      while (j < end && digitValue(text.charCodeAt(j)) < 16) j++;
      if (j === i + 2) this.badNumber(start, end);
      const digits = text.slice(i + 2, j);
      const big = j < end && text.charCodeAt(j) === 0x4e; /* N */
      if (big) j++;
      if (j !== end) this.badNumber(start, end);
      // 13 hex digits = 52 bits: parseInt is exact.
      if (!big && digits.length <= 13) return signed(parseInt(digits, 16), negative);
      const v = BigInt(`0x${digits}`);
      return settle(negative ? -v : v, big);
    }

    // Decimal digits; the value is accumulated on the way, exact up to 15 digits.
    let small = 0;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      small = small * 10 + (c - 0x30);
      i++;
    }
    const nDigits = i - intStart;
    const leadingZero = nDigits > 1 && text.charCodeAt(intStart) === 0x30;

    if (i === end || (text.charCodeAt(i) === 0x4e /* N */ && i + 1 === end)) {
      if (leadingZero) this.badNumber(start, end, 'leading zeros are not allowed (octal is not supported)');
      const big = i !== end;
      if (!big && nDigits <= 15) return signed(small, negative);
      return settle(BigInt(text.slice(start, i)), big);
    }

    const c = text.charCodeAt(i);
    if ((c | 0x20) === 0x72 /* r */) return this.radixNumber(start, intStart, i, end, negative);
    if (c === SLASH) {
      let j = i + 1;
      while (j < end && isDigit(text.charCodeAt(j))) j++;
      this.badNumber(start, end, j === end && j > i + 1 ? 'ratios are not supported' : undefined);
    }

    let isFloat = false;
    if (c === 0x2e /* . */) {
      isFloat = true;
      i++;
      while (i < end && isDigit(text.charCodeAt(i))) i++;
    }
    if (i < end && (text.charCodeAt(i) | 0x20) === 0x65 /* e */) {
      isFloat = true;
      i++;
      const s = text.charCodeAt(i);
      if (s === 0x2b || s === 0x2d) i++;
      const expStart = i;
      while (i < end && isDigit(text.charCodeAt(i))) i++;
      if (i === expStart) this.badNumber(start, end, 'missing exponent digits');
    }
    if (i + 1 === end && text.charCodeAt(i) === 0x4d /* M */) {
      try {
        return BigDec.parse(text.slice(start, i));
      } catch (e) {
        return this.badNumber(start, end, e instanceof Error ? e.message : undefined);
      }
    }
    if (i !== end || !isFloat) this.badNumber(start, end);
    return Number(text.slice(start, end));
  }

  private badNumber(start: number, end: number, why?: string): never {
    return this.fail(start, `invalid number ${preview(this.text.slice(start, end))}${why === undefined ? '' : `: ${why}`}`);
  }

  /** `[+-]? radix r digits`; `rAt` is the offset of the `r`. */
  private radixNumber(start: number, intStart: number, rAt: number, end: number, negative: boolean): EdnValue {
    const text = this.text;
    const radixText = text.slice(intStart, rAt);
    if (radixText.length > 2 || radixText.charCodeAt(0) === 0x30) this.badNumber(start, end);
    const radix = Number(radixText);
    if (radix < 2 || radix > 36) this.badNumber(start, end, `radix ${radix} is out of range [2, 36]`);
    if (rAt + 1 === end) this.badNumber(start, end, 'missing digits');
    // Accumulate in a double while exact, then switch to bigint.
    let small = 0;
    let big: bigint | null = null;
    const bigRadix = BigInt(radix);
    for (let i = rAt + 1; i < end; i++) {
      const d = digitValue(text.charCodeAt(i));
      if (d >= radix) this.badNumber(start, end, `${showChar(text.charCodeAt(i))} is not a digit in radix ${radix}`);
      if (big === null && small <= (Number.MAX_SAFE_INTEGER - d) / radix) {
        small = small * radix + d;
      } else {
        big = (big ?? BigInt(small)) * bigRadix + BigInt(d);
      }
    }
    if (big === null) return signed(small, negative);
    return settle(negative ? -big : big, false);
  }

  private readDispatch(depth: number): EdnValue {
    const text = this.text;
    const start = this.pos;
    if (start + 1 >= this.len) this.fail(start, "unexpected end of input after '#'");
    const c = text.charCodeAt(start + 1);
    switch (c) {
      case 0x7b /* { */:
        return this.readSet(depth);
      case 0x5f /* _ */: {
        // Normally consumed by skipToForm; kept so readForm is total.
        this.pos = start + 2;
        this.discard(depth, start);
        return this.readRequired(depth, 'expected a form after the discarded one');
      }
      case HASH: {
        const end = this.tokenEnd(start + 2);
        this.pos = end;
        const name = text.slice(start + 2, end);
        if (name === 'Inf') return Infinity;
        if (name === '-Inf') return -Infinity;
        if (name === 'NaN') return NaN;
        return this.fail(start, `unknown symbolic value ##${preview(name)}`);
      }
      case COLON:
        return this.readNamespacedMap(depth);
      case QUOTE:
        return this.fail(start, 'regular expressions (#"…") are not supported in EDN');
      case 0x28:
        return this.fail(start, 'anonymous functions (#(…)) are not supported in EDN');
      case 0x27:
        return this.fail(start, "var quote (#') is not supported in EDN");
      case 0x3c:
        return this.fail(start, 'unreadable form (#<…>)');
      case 0x5e:
        return this.fail(start, 'metadata (#^) is not supported in EDN');
    }
    if (!isAsciiLetter(c)) {
      return this.fail(start, `'#' must be followed by a tag symbol, '{', '_', ':' or '#' (found ${showChar(c)})`);
    }
    return this.readTagged(depth);
  }

  private readNamespacedMap(depth: number): Map<EdnValue, EdnValue> {
    const text = this.text;
    const start = this.pos;
    const nsStart = start + 2;
    if (text.charCodeAt(nsStart) === COLON) this.fail(start, 'auto-resolved namespaced maps (#::) are not supported in EDN');
    const nsEnd = this.tokenEnd(nsStart);
    const ns = text.slice(nsStart, nsEnd);
    const err = ns === '' ? 'missing namespace' : ns.includes('/') ? "namespace cannot contain '/'" : symbolicError(ns, false);
    if (err !== null || ns === 'nil' || ns === 'true' || ns === 'false') {
      this.fail(start, `namespaced map must specify a valid namespace (#:${preview(ns)}): ${err ?? 'reserved word'}`);
    }
    let i = nsEnd;
    while (i < this.len && isWhitespace(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== 0x7b) this.fail(i, `namespaced map #:${ns} must be followed by a map`);
    this.pos = i;
    return this.readMap(depth, start, ns);
  }

  private readTagged(depth: number): EdnValue {
    const text = this.text;
    const start = this.pos;
    const end = this.tokenEnd(start + 1);
    const tag = text.slice(start + 1, end);
    const err = symbolicError(tag, false);
    if (err !== null) this.fail(start, `invalid tag #${preview(tag)}: ${err}`);
    const d = depth + 1;
    if (d > this.maxDepth) this.tooDeep(start);
    this.pos = end;
    this.skipToForm(d);
    const valueAt = this.pos;
    const value = this.readRequired(d, `tag #${tag} must be followed by a form`);
    if (tag === 'inst') {
      if (typeof value !== 'string') this.fail(valueAt, '#inst must be followed by a string');
      const date = parseInst(value);
      if (typeof date === 'string') this.fail(valueAt, `invalid #inst ${preview(value)}: ${date}`);
      return date;
    }
    if (tag === 'uuid') {
      if (typeof value !== 'string') this.fail(valueAt, '#uuid must be followed by a string');
      if (!UUID_RE.test(value)) this.fail(valueAt, `invalid #uuid ${preview(value)}: expected 8-4-4-4-12 hex digits`);
      return new Uuid(value);
    }
    return new Tagged(tag, value);
  }
}

/** Integers from a safe double: negate without producing -0. */
function signed(n: number, negative: boolean): number {
  return negative && n !== 0 ? -n : n;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** A bigint stays bigint with an `N` suffix; otherwise it becomes a number when safe. */
function settle(v: bigint, forceBig: boolean): number | bigint {
  if (!forceBig && v <= MAX_SAFE && v >= MIN_SAFE) return Number(v);
  return v;
}

/** A short printable form of a value or token for error messages. */
function preview(v: unknown): string {
  const s = typeof v === 'string' ? v : printEdn(v, 60);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const INST_RE =
  /^([+-]\d{6}|\d{4})(?:-(\d\d)(?:-(\d\d)(?:T(\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?)?)?)?(?:Z|([+-])(\d\d):(\d\d))?$/;
const INST_EXPECTED = 'expected an RFC 3339 timestamp like 2020-01-31T12:00:00.000Z';
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Value of the `count` decimal digits at `at`, or -1. */
function digitsAt(s: string, at: number, count: number): number {
  let v = 0;
  for (let k = at; k < at + count; k++) {
    const d = s.charCodeAt(k) - 0x30;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * RFC 3339 timestamps as Clojure's #inst reader takes them: `2020`, `2020-01`, … up to
 * `2020-01-02T03:04:05.123456789-05:00`, validating every field. A missing offset means UTC.
 * Fractions beyond milliseconds are truncated (a Date has millisecond precision, like
 * java.util.Date). Also accepts the ±YYYYYY expanded years that Date#toISOString emits.
 * Returns the Date, or the reason it is invalid.
 */
export function parseInst(s: string): Date | string {
  // Fast path, no regex: the complete form YYYY-MM-DDTHH:MM:SS[.f+][Z|±HH:MM] that printers emit.
  const n = s.length;
  if (n >= 19 && s.charCodeAt(4) === 0x2d && s.charCodeAt(7) === 0x2d && s.charCodeAt(10) === 0x54 /* T */ &&
      s.charCodeAt(13) === COLON && s.charCodeAt(16) === COLON) {
    const year = digitsAt(s, 0, 4);
    const month = digitsAt(s, 5, 2);
    const day = digitsAt(s, 8, 2);
    const hour = digitsAt(s, 11, 2);
    const minute = digitsAt(s, 14, 2);
    const second = digitsAt(s, 17, 2);
    let i = 19;
    let millis = 0;
    if (s.charCodeAt(i) === 0x2e /* . */) {
      const from = ++i;
      while (i < n && isDigit(s.charCodeAt(i))) i++;
      const digits = i - from;
      millis = digits === 0 ? -1 : digitsAt(s, from, Math.min(digits, 3)) * (digits === 1 ? 100 : digits === 2 ? 10 : 1);
    }
    let sign = 1;
    let offH = 0;
    let offM = 0;
    const z = s.charCodeAt(i);
    if (z === 0x5a /* Z */) {
      i++;
    } else if ((z === 0x2b || z === 0x2d) && s.charCodeAt(i + 3) === COLON) {
      sign = z === 0x2d ? -1 : 1;
      offH = digitsAt(s, i + 1, 2);
      offM = digitsAt(s, i + 4, 2);
      i += 6;
    }
    if (i === n && (year | month | day | hour | minute | second | millis | offH | offM) >= 0) {
      return makeInst(year, month, day, hour, minute, second, millis, sign, offH, offM);
    }
  }
  const m = INST_RE.exec(s);
  if (m === null) return INST_EXPECTED;
  const num = (g: string | undefined, dflt: number): number => (g === undefined ? dflt : Number(g));
  return makeInst(
    Number(m[1]),
    num(m[2], 1),
    num(m[3], 1),
    num(m[4], 0),
    num(m[5], 0),
    num(m[6], 0),
    m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0')),
    m[8] === '-' ? -1 : 1,
    num(m[9], 0),
    num(m[10], 0),
  );
}

function makeInst(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number,
  offsetSign: number,
  offsetHours: number,
  offsetMinutes: number,
): Date | string {
  if (month < 1 || month > 12) return 'month out of range';
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = month === 2 && leap ? 29 : MONTH_DAYS[month - 1]!;
  if (day < 1 || day > monthDays) return 'day out of range';
  if (hour > 23) return 'hour out of range';
  if (minute > 59) return 'minute out of range';
  // A leap second is only possible at the end of a minute; it rolls over, as in Java.
  if (second > (minute === 59 ? 60 : 59)) return 'second out of range';
  if (offsetSign * offsetHours < -12 || offsetSign * offsetHours > 14) return 'offset hours out of range';
  if (offsetMinutes > 59) return 'offset minutes out of range';
  let t: number;
  if (year >= 100) {
    t = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  } else {
    // Date.UTC maps years 0..99 to 1900..1999; setUTCFullYear does not.
    const d = new Date(0);
    d.setUTCFullYear(year, month - 1, day);
    t = d.setUTCHours(hour, minute, second, millis);
  }
  t -= offsetSign * (offsetHours * 60 + offsetMinutes) * 60000;
  if (!(Math.abs(t) <= 8.64e15)) return 'out of the range of a Date';
  return new Date(t);
}

function checkOptions(opts: EdnReadOptions | undefined): number {
  const maxDepth = opts?.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isInteger(maxDepth) || maxDepth < 0) {
    throw incorrect('edn/invalid-option', `maxDepth must be a non-negative integer, got ${String(maxDepth)}`, { maxDepth });
  }
  return maxDepth;
}

/**
 * The reader is recursive and checks the depth limit before every descent, so with the default
 * limit the JS stack is never at risk; a caller asking for a huge limit gets edn/too-deep
 * rather than a raw RangeError.
 */
function guardStack<T>(reader: Reader, maxDepth: number, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw incorrect('edn/too-deep', `EDN nesting too deep at offset ${reader.pos}: the stack ran out below maxDepth ${maxDepth}`, {
        offset: reader.pos,
        maxDepth,
      });
    }
    throw e;
  }
}

/**
 * Reads exactly one EDN form. Whitespace, comments and `#_` discards may surround it; anything
 * else after it, or no form at all, is an `edn/syntax` error.
 */
export function readEdn(text: string, opts?: EdnReadOptions): EdnValue {
  const maxDepth = checkOptions(opts);
  const r = new Reader(text, maxDepth, opts?.maxOuterItems);
  return guardStack(r, maxDepth, () => {
    if (r.skipToForm(0) === -1) r.fail(r.pos, 'empty input: expected an EDN form');
    const v = r.readForm(0);
    const after = r.skipToForm(0);
    if (after !== -1) {
      r.fail(
        r.pos,
        isCloser(after) ? `unmatched ${CLOSER_NAME[after]}` : 'unexpected content after the form (expected end of input)',
      );
    }
    return v;
  });
}

/** Reads a sequence of EDN forms (possibly none), e.g. a file of transactions. */
export function readEdnAll(text: string, opts?: EdnReadOptions): EdnValue[] {
  const maxDepth = checkOptions(opts);
  const r = new Reader(text, maxDepth);
  return guardStack(r, maxDepth, () => {
    const forms: EdnValue[] = [];
    for (;;) {
      const c = r.skipToForm(0);
      if (c === -1) return forms;
      forms.push(r.readForm(0));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Writer

function unwritable(message: string, value?: unknown): Error {
  return incorrect('edn/unwritable', message, value === undefined ? {} : { value: String(value) });
}

/** Plain-object key → keyword when it reads as one (`':x'`, `'a/b'`, `'name'`), else string. */
function objectKey(key: string): string {
  if (key.charCodeAt(0) === COLON) {
    const body = key.slice(1);
    if (keywords.get(body) !== undefined || symbolicError(body, true) === null) return key;
  } else if (symbolicError(key, false) === null) {
    return `:${key}`;
  }
  return quoteString(key);
}

function quoteString(s: string): string {
  const n = s.length;
  let i = 0;
  // Fast path: nothing to escape.
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === QUOTE || c === BACKSLASH || (c >= 0xd800 && c <= 0xdfff)) break;
  }
  if (i === n) return `"${s}"`;
  let out = '"' + s.slice(0, i);
  let chunk = i;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c < 0x20) {
      esc = c === 0x0a ? '\\n' : c === 0x09 ? '\\t' : c === 0x0d ? '\\r' : c === 0x08 ? '\\b' : c === 0x0c ? '\\f' : hexEscape(c);
    } else if (c === QUOTE) {
      esc = '\\"';
    } else if (c === BACKSLASH) {
      esc = '\\\\';
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // Keep well-formed surrogate pairs; escape lone surrogates so the output is valid Unicode.
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      esc = hexEscape(c);
    }
    if (esc !== null) {
      out += s.slice(chunk, i) + esc;
      chunk = i + 1;
    }
  }
  return out + s.slice(chunk) + '"';
}

function hexEscape(c: number): string {
  return `\\u${c.toString(16).padStart(4, '0')}`;
}

function writeNumber(n: number): string {
  if (Number.isNaN(n)) return '##NaN';
  if (n === Infinity) return '##Inf';
  if (n === -Infinity) return '##-Inf';
  if (Object.is(n, -0)) return '-0.0';
  const s = String(n);
  // A double beyond the safe range printed without a point or exponent would read back as a
  // bigint; give it a fraction so it reads back as the same double.
  if (Number.isInteger(n) && !Number.isSafeInteger(n) && !s.includes('e')) return `${s}.0`;
  return s;
}

/** Thrown inside a message printer whose budget is spent. */
const SPENT = Symbol('spent');

class Writer {
  out = '';
  /** Containers on the current path, to report cycles instead of overflowing the stack. */
  private readonly path = new Set<object>();

  /**
   * `forMessage`: printing a value for an error message, which never fails: a string that
   * reads as a keyword is the keyword it stands for in JS data (`':p/id'` → `:p/id`), a value
   * with no EDN form is described (`#object[Foo]`), a cycle is `…`, and writing stops once
   * `budget` characters are written.
   */
  constructor(private readonly forMessage = false, private readonly budget = Infinity) {}

  write(v: unknown): void {
    if (this.out.length > this.budget) throw SPENT;
    switch (typeof v) {
      case 'string':
        this.out += this.forMessage && v.charCodeAt(0) === COLON && v.length > 1 && symbolicError(v.slice(1), true) === null ? v : quoteString(v);
        return;
      case 'number':
        this.out += writeNumber(v);
        return;
      case 'boolean':
        this.out += v ? 'true' : 'false';
        return;
      case 'bigint':
        this.out += `${v}N`;
        return;
      case 'object':
        if (v === null) {
          this.out += 'nil';
          return;
        }
        this.writeObject(v);
        return;
      default:
        if (this.forMessage) {
          this.out += v === undefined ? 'nil' : `#object[${typeof v}]`;
          return;
        }
        throw unwritable(`Cannot write a JS ${typeof v} as EDN`);
    }
  }

  private writeObject(v: object): void {
    if (v instanceof Keyword) {
      this.out += `:${v.fqn}`;
    } else if (v instanceof Sym) {
      this.out += v.fqn;
    } else if (v instanceof BigDec) {
      this.out += `${v.toString()}M`;
    } else if (v instanceof Date) {
      const t = v.getTime();
      if (Number.isNaN(t)) {
        if (this.forMessage) {
          this.out += '#inst "invalid"';
          return;
        }
        throw unwritable('Cannot write an invalid Date as EDN');
      }
      this.out += `#inst "${v.toISOString()}"`;
    } else if (v instanceof Uuid) {
      this.out += `#uuid "${v.value}"`;
    } else {
      if (this.path.has(v)) {
        if (this.forMessage) {
          this.out += '…';
          return;
        }
        throw incorrect('edn/cyclic', 'Cannot write a cyclic structure as EDN');
      }
      this.path.add(v);
      this.writeContainer(v);
      this.path.delete(v);
    }
  }

  private writeContainer(v: object): void {
    if (Array.isArray(v)) {
      this.out += '[';
      this.items(v);
      this.out += ']';
    } else if (v instanceof EdnList) {
      this.out += '(';
      this.items(v.items);
      this.out += ')';
    } else if (v instanceof Map) {
      this.out += '{';
      let first = true;
      for (const [k, x] of v) {
        if (!first) this.out += ', ';
        first = false;
        this.write(k);
        this.out += ' ';
        this.write(x);
      }
      this.out += '}';
    } else if (v instanceof Set) {
      this.out += '#{';
      this.items(v);
      this.out += '}';
    } else if (v instanceof Tagged) {
      const err = typeof v.tag === 'string' && isAsciiLetter(v.tag.charCodeAt(0)) ? symbolicError(v.tag, false) : 'must start with a letter';
      if (err !== null && !this.forMessage) throw unwritable(`Invalid EDN tag ${printEdn(v.tag)}: ${err}`);
      this.out += `#${v.tag} `;
      this.write(v.value);
    } else {
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        if (this.forMessage) {
          this.out += `#object[${(v as { constructor?: { name?: string } }).constructor?.name ?? 'Object'}]`;
          return;
        }
        throw unwritable(`Cannot write a ${(v as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain'} object as EDN`);
      }
      // Plain object → map; properties whose value is undefined are skipped, as JSON does.
      this.out += '{';
      let first = true;
      for (const k of Object.keys(v)) {
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined) continue;
        if (!first) this.out += ', ';
        first = false;
        this.out += objectKey(k);
        this.out += ' ';
        this.write(x);
      }
      this.out += '}';
    }
  }

  private items(xs: Iterable<unknown>): void {
    let first = true;
    for (const x of xs) {
      if (!first) this.out += ' ';
      first = false;
      this.write(x);
    }
  }
}

/**
 * Writes a value as EDN text; the inverse of `readEdn` for every `EdnValue`
 * (`readEdn(writeEdn(x))` equals `x`). Plain JS objects are written as maps whose keys become
 * keywords when they look like one (`'a/b'` → `:a/b`, `':x'` → `:x`, `'name'` → `:name`) and
 * strings otherwise. JS has one number type, so a double with an integral value is written like
 * an integer (`2.0` → `2`), and a double beyond the safe range gets a fraction (`1e16` →
 * `10000000000000000.0`) so that it does not read back as a bigint. Throws `edn/unwritable` for values with no EDN form (undefined, functions,
 * class instances, invalid Dates) and `edn/cyclic` for cycles.
 */
export function writeEdn(v: unknown): string {
  return writeWith(new Writer(), v);
}

/**
 * A value as error messages show it: EDN (`[:p/id 999999]`, `"a \"quoted\" string"`,
 * `12345678901234567890N`, `#inst "2020-01-01T00:00:00.000Z"`), where a JS string that reads as
 * a keyword is shown as the keyword it stands for in JS data. Never throws; at most `maxChars`
 * characters (longer output ends in `...`).
 */
export function printEdn(v: unknown, maxChars = 120): string {
  const w = new Writer(true, maxChars);
  let s: string;
  try {
    s = writeWith(w, v);
  } catch (e) {
    if (e !== SPENT && !(e instanceof DatalithError)) throw e;
    s = `${w.out}...`;
  }
  return s.length > maxChars ? `${s.slice(0, maxChars - 3)}...` : s;
}

function writeWith(w: Writer, v: unknown): string {
  try {
    w.write(v);
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw incorrect('edn/too-deep', 'Value nested too deeply to write as EDN');
    }
    throw e;
  }
  return w.out;
}
