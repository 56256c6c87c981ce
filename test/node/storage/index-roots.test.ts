/**
 * Index roots in the catalog (services/node/storage/index-roots.ts) against dynalite: a root only
 * moves forward by conditional write — of two racing advances exactly one wins, an advance to an
 * older or the same t is refused and leaves the stored root as it was; bad roots write nothing.
 */
import { createHash } from 'node:crypto';
import { IndexRootStore, SEGMENT_FORMAT, type IndexRoot } from '../../../services/node/storage';
import { useStorage } from '../storage-fixture';
import { caught } from './storage-suite';

const key = (tag: string): string => createHash('sha256').update(tag).digest('hex');
const keys = (tag: string): IndexRoot['current'] =>
  ({ eavt: key(`${tag}e`), aevt: key(`${tag}a`), avet: key(`${tag}v`), vaet: key(`${tag}r`) });

function root(db: string, indexedT: number, tag = `t${indexedT}`): IndexRoot {
  return {
    db, indexedT, format: SEGMENT_FORMAT, current: keys(tag), history: keys(`${tag}h`),
    log: key(`${tag}l`),
    sizes: { current: { eavt: 10, aevt: 10, avet: 10, vaet: 1 }, history: { eavt: 1, aevt: 1, avet: 1, vaet: 0 }, log: indexedT },
    maxEid: 1000 + indexedT, lastInstant: indexedT,
    datoms: indexedT * 10, historyRecords: indexedT, createdAt: new Date(0).toISOString(), writtenBy: tag,
  };
}

describe('index roots', () => {
  const storage = useStorage();
  let roots: IndexRootStore;
  beforeAll(() => {
    roots = new IndexRootStore(storage.client);
  });

  it('has no root before the first indexing; the first advance stores it exactly', async () => {
    expect(await roots.get('db-first')).toBeUndefined();
    const r = root('db-first', 5);
    expect(await roots.advance(r)).toEqual({ advanced: true, root: r });
    expect(await roots.get('db-first')).toEqual(r);
  });

  it('moves forward only: an older or equal t is refused and the stored root stays', async () => {
    const r10 = root('db-forward', 10);
    await roots.advance(r10);
    expect(await roots.advance(root('db-forward', 7))).toEqual({ advanced: false, stored: r10 });
    expect(await roots.advance(root('db-forward', 10, 'other'))).toEqual({ advanced: false, stored: r10 });
    expect(await roots.get('db-forward')).toEqual(r10);
    const r11 = root('db-forward', 11);
    expect(await roots.advance(r11)).toEqual({ advanced: true, root: r11 });
    expect(await roots.get('db-forward')).toEqual(r11);
  });

  it('of two racing advances to the same t exactly one wins, round after round', async () => {
    for (let t = 1; t <= 15; t++) {
      const a = root('db-race', t, `a${t}`);
      const b = root('db-race', t, `b${t}`);
      const results = await Promise.all([roots.advance(a), roots.advance(b)]);
      const winners = results.filter((x) => x.advanced);
      expect(winners).toHaveLength(1);
      const won = winners[0]!.advanced ? winners[0]!.root : undefined;
      const lost = results.find((x) => !x.advanced);
      expect(lost).toEqual({ advanced: false, stored: won });
      expect(await roots.get('db-race')).toEqual(won);
    }
  });

  it('keeps roots of different databases apart', async () => {
    await roots.advance(root('db-x', 3));
    await roots.advance(root('db-y', 9));
    expect((await roots.get('db-x'))?.indexedT).toBe(3);
    expect((await roots.get('db-y'))?.indexedT).toBe(9);
  });

  it('refuses malformed roots with incorrect and writes nothing', async () => {
    const good = root('db-bad', 4);
    const bad: Array<[string, IndexRoot]> = [
      ['indexedT', { ...good, indexedT: 0 }],
      ['indexedT', { ...good, indexedT: 1.5 }],
      ['current.avet', { ...good, current: { ...good.current, avet: 'nope' } }],
      ['history.vaet', { ...good, history: { eavt: key('1'), aevt: key('2'), avet: key('3') } as IndexRoot['history'] }],
      ['format', { ...good, format: 99 }],
      ['database id', { ...good, db: '' }],
      ['datoms', { ...good, datoms: -1 }],
    ];
    for (const [what, r] of bad) {
      const e = await caught(roots.advance(r));
      expect({ what, category: e.category, code: e.code }).toEqual({ what, category: 'incorrect', code: 'index/invalid-root' });
    }
    expect(await roots.get('db-bad')).toBeUndefined();
  });

  it('reserves the index-root partition from generic catalog records', async () => {
    const e = await caught(storage.catalog.putRecord('index-root', 'db-first', { t: 99 }));
    expect(e).toMatchObject({ category: 'incorrect', code: 'storage/invalid-key' });
    expect((await roots.get('db-first'))?.indexedT).toBe(5);
  });
});
