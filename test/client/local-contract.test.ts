import { createClient } from '../../services/client';
import { defineClientContract } from './contract';

defineClientContract('in-process', async () => {
  const client = createClient({ local: {} });
  return { client, close: () => client.close() };
});
