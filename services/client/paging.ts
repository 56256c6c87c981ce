/**
 * The arg-map forms of `datoms`, `indexRange` and `txRange`, and the iterators that walk them
 * page by page. Both clients parse their arguments here, so the in-process and the remote
 * client refuse the same arguments with the same anomaly before reading anything.
 */
import { checkIndexName, checkLimit, checkOffset, describeValue, incorrect, isDatalithError } from '../engine';
import { signalOf, throwIfAborted } from './abort';

/** Datomic's default `:chunk`: datoms (or transactions) per page of an iterator. */
export const DEFAULT_CHUNK = 1000;

/** A checked page: `offset` and `limit` as the caller gave them (undefined: absent). */
export interface PageFields {
  readonly offset?: number;
  readonly limit?: number;
}

/** A checked walk: where it starts, how much of it, and the page size. */
export interface Walk {
  readonly offset: number;
  /** Infinity: everything. */
  readonly limit: number;
  readonly chunk: number;
}

export interface ParsedDatoms {
  readonly index: unknown;
  readonly components: unknown[];
  readonly page: PageFields;
  readonly signal?: AbortSignal | undefined;
}

export interface ParsedIndexRange {
  readonly attr: unknown;
  readonly start: unknown;
  readonly end: unknown;
  readonly page: PageFields;
  readonly signal?: AbortSignal | undefined;
}

export interface ParsedTxRange {
  readonly start: unknown;
  readonly end: unknown;
  readonly signal?: AbortSignal | undefined;
}

const invalid = (op: string, field: string, why: string) =>
  incorrect('datoms/invalid-arguments', `${op}: ${why}`, { field });

/** An arg-map: a plain object (not an array, a Date, a Keyword or another class's instance). */
export function isArgMap(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Refuses keys an arg-map does not take, naming the first one. */
function onlyKeys(op: string, args: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(args)) {
    if (args[k] !== undefined && !allowed.includes(k)) {
      const hint = k === 'attrid' ? ' (the attribute is `attr`)' : '';
      throw invalid(op, k, `unknown field ${JSON.stringify(k)}${hint}; the arg-map takes ${allowed.join(', ')}`);
    }
  }
}

function pageFields(op: string, args: Record<string, unknown>): PageFields {
  checkOffset(args.offset, op);
  checkLimit(args.limit, op);
  const out: { offset?: number; limit?: number } = {};
  if (args.offset !== undefined && args.offset !== null) out.offset = args.offset as number;
  if (args.limit !== undefined && args.limit !== null) out.limit = args.limit as number;
  return out;
}

function walkOf(op: string, args: Record<string, unknown>): Walk {
  const chunk = args.chunk ?? DEFAULT_CHUNK;
  if (typeof chunk !== 'number' || !Number.isSafeInteger(chunk) || chunk < 1) {
    throw incorrect('datoms/invalid-chunk', `${op}: chunk must be a positive integer, got ${describeValue(chunk)}`, { field: 'chunk', value: describeValue(chunk) });
  }
  return { offset: checkOffset(args.offset, op), limit: checkLimit(args.limit, op), chunk };
}

function argMap(op: string, x: unknown, form: string): Record<string, unknown> {
  if (!isArgMap(x)) throw invalid(op, 'args', `args must be an arg-map ${form}, got ${describeValue(x)}`);
  return x;
}

function mapDatoms(op: string, args: Record<string, unknown>, extra: readonly string[]): ParsedDatoms {
  onlyKeys(op, args, ['index', 'components', 'offset', 'limit', 'signal', ...extra]);
  if (args.index === undefined) throw incorrect('datoms/invalid-index', `${op}: index is required: one of eavt, aevt, avet, vaet`, { field: 'index' });
  checkIndexName(args.index);
  const components = args.components ?? [];
  if (!Array.isArray(components)) throw invalid(op, 'components', `components must be an array, got ${describeValue(components)}`);
  return { index: args.index, components, page: pageFields(op, args), signal: signalOf(args, op) };
}

function mapIndexRange(op: string, args: Record<string, unknown>, extra: readonly string[]): ParsedIndexRange {
  onlyKeys(op, args, ['attr', 'start', 'end', 'offset', 'limit', 'signal', ...extra]);
  if (args.attr === undefined || args.attr === null) throw invalid(op, 'attr', 'attr is required: the attribute to range over');
  return { attr: args.attr, start: args.start, end: args.end, page: pageFields(op, args), signal: signalOf(args, op) };
}

