/**
 * A dozen questions about the music catalog, each a Datalog query (or a pull) against a database
 * value: joins, rules, aggregates, pull, and time travel with asOf, since, history and with.
 * `run.ts` prints them; test/examples/music.test.ts checks every answer.
 */
import { q, type Connection, type Db } from '../../services';

export interface Question {
  readonly id: string;
  readonly title: string;
  /** What the query looks like, for printing. */
  readonly query: string;
  /** The inputs after `$`, for printing. */
  readonly args?: readonly unknown[];
  /** The query whose find spec lays out the answer, when `query` is not a plain query. */
  readonly find?: string;
  readonly answer: (db: Db, conn: Connection) => Promise<unknown>;
}

/**
 * Rules are Datalog's functions. `influenced` is recursive: ?b was influenced by ?a directly, or
 * by someone ?a influenced. `played-with` has two definitions, which act as an `or`.
 */
export const RULES = `[[(influenced ?a ?b) [?b :artist/influences ?a]]
  [(influenced ?a ?c) [?b :artist/influences ?a] (influenced ?b ?c)]
  [(played-with ?a ?b) [?r :release/artists ?a] [?r :release/artists ?b] [(not= ?a ?b)]]
  [(played-with ?a ?b) [?r :release/artists ?a] [?r :release/tracks ?t] [?t :track/artists ?b] [(not= ?a ?b)]]]`;

const RELEASES_BY_ARTIST = `[:find ?year ?title
 :in $ ?name
 :where [?a :artist/name ?name]
        [?r :release/artists ?a]
        [?r :release/title ?title]
        [?r :release/year ?year]]`;

const GUEST_APPEARANCES = `[:find ?track ?release ?by
 :in $ ?name
 :where [?a :artist/name ?name]
        [?t :track/artists ?a]
        [?r :release/tracks ?t]
        (not [?r :release/artists ?a])
        [?t :track/title ?track]
        [?r :release/title ?release]
        [?r :release/artists ?main]
        [?main :artist/name ?by]]`;

const RELEASES_PER_GENRE = `[:find ?genre (count ?r)
 :where [?r :release/genres ?g]
        [?g :genre/name ?genre]]`;

const CATALOG_TOTALS = `[:find (count ?t) (sum ?d) (min ?d) (max ?d)
 :with ?t
 :where [_ :release/tracks ?t]
        [?t :track/duration ?d]]`;

const AVERAGE_TRACK_BY_DECADE = `[:find ?decade (avg ?d)
 :with ?t
 :where [?r :release/year ?y]
        [(quot ?y 10) ?q]
        [(* ?q 10) ?decade]
        [?r :release/tracks ?t]
        [?t :track/duration ?d]]`;

const LONGEST_TRACKS = `[:find (max 3 ?d) .
 :where [_ :track/duration ?d]]`;

const INFLUENCED_BY = `[:find [?name ...]
 :in $ % ?who
 :where [?a :artist/name ?who]
        (influenced ?a ?b)
        [?b :artist/name ?name]]`;

const PLAYED_WITH = `[:find [?name ...]
 :in $ % ?who
 :where [?a :artist/name ?who]
        (or (played-with ?a ?b) (played-with ?b ?a))
        [?b :artist/name ?name]]`;

const WITHOUT_RELEASES = `[:find [?name ...]
 :where [?a :artist/name ?name]
        (not [_ :release/artists ?a])]`;

const RELEASE_TREE = `[:release/title :release/year
 {:release/artists [:artist/name]}
 {:release/tracks [:track/position :track/title :track/duration]}]`;

const PULL_IN_FIND = `[:find [(pull ?r [:release/id :release/title :release/year]) ...]
 :in $ ?name
 :where [?a :artist/name ?name]
        [?r :release/artists ?a]]`;

const RELEASE_COUNT = '[:find (count ?r) . :where [?r :release/id]]';

const CHANGED_SINCE = `[:find ?what ?value
 :where (or (and [?e :release/title ?value] [(ground "new release") ?what])
            (and [?e :artist/country ?value] [(ground "country") ?what])
            (and [?e :track/title ?value] [(ground "track title") ?what]))]`;

const COUNTRY_HISTORY = `[:find ?country ?added ?when ?note
 :in $ ?name
 :where [?a :artist/name ?name]
        [?a :artist/country ?country ?tx ?added]
        [?tx :db/txInstant ?when]
        [?tx :tx/note ?note]]`;

const WITHDRAWN = `[:find ?title ?when
 :where [?r :release/title ?title ?tx false]
        [?tx :db/txInstant ?when]]`;

