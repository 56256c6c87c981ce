/**
 * The HTTP server an Express app runs in, built so that Express costs what it should.
 *
 * Express 4 gives each request its own methods by replacing the prototypes of Node's request
 * and response objects (`Object.setPrototypeOf` in its `expressInit` middleware). V8 cannot keep
 * fast property access on an object whose prototype changed after it was built, so every later
 * access by Node's HTTP code and by Express goes the slow way: measured on the machine of
 * docs/benchmarks.md, a `GET /health` cost ~64 µs of node CPU that way and ~21 µs when the
 * objects are born with Express's prototypes.
 *
 * `http.createServer` takes the classes it builds requests and responses with. Classes whose
 * prototypes are the app's own request and response make Express's `setPrototypeOf` a no-op
 * (V8 returns early when the prototype is already the one asked for), and Express works exactly
 * as before: it still sets `req.res`, `res.locals` and everything else per request.
 */
import http from 'node:http';
import type { Express } from 'express';

type IncomingMessageClass = typeof http.IncomingMessage;
type ServerResponseClass = typeof http.ServerResponse;

/**
 * Node's request and response constructors are plain functions: `apply` builds on `this`.
 * (`Reflect.construct(base, args, Derived)` would also work if Node made them classes, but the
 * objects it builds are as slow as swapped ones: a health check measured ~120 µs instead of
 * ~21 µs. A Node that made them classes fails test/node/http-server.test.ts.)
 */
function classWithPrototype<T extends IncomingMessageClass | ServerResponseClass>(base: T, prototype: object): T {
  function Derived(this: unknown, ...args: unknown[]): void {
    (base as unknown as (...a: unknown[]) => void).apply(this, args);
  }
  Derived.prototype = prototype;
  return Derived as unknown as T;
}

/** An `http.Server` serving `app`, whose requests and responses start with Express's prototypes. */
export function createAppServer(app: Express): http.Server {
  const appRequest = (app as unknown as { request: object }).request;
  const appResponse = (app as unknown as { response: object }).response;
  // Express's prototypes inherit from Node's; anything else would break Node's own code.
  if (!(appRequest instanceof http.IncomingMessage) || !(appResponse instanceof http.ServerResponse)) {
    return http.createServer(app);
  }
  return http.createServer({
    IncomingMessage: classWithPrototype(http.IncomingMessage, appRequest),
    ServerResponse: classWithPrototype(http.ServerResponse, appResponse) as unknown as typeof http.ServerResponse<InstanceType<IncomingMessageClass>>,
  }, app);
}
