import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildSystem, newApp, onlyResource, synthSystem, userDataOf } from './system';

const system = synthSystem();
const topologies = { solo: system.solo, production: system.production } as const;
type Name = keyof typeof topologies;
const each = Object.entries(topologies) as [Name, Template][];

function nodePolicyStatements(template: Template): Record<string, any>[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    JSON.stringify(p.Properties.Roles).includes('NodeIdentityRole'),
  );
  expect(policies).toHaveLength(1);
  return policies[0]!.Properties.PolicyDocument.Statement;
}

const actionsOf = (s: Record<string, any>): string[] => [s.Action].flat();

describe.each(each)('%s: health checks', (_name, t) => {
  test('the target group asks /health every 10 s and decides after 2 answers (unhealthy within 30 s)', () => {
    const { resource } = onlyResource(t, 'AWS::ElasticLoadBalancingV2::TargetGroup');
    const p = resource.Properties;
    expect(p).toMatchObject({
      HealthCheckEnabled: true,
      HealthCheckPath: '/health',
      HealthCheckPort: '8080',
      HealthCheckProtocol: 'HTTP',
      HealthCheckIntervalSeconds: 10,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      Matcher: { HttpCode: '200' },
      Port: 8080,
      Protocol: 'HTTP',
      TargetType: 'instance',
    });
    // Sub-minute detection: a node dead just after a check is out after the threshold's checks.
    expect(p.HealthCheckIntervalSeconds * p.UnhealthyThresholdCount + p.HealthCheckTimeoutSeconds).toBeLessThan(60);
  });

  test('a deregistration delay lets in-flight requests finish; no stickiness', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'deregistration_delay.timeout_seconds', Value: '30' },
        { Key: 'stickiness.enabled', Value: 'false' },
      ]),
    });
  });

  test('the group replaces nodes failing EC2 or load balancer checks, after a grace period', () => {
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      HealthCheckType: 'ELB',
      HealthCheckGracePeriod: 300,
      TargetGroupARNs: [{ Ref: onlyResource(t, 'AWS::ElasticLoadBalancingV2::TargetGroup').id }],
    });
  });
});

describe('group sizes and placement', () => {
  test('solo: one t4g.small (1/1/1) with standard credits, in a public subnet with a public address', () => {
    const { resource } = onlyResource(system.solo, 'AWS::AutoScaling::AutoScalingGroup');
    expect(resource.Properties).toMatchObject({ MinSize: '1', MaxSize: '1', AutoScalingGroupName: 'datalith-solo-nodes' });
    expect(resource.Properties.DesiredCapacity ?? '1').toBe('1');
    system.solo.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 't4g.small',
        CreditSpecification: { CpuCredits: 'standard' },
        NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: true, DeviceIndex: 0 })],
      }),
    });
    const subnets: string[] = resource.Properties.VPCZoneIdentifier.map((r: { Ref: string }) => r.Ref);
    const all = system.solo.findResources('AWS::EC2::Subnet');
    expect(subnets).toHaveLength(2);
    for (const id of subnets) {
      expect(id).toMatch(/^NetworkVpcpublicSubnet/);
      expect(all[id]!.Properties.MapPublicIpOnLaunch).toBe(true);
    }
  });

  test('solo: no NAT gateway, so no private subnets and nothing to pay by the hour for egress', () => {
    system.solo.resourceCountIs('AWS::EC2::NatGateway', 0);
    system.solo.resourceCountIs('AWS::EC2::EIP', 0);
    expect(Object.keys(system.solo.findResources('AWS::EC2::Subnet'))).toHaveLength(2);
  });

  test('production: at least 2 nodes (2/2/4), across two zones, in private subnets behind a NAT per zone', () => {
    const { resource } = onlyResource(system.production, 'AWS::AutoScaling::AutoScalingGroup');
    expect(resource.Properties).toMatchObject({ MinSize: '2', MaxSize: '4', AutoScalingGroupName: 'datalith-production-nodes' });
    expect(Number(resource.Properties.DesiredCapacity ?? resource.Properties.MinSize)).toBeGreaterThanOrEqual(2);
    const subnets: string[] = resource.Properties.VPCZoneIdentifier.map((r: { Ref: string }) => r.Ref);
    expect(subnets).toHaveLength(2);
    const all = system.production.findResources('AWS::EC2::Subnet');
    const zones = subnets.map((id) => JSON.stringify(all[id]!.Properties.AvailabilityZone));
    expect(new Set(zones).size).toBe(2);
    for (const id of subnets) {
      expect(all[id]!.Properties.MapPublicIpOnLaunch).toBe(false);
      expect(id).toMatch(/^NetworkVpcnodesSubnet/);
    }
    system.production.resourceCountIs('AWS::EC2::NatGateway', 2);
    const lt = onlyResource(system.production, 'AWS::EC2::LaunchTemplate').resource.Properties.LaunchTemplateData;
    expect(lt.NetworkInterfaces).toEqual([expect.objectContaining({ AssociatePublicIpAddress: false, DeviceIndex: 0 })]);
    expect(lt.InstanceType).toBe('m7g.large');
    expect(lt.Monitoring).toEqual({ Enabled: true });
  });

  test.each(each)('%s: DynamoDB and S3 through free gateway endpoints', (_name, t) => {
    for (const service of ['dynamodb', 's3']) {
      t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, `.${service}`]] },
      });
    }
  });

  test('production: VPC flow logs of rejected traffic; solo: none (cost)', () => {
    system.production.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT', ResourceType: 'VPC' });
    system.solo.resourceCountIs('AWS::EC2::FlowLog', 0);
  });
});

