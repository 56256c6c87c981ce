/**
 * A node's life as the load balancer sees it: serving, then draining on shutdown (/health fails,
 * responses ask clients to close their connections, in-flight requests finish). Also the
 * per-node limit on requests in progress: beyond it a request is refused with `busy` (429) at
 * once, so clients back off instead of piling up behind a slow node.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { busy } from '../../engine';

export class NodeLifecycle {
  private draining_ = false;
  private inFlight_ = 0;
  private readonly idleWaiters: Array<() => void> = [];

  get draining(): boolean {
    return this.draining_;
  }

  /** Requests under /v1 in progress. */
  get inFlight(): number {
    return this.inFlight_;
  }

  startDraining(): void {
    this.draining_ = true;
  }

  enter(): void {
    this.inFlight_++;
  }

  leave(): void {
    this.inFlight_--;
    if (this.inFlight_ === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when no request is in progress, or after `timeoutMs` (true when idle). */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.inFlight_ === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

/** Counts requests in progress and refuses new ones beyond `maxPending` with `busy`. */
export function pendingLimit(lifecycle: NodeLifecycle, maxPending: number) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    if (lifecycle.inFlight >= maxPending) {
      next(busy('node/too-many-requests', `This node is working on ${lifecycle.inFlight} requests (the limit is ${maxPending}); retry with backoff`, { limit: maxPending }));
      return;
    }
    lifecycle.enter();
    // A response emits 'close' once, after it finished or when its connection went away.
    res.once('close', () => lifecycle.leave());
    next();
  };
}

/**
 * While draining, every response asks the client to open its next connection elsewhere —
 * decided when the response is written, so requests that arrived before the drain get it too.
 * Installed once on the app's response prototype (`app.response`), not on each response: a
 * property added to every response object would give each its own hidden class in V8.
 */
export function closeWhileDraining(appResponse: Response, lifecycle: NodeLifecycle): void {
  const writeHead = appResponse.writeHead;
  appResponse.writeHead = function (this: Response, ...args: unknown[]) {
    if (lifecycle.draining && !this.headersSent) this.setHeader('Connection', 'close');
    return (writeHead as (...a: unknown[]) => Response).apply(this, args);
  } as typeof appResponse.writeHead;
}

/**
 * One structured log line per request, with the id of the access key that made it (never the
 * key). Key administration (`/v1/keys`) and refused keys log at info, so they are kept.
 */
export function requestLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const keyId = (res.locals.principal as { keyId?: string } | undefined)?.keyId;
      const audited = req.path.startsWith('/v1/keys') || res.statusCode === 403;
      const level = res.statusCode >= 500 ? 'warn' : audited ? 'info' : 'debug';
      logger[level]({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10, ...(keyId !== undefined ? { keyId } : {}) }, 'request');
    });
    next();
  };
}
