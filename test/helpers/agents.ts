/** An agent registered through the API, a member of some projects, with an API key: the way a real one is set up. */
import type { components } from '../../generated/api.js';
import type { RawResponse, RequestOptions, TestApp } from './app.js';
import type { SignedIn } from './users.js';

type AgentKeyCreated = components['schemas']['AgentKeyCreated'];

export interface KeyedAgent {
  id: number;
  handle: string;
  key: AgentKeyCreated;
  /** A request authenticated with the agent's key, checked against the contract. */
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<RawResponse<T>>;
}

let agents = 0;

/** Registers an agent as `owner`, adds it to `projectIds` (owned by `owner`) and mints it a key. */
export async function keyedAgent(t: TestApp, owner: SignedIn, projectIds: number[], handle = `@agent-${++agents}-${Date.now().toString(36)}`): Promise<KeyedAgent> {
  const created = await owner.request('POST', '/api/agents', { body: { handle, name: `Agent ${handle}`, agent_type: 'claude' } });
  if (created.status !== 201) throw new Error(`createAgent: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.id as number;
  for (const projectId of projectIds) {
    const added = await owner.request('POST', `/api/projects/${projectId}/members`, { body: { agent_id: id } });
    if (added.status !== 201) throw new Error(`addProjectMember: ${added.status} ${JSON.stringify(added.body)}`);
  }
  const minted = await owner.request<AgentKeyCreated>('POST', `/api/agents/${id}/keys`, { body: { name: 'test runner' } });
  if (minted.status !== 201) throw new Error(`createAgentKey: ${minted.status} ${JSON.stringify(minted.body)}`);
  const key = minted.body;
  return {
    id,
    handle,
    key,
    request: (method, path, options = {}) =>
      t.request(method, path, { ...options, headers: { authorization: `Bearer ${key.secret}`, ...options.headers } }),
  };
}
