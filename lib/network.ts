import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface DatalithNetworkProps {
  /** 0: public subnets only, nodes get public addresses. 1 or 2: private subnets for the nodes. */
  readonly natGateways: number;
  readonly flowLogs: boolean;
  readonly flowLogGroupName: string;
  readonly logRetentionDays: number;
}

/**
 * A two-zone VPC (an ALB needs two zones). DynamoDB and S3 are reached through gateway endpoints,
 * which cost nothing and keep the data path off the NAT gateways and the internet.
 */
export class DatalithNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  /** Where the nodes run: private subnets when there is NAT, public ones otherwise. */
  readonly nodeSubnets: ec2.SubnetSelection;
  /** Whether nodes need a public address to reach AWS APIs and package repositories. */
  readonly nodesArePublic: boolean;

  constructor(scope: Construct, id: string, props: DatalithNetworkProps) {
    super(scope, id);
    this.nodesArePublic = props.natGateways === 0;
    const subnetConfiguration: ec2.SubnetConfiguration[] = [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
    ];
    if (!this.nodesArePublic) {
      subnetConfiguration.push({ name: 'nodes', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 });
    }
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: 2,
      natGateways: props.natGateways,
      subnetConfiguration,
      gatewayEndpoints: {
        DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
    });
    this.nodeSubnets = { subnetType: this.nodesArePublic ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS };

    if (props.flowLogs) {
      const logGroup = new logs.LogGroup(this, 'FlowLogGroup', {
        logGroupName: props.flowLogGroupName,
        retention: props.logRetentionDays as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.vpc.addFlowLog('RejectedTraffic', {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(logGroup),
        trafficType: ec2.FlowLogTrafficType.REJECT,
      });
    } else {
      Validations.of(this.vpc).acknowledge({
        id: 'AwsSolutions-VPC7',
        reason:
          'Flow logs are switched off for this topology to keep its daily cost down (Solo); ' +
          'security groups admit only the load balancer, and flowLogs: true turns them on.',
      });
    }
  }
}
