import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { names } from './names';

/**
 * The index segment bucket of one system (docs/adr/010-segment-format-and-root-protocol.md):
 * immutable, content-addressed objects, named by index roots in the catalog table.
 *
 * Stateful like the tables: retained when its stack is deleted, a construct id that never
 * changes. Its name is fixed (`names.segmentBucket`: system, account, region), so a compute
 * stack grants on it and the nodes find it by name, and a retained bucket is found after its stack
 * is gone. Private (all public access blocked, TLS only), S3-managed encryption, no
 * versioning: an object is never overwritten with other content, and Datalith's own gc deletes.
 */
export class SegmentBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: { readonly systemName: string }) {
    super(scope, id);
    const stack = Stack.of(this);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: names.segmentBucket(props.systemName, stack.account, stack.region),
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      // Uploads a node abandoned (killed mid-put) would otherwise be billed forever.
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only the node role reads and writes this bucket, and only immutable content-addressed segments; ' +
        'a server access log would record every cold segment read of every query. Operators who need an ' +
        'audit trail enable CloudTrail S3 data events for it.',
    });
  }
}
