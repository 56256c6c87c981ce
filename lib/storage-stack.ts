import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { AdminAccessKey } from './admin-access-key';
import { SegmentBucket } from './segment-bucket';
import { DatalithTables } from './storage';
import { validateSystemName } from './topology';

export interface DatalithStorageStackProps extends StackProps {
  readonly systemName: string;
  /** Refuse table deletion until switched off (`-c datalith:deletionProtection=false`). */
  readonly deletionProtection: boolean;
}

/**
 * The stateful half of a system: its tables, segment bucket and admin key, shared by whichever compute stack
 * (Solo or Production) runs in front of it. Deleting a compute stack never touches this one.
 */
export class DatalithStorageStack extends Stack {
  readonly tables: DatalithTables;
  readonly adminAccessKey: AdminAccessKey;
  readonly segments: SegmentBucket;

  constructor(scope: Construct, id: string, props: DatalithStorageStackProps) {
    super(scope, id, props);
    validateSystemName(props.systemName);
    // Construct ids below name the tables' logical ids: never rename them.
    this.tables = new DatalithTables(this, 'Tables', {
      systemName: props.systemName,
      deletionProtection: props.deletionProtection,
    });
    this.adminAccessKey = new AdminAccessKey(this, 'AdminAccessKey', { systemName: props.systemName });
    this.segments = new SegmentBucket(this, 'Segments', { systemName: props.systemName });

    new CfnOutput(this, 'CatalogTableName', { value: this.tables.catalog.tableName });
    new CfnOutput(this, 'LogTableName', { value: this.tables.log.tableName });
    new CfnOutput(this, 'SegmentBucketName', { value: this.segments.bucket.bucketName });
    new CfnOutput(this, 'AdminKeySecretArn', { value: this.adminAccessKey.secret.secretArn });
  }
}