describe.each(each)('%s: update policy and signals', (name, t) => {
  const { id: groupId, resource: group } = onlyResource(t, 'AWS::AutoScaling::AutoScalingGroup');
  const userData = userDataOf(t);

  test('creation waits for a success signal from every node', () => {
    expect(group.CreationPolicy).toEqual({
      ResourceSignal: { Count: name === 'solo' ? 1 : 2, Timeout: 'PT15M' },
    });
  });

  test('updates roll one node at a time, each waiting for the new node to signal', () => {
    expect(group.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({
      MaxBatchSize: 1,
      // Solo (1/1/1) can only replace its node; Production keeps both nodes in service.
      MinInstancesInService: name === 'solo' ? 0 : 2,
      WaitOnResourceSignals: true,
      PauseTime: 'PT15M',
    });
  });

  test('the node signals its own group, with the exit code of the boot script', () => {
    expect(userData).toContain(
      `/opt/aws/bin/cfn-signal --stack datalith-${name} --resource ${groupId} --region {"Ref":"AWS::Region"} -e $exitCode`,
    );
    expect(userData).toContain('trap exitTrap EXIT');
    expect(userData).toContain('set -euo pipefail');
  });

  test('the signal is sent only after /health answers (and a failure exits non-zero)', () => {
    const start = userData.indexOf('systemctl enable --now datalith-node');
    const wait = userData.indexOf('curl -sf -o /dev/null http://127.0.0.1:8080/health && exit 0');
    expect(start).toBeGreaterThan(0);
    expect(wait).toBeGreaterThan(start);
    expect(userData.trimEnd().endsWith('exit 1')).toBe(true);
  });
});

describe.each(each)('%s: the node', (name, t) => {
  const userData = userDataOf(t);

  test('launch template: Amazon Linux 2023, IMDSv2 only, encrypted gp3 root volume, no SSH key', () => {
    const lt = onlyResource(t, 'AWS::EC2::LaunchTemplate').resource.Properties.LaunchTemplateData;
    expect(lt.MetadataOptions).toEqual({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
    expect(lt.BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/xvda',
        Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: name === 'solo' ? 8 : 16, DeleteOnTermination: true },
      },
    ]);
    expect(lt.KeyName).toBeUndefined();
    const imageParameter = Object.values(t.toJSON().Parameters as Record<string, { Default: string }>).find((p) =>
      p.Default.startsWith('/aws/service/ami-amazon-linux-latest/'),
    );
    // The default instance types are Graviton: the image follows their architecture.
    expect(imageParameter?.Default).toMatch(/al2023-ami-kernel-[\d.]+-arm64$/);
    expect(lt.ImageId).toEqual({ Ref: expect.stringMatching(/al2023/) });
  });

  test('user data installs Node 20, fetches the bundle asset from S3 and runs it under systemd', () => {
    expect(userData).toContain('dnf install -y nodejs20 ');
    expect(userData).toMatch(/aws s3 cp --region \S+ s3:\/\/\S+\/[0-9a-f]{64}\.zip \/opt\/datalith\/app\.zip/);
    expect(userData).toContain('ExecStart=/usr/bin/node-20 --enable-source-maps /opt/datalith/app/main.js');
    expect(userData).toContain('Restart=always');
    expect(userData).toContain('User=datalith');
  });

  test('the node gets its configuration as environment variables', () => {
    expect(userData).toContain('PORT=8080\n');
    expect(userData).toMatch(/DATALITH_CATALOG_TABLE=\{"Fn::ImportValue":"datalith-storage:ExportsOutputRefTablesCatalog/);
    expect(userData).toMatch(/DATALITH_LOG_TABLE=\{"Fn::ImportValue":"datalith-storage:ExportsOutputRefTablesLog/);
    expect(userData).toContain('AWS_REGION={"Ref":"AWS::Region"}\n');
    expect(userData).toContain(`DATALITH_ASG_NAME=datalith-${name}-nodes\n`);
    expect(userData).toMatch(/DATALITH_ADMIN_KEY_SECRET_ARN=\{"Fn::ImportValue":"datalith-storage:ExportsOutputRefAdminAccessKeySecret/);
    expect(userData).toContain('DATALITH_METRICS_NAMESPACE=Datalith/datalith\n');
    expect(userData).toContain('echo "DATALITH_NODE_ID=$INSTANCE_ID" >> /etc/datalith/node.env');
  });

  test('the segment cache and the index threshold are the node\'s defaults unless given', () => {
    expect(userData).not.toContain('DATALITH_CACHE_SIZE_MB');
    expect(userData).not.toContain('DATALITH_INDEX_THRESHOLD_DATOMS');
  });

  test('logs go to the system log group through the CloudWatch agent', () => {
    const [id] = Object.keys(t.findResources('AWS::Logs::LogGroup', { Properties: { LogGroupName: `/datalith/datalith/${name}/nodes` } }));
    expect(id).toBeDefined();
    expect(userData).toContain(`"log_group_name":"{"Ref":"${id}"}"`);
  });
});

describe.each(each)('%s: load balancer and security groups', (name, t) => {
  const json = t.toJSON();
  const resources = json.Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const sgId = (description: RegExp) =>
    Object.entries(resources).find(([, r]) => r.Type === 'AWS::EC2::SecurityGroup' && description.test(r.Properties.GroupDescription))![0];
  const nodeSg = sgId(/^Datalith nodes/);
  const albSg = sgId(/^Datalith load balancer/);
  const ref = (id: string) => ({ 'Fn::GetAtt': [id, 'GroupId'] });

  test('an internet-facing ALB that drops invalid headers', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
      Type: 'application',
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' }]),
    });
  });

  test('only the load balancer and other nodes reach the node port; nothing else gets in', () => {
    expect(resources[nodeSg]!.Properties.SecurityGroupIngress).toBeUndefined();
    const ingress = Object.values(resources).filter(
      (r) => r.Type === 'AWS::EC2::SecurityGroupIngress' && JSON.stringify(r.Properties.GroupId) === JSON.stringify(ref(nodeSg)),
    );
    expect(ingress.map((r) => r.Properties.SourceSecurityGroupId).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
      [ref(albSg), ref(nodeSg)],
    );
    for (const rule of ingress) {
      expect(rule.Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080 });
      expect(rule.Properties.CidrIp).toBeUndefined();
    }
  });

  test('the load balancer talks only to the node port; clients reach it on port 80 (no certificate)', () => {
    expect(resources[albSg]!.Properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 80, ToPort: 80, IpProtocol: 'tcp' }),
    ]);
    t.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: ref(albSg),
      DestinationSecurityGroupId: ref(nodeSg),
      FromPort: 8080,
      ToPort: 8080,
    });
    expect(resources[albSg]!.Properties.SecurityGroupEgress).toBeUndefined();
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
  });

  test('nodes may leave only for HTTPS (AWS APIs, packages) and the node port of other nodes', () => {
    expect(resources[nodeSg]!.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }),
    ]);
    t.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: ref(nodeSg),
      DestinationSecurityGroupId: ref(nodeSg),
      FromPort: 8080,
    });
  });

  test('the stack outputs the endpoint for createClient({ endpoint })', () => {
    expect(json.Outputs.Endpoint.Value).toEqual({
      'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [expect.stringMatching(/^IngressLoadBalancer/), 'DNSName'] }]],
    });
    expect(json.Outputs.NodeGroupName.Value).toBe(`datalith-${name}-nodes`);
  });
});

