/** The MCP server: tools derived from the contract, and an agent doing real work through them with the SDK's client. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { contract } from '../../src/app.js';
import { keyedAgent, type KeyedAgent } from '../helpers/agents.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { taskAudit, createTask, expectProblem, newProject, signIn, taskRow, type SignedIn } from '../helpers/factories.js';

let t: TestApp;
let alice: SignedIn;
let project: number;
let agent: KeyedAgent;
const clients: Client[] = [];

beforeAll(async () => {
  t = await startTestApp();
  alice = await signIn(t, 'alice');
  project = await newProject(t, alice);
  agent = await keyedAgent(t, alice, [project]);
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await t.close();
});

async function connect(bearer: string): Promise<Client> {
  const client = new Client({ name: 'taskflow-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', t.url), {
    requestInit: { headers: { authorization: `Bearer ${bearer}` } },
  });
  await client.connect(transport);
  clients.push(client);
  return client;
}

const apiOperations = () =>
  Object.entries(contract.paths ?? {})
    .filter(([path]) => path.startsWith('/api/'))
    .flatMap(([, item]) => Object.values(item ?? {}).map((op) => (op as { operationId?: string }).operationId))
    .filter((id): id is string => typeof id === 'string');

const json = (result: unknown) => JSON.parse(((result as { content: { text: string }[] }).content)[0]!.text);

describe('tools/list', () => {
  it('has one tool per /api operation of the contract, named by operationId', async () => {
    const client = await connect(agent.key.secret);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(apiOperations().sort());
    expect(tools).toHaveLength(apiOperations().length);
    expect(tools.map((tool) => tool.name)).not.toContain('getHealth');
  });

  it('every inputSchema and outputSchema compiles with ajv; descriptions and annotations come from the contract', async () => {
    const client = await connect(agent.key.secret);
    const { tools } = await client.listTools();
    const ajv = addFormats.default(new Ajv2020.default({ strict: false, allErrors: true }));
    for (const tool of tools) {
      expect(() => ajv.compile(tool.inputSchema)).not.toThrow();
      if (tool.outputSchema) expect(() => ajv.compile(tool.outputSchema!)).not.toThrow();
      expect(JSON.stringify(tool.inputSchema)).not.toContain('$ref');
    }
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    const claimNext = byName.get('claimNextTask')!;
    expect(claimNext.description).toMatch(/^Claim the most urgent open task\n\nFinds the most urgent task/);
    expect(claimNext.inputSchema).toMatchObject({ type: 'object', required: ['project_id'] });
    expect(Object.keys(claimNext.inputSchema.properties!).sort()).toEqual(['parent_task_id', 'priority', 'project_id', 'tags']);
    expect(claimNext.outputSchema).toBeUndefined(); // 200 or 204: no single success body
    const progress = byName.get('updateTaskProgress')!;
    expect(Object.keys(progress.inputSchema.properties!).sort()).toEqual(['note', 'progress_percent', 'task_id']);
    expect(progress.inputSchema.required).toEqual(['task_id', 'progress_percent']);
    expect(progress.outputSchema).toMatchObject({ type: 'object', required: expect.arrayContaining(['allowed_transitions']) });
    expect(byName.get('getTask')!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(byName.get('deleteTask')!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: true });
    expect(byName.get('createTask')!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false });
    expect(byName.get('addProjectMember')!.inputSchema.properties!.body).toMatchObject({ oneOf: expect.any(Array) });
  });
});

describe('tool calls', () => {
  it('an agent claims, reports progress and hands in through MCP; a human approves over HTTP; the audit tells who', async () => {
    const task = await createTask(alice, project, { title: 'Write release notes', priority: 'critical', tags: ['docs'] });
    const client = await connect(agent.key.secret);

    const claimed = await client.callTool({ name: 'claimNextTask', arguments: { project_id: project, tags: ['docs'] } });
    expect(claimed.isError).toBeFalsy();
    expect(json(claimed)).toMatchObject({ id: task.id, status: 'in_progress', assignee_id: agent.id });

    const progressed = await client.callTool({ name: 'updateTaskProgress', arguments: { task_id: task.id, progress_percent: 90, note: 'drafted' } });
    expect(progressed.isError).toBeFalsy();
    expect(progressed.structuredContent).toMatchObject({ id: task.id, progress_percent: 90 });

    const handedIn = await client.callTool({ name: 'updateTaskStatus', arguments: { task_id: task.id, status: 'review' } });
    expect(handedIn.structuredContent).toMatchObject({ status: 'review', allowed_transitions: ['in_progress', 'completed'] });

    const selfApproval = await client.callTool({ name: 'approveTask', arguments: { task_id: task.id } });
    expect(selfApproval.isError).toBe(true);
    expect(json(selfApproval)).toMatchObject({ type: 'https://taskflow.dev/problems/forbidden-for-agents', status: 403 });

    const approved = await alice.request('POST', `/api/tasks/${task.id}/approve`);
    expect(approved.status).toBe(200);
    expect((await taskRow(t, task.id))!.status).toBe('completed');

    const trail = await alice.request('GET', `/api/tasks/${task.id}/audit`);
    expect(trail.body.items.map((e: any) => [e.action, e.actor_type, e.actor_handle])).toEqual([
      ['approved', 'human', '@alice'],
      ['status_changed', 'agent', agent.handle],
      ['progress_updated', 'agent', agent.handle],
      ['claimed', 'agent', agent.handle],
      ['task_created', 'human', '@alice'],
    ]);
  });

  it('with a user JWT the tools act as that user', async () => {
    const client = await connect(alice.token);
    const me = await client.callTool({ name: 'getMe', arguments: {} });
    expect(me.structuredContent).toMatchObject({ user_id: 'alice', worker: { id: alice.workerId, type: 'human' } });
  });

  it('invalid arguments and problems are isError results with the problem JSON, not protocol errors', async () => {
    const client = await connect(agent.key.secret);
    const invalid = await client.callTool({ name: 'updateTaskProgress', arguments: { task_id: 1, progress_percent: 250 } });
    expect(invalid.isError).toBe(true);
    expect(json(invalid)).toMatchObject({ type: 'https://taskflow.dev/problems/validation-failed', errors: [expect.objectContaining({ pointer: '/body/progress_percent' })] });
    const unknownField = await client.callTool({ name: 'createTask', arguments: { project_id: project, title: 'x', titel: 'typo' } });
    expect(json(unknownField)).toMatchObject({ status: 422, errors: [expect.objectContaining({ pointer: '/body/titel' })] });
    const missing = await client.callTool({ name: 'getTask', arguments: { task_id: 999_999 } });
    expect(json(missing)).toMatchObject({ type: 'https://taskflow.dev/problems/task-not-found', status: 404 });
    const noTool = await client.callTool({ name: 'dropDatabase', arguments: {} });
    expect(noTool.isError).toBe(true);
    expect(await taskAudit(t, 999_999)).toEqual([]);
  });
});

describe('the endpoint', () => {
  it('refuses a missing or bad bearer with 401 and WWW-Authenticate before speaking MCP', async () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
    for (const headers of [{}, { authorization: `Bearer tfa_${'A'.repeat(43)}` }]) {
      const res = await fetch(new URL('/mcp', t.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify(init),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="taskflow"/);
      expect(await res.json()).toMatchObject({ type: 'https://taskflow.dev/problems/unauthorized' });
    }
  });

  it('is stateless: GET and DELETE answer 405', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(new URL('/mcp', t.url), { method, headers: { authorization: `Bearer ${agent.key.secret}` } });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
  });
});
