/**
 * Errors are data (cognitect anomalies): one error class carrying the anomaly `category`,
 * a namespaced `code` naming the concern and the kind, and a `data` payload with the offending
 * attribute and value.
 */
import { printEdn } from './edn';

export type AnomalyCategory =
  | 'busy'
  | 'unavailable'
  | 'interrupted'
  | 'incorrect'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'unsupported'
  | 'fault';

export const ANOMALY_CATEGORIES: readonly AnomalyCategory[] = [
  'busy', 'unavailable', 'interrupted', 'incorrect', 'forbidden', 'not-found', 'conflict', 'unsupported', 'fault',
];


export class DatalithError extends Error {
  readonly category: AnomalyCategory;
  readonly code: string | undefined;
  readonly data: Record<string, unknown>;

  constructor(category: AnomalyCategory, message: string, code?: string, data: Record<string, unknown> = {}) {
    super(message);
    this.name = 'DatalithError';
    this.category = category;
    this.code = code;
    this.data = data;
  }

  toJSON(): { category: AnomalyCategory; message: string; code?: string } {
    return this.code === undefined
      ? { category: this.category, message: this.message }
      : { category: this.category, message: this.message, code: this.code };
  }
}

export function isDatalithError(e: unknown): e is DatalithError {
  return e instanceof DatalithError;
}

export const incorrect = (code: string, message: string, data?: Record<string, unknown>): DatalithError =>
  new DatalithError('incorrect', message, code, data);
export const conflict = (code: string, message: string, data?: Record<string, unknown>): DatalithError =>
  new DatalithError('conflict', message, code, data);
export const notFound = (code: string, message: string, data?: Record<string, unknown>): DatalithError =>
  new DatalithError('not-found', message, code, data);
export const interrupted = (code: string, message: string, data?: Record<string, unknown>): DatalithError =>
  new DatalithError('interrupted', message, code, data);
export const unsupported = (code: string, message: string, data?: Record<string, unknown>): DatalithError =>
  new DatalithError('unsupported', message, code, data);
export const busy = (code: string, message: string, data?: Record<string, unknown>): DatalithError =>
  new DatalithError('busy', message, code, data);
export const unavailable = (code: string, message: string, data?: Record<string, unknown>): DatalithError =>
  new DatalithError('unavailable', message, code, data);
export const forbidden = (code: string, message: string, data?: Record<string, unknown>): DatalithError =>
  new DatalithError('forbidden', message, code, data);
export const fault = (code: string, message: string, data?: Record<string, unknown>): DatalithError =>
  new DatalithError('fault', message, code, data);

/**
 * A value as error messages show it: EDN, never huge (services/engine/edn.ts `printEdn`):
 * `[:p/id 999999]`, `"say \"hi\""`, `12N`, `#inst "2020-01-01T00:00:00.000Z"`.
 */
export function describeValue(v: unknown): string {
  return printEdn(v);
}