describe('HTTPS when a certificate ARN is given', () => {
  const certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';
  const app = newApp();
  const stacks = buildSystem(app, { overrides: { production: { certificateArn, clientCidr: '203.0.113.0/24' } } });
  const t = Template.fromStack(stacks.production);

  test('HTTPS on 443 with the certificate and a modern TLS policy, HTTP on 80 redirects', () => {
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: certificateArn }],
      SslPolicy: Match.stringLikeRegexp('^ELBSecurityPolicy-TLS13'),
      DefaultActions: [Match.objectLike({ Type: 'forward' })],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [Match.objectLike({ Type: 'redirect', RedirectConfig: Match.objectLike({ Port: '443', Protocol: 'HTTPS' }) })],
    });
  });

  test('clients from the allowed range only, on 80 and 443', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Datalith load balancer'),
      SecurityGroupIngress: [
        Match.objectLike({ CidrIp: '203.0.113.0/24', FromPort: 80 }),
        Match.objectLike({ CidrIp: '203.0.113.0/24', FromPort: 443 }),
      ],
    });
    const alb = Object.values(t.findResources('AWS::EC2::SecurityGroup')).find((r) =>
      r.Properties.GroupDescription.startsWith('Datalith load balancer'),
    );
    expect(alb!.Properties.SecurityGroupIngress).toHaveLength(2);
  });

  test('the endpoint output is https', () => {
    expect(JSON.stringify(t.toJSON().Outputs.Endpoint.Value)).toContain('"https://"');
  });
});

