/** Mapping of DynamoDB / transport errors to Datalith anomalies. */
import { DatalithError, isDatalithError } from '../../engine';

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'SlowDown', // S3
]);

export function errorName(e: unknown): string | undefined {
  if (e !== null && typeof e === 'object') {
    const n = (e as { name?: unknown }).name;
    if (typeof n === 'string') return n;
  }
  return undefined;
}

export function isConditionalCheckFailed(e: unknown): boolean {
  return errorName(e) === 'ConditionalCheckFailedException';
}

export function isResourceNotFound(e: unknown): boolean {
  return errorName(e) === 'ResourceNotFoundException';
}

/**
 * Storage failure → anomaly. Throttling is `busy` (retry later); a request DynamoDB rejects as
 * invalid is a bug (`fault`); everything else — refused connections, timeouts, missing tables,
 * 5xx — is `unavailable`. For a write, `unavailable` means *unknown outcome*: the item may or may
 * not have been written.
 */
export function storageError(operation: string, e: unknown, data: Record<string, unknown> = {}): DatalithError {
  if (isDatalithError(e)) return e;
  const name = errorName(e) ?? 'Error';
  const message = e instanceof Error ? e.message : String(e);
  const d = { ...data, operation, cause: name };
  if (THROTTLING.has(name)) {
    return new DatalithError('busy', `storage is throttling ${operation}: ${message}`, 'storage/throttled', d);
  }
  if (name === 'ValidationException' || name === 'SerializationException') {
    return new DatalithError('fault', `storage rejected ${operation}: ${message}`, 'storage/invalid-request', d);
  }
  return new DatalithError('unavailable', `storage unavailable during ${operation}: ${name}: ${message}`, 'storage/unavailable', d);
}
