import { createRequire } from 'node:module';
import express, { Router } from 'express';

const require = createRequire(import.meta.url);
const swaggerUiDir = (require('swagger-ui-dist') as { getAbsoluteFSPath(): string }).getAbsoluteFSPath();

// The empty data: icon stops the browser's own /favicon.ico request, which would 404 (a console error).
const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>TaskFlow API reference</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`;

// "Try it out" calls the server that serves this page, whatever host and port it runs on: the contract's
// servers[0] is the default local address, and the page's CSP (default-src 'self') allows no other origin.
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#reference', deepLinking: true, persistAuthorization: true,
  requestInterceptor: (req) => { const u = new URL(req.url, location.href); req.url = location.origin + u.pathname + u.search; return req; } });`;

/** The API reference at /docs, served from the swagger-ui-dist package: no CDN, works offline. */
export function docsPage(): Router {
  const router = Router();
  router.get('/', (_req, res) => void res.type('html').set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'").send(PAGE));
  router.get('/init.js', (_req, res) => void res.type('application/javascript').send(INIT));
  router.use('/assets', express.static(swaggerUiDir, { index: false, maxAge: '1h' }));
  return router;
}
