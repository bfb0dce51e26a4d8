import type { Express } from 'express';
import { docsPage } from '../http/docs.js';
import { contractJson, contractText } from './contract.js';

/** The contract as JSON and YAML, and the API reference (Swagger UI, served locally). */
export function docsRoutes(app: Express): void {
  app.get('/openapi.json', (_req, res) => void res.type('application/json').send(contractJson));
  app.get('/openapi.yaml', (_req, res) => void res.type('application/yaml').send(contractText));
  app.use('/docs', docsPage());
}
