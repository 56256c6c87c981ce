import * as ec2 from 'aws-cdk-lib/aws-ec2';

/** The two shapes of a Datalith system: one small node, or a highly available group. */
export type Topology = 'solo' | 'production';

export const TOPOLOGIES: readonly Topology[] = ['solo', 'production'];

/**
 * Everything that differs between Solo and Production. One design, configured by these props:
 * the constructs never branch on the topology name, only on these values.
 */
export interface DatalithComputeProps {
  /** The system this compute attaches to; names its storage, secret, log group and metrics. */
  readonly systemName: string;
  readonly topology: Topology;
  /** EC2 instance type of the nodes, e.g. `t3.small`. */
  readonly instanceType: string;
  readonly minNodes: number;
  readonly desiredNodes: number;
  readonly maxNodes: number;
  /**
   * NAT gateways. 0 puts the nodes in public subnets (with public addresses, reachable only from
   * the load balancer); more puts them in private subnets behind that many NAT gateways.
   */
  readonly natGateways: number;
  /** Burstable instances only: `standard` caps the bill, `unlimited` caps nothing. */
  readonly cpuCredits: 'standard' | 'unlimited';
  /** One-minute EC2 metrics (paid). */
  readonly detailedMonitoring: boolean;
  /** VPC flow logs of rejected traffic to CloudWatch Logs (paid per GB). */
  readonly flowLogs: boolean;
  /** Root volume size; encrypted gp3. */
  readonly volumeSizeGiB: number;
  /** The port the node listens on. */
  readonly nodePort: number;
  /** ACM certificate for an HTTPS listener; without it the load balancer speaks HTTP on port 80. */
  readonly certificateArn?: string;
  /** Who may reach the load balancer. */
  readonly clientCidr: string;
  /** SNS topic notified by alarms and scaling events; without it alarms only change state. */
  readonly alarmTopicArn?: string;
  /** Retention of the node log group, in days. */
  readonly logRetentionDays: number;
  /** TypeScript entry point of the node app, bundled with esbuild into one file. */
  readonly nodeEntry: string;
  /**
   * Memory for loaded index segments on each node (MB, `DATALITH_CACHE_SIZE_MB`). Unset: the
   * node's default, a quarter of the instance's memory, 64 MB to 1 GB. Warm reads are as fast as
   * the all-in-memory engine's once the cache holds their working set (docs/indexing.md).
   */
  readonly cacheSizeMb?: number;
  /**
   * Datoms in a database's log tail that start an indexing job (`DATALITH_INDEX_THRESHOLD_DATOMS`);
   * transactions are refused with `busy` above ten times it. Unset: the node's default, 200,000.
   */
  readonly indexThresholdDatoms?: number;
}

/** The props a caller may leave out: everything except the topology and the system name. */
export type DatalithComputeOverrides = Partial<Omit<DatalithComputeProps, 'topology' | 'systemName'>>;

export const DEFAULT_SYSTEM_NAME = 'datalith';
export const DEFAULT_NODE_ENTRY = 'services/node/main.ts';
export const DEFAULT_NODE_PORT = 8080;

const PRESETS: Record<Topology, Omit<DatalithComputeProps, 'systemName' | 'topology'>> = {
  // About $1.40 a day: one burstable Graviton node, no NAT gateway, no paid
  // extras (Graviton: 20% below t3.small's price for the same 2 vCPUs and 2 GiB).
  solo: {
    instanceType: 't4g.small',
    minNodes: 1,
    desiredNodes: 1,
    maxNodes: 1,
    natGateways: 0,
    cpuCredits: 'standard',
    detailedMonitoring: false,
    flowLogs: false,
    volumeSizeGiB: 8,
    nodePort: DEFAULT_NODE_PORT,
    clientCidr: '0.0.0.0/0',
    logRetentionDays: 14,
    nodeEntry: DEFAULT_NODE_ENTRY,
  },
  // Two nodes in two availability zones, private subnets with a NAT gateway in each zone.
  production: {
    instanceType: 'm7g.large',
    minNodes: 2,
    desiredNodes: 2,
    maxNodes: 4,
    natGateways: 2,
    cpuCredits: 'unlimited',
    detailedMonitoring: true,
    flowLogs: true,
    volumeSizeGiB: 16,
    nodePort: DEFAULT_NODE_PORT,
    clientCidr: '0.0.0.0/0',
    logRetentionDays: 90,
    nodeEntry: DEFAULT_NODE_ENTRY,
  },
};