describe.each(each)('%s: IAM grants (least privilege)', (name, t) => {
  const statements = nodePolicyStatements(t);
  const find = (action: string) => statements.filter((s) => actionsOf(s).includes(action));

  test('read/write data on exactly the two tables — no table administration, no wildcards', () => {
    const dynamo = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    const resources = new Set(dynamo.map((s) => JSON.stringify(s.Resource)));
    expect([...resources].sort()).toEqual([
      JSON.stringify({ 'Fn::ImportValue': 'datalith-storage:ExportsOutputFnGetAttTablesCatalogA41E506DArn367D729C' }),
      JSON.stringify({ 'Fn::ImportValue': 'datalith-storage:ExportsOutputFnGetAttTablesLog72BABB86Arn3646435E' }),
    ]);
    const actions = new Set(dynamo.flatMap(actionsOf));
    for (const a of ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
      expect(actions).toContain(a);
    }
    for (const a of actions) expect(a).not.toMatch(/\*|CreateTable|DeleteTable|UpdateTable|RestoreTable/);
  });

  test('reads the admin key, and is the only principal granted to in this stack', () => {
    const secret = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
    expect(secret).toHaveLength(1);
    expect(actionsOf(secret[0]!).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(JSON.stringify(secret[0]!.Resource)).toContain('ExportsOutputRefAdminAccessKeySecret');
    const granting = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p).includes('secretsmanager:'));
    expect(granting).toHaveLength(1);
  });

  test('SetInstanceHealth only on its own group; Describe needs *', () => {
    const [set] = find('autoscaling:SetInstanceHealth');
    expect(actionsOf(set!)).toEqual(['autoscaling:SetInstanceHealth']);
    const arn = JSON.stringify(set!.Resource);
    expect(arn).toContain(`:autoScalingGroup:*:autoScalingGroupName/datalith-${name}-nodes`);
    const [describe] = find('autoscaling:DescribeAutoScalingGroups');
    expect(actionsOf(describe!).sort()).toEqual(['autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeAutoScalingInstances']);
    expect(describe!.Resource).toBe('*');
  });

  test('metrics only into the system namespace; logs only into its log group; only its own bundle', () => {
    const [metrics] = find('cloudwatch:PutMetricData');
    expect(metrics!.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'Datalith/datalith' } });
    const [logs] = find('logs:PutLogEvents');
    expect(logs!.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^LogsLogGroup/), 'Arn'] });
    const [bundle] = find('s3:GetObject');
    expect(JSON.stringify(bundle!.Resource)).toMatch(/\/[0-9a-f]{64}\.zip"/);
  });

  test('no statement allows every action, and * resources only for actions without resource-level permissions', () => {
    for (const s of statements) {
      for (const a of actionsOf(s)) expect(a).not.toMatch(/^\*$|:\*$/);
      if (s.Resource === '*') {
        expect(actionsOf(s).every((a) => /^autoscaling:Describe|^cloudwatch:PutMetricData$/.test(a))).toBe(true);
      }
    }
  });

  test('SSM Session Manager instead of SSH', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })],
      }),
      ManagedPolicyArns: [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore']] },
      ],
    });
  });
});

