import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { NodeLoadBalancer } from './load-balancer';
import { names } from './names';
import { DatalithNetwork } from './network';
import { NodeBundle } from './node-bundle';
import { NodeFleet } from './node-fleet';
import { NodeIdentity } from './node-identity';
import { DatalithMonitoring, NodeLogs } from './operations';
import { DatalithStorageStack } from './storage-stack';
import { DatalithComputeProps, validateComputeProps } from './topology';

export interface DatalithComputeStackProps extends StackProps {
  readonly compute: DatalithComputeProps;
  /** The system's storage stack; the compute stack only references it. */
  readonly storage: DatalithStorageStack;
}

/**
 * The stateless half of a system: network, nodes, load balancer, node identity and operations.
 * Solo and Production are this one stack with different props; it can be destroyed and deployed
 * again at any time without touching the data.
 */
export class DatalithComputeStack extends Stack {
  readonly network: DatalithNetwork;
  readonly identity: NodeIdentity;
  readonly fleet: NodeFleet;
  readonly endpoint: NodeLoadBalancer;
  readonly monitoring: DatalithMonitoring;

  constructor(scope: Construct, id: string, props: DatalithComputeStackProps) {
    super(scope, id, props);
    const c = props.compute;
    validateComputeProps(c);
    const { catalog, log } = props.storage.tables;
    const adminKey = props.storage.adminAccessKey.secret;
    // By its fixed name, not by a cross-stack reference to the storage stack's bucket.
    const segmentBucket = s3.Bucket.fromBucketName(this, 'SegmentBucket', names.segmentBucket(c.systemName, this.account, this.region));
    const nodeGroupName = names.nodeGroup(c.systemName, c.topology);
    const metricsNamespace = names.metricsNamespace(c.systemName);
    const alarmTopic = c.alarmTopicArn ? sns.Topic.fromTopicArn(this, 'AlarmTopic', c.alarmTopicArn) : undefined;

    this.network = new DatalithNetwork(this, 'Network', {
      natGateways: c.natGateways,
      flowLogs: c.flowLogs,
      flowLogGroupName: names.flowLogGroup(c.systemName, c.topology),
      logRetentionDays: c.logRetentionDays,
    });
    const nodeLogs = new NodeLogs(this, 'Logs', {
      logGroupName: names.nodeLogGroup(c.systemName, c.topology),
      retentionDays: c.logRetentionDays,
    });
    const bundle = new NodeBundle(this, 'NodeBundle', { entry: c.nodeEntry });
    this.identity = new NodeIdentity(this, 'NodeIdentity', {
      catalogTable: catalog,
      logTable: log,
      segmentBucket,
      systemName: c.systemName,
      adminAccessKey: adminKey,
      nodeGroupName,
      metricsNamespace,
      logGroup: nodeLogs.logGroup,
      bundle: bundle.asset,
    });
    this.fleet = new NodeFleet(this, 'Nodes', {
      vpc: this.network.vpc,
      subnets: this.network.nodeSubnets,
      publicAddresses: this.network.nodesArePublic,
      role: this.identity.role,
      bundle: bundle.asset,
      logGroupName: nodeLogs.logGroup.logGroupName,
      groupName: nodeGroupName,
      instanceType: c.instanceType,
      cpuCredits: c.cpuCredits,
      detailedMonitoring: c.detailedMonitoring,
      volumeSizeGiB: c.volumeSizeGiB,
      nodePort: c.nodePort,
      minNodes: c.minNodes,
      desiredNodes: c.desiredNodes,
      maxNodes: c.maxNodes,
      notificationTopic: alarmTopic,
      // The node's configuration (services/node/main.ts reads these); the node adds its id and URL.
      environment: {
        NODE_ENV: 'production',
        PORT: String(c.nodePort),
        AWS_REGION: this.region,
        DATALITH_TOPOLOGY: c.topology,
        DATALITH_CATALOG_TABLE: catalog.tableName,
        DATALITH_LOG_TABLE: log.tableName,
        DATALITH_SEGMENT_BUCKET: segmentBucket.bucketName,
        DATALITH_ASG_NAME: nodeGroupName,
        DATALITH_ADMIN_KEY_SECRET_ARN: adminKey.secretArn,
        DATALITH_METRICS_NAMESPACE: metricsNamespace,
        ...(c.cacheSizeMb !== undefined ? { DATALITH_CACHE_SIZE_MB: String(c.cacheSizeMb) } : {}),
        ...(c.indexThresholdDatoms !== undefined ? { DATALITH_INDEX_THRESHOLD_DATOMS: String(c.indexThresholdDatoms) } : {}),
      },
    });
    this.endpoint = new NodeLoadBalancer(this, 'Ingress', {
      vpc: this.network.vpc,
      nodeGroup: this.fleet.group,
      nodePort: c.nodePort,
      certificateArn: c.certificateArn,
      clientCidr: c.clientCidr,
    });
    this.monitoring = new DatalithMonitoring(this, 'Monitoring', {
      systemName: c.systemName,
      topology: c.topology,
      dashboardName: names.dashboard(c.systemName, c.topology),
      metricsNamespace,
      loadBalancer: this.endpoint.loadBalancer,
      targetGroup: this.endpoint.targetGroup,
      nodeGroup: this.fleet.group,
      catalogTable: catalog,
      logTable: log,
      alarmTopic,
    });

    new CfnOutput(this, 'Endpoint', { value: this.endpoint.url, description: 'createClient({ endpoint })' });
    new CfnOutput(this, 'LoadBalancerDnsName', { value: this.endpoint.loadBalancer.loadBalancerDnsName });
    new CfnOutput(this, 'AdminKeySecretArn', {
      value: adminKey.secretArn,
      description: 'aws secretsmanager get-secret-value --secret-id <this> --query SecretString --output text',
    });
    new CfnOutput(this, 'NodeGroupName', { value: nodeGroupName });
    new CfnOutput(this, 'LogGroupName', { value: nodeLogs.logGroup.logGroupName });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
  }
}
