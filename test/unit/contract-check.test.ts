/** The response check every suite's test client runs: open response schemas must not make it lenient. */
import { assertMatchesContract, contractDocument } from '../helpers/contract.js';

const project = {
  id: 7,
  slug: 'website-relaunch',
  name: 'Website relaunch',
  description: null,
  owner_id: 5,
  is_default: false,
  member_count: 3,
  task_count: 14,
  created_at: '2026-01-31T09:00:00Z',
  updated_at: '2026-02-03T16:20:00Z',
  version: 3,
};

const observed = (body: unknown) => ({
  method: 'GET',
  path: '/api/projects/7',
  status: 200,
  contentType: 'application/json; charset=utf-8',
  headers: new Headers({ 'X-Request-Id': 'r-1', ETag: '"3"' }),
  body,
});

describe('assertMatchesContract', () => {
  it('the contract leaves the Project response open (clients ignore unknown fields)', () => {
    const schema = (contractDocument.components?.schemas as Record<string, { additionalProperties?: unknown }>).Project!;
    expect(schema.additionalProperties).toBeUndefined();
  });

  it('accepts what the contract documents', async () => {
    await expect(assertMatchesContract(observed(project))).resolves.toBeUndefined();
  });

  it.each<[string, Record<string, unknown>]>([
    ['a wrong type', { ...project, id: '7' }],
    ['a missing required field', { ...project, version: undefined }],
    ['an undocumented field (the server sends exactly the contract)', { ...project, archived: false }],
  ])('refuses %s', async (_name, body) => {
    await expect(assertMatchesContract(observed(JSON.parse(JSON.stringify(body))))).rejects.toThrow(/body violates the contract/);
  });
});
