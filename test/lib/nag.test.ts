import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { DatalithAppOptions } from '../../lib';
import { buildSystem, newApp } from './system';

/** The default system, and one with every option that changes which rules apply. */
const variants: Record<string, DatalithAppOptions> = {
  default: {},
  configured: {
    overrides: {
      solo: { alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:alarms', clientCidr: '203.0.113.0/24' },
      production: {
        certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
        clientCidr: '203.0.113.0/24',
        desiredNodes: 3,
        flowLogs: false,
      },
    },
  },
};

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

function acknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

interface Finding {
  readonly rule: string;
  readonly path: string;
}

function findings(pack: AwsSolutionsChecks, app: App): Finding[] {
  const report = pack.validateScope(app);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })));
}

describe.each(Object.entries(variants))('cdk-nag AwsSolutions, %s system', (_variant, options) => {
  const app = newApp();
  const stacks = buildSystem(app, options);
  const pack = new AwsSolutionsChecks(app);
  Validations.of(app).addPlugins(pack);
  // Throws (ValidationFailed) on any unacknowledged error-level finding.
  const assembly = app.synth();
  const acks = acknowledgements(app);

  // The same system with acknowledgements switched off: every finding the rules raise.
  const raw = (() => {
    const spy = jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    try {
      const bare = newApp();
      buildSystem(bare, options);
      bare.synth({ skipValidation: true });
      return findings(new AwsSolutionsChecks(bare), bare);
    } finally {
      spy.mockRestore();
    }
  })();

  test('synth passes the plugin, and the report lists no finding (warnings included)', () => {
    const report = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'));
    const violations = report.pluginReports.flatMap((r: { violations?: unknown[] }) => r.violations ?? []);
    expect(violations).toEqual([]);
    expect(findings(new AwsSolutionsChecks(app), app)).toEqual([]);
  });

  test('no CDK warning or error is left unacknowledged either', () => {
    for (const stack of Object.values(stacks) as Stack[]) {
      Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
      Annotations.fromStack(stack).hasNoError('*', Match.anyValue());
    }
  });

  test('the rules do find things when nothing is acknowledged (the check is live)', () => {
    expect(raw.length).toBeGreaterThan(0);
  });

  test('every acknowledgement carries a reason of its own', () => {
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.reason.trim().length).toBeGreaterThan(40);
      expect(ack.reason).not.toMatch(/^(todo|n\/a|none|ok)\b/i);
    }
  });

  test('every finding is acknowledged on its resource or an enclosing construct', () => {
    const unacknowledged = raw.filter(
      (f) => !acks.some((a) => a.id === f.rule && (f.path === a.path || f.path.startsWith(`${a.path}/`))),
    );
    expect(unacknowledged).toEqual([]);
  });

  test('no acknowledgement is stale: each one silences a finding that exists', () => {
    const stale = acks
      .filter((a) => a.id.startsWith('AwsSolutions-'))
      .filter((a) => !raw.some((f) => f.rule === a.id && (f.path === a.path || f.path.startsWith(`${a.path}/`))));
    expect(stale).toEqual([]);
  });
});
