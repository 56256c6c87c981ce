/**
 * dynalite as its own process: `tsx services/local/dynalite-server.ts [--dir DIR] [--port P]`
 * (or `node dist/.../dynalite-server.js`). Prints one JSON line `{"endpoint":"http://127.0.0.1:PORT","pid":N}`
 * on stdout when ready. SIGTERM/SIGINT close the server and the LevelDB store, then exit 0.
 * If the directory is locked by another live server it prints the error on stderr and exits 2.
 * With `--exit-with-parent` it also stops (gracefully) when its stdin closes, i.e. when the parent
 * that spawned it with a stdin pipe exits for any reason, even kill -9.
 */
import { startDynaliteInProcess } from './dynalite';
import { runServerProcess } from './server-process';

function parseArgs(argv: string[]): { dir?: string; port: number; exitWithParent: boolean } {
  let dir: string | undefined;
  let port = 0;
  let exitWithParent = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--dir' && v !== undefined) { dir = v; i++; }
    else if (a === '--port' && v !== undefined) { port = Number(v); i++; }
    else if (a === '--exit-with-parent') exitWithParent = true;
    else throw new Error(`unknown argument ${a}; usage: dynalite-server [--dir DIR] [--port PORT] [--exit-with-parent]`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${port}`);
  return dir === undefined ? { port, exitWithParent } : { dir, port, exitWithParent };
}

runServerProcess(async () => {
  const { exitWithParent, ...opts } = parseArgs(process.argv.slice(2));
  return { handle: await startDynaliteInProcess(opts), exitWithParent };
});
