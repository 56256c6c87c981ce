/**
 * `npm run bench:segments`: size and speed of index segment encodings on realistic datoms
 * (the compression choice in docs/adr/010-segment-format-and-root-protocol.md).
 *
 * Builds leaves of LEAF datoms of people (name, last name, aliases, sex keyword, age, salary,
 * uuid, instant, a ref, a double score) in each index order, encodes their bodies once with
 * msgpackr, then prints per compressor: bytes per datom, and encode / decode MB/s of datoms
 * (body bytes per second), against the body uncompressed and against JSON of the same datoms.
 */
import { randomUUID } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { CURRENT_ORDER, Datom, INDEX_NAMES, tToTx } from '../services/engine/datom';
import { encodeSegmentBody, decodeSegmentBody } from '../services/engine/segment';
import { toWire } from '../services/engine/wire';
import { ALIASES, LAST_NAMES, mulberry32, NAMES, SEED } from './data';

const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 5_000);
const LEAF = Number(process.env.BENCH_LEAF ?? 4096);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function people(): Datom[] {
  const rnd = mulberry32(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: Datom[] = [];
  for (let i = 0; i < PEOPLE; i++) {
    const e = 1000 + i;
    const tx = tToTx(1 + Math.floor(i / 100));
    out.push(new Datom(e, 70, pick(NAMES), tx, true));
    out.push(new Datom(e, 71, pick(LAST_NAMES), tx, true));
    out.push(new Datom(e, 72, pick(ALIASES), tx, true));
    out.push(new Datom(e, 73, rnd() < 0.5 ? ':sex/male' : ':sex/female', tx, true));
    out.push(new Datom(e, 74, Math.floor(rnd() * 100), tx, true));
    out.push(new Datom(e, 75, Math.floor(rnd() * 100_000), tx, true));
    out.push(new Datom(e, 76, randomUUID(), tx, true));
    out.push(new Datom(e, 77, new Date(1_600_000_000_000 + Math.floor(rnd() * 1e11)), tx, true));
    out.push(new Datom(e, 78, 1000 + Math.floor(rnd() * PEOPLE), tx, true));
    out.push(new Datom(e, 79, rnd() * 10, tx, true));
  }
  return out;
}

interface Codec { name: string; pack(b: Uint8Array): Uint8Array; unpack(b: Uint8Array): Uint8Array }

const CODECS: Codec[] = [
  { name: 'none', pack: (b) => b, unpack: (b) => b },
  ...[1, 6, 9].map((level): Codec => ({
    name: `deflate-${level}`, pack: (b) => deflateRawSync(b, { level }), unpack: (b) => inflateRawSync(b),
  })),
  ...[4, 5, 6, 11].map((quality): Codec => ({
    name: `brotli-${quality}`,
    pack: (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: b.byteLength } }),
    unpack: (b) => brotliDecompressSync(b),
  })),
];

function time(f: () => void): number {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    f();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return best;
}

function main(): void {
  const datoms = people();
  const bodies: Uint8Array[] = [];
  let jsonBytes = 0;
  for (const index of INDEX_NAMES) {
    const sorted = [...datoms].sort(CURRENT_ORDER[index]);
    for (let i = 0; i < sorted.length; i += LEAF) {
      const run = sorted.slice(i, i + LEAF);
      bodies.push(encodeSegmentBody({ kind: 'leaf', index, history: false, datoms: run }));
      jsonBytes += Buffer.byteLength(JSON.stringify(run.map((d) => [d.e, d.a, toWire(d.v), d.tx, d.added])));
    }
  }
  const n = datoms.length * INDEX_NAMES.length;
  const raw = bodies.reduce((s, b) => s + b.byteLength, 0);
  const encMs = time(() => { for (const b of bodies) decodeSegmentBody(b); });
  console.log(`${n} datoms in ${bodies.length} leaves of ≤ ${LEAF}; JSON ${(jsonBytes / n).toFixed(1)} B/datom, ` +
    `msgpack body ${(raw / n).toFixed(1)} B/datom, body decode ${(raw / 1e3 / encMs).toFixed(0)} MB/s`);
  console.log('codec        B/datom  vs body  compress MB/s  decompress MB/s');
  for (const c of CODECS) {
    let packed: Uint8Array[] = [];
    const packMs = time(() => { packed = bodies.map((b) => c.pack(b)); });
    const unpackMs = time(() => { for (const p of packed) c.unpack(p); });
    const size = packed.reduce((s, b) => s + b.byteLength, 0);
    console.log(`${c.name.padEnd(12)} ${(size / n).toFixed(2).padStart(7)}  ${(size / raw).toFixed(3).padStart(7)}  ` +
      `${(raw / 1e3 / packMs).toFixed(0).padStart(13)}  ${(raw / 1e3 / unpackMs).toFixed(0).padStart(15)}`);
  }
}

main();
