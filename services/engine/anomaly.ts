/**
 * An anomaly as JSON — `{ category, message, code?, data? }` with `data` in the wire encoding —
 * and back: the one form errors take across HTTP and between a node and its query workers.
 */
import { ANOMALY_CATEGORIES, DatalithError, type AnomalyCategory } from './errors';
import { fromWire, toWire } from './wire';

export interface AnomalyJson {
  readonly category: AnomalyCategory;
  readonly message: string;
  readonly code?: string;
  /** The error's data, wire-encoded; absent when empty or when it has no wire form. */
  readonly data?: unknown;
}

export function isAnomalyCategory(x: unknown): x is AnomalyCategory {
  return typeof x === 'string' && (ANOMALY_CATEGORIES as readonly string[]).includes(x);
}

/** The JSON of an error; `message` and `data` may be replaced (a node hides internals). */
export function anomalyToJson(e: DatalithError, over: { message?: string; data?: Record<string, unknown> | null } = {}): AnomalyJson {
  const raw = over.data === null ? {} : over.data ?? e.data;
  let data: unknown;
  try {
    data = Object.keys(raw).length > 0 ? toWire(raw) : undefined;
  } catch {
    data = undefined;
  }
  return {
    category: e.category,
    message: over.message ?? e.message,
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(data !== undefined ? { data } : {}),
  };
}

/**
 * The error an anomaly JSON describes, or undefined when `j` is not one (a load balancer's own
 * error page, say). A `data` that does not decode is dropped, not fatal.
 */
export function anomalyFromJson(j: unknown, fallbackMessage = 'Unknown error'): DatalithError | undefined {
  if (typeof j !== 'object' || j === null) return undefined;
  const o = j as { category?: unknown; message?: unknown; code?: unknown; data?: unknown };
  if (!isAnomalyCategory(o.category)) return undefined;
  let data: Record<string, unknown> = {};
  if (typeof o.data === 'object' && o.data !== null) {
    try {
      data = fromWire(o.data) as Record<string, unknown>;
    } catch {
      data = {};
    }
  }
  return new DatalithError(o.category, typeof o.message === 'string' ? o.message : fallbackMessage, typeof o.code === 'string' ? o.code : undefined, data);
}
