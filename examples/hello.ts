// The README's ten lines of SDK. In your own project the import is `from 'datalith'`.
// Run it against `npm start`: DATALITH_ACCESS_KEY=$(cat .datalith/access-key) npx tsx examples/hello.ts
import { createClient } from '../services';

async function main(): Promise<void> {
  const client = createClient({ endpoint: process.env.DATALITH_ENDPOINT ?? 'http://127.0.0.1:8080', accessKey: process.env.DATALITH_ACCESS_KEY });
  await client.createDatabase('music');
  const conn = await client.connect('music');
  await conn.transact(`[{:db/ident :artist/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}]`);
  const { dbAfter } = await conn.transact([{ 'artist/name': 'Nina Simone' }]);
  console.log(await dbAfter.q('[:find ?n :where [_ :artist/name ?n]]'));                // => [['Nina Simone']]
  console.log(await dbAfter.asOf(1).q('[:find (count ?a) . :where [?a :artist/name]]')); // => null  // not yet at t 1
  await client.close();
}

main().catch((e) => {
  console.error(`${e.category ?? 'fault'}: ${e.message}`);
  process.exit(1);
});
