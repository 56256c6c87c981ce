/**
 * The one place where errors become HTTP responses: anomaly JSON `{ category, message, code?,
 * data? }` with the status of the category (DESIGN.md). Stack traces and internal details go to
 * the structured log, never into a response; an unexpected error answers `fault` with a
 * reference the log line carries too.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { describeValue, isDatalithError, notFound, type AnomalyCategory, anomalyToJson } from '../../engine';

/** HTTP status for each anomaly category (the public contract in DESIGN.md). */
export const HTTP_STATUS: Readonly<Record<AnomalyCategory, number>> = {
  busy: 429,
  unavailable: 503,
  interrupted: 503,
  incorrect: 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  unsupported: 501,
  fault: 500,
};

export interface AnomalyBody {
  readonly category: AnomalyCategory;
  readonly message: string;
  readonly code?: string;
  readonly data?: unknown;
}

interface HttpAnomaly {
  readonly status: number;
  readonly body: AnomalyBody;
  /** The original error, when it should be logged with its stack. */
  readonly logged?: unknown;
}

/** Errors body-parser raises, by their `type`. */
interface BodyParserError extends Error {
  readonly type?: string;
  readonly status?: number;
  readonly limit?: number;
  readonly length?: number;
  readonly charset?: string;
  readonly encoding?: string;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KB`;
  return `${n} bytes`;
}

function fromBodyParser(e: BodyParserError): HttpAnomaly | undefined {
  switch (e.type) {
    case 'entity.too.large': {
      const limit = e.limit ?? 0;
      const size = e.length !== undefined && Number.isFinite(e.length) ? ` of ${e.length} bytes` : '';
      return {
        status: 413,
        body: { category: 'incorrect', code: 'http/body-too-large', message: `The request body${size} exceeds the limit of ${formatBytes(limit)}`, data: { limit } },
      };
    }
    case 'entity.parse.failed':
      return { status: 400, body: { category: 'incorrect', code: 'http/malformed-json', message: `The request body is not valid JSON: ${e.message}` } };
    case 'charset.unsupported':
      return { status: 400, body: { category: 'incorrect', code: 'http/unsupported-charset', message: `Unsupported charset ${describeValue(e.charset ?? '')}: send UTF-8 JSON` } };
    case 'encoding.unsupported':
      return { status: 400, body: { category: 'incorrect', code: 'http/unsupported-encoding', message: `Unsupported content encoding ${describeValue(e.encoding ?? '')}: send identity, gzip or deflate` } };
    case 'request.aborted':
      return { status: 400, body: { category: 'incorrect', code: 'http/request-aborted', message: 'The request was aborted before its body arrived' } };
    case 'request.size.invalid':
    case 'stream.encoding.set':
    case 'stream.not.readable':
      return { status: 400, body: { category: 'incorrect', code: 'http/invalid-body', message: 'The request body could not be read' } };
    default:
      return undefined;
  }
}

export function toHttpAnomaly(err: unknown): HttpAnomaly {
  if (isDatalithError(err)) {
    if (err.category === 'fault') {
      // A fault's message and data may describe internals: the log has them, the answer a reference.
      const reference = randomUUID();
      return {
        status: 500,
        body: { category: 'fault', message: `Internal error (reference ${reference}); the node's log has the details`, ...(err.code !== undefined ? { code: err.code } : {}), data: { reference } },
        logged: err,
      };
    }
    const storage = err.code?.startsWith('storage/') === true;
    // Storage errors carry the SDK's message (endpoints, table names): name the operation only.
    const body: AnomalyBody = storage ? anomalyToJson(err, { message: storageMessage(err.category, err.data), data: null }) : anomalyToJson(err);
    return { status: HTTP_STATUS[err.category], body, ...(storage ? { logged: err } : {}) };
  }
  const bp = typeof err === 'object' && err !== null ? fromBodyParser(err as BodyParserError) : undefined;
  if (bp) return bp;
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return { status: 400, body: { category: 'incorrect', code: 'http/too-deep', message: 'The request is nested too deeply to process' }, logged: err };
  }
  const reference = randomUUID();
  return {
    status: 500,
    body: { category: 'fault', code: 'node/internal-error', message: `Internal error (reference ${reference}); the node's log has the details`, data: { reference } },
    logged: err,
  };
}

function storageMessage(category: AnomalyCategory, data: Record<string, unknown>): string {
  const op = typeof data.operation === 'string' ? ` during ${data.operation}` : '';
  const cause = typeof data.cause === 'string' && /^[A-Za-z]{1,64}$/.test(data.cause) ? ` (${data.cause})` : '';
  return category === 'busy'
    ? `Storage is throttling requests${op}${cause}; retry with backoff`
    : `Storage is unavailable${op}${cause}; retry`;
}

/** The central error middleware: every error any route raises ends here. */
export function errorMiddleware(logger: Logger) {
  // Express recognises error middleware by its four parameters.
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const a = toHttpAnomaly(err);
    const fields = { method: req.method, path: req.path, status: a.status, category: a.body.category, code: a.body.code };
    if (a.logged !== undefined) {
      const e = a.logged as Error;
      const level = a.status >= 500 && a.body.category === 'fault' ? 'error' : 'warn';
      logger[level]({ ...fields, err: e, reference: (a.body.data as { reference?: string } | undefined)?.reference }, 'request failed');
    } else {
      logger.debug(fields, a.body.message);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(a.status).type('application/json').send(JSON.stringify(a.body));
  };
}

/** Routes nobody serves: `not-found`. */
export function unknownRoute(req: Request, _res: Response, next: NextFunction): void {
  next(notFound('http/route-not-found', `No route for ${req.method} ${req.path}`, { method: req.method, path: req.path }));
}

/** Wraps an async handler so a rejection reaches the error middleware (Express 4 does not). */
export function route(handler: (req: Request, res: Response) => Promise<void> | void) {
  return (req: Request, res: Response, next: NextFunction): void => {
    try {
      const p = handler(req, res);
      if (p !== undefined) p.catch(next);
    } catch (e) {
      next(e);
    }
  };
}
