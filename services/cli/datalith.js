#!/usr/bin/env node
/*
 * The `datalith` command (package.json "bin"). It runs the TypeScript sources through tsx in a
 * checkout (where tsx, a dev dependency, is installed), and the compiled file from `npm run
 * build` where tsx is absent (an installed package). docs/adr/006-cli.md records why.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.stdout.on('error', (e) => {
  // `datalith q … | head` closes the pipe early: that is not an error.
  if (e && e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const source = path.join(__dirname, 'main.ts');
const built = path.join(__dirname, '..', '..', 'dist', 'services', 'cli', 'main.js');

function hasTsx() {
  try {
    require.resolve('tsx/cjs');
    return true;
  } catch {
    return false;
  }
}

let entry;
if (fs.existsSync(source) && hasTsx()) {
  require('tsx/cjs');
  entry = source;
} else if (fs.existsSync(built)) {
  entry = built;
} else {
  process.stderr.write('fault: cannot find the CLI: install the dev dependencies (npm ci) or build it (npm run build)\n');
  process.exit(1);
}

require(entry)
  .run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() })
  .then((code) => { process.exitCode = code; });
