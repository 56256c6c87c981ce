/**
 * Replaying logged transactions onto a value: what a node does when it loads a database or
 * catches up with the log, and what an older value is rebuilt by. Nobody sees the values in
 * between, so one B+tree edit lets the replay update the nodes it created in place.
 */
import { Edit } from './btree';
import type { Datom } from './datom';
import { Db, emptyDb, type DbState } from './db';
import { applyDatoms } from './transact';

export class Replay {
  private readonly edit = new Edit();
  private current: DbState;

  constructor(from: DbState = emptyDb().state) {
    this.current = from;
  }

  /** Applies one logged transaction: its datoms as committed, at its instant. */
  apply(datoms: readonly Datom[], instant: number): void {
    this.current = applyDatoms(this.current, datoms, instant, this.edit);
  }

  get state(): DbState {
    return this.current;
  }

  /** Ends the replay: the state is immutable from here on. Call on every path. */
  close(): DbState {
    this.edit.live = false;
    return this.current;
  }
}

/** The unfiltered value at t, replayed from the log a later value carries. */
export function rebuildAt(later: Db, t: number): Db {
  const replay = new Replay();
  try {
    for (const entry of later.unfiltered().txRange(null, t + 1)) replay.apply(entry.data, entry.instant);
  } finally {
    replay.close();
  }
  return new Db(replay.state);
}
