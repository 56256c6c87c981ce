// The contract suite against both clients: the remote one must answer exactly as the local one.
import { createClient } from '../../services';
import { startSystem } from '../node/http/harness';
import { defineClientContract } from './contract';

defineClientContract('in-process (reference)', async () => {
  const client = createClient({ local: {} });
  return { client, close: () => client.close() };
});

// A small row limit, so the paging cases walk answers larger than one answer may be.
const MAX_RESULT_ROWS = 250;

defineClientContract('remote over HTTP', async () => {
  const system = await startSystem({ node: { limits: { maxResultRows: MAX_RESULT_ROWS } } });
  const client = createClient({ endpoint: system.url, accessKey: system.adminKey });
  return {
    client,
    maxResultRows: MAX_RESULT_ROWS,
    close: async () => {
      await client.close();
      await system.close();
    },
  };
});
