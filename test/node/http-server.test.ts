import express from 'express';
import type { AddressInfo } from 'node:net';
import { createAppServer } from '../../services/node/http/server';

describe('createAppServer', () => {
  const app = express();
  app.use(express.json());
  app.get('/proto', (req, res) => {
    res.locals.seen = 'yes';
    res.status(201).json({
      requestProto: Object.getPrototypeOf(req) === (app as unknown as { request: object }).request,
      responseProto: Object.getPrototypeOf(res) === (app as unknown as { response: object }).response,
      app: req.app === app,
      query: req.query,
      locals: res.locals.seen,
      header: req.get('x-test'),
    });
  });
  app.post('/echo/:id', (req, res) => {
    res.type('text/plain').send(`${req.params.id}:${(req.body as { v: number }).v}`);
  });
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(400).json({ error: err.message });
  });
  const server = createAppServer(app);
  let base = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('builds requests and responses with the app prototypes, so Express never swaps them', async () => {
    const res = await fetch(`${base}/proto?a=1&b=x`, { headers: { 'x-test': 'hello' } });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ requestProto: true, responseProto: true, app: true, query: { a: '1', b: 'x' }, locals: 'yes', header: 'hello' });
  });

  it('keeps routing, params, body parsing and error middleware working', async () => {
    const ok = await fetch(`${base}/echo/42`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"v":7}' });
    expect(await ok.text()).toBe('42:7');
    const bad = await fetch(`${base}/echo/1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/JSON/);
  });
});
