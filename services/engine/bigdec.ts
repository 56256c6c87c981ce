/**
 * Exact decimal numbers (EDN `1.50M`, Datomic `:db.type/bigdec`).
 *
 * A BigDec is `unscaled × 10^-scale`, like java.math.BigDecimal: `1.50` is (150, 2) and
 * `1E+3` is (1, -3). The scale is part of the value's representation and survives a round trip
 * through EDN, so `1.50M` is written back as `1.50M`.
 *
 * Equality, two flavours:
 * - `compare` and `equals` are numeric: 1.5M and 1.50M compare as 0 and are `equals`, as with
 *   Clojure's `=` and `compare` on BigDecimals.
 * - `identical` also requires the same scale (java.math.BigDecimal#equals semantics).
 */
import { describeValue, incorrect } from './errors';

/** Java's BigDecimal scale is a 32-bit int; we keep the same bound (it also keeps 10^scale sane). */
const MAX_SCALE = 2147483647;
const MIN_SCALE = -2147483648;

export class BigDec {
  readonly unscaled: bigint;
  readonly scale: number;

  constructor(unscaled: bigint, scale: number) {
    if (!Number.isInteger(scale) || scale > MAX_SCALE || scale < MIN_SCALE) {
      throw incorrect('bigdec/scale', `BigDec scale out of range: ${scale}`, { scale });
    }
    this.unscaled = unscaled;
    // Avoid a -0 scale leaking into toString/identical.
    this.scale = scale === 0 ? 0 : scale;
  }

  /**
   * Parses a plain decimal: optional sign, digits with an optional fraction, optional exponent
   * (`-1.50`, `12`, `1.5e-3`, `.5`, `1.`). No `M` suffix, no whitespace, no NaN/Infinity.
   */
  static parse(s: string): BigDec {
    const n = s.length;
    let i = 0;
    let negative = false;
    const c0 = s.charCodeAt(0);
    if (c0 === 0x2d /* - */ || c0 === 0x2b /* + */) {
      negative = c0 === 0x2d;
      i = 1;
    }
    const intStart = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    const intDigits = s.slice(intStart, i);
    let fracDigits = '';
    if (i < n && s.charCodeAt(i) === 0x2e /* . */) {
      const fracStart = ++i;
      while (i < n && isDigit(s.charCodeAt(i))) i++;
      fracDigits = s.slice(fracStart, i);
    }
    if (intDigits.length + fracDigits.length === 0) throw badDecimal(s);
    let exponent = 0;
    if (i < n && (s.charCodeAt(i) | 0x20) === 0x65 /* e or E */) {
      i++;
      let expNegative = false;
      const ce = s.charCodeAt(i);
      if (ce === 0x2d || ce === 0x2b) {
        expNegative = ce === 0x2d;
        i++;
      }
      const expStart = i;
      while (i < n && isDigit(s.charCodeAt(i))) i++;
      if (i === expStart) throw badDecimal(s);
      // Number() of a long digit string saturates; the range check below then rejects it.
      exponent = Number(s.slice(expStart, i));
      if (expNegative) exponent = -exponent;
    }
    if (i !== n) throw badDecimal(s);
    const scale = fracDigits.length - exponent;
    if (!(scale <= MAX_SCALE && scale >= MIN_SCALE)) {
      throw incorrect('bigdec/scale', `BigDec exponent out of range: ${describeValue(s)}`, { value: s });
    }
    const magnitude = BigInt(intDigits + fracDigits);
    return new BigDec(negative ? -magnitude : magnitude, scale);
  }

  /**
   * The decimal a JS number prints as (shortest round-tripping digits, like Java's
   * BigDecimal.valueOf(double)): fromNumber(0.1) is 0.1M, not the exact binary expansion.
   */
  static fromNumber(n: number): BigDec {
    if (!Number.isFinite(n)) {
      throw incorrect('bigdec/not-finite', `Cannot make a BigDec from ${n}`, { value: n });
    }
    return BigDec.parse(String(n));
  }

  /** Sign of the value: -1, 0 or 1. */
  signum(): -1 | 0 | 1 {
    return this.unscaled === 0n ? 0 : this.unscaled < 0n ? -1 : 1;
  }

  /** Numeric comparison, ignoring scale: 1.5M and 1.50M compare as 0. */
  compare(other: BigDec): -1 | 0 | 1 {
    const sa = this.signum();
    const sb = other.signum();
    if (sa !== sb) return sa < sb ? -1 : 1;
    if (sa === 0) return 0;
    // Same sign, both non-zero. Compare orders of magnitude first so that values like 1E+999999999
    // never force us to materialise 10^999999999.
    const da = digitCount(this.unscaled);
    const db = digitCount(other.unscaled);
    const adjA = da - 1 - this.scale;
    const adjB = db - 1 - other.scale;
    let mag: -1 | 0 | 1;
    if (adjA !== adjB) {
      mag = adjA < adjB ? -1 : 1;
    } else {
      // Same magnitude: the scale difference equals the digit-count difference, so it is small.
      let a = abs(this.unscaled);
      let b = abs(other.unscaled);
      if (this.scale < other.scale) a *= 10n ** BigInt(other.scale - this.scale);
      else if (other.scale < this.scale) b *= 10n ** BigInt(this.scale - other.scale);
      mag = a === b ? 0 : a < b ? -1 : 1;
    }
    // (`-mag` of 0 would be -0, which is not `0` to Object.is: equal negatives compare as 0.)
    return sa > 0 || mag === 0 ? mag : ((-mag) as -1 | 1);
  }

  /** Numeric equality (Clojure `=`): 1.5M equals 1.50M. See `identical` for scale-sensitive. */
  equals(other: unknown): boolean {
    return other instanceof BigDec && this.compare(other) === 0;
  }

  /** Same unscaled value and same scale (java.math.BigDecimal#equals): 1.5M is not 1.50M. */
  identical(other: unknown): boolean {
    return other instanceof BigDec && this.unscaled === other.unscaled && this.scale === other.scale;
  }

  /** Nearest JS number (may lose precision). */
  toNumber(): number {
    return Number(this.toString());
  }

  /**
   * java.math.BigDecimal#toString: plain notation (`1.50`, `0.001`, `150`) unless the scale is
   * negative or the value is tiny (adjusted exponent below -6), then scientific (`1.5E+4`,
   * `1E-7`). Scientific notation keeps the output short for extreme scales.
   */
  toString(): string {
    const negative = this.unscaled < 0n;
    const digits = abs(this.unscaled).toString();
    const sign = negative ? '-' : '';
    const scale = this.scale;
    if (scale === 0) return sign + digits;
    const adjusted = digits.length - 1 - scale;
    if (scale > 0 && adjusted >= -6) {
      const point = digits.length - scale;
      if (point > 0) return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
      return `${sign}0.${'0'.repeat(-point)}${digits}`;
    }
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mantissa}E${adjusted >= 0 ? '+' : ''}${adjusted}`;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

function digitCount(n: bigint): number {
  return abs(n).toString().length;
}

function badDecimal(s: string): Error {
  return incorrect('bigdec/parse', `Not a decimal number: ${describeValue(s.length > 60 ? `${s.slice(0, 57)}...` : s)}`, {
    value: s,
  });
}
