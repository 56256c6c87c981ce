/**
 * dynalite as its own process: `tsx services/node/storage/dynalite-server.ts [--dir DIR] [--port P]`
 * (or `node dist/.../dynalite-server.js`). Prints one JSON line `{"endpoint":"http://127.0.0.1:PORT","pid":N}`
 * on stdout when ready. SIGTERM/SIGINT close the server and the LevelDB store, then exit 0.
 * If the directory is locked by another live server it prints the error on stderr and exits 2.
 */
import { isDatalithError } from '../../engine/errors';
import { startDynaliteInProcess } from './dynalite';

function parseArgs(argv: string[]): { dir?: string; port: number } {
  let dir: string | undefined;
  let port = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--dir' && v !== undefined) { dir = v; i++; }
    else if (a === '--port' && v !== undefined) { port = Number(v); i++; }
    else throw new Error(`unknown argument ${a}; usage: dynalite-server [--dir DIR] [--port PORT]`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${port}`);
  return dir === undefined ? { port } : { dir, port };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const handle = await startDynaliteInProcess(opts);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    void handle.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ endpoint: handle.endpoint, pid: process.pid })}\n`);
}

main().catch((e: unknown) => {
  const msg = isDatalithError(e) ? `${e.code ?? e.category}: ${e.message}` : String((e as Error)?.stack ?? e);
  process.stderr.write(`${msg}\n`);
  process.exit(2);
});
