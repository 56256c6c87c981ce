/**
 * Command-line arguments that carry data: EDN text read strictly (services/engine/edn.ts), then
 * turned into the SDK's public JS values where the SDK expects them (entity ids, time points).
 */
import { BigDec, EdnList, Keyword, readEdn, type EdnValue, DatalithError } from '../engine';

/** EDN value → public JS value: keywords become ':ns/name' strings, lists and vectors arrays. */
export function toPublic(v: EdnValue): unknown {
  if (v instanceof Keyword) return v.toString();
  if (Array.isArray(v)) return v.map(toPublic);
  if (v instanceof EdnList) return v.items.map(toPublic);
  if (v instanceof Set) return [...v].map(toPublic);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[k instanceof Keyword ? k.fqn : String(k)] = toPublic(x);
    return o;
  }
  if (v instanceof BigDec) return v;
  return v;
}

export function readArg(what: string, text: string): EdnValue {
  try {
    return readEdn(text);
  } catch (e) {
    if (e instanceof DatalithError) throw new DatalithError(e.category, `${what}: ${e.message}`, e.code, e.data);
    throw e;
  }
}

/** `--args '["Nina Simone" 1970]'`: the query inputs after `$`, as EDN data (rules included). */
export function parseQueryArgs(text: string | undefined): EdnValue[] {
  if (text === undefined) return [];
  const v = readArg('--args', text);
  if (!Array.isArray(v)) {
    throw new DatalithError('incorrect', `--args must be an EDN vector of the query's inputs after $, e.g. '["Nina Simone" 1970]'`, 'cli/invalid-args');
  }
  return v;
}

/** An entity id, an ident (`:country/GB`) or a lookup ref (`[:artist/name "Nina Simone"]`). */
export function parseEntity(text: string): unknown {
  if (/^\d+$/.test(text)) return Number(text);
  return toPublic(readArg('entity', text));
}

/** A t (`42`) or an instant (`2024-01-01`, `2024-01-01T10:00:00Z`, `#inst "…"`). */
export function parseTimePoint(option: string, text: string): number | Date {
  if (/^\d+$/.test(text)) return Number(text);
  const raw = text.startsWith('#inst') ? readArg(option, text) : new Date(text);
  if (raw instanceof Date && !Number.isNaN(raw.getTime())) return raw;
  throw new DatalithError('incorrect', `${option} takes a t (e.g. 42) or an instant (e.g. 2024-01-01T00:00:00Z), got ${JSON.stringify(text)}`, 'cli/invalid-time');
}
