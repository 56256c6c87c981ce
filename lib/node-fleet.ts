import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { NODE_BUNDLE_FILE } from './node-bundle';
import { cpuTypeOf, isBurstable } from './topology';

export interface NodeFleetProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  /** Nodes in public subnets need a public address to reach AWS APIs (no NAT gateway). */
  readonly publicAddresses: boolean;
  readonly role: iam.IRole;
  readonly bundle: s3assets.Asset;
  /** The node's configuration (environment variables), identical on every node. */
  readonly environment: Readonly<Record<string, string>>;
  readonly logGroupName: string;
  readonly groupName: string;
  readonly instanceType: string;
  readonly cpuCredits: 'standard' | 'unlimited';
  readonly detailedMonitoring: boolean;
  readonly volumeSizeGiB: number;
  readonly nodePort: number;
  readonly minNodes: number;
  readonly desiredNodes: number;
  readonly maxNodes: number;
  readonly notificationTopic?: sns.ITopic;
}

/** How long a new node may take from launch to a healthy /health before the deploy rolls back. */
export const NODE_SIGNAL_TIMEOUT = Duration.minutes(15);
/** How long the group trusts a new node before the load balancer's verdict may replace it. */
export const NODE_HEALTH_GRACE = Duration.minutes(5);

/**
 * The nodes: a launch template (Amazon Linux 2023, IMDSv2 only, encrypted gp3 root volume, no key
 * pair — SSM instead of SSH) whose user data installs Node.js 20, fetches the bundled node app and
 * runs it under systemd, and an Auto Scaling group that replaces nodes failing EC2 or load balancer
 * health checks and rolls updates one node at a time, each waiting for the new node's signal.
 */
