/**
 * The music catalog's data: a few hand-written artists and releases whose answers are easy to
 * check by eye, and a deterministic generated catalog around them (a seeded PRNG: the same seed
 * always gives the same data). The catalog is imported in transactions dated in the past, then
 * corrected and changed, so that there is history to travel through:
 *
 *   2019-01-01  the schema                      (schema.edn)
 *   2019-01-02  genres and artists
 *   2019-03-01  import: releases before 1970
 *   2020-03-01  import: releases 1970–1999
 *   2021-03-01  import: releases from 2000
 *   2021-06-01  correction: Ada Lark is from Ireland, a track title's typo
 *   2022-01-10  withdrawn: Bootleg Sessions
 *   2023-05-01  new release: Second Light
 *
 * `npx tsx examples/music/generate.ts [--seed N] > music-data.edn` writes the transactions as
 * EDN (one vector per transaction) for `npx datalith transact`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ednLines } from '../../services/cli/format';

export interface Track {
  title: string;
  position: number;
  /** Seconds. */
  duration: number;
  /** Artists who play on the track besides the release's. */
  featuring: string[];
}

export interface Release {
  id: string;
  title: string;
  year: number;
  label: string;
  artists: string[];
  genres: string[];
  tracks: Track[];
}

export interface Artist {
  name: string;
  type: 'person' | 'group';
  /** A keyword, e.g. ':country/US'. */
  country: string;
  influences: string[];
}

export interface Catalog {
  genres: string[];
  artists: Artist[];
  releases: Release[];
}

export interface CatalogTransaction {
  instant: Date;
  note: string;
  /** Transaction data in JS form (the SDK accepts it as is). */
  txData: unknown[];
}

export const DEFAULT_SEED = 42;
export const SCHEMA_FILE = path.join(__dirname, 'schema.edn');

/** mulberry32: a small, fast, seedable PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GENRES = ['Jazz', 'Folk', 'Rock', 'Pop', 'Electronic', 'Blues', 'Soul', 'Classical', 'Hip hop', 'Ambient'];
const COUNTRIES = [':country/US', ':country/GB', ':country/FR', ':country/DE', ':country/JP', ':country/BR', ':country/NG', ':country/SE'];
const LABELS = ['Driftwood', 'Northsea', 'Lumen', 'Blue Orchard', 'Ferro', 'Halcyon'];
const FIRST = ['Ari', 'Bex', 'Cato', 'Dara', 'Eli', 'Fen', 'Gia', 'Hal', 'Ines', 'Jory', 'Kit', 'Lio', 'Mina', 'Nico', 'Ola', 'Pim', 'Rue', 'Sol'];
const LAST = ['Ashby', 'Brook', 'Corran', 'Dune', 'Ember', 'Frost', 'Gale', 'Hollow', 'Ives', 'Keel', 'Lowe', 'Moor'];
const BAND = ['Parallels', 'Tin Lanterns', 'Paper Kites', 'Night Shift', 'Glass Orchard', 'Low Suns', 'Iron Choir', 'Static Bloom'];
const WORDS = ['Blue', 'Morning', 'River', 'Echo', 'Silver', 'Window', 'Ember', 'Garden', 'Signal', 'Winter', 'Velvet', 'Static', 'Harbor', 'North', 'Golden', 'Quiet', 'Paper', 'Moon'];

/** The hand-written part: small enough to check the example's answers by eye. */
export const ANCHOR_ARTISTS: Artist[] = [
  { name: 'Mara Quell', type: 'person', country: ':country/US', influences: [] },
  { name: 'Ada Lark', type: 'person', country: ':country/GB', influences: ['Mara Quell'] },
  { name: 'The Quiet Harbors', type: 'group', country: ':country/GB', influences: ['Ada Lark'] },
  { name: 'Juno Vale', type: 'person', country: ':country/FR', influences: ['The Quiet Harbors'] },
  { name: 'Otis Brandt', type: 'person', country: ':country/DE', influences: ['Mara Quell'] },
];

const t = (title: string, duration: number, featuring: string[] = []): Omit<Track, 'position'> => ({ title, duration, featuring });
const release = (id: string, title: string, year: number, label: string, artists: string[], genres: string[], tracks: Array<Omit<Track, 'position'>>): Release =>
  ({ id, title, year, label, artists, genres, tracks: tracks.map((x, i) => ({ ...x, position: i + 1 })) });

