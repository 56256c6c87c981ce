/**
 * Request bodies: JSON only, size-limited, and every field that carries data in the wire
 * encoding (services/engine/wire.ts). The readers here validate one field each and name the
 * field in their errors.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { describeValue, incorrect, fromWire } from '../../engine';
import { DEFAULT_LIMITS } from '../config';

export type Body = Record<string, unknown>;

function hasBody(req: Request): boolean {
  const te = req.headers['transfer-encoding'];
  const len = req.headers['content-length'];
  return te !== undefined || (len !== undefined && len !== '0');
}

/**
 * Checks the raw JSON text before it is parsed, in one pass that skips string contents:
 *
 * - nesting deeper than `maxDepth` is refused (the parser and everything after it recurse);
 * - a number beyond the range of a double (`1e999`, which would read as Infinity) is refused;
 * - an integer literal a double cannot hold exactly (`123456789012345678901234567890`,
 *   `9007199254740993`) is refused instead of silently rounded: send it as `{"#bigint": "…"}`.
 *   A literal that is exactly how JavaScript prints a double (`1152921504606846976`,
 *   `123456789012345670000`) is the double it names and is accepted.
 */
export function checkJsonText(text: Buffer | string, maxDepth: number): void {
  const s = typeof text === 'string' ? text : text.toString('utf8');
  let depth = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < n; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) {
        throw incorrect('http/too-deep', `The request body is nested more than ${maxDepth} levels deep (at character ${i})`, { limit: maxDepth, offset: i });
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      let integer = true;
      for (; j < n; j++) {
        const d = s.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) continue;
        if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) {
          integer = false;
          continue;
        }
        break;
      }
      // A literal beyond the largest double reads as Infinity, which JSON cannot carry back.
      if (!integer && Math.abs(Number(s.slice(i, j))) === Infinity) {
        throw incorrect('http/malformed-json',
          'The request body is not valid JSON: a number is too large for a double; send it as {"#bigint": "…"} or {"#double": "Infinity"}',
          { offset: i });
      }
      // At most 15 digits always fit a double exactly.
      if (integer && j - i > 15) {
        const literal = s.slice(i, j);
        if (String(Number(literal)) !== literal) {
          throw incorrect('http/imprecise-number',
            `The number ${literal.length > 40 ? `${literal.slice(0, 40)}…` : literal} in the request body cannot be represented exactly as a double; send integers beyond ±2^53 as {"#bigint": "…"}`,
            { offset: i });
        }
      }
      i = j - 1;
    }
  }
}

/**
 * Only `application/json` bodies are read; a body of another type is `incorrect` rather than
 * silently ignored. The raw text is checked first (`checkJsonText`: nesting depth, integers a
 * double cannot hold, numbers beyond a double's range such as `1e999`). Send those as
 * `{"#bigint": "…"}` or `{"#double": "Infinity"}`.
 */
export function jsonBody(maxBodyBytes: number, maxJsonDepth = DEFAULT_LIMITS.maxJsonDepth): RequestHandler[] {
  const checkType = (req: Request, _res: Response, next: NextFunction): void => {
    if (hasBody(req) && !req.is('application/json')) {
      const type = req.headers['content-type'] ?? '(none)';
      next(incorrect('http/unsupported-media-type', `Request bodies must be JSON (Content-Type: application/json), got ${type}`, { contentType: type }));
      return;
    }
    next();
  };
  const parse = express.json({
    limit: maxBodyBytes,
    strict: false,
    type: 'application/json',
    // Also refuses non-finite numbers, so the parse needs no reviver (which would run per value).
    verify: (_req, _res, buf) => checkJsonText(buf, maxJsonDepth),
  });
  return [checkType, parse];
}

/** The body as an object: absent is `{}`; anything but a JSON object is `incorrect`. */
export function bodyOf(req: Request): Body {
  const b: unknown = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) {
    throw incorrect('http/invalid-body', `The request body must be a JSON object, got ${Array.isArray(b) ? 'an array' : typeof b}`);
  }
  return b as Body;
}

/** A data field, decoded from the wire encoding. */
export function wireField(body: Body, name: string, required: true): unknown;
export function wireField(body: Body, name: string, required?: false): unknown | undefined;
export function wireField(body: Body, name: string, required = false): unknown {
  const raw = body[name];
  if (raw === undefined) {
    if (required) throw incorrect('http/missing-field', `The request body needs the field "${name}"`, { field: name });
    return undefined;
  }
  return fromWire(raw);
}

export function intField(body: Body, name: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw incorrect('http/invalid-field', `The field "${name}" must be an integer from ${min} to ${max}, got ${describeValue(v)}`, { field: name });
  }
  return v;
}

export function stringField(body: Body, name: string, required: true): string;
export function stringField(body: Body, name: string, required?: false): string | undefined;
export function stringField(body: Body, name: string, required = false): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) throw incorrect('http/missing-field', `The request body needs the field "${name}"`, { field: name });
    return undefined;
  }
  if (typeof v !== 'string') throw incorrect('http/invalid-field', `The field "${name}" must be a string, got ${describeValue(v)}`, { field: name });
  return v;
}

export function boolField(body: Body, name: string): boolean | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw incorrect('http/invalid-field', `The field "${name}" must be true or false, got ${describeValue(v)}`, { field: name });
  return v;
}

export function arrayField(body: Body, name: string): unknown[] | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw incorrect('http/invalid-field', `The field "${name}" must be an array, got ${describeValue(v)}`, { field: name });
  return v;
}

/** An integer from a query-string parameter. */
export function intParam(req: Request, name: string): number | undefined {
  const v = req.query[name];
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw incorrect('http/invalid-parameter', `The query parameter "${name}" must be a non-negative integer, got ${describeValue(v)}`, { parameter: name });
  return n;
}
