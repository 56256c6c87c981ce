/**
 * A computation done in steps: a generator that yields (nothing) between steps of bounded
 * work. `runSteps` runs it to the end at once; a caller that must stay responsive (a node's
 * event loop: services/node/event-loop.ts) lets other work run between steps instead.
 */
export type Steps<T> = Generator<void, T, void>;

/** Runs steps to the end, without pausing. */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