export const ANCHOR_RELEASES: Release[] = [
  release('MQ-1966', 'Night Ferry', 1966, 'Driftwood', ['Mara Quell'], ['Jazz'], [t('Night Ferry', 312), t('Pier 9', 245), t('Slow Current', 401)]),
  release('AL-1968', 'Low Tide', 1968, 'Driftwood', ['Ada Lark'], ['Folk'], [t('Low Tide', 198), t('Saltwatre', 223), t('Gull Song', 176), t('Undertow', 264)]),
  release('AL-1972', 'Lanterns', 1972, 'Driftwood', ['Ada Lark', 'Mara Quell'], ['Folk', 'Jazz'], [t('Lanterns', 287), t('Two Lights', 305), t('Harbour Wall', 242)]),
  release('QH-1999', 'Harbor Lights', 1999, 'Northsea', ['The Quiet Harbors'], ['Rock'], [t('Harbor Lights', 233), t('Breakwater', 251), t('Beacon', 219), t('Fog Horn', 301)]),
  release('QH-2003', 'Bootleg Sessions', 2003, 'Northsea', ['The Quiet Harbors'], ['Rock'], [t('Live Wire', 190), t('Encore', 420)]),
  release('JV-2015', 'Vale', 2015, 'Lumen', ['Juno Vale'], ['Pop'], [t('Vale', 214), t('Paper Boats', 199, ['Ada Lark']), t('Afterglow', 236)]),
];

/** Released in 2023, added by the last transaction. */
export const NEW_RELEASE: Release = release('JV-2023', 'Second Light', 2023, 'Lumen', ['Juno Vale'], ['Pop', 'Electronic'], [t('Second Light', 221), t('Signal', 205)]);
export const WITHDRAWN_RELEASE_ID = 'QH-2003';

/** The catalog as it is at the end of the timeline (the withdrawn release is gone, the fixes applied). */
export function generateCatalog(seed = DEFAULT_SEED, size = { artists: 36, releases: 90 }): Catalog & { withdrawn: Release } {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));

  const artists: Artist[] = [...ANCHOR_ARTISTS.map((a) => ({ ...a, influences: [...a.influences] }))];
  const names = new Set(artists.map((a) => a.name));
  while (artists.length < ANCHOR_ARTISTS.length + size.artists) {
    const group = rnd() < 0.3;
    const name = group ? `The ${pick(BAND)}${rnd() < 0.5 ? '' : ` of ${pick(LAST)}`}` : `${pick(FIRST)} ${pick(LAST)}`;
    if (names.has(name)) continue;
    names.add(name);
    // Generated artists are influenced only by generated artists named before them.
    const earlier = artists.slice(ANCHOR_ARTISTS.length);
    const influences = new Set<string>();
    for (let i = int(0, 2); i > 0 && earlier.length > 0; i--) influences.add(pick(earlier).name);
    artists.push({ name, type: group ? 'group' : 'person', country: pick(COUNTRIES), influences: [...influences] });
  }
  const generatedArtists = artists.slice(ANCHOR_ARTISTS.length).map((a) => a.name);

  const releases: Release[] = ANCHOR_RELEASES.map((r) => ({ ...r, tracks: r.tracks.map((x) => ({ ...x, featuring: [...x.featuring] })) }));
  for (let i = 1; i <= size.releases; i++) {
    const main = pick(generatedArtists);
    const artistsOf = rnd() < 0.2 ? [...new Set([main, pick(generatedArtists)])] : [main];
    const genres = [...new Set([pick(GENRES), ...(rnd() < 0.3 ? [pick(GENRES)] : [])])];
    const title = `${pick(WORDS)} ${pick(WORDS)}`;
    const tracks: Track[] = [];
    for (let p = 1, n = int(4, 9); p <= n; p++) tracks.push({ title: `${pick(WORDS)} ${pick(WORDS)}`, position: p, duration: int(120, 480), featuring: [] });
    releases.push({ id: `G-${String(i).padStart(4, '0')}`, title, year: int(1955, 2020), label: pick(LABELS), artists: artistsOf, genres, tracks });
  }
  releases.push(NEW_RELEASE);

  // The state after the corrections and the withdrawal.
  (artists.find((a) => a.name === 'Ada Lark') as Artist).country = ':country/IE';
  const lowTide = releases.find((r) => r.id === 'AL-1968') as Release;
  (lowTide.tracks.find((x) => x.title === 'Saltwatre') as Track).title = 'Saltwater';
  const withdrawn = releases.find((r) => r.id === WITHDRAWN_RELEASE_ID) as Release;
  return { genres: [...GENRES], artists, releases: releases.filter((r) => r !== withdrawn), withdrawn };
}

const artistTempid = (name: string): string => `artist ${name}`;
const txMeta = (instant: string, note: string): Record<string, unknown> => ({ 'db/id': 'datomic.tx', 'db/txInstant': new Date(instant), 'tx/note': note });