export const QUESTIONS: Question[] = [
  {
    id: 'releases-by-artist',
    title: 'Join: Ada Lark\'s releases',
    query: RELEASES_BY_ARTIST,
    args: ['Ada Lark'],
    answer: (db) => db.q(RELEASES_BY_ARTIST, 'Ada Lark'),
  },
  {
    id: 'guest-appearances',
    title: 'Join and not: tracks Ada Lark plays on, on other artists\' releases',
    query: GUEST_APPEARANCES,
    args: ['Ada Lark'],
    answer: (db) => db.q(GUEST_APPEARANCES, 'Ada Lark'),
  },
  {
    id: 'releases-per-genre',
    title: 'Aggregate: releases per genre',
    query: RELEASES_PER_GENRE,
    answer: (db) => db.q(RELEASES_PER_GENRE),
  },
  {
    id: 'catalog-totals',
    title: 'Aggregates: tracks, total, shortest and longest duration (:with ?t counts equal durations once per track)',
    query: CATALOG_TOTALS,
    answer: (db) => db.q(CATALOG_TOTALS),
  },
  {
    id: 'average-by-decade',
    title: 'Functions and aggregates: average track length per decade',
    query: AVERAGE_TRACK_BY_DECADE,
    answer: (db) => db.q(AVERAGE_TRACK_BY_DECADE),
  },
  {
    id: 'longest-tracks',
    title: 'Aggregate (max n): the three longest track durations',
    query: LONGEST_TRACKS,
    answer: (db) => db.q(LONGEST_TRACKS),
  },
  {
    id: 'influenced-by',
    title: 'Recursive rule: everyone Mara Quell influenced, directly or not',
    query: INFLUENCED_BY,
    args: [RULES, 'Mara Quell'],
    answer: (db) => db.q(INFLUENCED_BY, RULES, 'Mara Quell'),
  },
  {
    id: 'played-with',
    title: 'Rules and or: who Ada Lark played with (same release, or a guest on a track)',
    query: PLAYED_WITH,
    args: [RULES, 'Ada Lark'],
    answer: (db) => db.q(PLAYED_WITH, RULES, 'Ada Lark'),
  },
  {
    id: 'without-releases',
    title: 'not: artists without a release',
    query: WITHOUT_RELEASES,
    answer: (db) => db.q(WITHOUT_RELEASES),
  },
  {
    id: 'release-tree',
    title: 'Pull: a release with its artists and its tracks (components), by lookup ref',
    query: `db.pull('${RELEASE_TREE}', [':release/id', 'AL-1968'])`,
    answer: (db) => db.pull(RELEASE_TREE, [':release/id', 'AL-1968']),
  },
  {
    id: 'pull-in-find',
    title: 'Pull in :find: Juno Vale\'s releases as maps',
    query: PULL_IN_FIND,
    args: ['Juno Vale'],
    answer: (db) => db.q(PULL_IN_FIND, 'Juno Vale'),
  },
  {
    id: 'as-of',
    title: 'asOf: how many releases the catalog had at the end of 2019, 2020, 2021, and now',
    query: `db.asOf(new Date('2019-12-31')).q('${RELEASE_COUNT}')   …`,
    answer: async (db) => Promise.all([
      db.asOf(new Date('2019-12-31T23:59:59Z')).q(RELEASE_COUNT),
      db.asOf(new Date('2020-12-31T23:59:59Z')).q(RELEASE_COUNT),
      db.asOf(new Date('2021-12-31T23:59:59Z')).q(RELEASE_COUNT),
      db.q(RELEASE_COUNT),
    ]),
  },
  {
    id: 'since',
    title: 'since: what changed after the last import (2021-03-01)',
    query: `db.since(new Date('2021-03-02')).q('${CHANGED_SINCE}')`,
    find: CHANGED_SINCE,
    answer: (db) => db.since(new Date('2021-03-02')).q(CHANGED_SINCE),
  },
  {
    id: 'country-history',
    title: 'history: Ada Lark\'s country over time, with when and why',
    query: COUNTRY_HISTORY,
    args: ['Ada Lark'],
    answer: (db) => q(COUNTRY_HISTORY, db.history(), 'Ada Lark'),
  },
  {
    id: 'withdrawn',
    title: 'history: releases that were withdrawn, and when',
    query: WITHDRAWN,
    answer: (db) => db.history().q(WITHDRAWN),
  },
  {
    id: 'what-if',
    title: 'with: if Otis Brandt released an album, who would still have none? (nothing is committed)',
    query: `(await db.with([{ 'release/id': 'OB-2024', 'release/title': 'First Steps', 'release/artists': [[':artist/name', 'Otis Brandt']] }])).dbAfter.q(…)`,
    answer: async (db, conn) => {
      const speculative = await db.with([{ 'release/id': 'OB-2024', 'release/title': 'First Steps', 'release/artists': [[':artist/name', 'Otis Brandt']] }]);
      const before = await db.q(WITHOUT_RELEASES) as string[];
      const after = await speculative.dbAfter.q(WITHOUT_RELEASES) as string[];
      const committed = await (await conn.db()).q('[:find ?r . :where [?r :release/id "OB-2024"]]');
      return { before: before.includes('Otis Brandt'), after: after.includes('Otis Brandt'), withoutReleases: after.length, committed };
    },
  },
];
