/**
 * The Auto Scaling Group side of membership, in AWS: the group's InService instances filter the
 * live set, and a node that finds itself broken asks the group to replace it
 * (`SetInstanceHealth Unhealthy`). The SDK is loaded only when a group is configured.
 *
 * Environment (read by `clusterOptionsFromEnv`):
 *   DATALITH_ASG_NAME        the group's name; absent: no filtering (local cluster, tests)
 *   DATALITH_INSTANCE_ID     this instance's id; absent: read from the instance metadata (IMDSv2)
 *   AWS_REGION               the region (else the SDK's default chain)
 */
import type { AsgMembership } from './cluster';

const IMDS = 'http://169.254.169.254';

/** This EC2 instance's id from the instance metadata service (IMDSv2). */
export async function instanceIdFromImds(timeoutMs = 1_000): Promise<string> {
  const token = await fetch(`${IMDS}/latest/api/token`, {
    method: 'PUT',
    headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!token.ok) throw new Error(`IMDS token: HTTP ${token.status}`);
  const res = await fetch(`${IMDS}/latest/meta-data/instance-id`, {
    headers: { 'X-aws-ec2-metadata-token': await token.text() },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`IMDS instance-id: HTTP ${res.status}`);
  return (await res.text()).trim();
}

export interface AsgMembershipOptions {
  asgName: string;
  instanceId: string;
  region?: string;
}

/** An `AsgMembership` backed by `@aws-sdk/client-auto-scaling`. */
export async function createAsgMembership(opts: AsgMembershipOptions): Promise<AsgMembership> {
  const sdk = await import('@aws-sdk/client-auto-scaling');
  const client = new sdk.AutoScalingClient(opts.region !== undefined ? { region: opts.region } : {});
  return {
    instanceId: opts.instanceId,
    async inServiceInstanceIds() {
      const out = await client.send(new sdk.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [opts.asgName] }));
      const group = out.AutoScalingGroups?.[0];
      if (group === undefined) throw new Error(`Auto Scaling Group ${opts.asgName} not found`);
      return new Set((group.Instances ?? [])
        .filter((i) => i.LifecycleState === 'InService' && i.InstanceId !== undefined)
        .map((i) => i.InstanceId as string));
    },
    async setSelfUnhealthy() {
      await client.send(new sdk.SetInstanceHealthCommand({
        InstanceId: opts.instanceId,
        HealthStatus: 'Unhealthy',
        ShouldRespectGracePeriod: false,
      }));
    },
  };
}

/** The group membership from the environment, or undefined when `DATALITH_ASG_NAME` is unset. */
export async function asgMembershipFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<AsgMembership | undefined> {
  const asgName = env['DATALITH_ASG_NAME']?.trim();
  if (!asgName) return undefined;
  const instanceId = env['DATALITH_INSTANCE_ID']?.trim() || await instanceIdFromImds();
  const region = env['AWS_REGION']?.trim() || env['AWS_DEFAULT_REGION']?.trim();
  return createAsgMembership({ asgName, instanceId, ...(region ? { region } : {}) });
}
