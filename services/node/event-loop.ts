/**
 * Long computations on a node's event loop run in slices, so that no request keeps the loop
 * (and `GET /health`) waiting for long (docs/limits.md, "Nodes").
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Steps } from '../engine';

/** The longest a computation runs before it lets other work run (ms). */
export const SLICE_MS = 50;

/** Runs steps, letting other work run whenever a slice of `sliceMs` is used up. */
export async function runInSlices<T>(steps: Steps<T>, sliceMs = SLICE_MS): Promise<T> {
  let start = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - start >= sliceMs) {
      await nextTurn();
      start = performance.now();
    }
  }
}

/** Lets other work run before a long synchronous step. */
export function yieldToEventLoop(): Promise<void> {
  return nextTurn();
}
