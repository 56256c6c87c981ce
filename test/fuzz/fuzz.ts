/**
 * Shared by the fuzz tests. `npm test` runs a few thousand generated inputs in all; `npm run
 * test:fuzz` multiplies every count by FUZZ_RUNS (default there: 20). FUZZ_SEED replays a run.
 */
import fc from 'fast-check';
import { ANOMALY_CATEGORIES, DatalithError } from '../../services/engine/errors';

const multiplier = Number(process.env.FUZZ_RUNS ?? '1');

export function runs(n: number): number {
  return Math.max(1, Math.round(n * (Number.isFinite(multiplier) && multiplier > 0 ? multiplier : 1)));
}

/** fast-check parameters: the number of runs, and the seed when FUZZ_SEED is set. */
export function params(n: number): fc.Parameters<unknown> {
  const seed = process.env.FUZZ_SEED;
  return { numRuns: runs(n), ...(seed !== undefined && seed !== '' ? { seed: Number(seed) } : {}) };
}

/** Timeout of a fuzz test: grows with the multiplier. */
export function budget(ms: number): number {
  return Math.round(ms * Math.max(1, multiplier));
}

/**
 * Runs `f`: a result, or a well-formed anomaly (a DatalithError with a known category other than
 * `fault`, a code and a message). Anything else — a TypeError, a RangeError, a fault — fails.
 */
export function outcome<T>(f: () => T): { ok: true; value: T } | { ok: false; error: DatalithError } {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    checkAnomaly(e);
    return { ok: false, error: e as DatalithError };
  }
}

export function checkAnomaly(e: unknown): void {
  if (!(e instanceof DatalithError)) throw new Error(`not an anomaly: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
  if (!(ANOMALY_CATEGORIES as readonly string[]).includes(e.category)) throw new Error(`unknown category ${e.category}`);
  if (e.category === 'fault') throw new Error(`fault: ${e.code} ${e.message}`);
  if (typeof e.message !== 'string' || e.message.length === 0) throw new Error(`anomaly without a message: ${e.code}`);
  if (typeof e.code !== 'string' || e.code.length === 0) throw new Error(`anomaly without a code: ${e.message}`);
}

/** EDN-ish token soup: fragments that exercise the reader's and parsers' corners. */
export const EDN_TOKENS = [
  '[', ']', '(', ')', '{', '}', '#{', '#_', '#inst', '#uuid', '#foo/bar', '#:ns', '#::', '##NaN', '##Inf', '##-Inf', '##x',
  '"', '"s"', '"\\n"', '"\\u00e9"', '"\\x"', '\\a', '\\newline', '\\u0041', '\\', ':', '::', ':a', ':a/b', ':db/id', ':db/add', ':/', 'a/b', '/', 'nil', 'true', 'false',
  '0', '-0', '1', '+1', '-1', '007', '1N', '1M', '1.5', '1e10', '1e999', '-1.5e-3', '0x1F', '36rZZ', '2r102', '9223372036854775808', '1/2', '.5', '1.',
  '?e', '?x', '_', '$', '%', '...', '*', ';', ';comment\n', ',', ' ', '\n', '\t', '\u00a0', '\u0000', 'é', '😀', '\ud800', '^', '@', '~', '`', "'",
];
export const ednSoup = fc.array(fc.constantFrom(...EDN_TOKENS), { maxLength: 40 }).chain((ts) =>
  fc.constantFrom(' ', '').map((sep) => ts.join(sep)));
