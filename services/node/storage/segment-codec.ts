/**
 * A segment's stored bytes and its content key (docs/adr/010-segment-format-and-root-protocol.md).
 *
 *   'D' 'L' 'S'  magic
 *   u8 format    SEGMENT_FORMAT (1): the frame and the body layout of services/engine/segment.ts
 *   u8 codec     COMPRESSION_BROTLI (2): brotli (quality 5) of the body
 *   ...          the compressed body
 *
 * The key is the lowercase hex SHA-256 of all these bytes, so equal segments share a key, a
 * changed segment gets a new one, and a reader can tell a damaged object from a good one.
 */
import { createHash } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants as zlib } from 'node:zlib';
import { decodeSegmentBody, decodeStoredSegment, encodeSegmentBody, type Segment, type StoredSegment, fault } from '../../engine';

export const SEGMENT_FORMAT = 1;
export const COMPRESSION_BROTLI = 2;
const MAGIC = [0x44, 0x4c, 0x53] as const; // 'DLS'
const HEADER_BYTES = 5;
/**
 * Brotli quality 5: 7% smaller than deflate-6 and as fast to decompress on people-like datoms
 * (`npm run bench:segments`; figures in the ADR). Compression runs in the indexing job.
 */
const BROTLI_QUALITY = 5;
/** A segment never inflates beyond this (guards against a damaged or hostile object). */
export const MAX_SEGMENT_BODY_BYTES = 64 * 1024 * 1024;

const KEY_RE = /^[0-9a-f]{64}$/;

export interface EncodedSegment {
  /** Content key: hex SHA-256 of `bytes`. */
  readonly key: string;
  readonly bytes: Uint8Array;
}

export function segmentKey(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function isSegmentKey(key: unknown): key is string {
  return typeof key === 'string' && KEY_RE.test(key);
}

/** Encode a segment of any tree: a datom index's or the log's. */
export function encodeSegment(s: StoredSegment): EncodedSegment {
  const raw = encodeSegmentBody(s);
  const body = brotliCompressSync(raw, {
    params: { [zlib.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.byteLength },
  });
  const bytes = new Uint8Array(HEADER_BYTES + body.byteLength);
  bytes.set(MAGIC, 0);
  bytes[3] = SEGMENT_FORMAT;
  bytes[4] = COMPRESSION_BROTLI;
  bytes.set(body, HEADER_BYTES);
  return { key: segmentKey(bytes), bytes };
}

/**
 * The segment in `bytes`. With `key`, the bytes must hash to it (`fault` `segment/key-mismatch`
 * otherwise: the object is damaged or misnamed). Unknown formats and codecs are `fault`
 * `segment/unsupported-format`; anything else undecodable is `fault` `segment/corrupt`.
 */
export function decodeSegment(bytes: Uint8Array, key?: string): Segment {
  return decodeSegmentBody(segmentBody(bytes, key));
}

/** As decodeSegment, for a segment of any tree: a datom index's or the log's (the garbage collector walks both). */
export function decodeAnySegment(bytes: Uint8Array, key?: string): StoredSegment {
  return decodeStoredSegment(segmentBody(bytes, key));
}

/** The body inside a segment's frame, checked against its key, magic, format and codec. */
function segmentBody(bytes: Uint8Array, key: string | undefined): Buffer {
  if (key !== undefined && segmentKey(bytes) !== key) {
    throw fault('segment/key-mismatch', `segment ${key} does not hash to its key (damaged or misnamed object)`, { key });
  }
  if (bytes.byteLength < HEADER_BYTES || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw fault('segment/corrupt', 'corrupt index segment: no DLS header', { key });
  }
  if (bytes[3] !== SEGMENT_FORMAT || bytes[4] !== COMPRESSION_BROTLI) {
    throw fault('segment/unsupported-format',
      `index segment format ${bytes[3]} / codec ${bytes[4]} is not supported (this node reads ${SEGMENT_FORMAT} / ${COMPRESSION_BROTLI})`,
      { key });
  }
  try {
    return brotliDecompressSync(bytes.subarray(HEADER_BYTES), { maxOutputLength: MAX_SEGMENT_BODY_BYTES });
  } catch (e) {
    throw fault('segment/corrupt', `corrupt index segment: ${(e as Error).message}`, { key });
  }
}