describe.each(each)('%s: operations', (name, t) => {
  test('a log group per system and topology, with retention', () => {
    t.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/datalith/datalith/${name}/nodes`,
      RetentionInDays: name === 'solo' ? 14 : 90,
    });
  });

  test('alarms on 5xx errors, on unhealthy nodes, on no healthy node and on failing indexing', () => {
    t.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `datalith-${name}-5xx-errors`,
      Metrics: Match.arrayWith([
        Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'HTTPCode_ELB_5XX_Count' }) }) }),
        Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'HTTPCode_Target_5XX_Count' }) }) }),
      ]),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `datalith-${name}-unhealthy-nodes`,
      MetricName: 'UnHealthyHostCount',
      Namespace: 'AWS/ApplicationELB',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `datalith-${name}-no-healthy-node`,
      MetricName: 'HealthyHostCount',
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    // Failed indexing jobs in every minute of five: a one-off failure (retried) does not alarm.
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `datalith-${name}-indexing-failing`,
      Metrics: [Match.objectLike({
        MetricStat: Match.objectLike({ Metric: { Namespace: 'Datalith/datalith', MetricName: 'IndexingFailures' }, Stat: 'Sum', Period: 60 }),
      })],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'notBreaching',
    });
  });

  test('a dashboard with the load balancer, the group, the tables and the node metrics, indexing and the segment cache included', () => {
    const { resource } = onlyResource(t, 'AWS::CloudWatch::Dashboard');
    expect(resource.Properties.DashboardName).toBe(`datalith-datalith-${name}`);
    const body = JSON.stringify(resource.Properties.DashboardBody);
    for (const metric of ['Transactions', 'TransactionLatency', 'PendingOperations', 'Conflicts', 'CatchUpLag', 'MemoryUsed',
      'IndexingLag', 'TailDatoms', 'IndexingJobs', 'IndexingFailures', 'SegmentCacheHitRate', 'SegmentFetches']) {
      expect(body).toContain(`\\"Datalith/datalith\\",\\"${metric}\\"`);
    }
    for (const metric of ['RequestCount', 'TargetResponseTime', 'GroupInServiceInstances', 'ConsumedWriteCapacityUnits', 'ConditionalCheckFailedRequests']) {
      expect(body).toContain(metric);
    }
    for (const title of ['Indexing lag (t) and tail (datoms)', 'Indexing jobs and failures', 'Segment cache']) {
      expect(body).toContain(`\\"title\\":\\"${title}\\"`);
    }
  });
});

describe('alarm topic', () => {
  const alarmTopicArn = 'arn:aws:sns:us-east-1:123456789012:datalith-alarms';
  const app = newApp();
  const stacks = buildSystem(app, { overrides: { solo: { alarmTopicArn } } });
  const t = Template.fromStack(stacks.solo);

  test('alarms notify the topic on alarm and on recovery; the group notifies it of scaling events', () => {
    for (const alarm of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([alarmTopicArn]);
      expect(alarm.Properties.OKActions).toEqual([alarmTopicArn]);
    }
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      NotificationConfigurations: [Match.objectLike({ TopicARN: alarmTopicArn })],
    });
  });
});

describe('the machine image follows the instance type', () => {
  test('an x86 instance type gets the x86_64 Amazon Linux 2023 image, with the same user data', () => {
    const app = newApp();
    const stacks = buildSystem(app, { overrides: { solo: { instanceType: 't3.small' } } });
    const t = Template.fromStack(stacks.solo);
    const image = Object.values(t.toJSON().Parameters as Record<string, { Default: string }>).find((p) =>
      p.Default.startsWith('/aws/service/ami-amazon-linux-latest/'),
    );
    expect(image?.Default).toMatch(/al2023-ami-kernel-[\d.]+-x86_64$/);
    const lt = onlyResource(t, 'AWS::EC2::LaunchTemplate').resource.Properties.LaunchTemplateData;
    expect(lt.InstanceType).toBe('t3.small');
    expect(userDataOf(t)).toContain('dnf install -y nodejs20 ');
  });
});

test('cacheSizeMb and indexThresholdDatoms reach the nodes of their topology as environment variables', () => {
  const tuned = synthSystem({ overrides: { production: { cacheSizeMb: 2048, indexThresholdDatoms: 500_000 } } });
  const production = userDataOf(tuned.production);
  expect(production).toContain('DATALITH_CACHE_SIZE_MB=2048\n');
  expect(production).toContain('DATALITH_INDEX_THRESHOLD_DATOMS=500000\n');
  expect(userDataOf(tuned.solo)).not.toContain('DATALITH_CACHE_SIZE_MB');
});