export class NodeFleet extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly group: autoscaling.AutoScalingGroup;

  constructor(scope: Construct, id: string, props: NodeFleetProps) {
    super(scope, id);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Datalith nodes: the node port from the load balancer and from other nodes only',
      allowAllOutbound: false,
    });
    // Nodes forward transactions to the preferred node on the node port.
    this.securityGroup.connections.allowInternally(ec2.Port.tcp(props.nodePort), 'node-to-node forwarding');
    // AWS APIs (DynamoDB and S3 through gateway endpoints), package repositories, CloudFormation signals.
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs and package repositories');

    const userData = ec2.UserData.forLinux();
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: cpuTypeOf(props.instanceType) }),
      instanceType: new ec2.InstanceType(props.instanceType),
      cpuCredits: isBurstable(props.instanceType)
        ? props.cpuCredits === 'standard'
          ? ec2.CpuCredits.STANDARD
          : ec2.CpuCredits.UNLIMITED
        : undefined,
      role: props.role,
      userData,
      securityGroup: this.securityGroup,
      associatePublicIpAddress: props.publicAddresses,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      detailedMonitoring: props.detailedMonitoring,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(props.volumeSizeGiB, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
    });

    this.group = new autoscaling.AutoScalingGroup(this, 'Group', {
      autoScalingGroupName: props.groupName,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      launchTemplate: this.launchTemplate,
      minCapacity: props.minNodes,
      maxCapacity: props.maxNodes,
      // Left out when equal to min, so that a deploy does not reset a manually changed size.
      desiredCapacity: props.desiredNodes === props.minNodes ? undefined : props.desiredNodes,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: NODE_HEALTH_GRACE,
      }),
      cooldown: Duration.minutes(5),
      signals: autoscaling.Signals.waitForAll({ timeout: NODE_SIGNAL_TIMEOUT }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        // CloudFormation requires fewer than maxNodes; Solo (1/1/1) therefore replaces its node in place.
        minInstancesInService: Math.min(props.desiredNodes, props.maxNodes - 1),
        waitOnResourceSignals: true,
        pauseTime: NODE_SIGNAL_TIMEOUT,
      }),
      groupMetrics: [autoscaling.GroupMetrics.all()],
      notifications: props.notificationTopic ? [{ topic: props.notificationTopic }] : undefined,
    });
    // No node starts before its role's policies exist: it reads the admin key as it boots.
    this.group.node.addDependency(props.role);

    this.writeUserData(userData, props);

    if (props.desiredNodes !== props.minNodes) {
      Validations.of(this.group).acknowledge({
        id: 'annotation::@aws-cdk/aws-autoscaling:desiredCapacitySet',
        reason: 'The group has no scaling policies: its size is what the props say, and a deploy should restore it.',
      });
    }
    if (!props.notificationTopic) {
      Validations.of(this.group).acknowledge({
        id: 'AwsSolutions-AS3',
        reason:
          'No alarm topic was configured (alarmTopicArn); launches and terminations are in the group activity ' +
          'history and on the dashboard, and the alarms watch for unhealthy or missing nodes.',
      });
    }
  }

  private writeUserData(userData: ec2.UserData, props: NodeFleetProps): void {
    const stack = Stack.of(this);
    const app = '/opt/datalith/app';
    const envFile = '/etc/datalith/node.env';
    const logFile = '/var/log/datalith/node.log';
    const agentConfig = {
      logs: {
        logs_collected: {
          files: {
            collect_list: [{ file_path: logFile, log_group_name: props.logGroupName, log_stream_name: '{instance_id}' }],
          },
        },
      },
    };
    const environment = Object.entries(props.environment).map(([k, v]) => `${k}=${v}`);
    const healthChecks = Math.floor((NODE_HEALTH_GRACE.toSeconds() - 60) / 5);

    // Any failing command ends the script; the exit trap then signals failure and the deploy rolls back.
    userData.addCommands('set -euo pipefail');
    userData.addSignalOnExitCommand(this.group);
    userData.addCommands(
      'dnf install -y nodejs20 aws-cfn-bootstrap amazon-cloudwatch-agent unzip logrotate',
      'useradd --system --home-dir /opt/datalith --shell /sbin/nologin datalith',
      `mkdir -p ${app} /etc/datalith /var/log/datalith`,
      `chown datalith:datalith /var/log/datalith`,
      // The bundle: one JavaScript file built by esbuild at synth time (lib/node-bundle.ts).
      `aws s3 cp --region ${stack.region} s3://${props.bundle.s3BucketName}/${props.bundle.s3ObjectKey} /opt/datalith/app.zip`,
      `unzip -o /opt/datalith/app.zip -d ${app}`,
      // The instance's identity, from IMDSv2.
      `IMDS_TOKEN=$(curl -sSf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')`,
      `INSTANCE_ID=$(curl -sSf -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/instance-id)`,
      `PRIVATE_IP=$(curl -sSf -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/local-ipv4)`,
      `cat > ${envFile} <<'DATALITH_ENV'`,
      ...environment,
      'DATALITH_ENV',
      `echo "DATALITH_NODE_ID=$INSTANCE_ID" >> ${envFile}`,
      `echo "DATALITH_NODE_URL=http://$PRIVATE_IP:${props.nodePort}" >> ${envFile}`,
      `chmod 0640 ${envFile} && chown root:datalith ${envFile}`,
      `cat > /etc/systemd/system/datalith-node.service <<'DATALITH_UNIT'`,
      '[Unit]',
      'Description=Datalith node',
      'Wants=network-online.target',
      'After=network-online.target',
      '[Service]',
      'User=datalith',
      `EnvironmentFile=${envFile}`,
      // A writable working directory (/var/lib/datalith) in an otherwise read-only file system.
      'StateDirectory=datalith',
      'WorkingDirectory=/var/lib/datalith',
      `ExecStart=/usr/bin/node-20 --enable-source-maps ${app}/${NODE_BUNDLE_FILE}`,
      'Restart=always',
      'RestartSec=2',
      // The node fails /health, drains and closes on SIGTERM; give it longer than the deregistration delay.
      'KillSignal=SIGTERM',
      'TimeoutStopSec=45',
      'LimitNOFILE=65536',
      `StandardOutput=append:${logFile}`,
      `StandardError=append:${logFile}`,
      'NoNewPrivileges=true',
      'ProtectSystem=strict',
      'ProtectHome=true',
      'PrivateTmp=true',
      `ReadWritePaths=/var/log/datalith`,
      '[Install]',
      'WantedBy=multi-user.target',
      'DATALITH_UNIT',
      // systemd appends to the file (O_APPEND), so copytruncate loses nothing; the agent follows truncation.
      `cat > /etc/logrotate.d/datalith-node <<'DATALITH_LOGROTATE'`,
      `${logFile} {`,
      '  daily',
      '  maxsize 200M',
      '  rotate 5',
      '  compress',
      '  missingok',
      '  notifempty',
      '  copytruncate',
      '}',
      'DATALITH_LOGROTATE',
      'systemctl enable --now logrotate.timer',
      `cat > /opt/aws/amazon-cloudwatch-agent/etc/datalith.json <<'DATALITH_AGENT'`,
      JSON.stringify(agentConfig),
      'DATALITH_AGENT',
      '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/datalith.json',
      'systemctl daemon-reload',
      'systemctl enable --now datalith-node',
      // Signal success only once the node answers its health check, as the load balancer will ask it;
      // give up (and signal failure) before the grace period ends and the group replaces the node.
      `for attempt in $(seq 1 ${healthChecks}); do curl -sf -o /dev/null http://127.0.0.1:${props.nodePort}/health && exit 0; sleep 5; done`,
      `echo "datalith-node did not answer /health on port ${props.nodePort} within ${healthChecks * 5} seconds" >&2`,
      'exit 1',
    );
  }
}
