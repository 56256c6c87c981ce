import { ArnFormat, Stack, Token, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { names } from './names';

export interface NodeIdentityProps {
  readonly catalogTable: dynamodb.ITableV2;
  readonly logTable: dynamodb.ITableV2;
  /** Index segments: read, write, list and delete objects (no bucket administration). */
  readonly segmentBucket: s3.IBucket;
  /** Names the segment bucket (`names.segmentBucket`). */
  readonly systemName: string;
  readonly adminAccessKey: secretsmanager.ISecret;
  /** The Auto Scaling group's fixed name: scopes `SetInstanceHealth` without depending on the group. */
  readonly nodeGroupName: string;
  readonly metricsNamespace: string;
  readonly logGroup: logs.ILogGroup;
  readonly bundle: s3assets.Asset;
}

/**
 * The nodes' IAM role: only what a node does, granted resource by resource.
 *
 * - read and write items in the catalog and log tables (no table administration);
 * - read, write and delete objects in the segment bucket (no bucket administration);
 * - read the admin access key (no other principal is granted it here);
 * - list the group's instances (membership) and mark itself unhealthy in its own group;
 * - publish metrics into the system's namespace and write to its own log group;
 * - fetch its own code bundle, and be managed through SSM Session Manager instead of SSH.
 */
export class NodeIdentity extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: NodeIdentityProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Datalith node: tables, admin key, its Auto Scaling group, metrics and logs',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });

    props.catalogTable.grantReadWriteData(this.role);
    props.logTable.grantReadWriteData(this.role);
    props.segmentBucket.grantReadWrite(this.role);
    props.adminAccessKey.grantRead(this.role);
    props.logGroup.grantWrite(this.role);
    props.logGroup.grant(this.role, 'logs:DescribeLogStreams');

    // Exactly the bundle's object, not the whole (shared) CDK asset bucket.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [props.bundle.bucket.arnForObjects(props.bundle.s3ObjectKey)],
      }),
    );

    const nodeGroupArn = stack.formatArn({
      service: 'autoscaling',
      resource: 'autoScalingGroup',
      resourceName: `*:autoScalingGroupName/${props.nodeGroupName}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['autoscaling:SetInstanceHealth'], resources: [nodeGroupArn] }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeAutoScalingInstances'],
        resources: ['*'],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': props.metricsNamespace } },
      }),
    );

    const acknowledge = (id: string, reason: string) => Validations.of(this.role).acknowledge({ id, reason });
    acknowledge(
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      'The AWS-maintained minimum for Session Manager, which replaces SSH (no key pair, no port 22).',
    );
    acknowledge(
      'AwsSolutions-IAM5[Resource::*]',
      'autoscaling:Describe* has no resource-level permissions (membership lists the group); ' +
        'cloudwatch:PutMetricData has none either and is confined by the cloudwatch:namespace condition.',
    );
    acknowledge(
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/${props.nodeGroupName}]`,
      'The * is the group id, a UUID unknown before creation; the group name pins the one group the nodes belong to.',
    );
    // bucket.grantReadWrite: the CDK's least-privilege object grant on this one bucket.
    const segments = 'bucket.grantReadWrite on the one segment bucket: segments are objects named by content key under ' +
      'per-database prefixes, so the node reads, writes, lists and deletes (gc) any object in it, and nothing else.';
    for (const action of ['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*']) {
      acknowledge(`AwsSolutions-IAM5[Action::${action}]`, segments);
    }
    // The bucket's fixed name, as cdk-nag renders it (pseudo parameters in angle brackets).
    const shown = (v: string, pseudo: string): string => (Token.isUnresolved(v) ? `<AWS::${pseudo}>` : v);
    acknowledge(
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${names.segmentBucket(props.systemName, shown(stack.account, 'AccountId'), shown(stack.region, 'Region'))}/*]`,
      segments,
    );
  }
}