/** The full, validated props of a topology: its preset with the caller's overrides on top. */
export function computeProps(
  topology: Topology,
  systemName: string = DEFAULT_SYSTEM_NAME,
  overrides: DatalithComputeOverrides = {},
): DatalithComputeProps {
  if (!TOPOLOGIES.includes(topology)) {
    throw new Error(`topology: received ${JSON.stringify(topology)}; allowed: ${TOPOLOGIES.join(', ')}`);
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const props: DatalithComputeProps = { ...PRESETS[topology], ...defined, topology, systemName };
  validateComputeProps(props);
  return props;
}

/** Throws, naming what was received and what is allowed, for props no deployment could honour. */
export function validateComputeProps(props: DatalithComputeProps): void {
  validateSystemName(props.systemName);
  const { minNodes, desiredNodes, maxNodes } = props;
  for (const [name, value] of Object.entries({ minNodes, desiredNodes, maxNodes })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`${name}: received ${value}; allowed: an integer >= 1`);
    }
  }
  if (!(minNodes <= desiredNodes && desiredNodes <= maxNodes)) {
    throw new Error(
      `node counts: received min ${minNodes}, desired ${desiredNodes}, max ${maxNodes}; allowed: min <= desired <= max`,
    );
  }
  if (props.topology === 'solo' && (minNodes !== 1 || desiredNodes !== 1 || maxNodes !== 1)) {
    throw new Error(
      `solo: received min ${minNodes}, desired ${desiredNodes}, max ${maxNodes}; allowed: exactly one node (1/1/1) — use the production topology for more`,
    );
  }
  if (props.topology === 'production' && minNodes < 2) {
    throw new Error(`production: received minNodes ${minNodes}; allowed: >= 2, so that a node can fail without an outage`);
  }
  if (props.topology === 'production' && props.natGateways < 1) {
    throw new Error(`production: received natGateways ${props.natGateways}; allowed: >= 1 (its nodes live in private subnets)`);
  }
  if (!Number.isInteger(props.natGateways) || props.natGateways < 0 || props.natGateways > 2) {
    throw new Error(`natGateways: received ${props.natGateways}; allowed: 0, 1 or 2 (the VPC spans two availability zones)`);
  }
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(props.instanceType)) {
    throw new Error(`instanceType: received ${JSON.stringify(props.instanceType)}; allowed: an EC2 instance type such as t3.small`);
  }
  if (!Number.isInteger(props.nodePort) || props.nodePort < 1024 || props.nodePort > 65535) {
    throw new Error(`nodePort: received ${props.nodePort}; allowed: an integer from 1024 to 65535 (the node does not run as root)`);
  }
  if (!Number.isInteger(props.volumeSizeGiB) || props.volumeSizeGiB < 8 || props.volumeSizeGiB > 1024) {
    throw new Error(`volumeSizeGiB: received ${props.volumeSizeGiB}; allowed: an integer from 8 (the AMI's size) to 1024`);
  }
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(props.clientCidr)) {
    throw new Error(`clientCidr: received ${JSON.stringify(props.clientCidr)}; allowed: an IPv4 CIDR such as 203.0.113.0/24`);
  }
  if (props.certificateArn !== undefined && !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/.+$/.test(props.certificateArn)) {
    throw new Error(`certificateArn: received ${JSON.stringify(props.certificateArn)}; allowed: an ACM certificate ARN`);
  }
  if (props.alarmTopicArn !== undefined && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:.+$/.test(props.alarmTopicArn)) {
    throw new Error(`alarmTopicArn: received ${JSON.stringify(props.alarmTopicArn)}; allowed: an SNS topic ARN`);
  }
  if (!LOG_RETENTION_DAYS.includes(props.logRetentionDays)) {
    throw new Error(`logRetentionDays: received ${props.logRetentionDays}; allowed: ${LOG_RETENTION_DAYS.join(', ')}`);
  }
  if (props.cacheSizeMb !== undefined && (!Number.isInteger(props.cacheSizeMb) || props.cacheSizeMb < 16 || props.cacheSizeMb > 1024 * 1024)) {
    throw new Error(`cacheSizeMb: received ${props.cacheSizeMb}; allowed: an integer number of MB from 16 to 1048576 (leave it unset for the node's default)`);
  }
  if (props.indexThresholdDatoms !== undefined
    && (!Number.isInteger(props.indexThresholdDatoms) || props.indexThresholdDatoms < 1_000 || props.indexThresholdDatoms > 100_000_000)) {
    throw new Error(`indexThresholdDatoms: received ${props.indexThresholdDatoms}; allowed: an integer from 1000 to 100000000 (leave it unset for the node's default)`);
  }
  if (props.cpuCredits !== 'standard' && props.cpuCredits !== 'unlimited') {
    throw new Error(`cpuCredits: received ${JSON.stringify(props.cpuCredits)}; allowed: standard, unlimited`);
  }
}

/** Lower-case letters, digits and dashes: it prefixes table, stack and group names. */
export function validateSystemName(systemName: string): void {
  if (!/^[a-z][a-z0-9-]{0,23}$/.test(systemName)) {
    throw new Error(
      `systemName: received ${JSON.stringify(systemName)}; allowed: 1-24 lower-case letters, digits or dashes, starting with a letter`,
    );
  }
}

/** The retention periods CloudWatch Logs accepts (up to ten years). */
export const LOG_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** Whether an instance type earns CPU credits (T family), so that `cpuCredits` applies to it. */
export function isBurstable(instanceType: string): boolean {
  return /^t\d/.test(instanceType);
}

/** The AMI architecture an instance type needs. */
export function cpuTypeOf(instanceType: string): ec2.AmazonLinuxCpuType {
  return new ec2.InstanceType(instanceType).architecture === ec2.InstanceArchitecture.ARM_64
    ? ec2.AmazonLinuxCpuType.ARM_64
    : ec2.AmazonLinuxCpuType.X86_64;
}
