import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { names } from './names';

export interface DatalithTablesProps {
  readonly systemName: string;
  /** Refuse `DeleteTable` (from the console, the CLI or CloudFormation) until switched off. */
  readonly deletionProtection: boolean;
}

/**
 * The catalog and log tables of one system (DESIGN.md: "The log protocol").
 *
 * Stateful: retained when their stack is deleted, fixed physical names, and construct ids that
 * must never change (a changed logical id would make CloudFormation try to create a second table
 * of the same name). Attributes are only the keys; everything else is schemaless.
 */
export class DatalithTables extends Construct {
  /** Databases, membership, index roots: partition key `pk`, sort key `sk` (both strings). */
  readonly catalog: dynamodb.TableV2;
  /** One item per log entry: partition key `db` (database id), sort key `t` (number). */
  readonly log: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: DatalithTablesProps) {
    super(scope, id);
    const common = {
      billing: dynamodb.Billing.onDemand(),
      // The AWS-managed key (aws/dynamodb): encryption visible in CloudTrail, no key to look after.
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection,
      removalPolicy: RemovalPolicy.RETAIN,
    } satisfies Partial<dynamodb.TablePropsV2>;

    this.catalog = new dynamodb.TableV2(this, 'Catalog', {
      ...common,
      tableName: names.catalogTable(props.systemName),
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    });
    this.log = new dynamodb.TableV2(this, 'Log', {
      ...common,
      tableName: names.logTable(props.systemName),
      partitionKey: { name: 'db', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 't', type: dynamodb.AttributeType.NUMBER },
    });
  }
}
