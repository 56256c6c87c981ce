import { App, Tags } from 'aws-cdk-lib';
import { DatalithComputeStack } from './compute-stack';
import { names } from './names';
import { DatalithStorageStack } from './storage-stack';
import {
  DEFAULT_SYSTEM_NAME,
  DatalithComputeOverrides,
  TOPOLOGIES,
  Topology,
  computeProps,
  validateSystemName,
} from './topology';

export interface DatalithAppOptions {
  readonly systemName?: string;
  /** Table deletion protection; default true. */
  readonly deletionProtection?: boolean;
  /** Overrides of each topology's preset. */
  readonly overrides?: Partial<Record<Topology, DatalithComputeOverrides>>;
}

export interface DatalithSystemStacks {
  readonly storage: DatalithStorageStack;
  readonly solo: DatalithComputeStack;
  readonly production: DatalithComputeStack;
}

/**
 * Adds one system to the app: its storage stack (id `storage`) and a compute stack per topology
 * (ids `solo` and `production`, so `cdk deploy solo` selects one). Both compute stacks attach to
 * the same storage; deploy one of them (or, while upgrading, both for a moment).
 */
export function addDatalithSystem(app: App, options: DatalithAppOptions = {}): DatalithSystemStacks {
  const systemName = options.systemName ?? DEFAULT_SYSTEM_NAME;
  validateSystemName(systemName);
  const storage = new DatalithStorageStack(app, 'storage', {
    stackName: names.storageStack(systemName),
    description: `Datalith ${systemName}: tables and admin key (retained)`,
    systemName,
    deletionProtection: options.deletionProtection ?? true,
  });
  Tags.of(storage).add('datalith:system', systemName);

  const compute = (topology: Topology): DatalithComputeStack => {
    const stack = new DatalithComputeStack(app, topology, {
      stackName: names.computeStack(systemName, topology),
      description: `Datalith ${systemName}: ${topology} compute (network, nodes, load balancer, monitoring)`,
      compute: computeProps(topology, systemName, options.overrides?.[topology]),
      storage,
    });
    stack.addStackDependency(storage);
    Tags.of(stack).add('datalith:system', systemName);
    Tags.of(stack).add('datalith:topology', topology);
    return stack;
  };
  return { storage, solo: compute('solo'), production: compute('production') };
}

const NUMERIC = ['minNodes', 'desiredNodes', 'maxNodes', 'natGateways', 'volumeSizeGiB', 'nodePort', 'logRetentionDays', 'cacheSizeMb', 'indexThresholdDatoms'] as const;
const BOOLEAN = ['detailedMonitoring', 'flowLogs'] as const;
const TEXT = ['instanceType', 'cpuCredits', 'certificateArn', 'clientCidr', 'alarmTopicArn', 'nodeEntry'] as const;

/**
 * Options from CDK context (`cdk.json` or `-c key=value`):
 * `datalith:system`, `datalith:deletionProtection`, and any compute prop either for both
 * topologies (`datalith:certificateArn=arn:...`) or for one (`datalith:production:maxNodes=6`).
 */
export function optionsFromContext(app: App): DatalithAppOptions {
  const get = (key: string): unknown => app.node.tryGetContext(`datalith:${key}`);
  const overrides = Object.fromEntries(
    TOPOLOGIES.map((topology) => {
      const pick = (key: string) => get(`${topology}:${key}`) ?? get(key);
      const o: Record<string, unknown> = {};
      for (const key of NUMERIC) {
        const v = pick(key);
        if (v !== undefined) o[key] = toNumber(`datalith:${key}`, v);
      }
      for (const key of BOOLEAN) {
        const v = pick(key);
        if (v !== undefined) o[key] = toBoolean(`datalith:${key}`, v);
      }
      for (const key of TEXT) {
        const v = pick(key);
        if (v !== undefined && v !== '') o[key] = String(v);
      }
      return [topology, o as DatalithComputeOverrides];
    }),
  ) as Record<Topology, DatalithComputeOverrides>;
  const system = get('system');
  const deletionProtection = get('deletionProtection');
  return {
    systemName: system === undefined ? undefined : String(system),
    deletionProtection: deletionProtection === undefined ? undefined : toBoolean('datalith:deletionProtection', deletionProtection),
    overrides,
  };
}

function toNumber(key: string, value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (typeof value === 'boolean' || value === '' || !Number.isFinite(n)) {
    throw new Error(`${key}: received ${JSON.stringify(value)}; allowed: a number`);
  }
  return n;
}

function toBoolean(key: string, value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`${key}: received ${JSON.stringify(value)}; allowed: true or false`);
}
