import { Duration, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';

export interface NodeLoadBalancerProps {
  readonly vpc: ec2.IVpc;
  readonly nodeGroup: autoscaling.AutoScalingGroup;
  readonly nodePort: number;
  /** With a certificate: HTTPS on 443 and a redirect from 80. Without: plain HTTP on 80. */
  readonly certificateArn?: string;
  readonly clientCidr: string;
}

/** How often the load balancer asks each node for /health, and how many answers decide. */
export const HEALTH_CHECK = {
  path: '/health',
  interval: Duration.seconds(10),
  timeout: Duration.seconds(5),
  healthyThresholdCount: 2,
  unhealthyThresholdCount: 2,
} as const;

/**
 * Long enough for in-flight requests (transactions included) to finish on a node that is leaving;
 * the node's own graceful shutdown (fail /health, drain, close) fits inside it.
 */
export const DEREGISTRATION_DELAY = Duration.seconds(30);

/**
 * The system's endpoint: an internet-facing ALB in front of the nodes. Any node can serve any
 * request, so there is no stickiness; a node failing /health twice (20 s) stops receiving traffic.
 */
export class NodeLoadBalancer extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly securityGroup: ec2.SecurityGroup;
  /** The URL clients use (before any DNS name of your own is pointed at it). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: NodeLoadBalancerProps) {
    super(scope, id);
    const https = props.certificateArn !== undefined;

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Datalith load balancer: ${https ? 'HTTPS (and HTTP to redirect)' : 'HTTP'} from ${props.clientCidr}, to the node port`,
      allowAllOutbound: false,
    });
    const clients = ec2.Peer.ipv4(props.clientCidr);
    this.securityGroup.addIngressRule(clients, ec2.Port.tcp(80), 'clients (HTTP)');
    if (https) this.securityGroup.addIngressRule(clients, ec2.Port.tcp(443), 'clients (HTTPS)');
    if (props.clientCidr === '0.0.0.0/0') {
      Validations.of(this.securityGroup).acknowledge({
        id: 'AwsSolutions-EC23',
        reason:
          'The endpoint is public on purpose, like any database-as-a-service endpoint: every /v1 request needs ' +
          'an access key. Narrow it with clientCidr (context datalith:clientCidr).',
      });
    }

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: this.securityGroup,
      dropInvalidHeaderFields: true,
      // The node's keepAliveTimeout must stay above this (STYLE.md, Express services).
      idleTimeout: Duration.seconds(60),
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'Access logs need an S3 bucket of their own; the nodes log every request to the system log group, ' +
        'and the dashboard shows the load balancer metrics.',
    });

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Nodes', {
      vpc: props.vpc,
      port: props.nodePort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.INSTANCE,
      targets: [props.nodeGroup],
      deregistrationDelay: DEREGISTRATION_DELAY,
      healthCheck: {
        enabled: true,
        path: HEALTH_CHECK.path,
        port: String(props.nodePort),
        protocol: elbv2.Protocol.HTTP,
        healthyHttpCodes: '200',
        interval: HEALTH_CHECK.interval,
        timeout: HEALTH_CHECK.timeout,
        healthyThresholdCount: HEALTH_CHECK.healthyThresholdCount,
        unhealthyThresholdCount: HEALTH_CHECK.unhealthyThresholdCount,
      },
    });

    if (props.certificateArn !== undefined) {
      this.loadBalancer.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        open: false,
        defaultTargetGroups: [this.targetGroup],
      });
      this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443, open: false });
    } else {
      this.loadBalancer.addListener('Http', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
        defaultTargetGroups: [this.targetGroup],
      });
    }
    // Only the load balancer reaches the node port (listeners with open: false add no client rules).
    this.loadBalancer.connections.allowTo(props.nodeGroup, ec2.Port.tcp(props.nodePort), 'load balancer to nodes');

    this.url = `${https ? 'https' : 'http'}://${this.loadBalancer.loadBalancerDnsName}`;
  }
}
