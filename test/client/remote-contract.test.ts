// The contract suite against both clients: the remote one must answer exactly as the local one.
import { createClient } from '../../services/client';
import { startSystem } from '../node/http/harness';
import { defineClientContract } from './contract';

defineClientContract('in-process (reference)', async () => {
  const client = createClient({ local: {} });
  return { client, close: () => client.close() };
});

defineClientContract('remote over HTTP', async () => {
  const system = await startSystem();
  const client = createClient({ endpoint: system.url, accessKey: system.adminKey });
  return {
    client,
    close: async () => {
      await client.close();
      await system.close();
    },
  };
});
