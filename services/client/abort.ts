/**
 * Cancellation with an `AbortSignal` (types.ts, AbortOptions): both clients check signals and
 * build the error of an aborted call here, so the in-process and the remote client fail alike.
 */
import { DatalithError, describeValue, incorrect } from '../engine';

export const ABORTED_CODE = 'client/aborted';

/** The signal of an options object, checked: undefined, or something shaped as an AbortSignal. */
export function signalOf(options: unknown, operation: string): AbortSignal | undefined {
  if (typeof options !== 'object' || options === null) return undefined;
  const signal = (options as { signal?: unknown }).signal;
  if (signal === undefined) return undefined;
  const s = signal as Partial<AbortSignal> | null;
  if (typeof s !== 'object' || s === null || typeof s.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
    throw incorrect('client/invalid-signal', `${operation}: signal must be an AbortSignal, got ${describeValue(signal)}`, { field: 'signal' });
  }
  return signal as AbortSignal;
}

/** Why the signal was aborted, when the caller gave a reason of their own. */
function reasonOf(signal: AbortSignal): string | undefined {
  const r: unknown = signal.reason;
  if (typeof r === 'string') return r;
  // The default reason (`controller.abort()` without one) is a DOMException named AbortError.
  if (r instanceof Error && r.name !== 'AbortError') return r.message;
  return undefined;
}

/**
 * The error of an aborted call: `interrupted`, `client/aborted`. `note` is appended to the
 * message (what an abort leaves undecided, e.g. whether a transaction committed).
 */
export function abortedError(operation: string, signal: AbortSignal | undefined, note = '', data: Record<string, unknown> = {}): DatalithError {
  const reason = signal === undefined ? undefined : reasonOf(signal);
  return new DatalithError('interrupted', `The ${operation} call was aborted${reason !== undefined ? ` (${reason})` : ''}${note}`, ABORTED_CODE, {
    operation,
    ...(reason !== undefined ? { reason } : {}),
    ...data,
  });
}

/** Rejects (throws) when the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, operation: string): void {
  if (signal?.aborted) throw abortedError(operation, signal);
}

/** Checks the signal of an options object and rejects (throws) when it is already aborted. */
export function throwIfOptionsAborted(options: unknown, operation: string): void {
  throwIfAborted(signalOf(options, operation), operation);
}

/** Waits `ms`, or rejects as soon as the signal is aborted. */
export function sleep(ms: number, signal: AbortSignal | undefined, operation: string): Promise<void> {
  if (signal === undefined) return new Promise((r) => setTimeout(r, ms));
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortedError(operation, signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(operation, signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `p`, or a rejection as soon as the signal is aborted (`p` goes on; its outcome is dropped).
 * For in-process calls that wait (storage, catching up): the caller stops waiting.
 */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined, operation: string, note = '', data: Record<string, unknown> = {}): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(abortedError(operation, signal, note, data));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      p.catch(() => {});
      reject(abortedError(operation, signal, note, data));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * What an aborted transaction leaves undecided, for its error: the note and the data. `when`
 * says how far it got (`sent` to a node, `handed over` to an in-process transactor).
 */
export function inDoubtAbort(txId: string, when: 'sent' | 'handed over'): { note: string; data: Record<string, unknown> } {
  return {
    note: ` after the transaction was ${when}: it is indeterminate (it may still commit). Retrying with the same txId (${txId}) is safe: it commits at most once`,
    data: { txId, indeterminate: true },
  };
}
