/** toolsFromContract on small documents: what a tool is made of, and that a new operation is a new tool. */
import type { Document } from 'openapi-backend';
import { requestFor, toolsFromContract } from '../../src/mcp/tools.js';

const doc = (extra: Record<string, unknown> = {}) =>
  ({
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: {
      '/health': { get: { operationId: 'getHealth', responses: { '200': { description: 'ok' } } } },
      '/api/things/{thing_id}': {
        parameters: [{ name: 'thing_id', in: 'path', required: true, description: 'The thing.', schema: { type: 'integer', minimum: 1 } }],
        patch: {
          operationId: 'updateThing',
          summary: 'Update a thing',
          description: 'Changes it.',
          parameters: [{ name: 'dry_run', in: 'query', schema: { type: 'boolean' } }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ThingUpdate' } } } },
          responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } } },
        },
        delete: { operationId: 'deleteThing', summary: 'Delete a thing', responses: { '204': { description: 'gone' } } },
      },
      ...extra,
    },
    components: {
      schemas: {
        Thing: { type: 'object', required: ['id'], properties: { id: { type: 'integer', example: 1 } } },
        ThingUpdate: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' } } },
      },
    },
  }) as unknown as Document;

describe('toolsFromContract', () => {
  it('makes one tool per /api operation with merged, self-contained input and output schemas', () => {
    const { tools, routes } = toolsFromContract(doc());
    expect(tools.map((t) => t.name)).toEqual(['updateThing', 'deleteThing']);
    const update = tools[0]!;
    expect(update.description).toBe('Update a thing\n\nChanges it.');
    expect(update.inputSchema).toEqual({
      type: 'object',
      properties: {
        thing_id: { type: 'integer', minimum: 1, description: 'The thing.' },
        dry_run: { type: 'boolean' },
        name: { type: 'string' },
      },
      required: ['thing_id', 'name'],
      additionalProperties: false,
    });
    expect(update.outputSchema).toEqual({ type: 'object', required: ['id'], properties: { id: { type: 'integer' } } });
    expect(update.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false });
    expect(tools[1]!.annotations).toMatchObject({ destructiveHint: true, idempotentHint: true });
    expect(tools[1]!.outputSchema).toBeUndefined();
    expect(requestFor(routes.get('updateThing')!, { thing_id: 3, dry_run: true, name: 'x' })).toEqual({ method: 'PATCH', path: '/api/things/3?dry_run=true', body: { name: 'x' } });
  });

  it('a new operation in the contract is a new tool, with no other change', () => {
    const more = doc({ '/api/things': { get: { operationId: 'listThings', summary: 'List things', responses: { '200': { description: 'ok' } } } } });
    const { tools } = toolsFromContract(more);
    expect(tools.map((t) => t.name)).toEqual(['updateThing', 'deleteThing', 'listThings']);
    expect(tools[2]!.annotations).toMatchObject({ readOnlyHint: true });
  });
});