function releaseData(r: Release): Record<string, unknown> {
  return {
    'release/id': r.id,
    'release/title': r.title,
    'release/year': r.year,
    'release/label': r.label,
    'release/artists': r.artists.map((a) => [':artist/name', a]),
    'release/genres': r.genres.map((g) => [':genre/name', g]),
    'release/tracks': r.tracks.map((x) => ({
      'track/id': `${r.id}-${x.position}`,
      'track/title': x.title,
      'track/position': x.position,
      'track/duration': x.duration,
      ...(x.featuring.length > 0 ? { 'track/artists': x.featuring.map((a) => [':artist/name', a]) } : {}),
    })),
  };
}

/** The timeline after the schema: every transaction with its instant, as JS transaction data. */
export function catalogTransactions(seed = DEFAULT_SEED): CatalogTransaction[] {
  const c = generateCatalog(seed);
  const all = [...c.releases, c.withdrawn].filter((r) => r.id !== NEW_RELEASE.id).sort((a, b) => a.id.localeCompare(b.id));
  // As imported in 2019: before the corrections.
  const imported = (r: Release): Release => (r.id === 'AL-1968' ? ANCHOR_RELEASES[1] as Release : r);
  const byYears = (lo: number, hi: number): unknown[] => all.filter((r) => r.year >= lo && r.year <= hi).map((r) => releaseData(imported(r)));
  const artists = c.artists.map((a) => ({
    'db/id': artistTempid(a.name),
    'artist/name': a.name,
    'artist/type': `:artist.type/${a.type}`,
    'artist/country': a.name === 'Ada Lark' ? ':country/GB' : a.country,
    ...(a.influences.length > 0 ? { 'artist/influences': a.influences.map(artistTempid) } : {}),
  }));
  return [
    { instant: new Date('2019-01-02T00:00:00Z'), note: 'genres and artists', txData: [txMeta('2019-01-02', 'genres and artists'), ...c.genres.map((g) => ({ 'genre/name': g })), ...artists] },
    { instant: new Date('2019-03-01T00:00:00Z'), note: 'import: releases before 1970', txData: [txMeta('2019-03-01', 'import: releases before 1970'), ...byYears(0, 1969)] },
    { instant: new Date('2020-03-01T00:00:00Z'), note: 'import: releases 1970-1999', txData: [txMeta('2020-03-01', 'import: releases 1970-1999'), ...byYears(1970, 1999)] },
    { instant: new Date('2021-03-01T00:00:00Z'), note: 'import: releases from 2000', txData: [txMeta('2021-03-01', 'import: releases from 2000'), ...byYears(2000, 9999)] },
    {
      instant: new Date('2021-06-01T00:00:00Z'),
      note: 'correction: Ada Lark is from Ireland; a typo',
      txData: [
        txMeta('2021-06-01', 'correction: Ada Lark is from Ireland; a typo'),
        { 'artist/name': 'Ada Lark', 'artist/country': ':country/IE' },
        { 'track/id': 'AL-1968-2', 'track/title': 'Saltwater' },
      ],
    },
    { instant: new Date('2022-01-10T00:00:00Z'), note: 'withdrawn: Bootleg Sessions', txData: [txMeta('2022-01-10', 'withdrawn: Bootleg Sessions'), [':db/retractEntity', [':release/id', WITHDRAWN_RELEASE_ID]]] },
    { instant: new Date('2023-05-01T00:00:00Z'), note: 'new release: Second Light', txData: [txMeta('2023-05-01', 'new release: Second Light'), releaseData(NEW_RELEASE)] },
  ];
}

/** The whole import as EDN text: one vector per transaction, the schema first. */
export function catalogEdn(seed = DEFAULT_SEED, withSchema = true): string {
  const parts = withSchema ? [fs.readFileSync(SCHEMA_FILE, 'utf8').trim()] : [];
  for (const tx of catalogTransactions(seed)) parts.push(`;; ${tx.instant.toISOString().slice(0, 10)} ${tx.note}\n${ednLines(tx.txData)}`);
  return `${parts.join('\n\n')}\n`;
}

if (require.main === module) {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const i = process.argv.indexOf('--seed');
  const seed = i === -1 ? DEFAULT_SEED : Number(process.argv[i + 1]);
  if (!Number.isInteger(seed)) {
    process.stderr.write('incorrect: --seed takes an integer\n');
    process.exit(2);
  }
  process.stdout.write(catalogEdn(seed, !process.argv.includes('--no-schema')));
}