/** `datoms(index, ...components)` or `datoms({ index, components?, offset?, limit? })`. */
export function datomsArgs(first: unknown, rest: readonly unknown[]): ParsedDatoms {
  if (!isArgMap(first)) return { index: first, components: [...rest], page: {} };
  if (rest.length > 0) throw invalid('datoms', 'args', 'args are (index, ...components) or one arg-map { index, components?, offset?, limit? }, not both');
  return mapDatoms('datoms', first, []);
}

/** `indexRange(attr, start?, end?)` or `indexRange({ attr, start?, end?, offset?, limit? })`. */
export function indexRangeArgs(first: unknown, start: unknown, end: unknown): ParsedIndexRange {
  if (!isArgMap(first)) return { attr: first, start, end, page: {} };
  if (start !== undefined || end !== undefined) throw invalid('indexRange', 'args', 'args are (attr, start?, end?) or one arg-map { attr, start?, end?, offset?, limit? }, not both');
  return mapIndexRange('indexRange', first, []);
}

/** `txRange({ start?, end?, offset?, limit?, signal? })`; other keys are ignored, as before offset and limit. */
export function txRangeArgs(range: unknown): ParsedTxRange & { page: PageFields } {
  const args = range === undefined || range === null ? {} : argMap('txRange', range, '{ start?, end?, offset?, limit? }');
  return { start: args.start, end: args.end, page: pageFields('txRange', args), signal: signalOf(args, 'txRange') };
}

export function iterDatomsArgs(args: unknown): ParsedDatoms & { walk: Walk } {
  const m = argMap('iterDatoms', args, '{ index, components?, offset?, limit?, chunk? }');
  return { ...mapDatoms('iterDatoms', m, ['chunk']), walk: walkOf('iterDatoms', m) };
}

export function iterIndexRangeArgs(args: unknown): ParsedIndexRange & { walk: Walk } {
  const m = argMap('iterIndexRange', args, '{ attr, start?, end?, offset?, limit?, chunk? }');
  return { ...mapIndexRange('iterIndexRange', m, ['chunk']), walk: walkOf('iterIndexRange', m) };
}

export function iterTxRangeArgs(range: unknown): ParsedTxRange & { walk: Walk } {
  const m = range === undefined || range === null ? {} : argMap('iterTxRange', range, '{ start?, end?, offset?, limit?, chunk? }');
  onlyKeys('iterTxRange', m, ['start', 'end', 'offset', 'limit', 'chunk', 'signal']);
  return { start: m.start, end: m.end, walk: walkOf('iterTxRange', m), signal: signalOf(m, 'iterTxRange') };
}

/** A refusal that a smaller page avoids: too many rows, or too many bytes, in one answer. */
function tooLarge(e: unknown): boolean {
  return isDatalithError(e) && (e.code === 'datoms/result-too-large' || e.code === 'http/response-too-large');
}

/**
 * The items of a walk, fetched page by page. `fetch(offset, limit, last)` answers at most `limit`
 * items: the first page from `offset`, each later one (offset 0) strictly after `last`, the last
 * item of the page before. A page shorter than asked for ends the walk. A page refused as too
 * large is asked for again at half the size (down to one item; then the refusal stands).
 * An aborted `signal` rejects before the next page is fetched (`operation` names the walk).
 */
export async function* paged<T>(walk: Walk, fetch: (offset: number, limit: number, last: T | undefined) => Promise<readonly T[]>, signal?: AbortSignal, operation = 'iteration'): AsyncGenerator<T, void, undefined> {
  let remaining = walk.limit;
  let chunk = walk.chunk;
  let offset = walk.offset;
  let last: T | undefined;
  while (remaining > 0) {
    const n = Math.min(chunk, remaining);
    throwIfAborted(signal, operation);
    let items: readonly T[];
    try {
      items = await fetch(offset, n, last);
    } catch (e) {
      if (chunk > 1 && tooLarge(e)) {
        chunk = Math.max(1, Math.floor(n / 2));
        continue;
      }
      throw e;
    }
    for (const x of items) yield x;
    remaining -= items.length;
    if (items.length < n) return;
    offset = 0;
    last = items[items.length - 1];
  }
}
