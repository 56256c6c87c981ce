import { createClient } from '../../services/client';
import { startSystem } from '../node/http/harness';
import { defineClientContract } from './contract';

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
