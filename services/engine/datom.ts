/**
 * Datoms and the orders of the four covering indexes.
 *
 * Entity ids are small integers so V8 keeps them unboxed: system entities below
 * FIRST_USER_EID, user entities from it, and the entity of the transaction at t is TX0 + t.
 */
import { compareValues, type Value } from './values';

export const TX0 = 2 ** 29;
export const FIRST_USER_EID = 1000;
export const tToTx = (t: number): number => TX0 + t;
export const txToT = (tx: number): number => tx - TX0;
export const isTxId = (e: number): boolean => e >= TX0;

export class Datom {
  constructor(
    readonly e: number,
    readonly a: number,
    readonly v: Value,
    readonly tx: number,
    readonly added: boolean,
  ) {}
}

/**
 * A history record: the retraction of a datom, remembering when the retracted assertion was made.
 * One record stands for two history datoms (the assertion and the retraction), so a retraction
 * costs one insertion per history index instead of two.
 */
export class Retraction extends Datom {
  constructor(e: number, a: number, v: Value, tx: number, readonly assertTx: number) {
    super(e, a, v, tx, false);
  }

  assertion(): Datom {
    return new Datom(this.e, this.a, this.v, this.assertTx, true);
  }
}

export type IndexName = 'eavt' | 'aevt' | 'avet' | 'vaet';
export const INDEX_NAMES: readonly IndexName[] = ['eavt', 'aevt', 'avet', 'vaet'];

const num = (x: number, y: number): number => (x < y ? -1 : x > y ? 1 : 0);
const val = (x: Value, y: Value): number => (x === y ? 0 : compareValues(x, y));

// Current indexes hold at most one datom per (e, a, v): the order ignores tx.
export const cmpEavt = (x: Datom, y: Datom): number => num(x.e, y.e) || num(x.a, y.a) || val(x.v, y.v);
export const cmpAevt = (x: Datom, y: Datom): number => num(x.a, y.a) || num(x.e, y.e) || val(x.v, y.v);
export const cmpAvet = (x: Datom, y: Datom): number => num(x.a, y.a) || val(x.v, y.v) || num(x.e, y.e);
export const cmpVaet = (x: Datom, y: Datom): number => val(x.v, y.v) || num(x.a, y.a) || num(x.e, y.e);

// History events order by tx too, and a retraction after the assertion of the same tx.
const txAdded = (x: Datom, y: Datom): number => num(x.tx, y.tx) || (x.added === y.added ? 0 : x.added ? -1 : 1);
export const cmpHistEavt = (x: Datom, y: Datom): number => cmpEavt(x, y) || txAdded(x, y);
export const cmpHistAevt = (x: Datom, y: Datom): number => cmpAevt(x, y) || txAdded(x, y);
export const cmpHistAvet = (x: Datom, y: Datom): number => cmpAvet(x, y) || txAdded(x, y);
export const cmpHistVaet = (x: Datom, y: Datom): number => cmpVaet(x, y) || txAdded(x, y);

export const CURRENT_ORDER = { eavt: cmpEavt, aevt: cmpAevt, avet: cmpAvet, vaet: cmpVaet } as const;
export const HISTORY_ORDER = { eavt: cmpHistEavt, aevt: cmpHistAevt, avet: cmpHistAvet, vaet: cmpHistVaet } as const;

/** The datom's components in the order of an index. */
export function components(index: IndexName, d: Datom): [unknown, unknown, unknown, number] {
  switch (index) {
    case 'eavt': return [d.e, d.a, d.v, d.tx];
    case 'aevt': return [d.a, d.e, d.v, d.tx];
    case 'avet': return [d.a, d.v, d.e, d.tx];
    case 'vaet': return [d.v, d.a, d.e, d.tx];
  }
}
