/**
 * TEMPORARY adapter: a handful of task operations as chat tools, each dispatched as an HTTP request to this same
 * server with the caller's own Authorization header, so authentication, validation, the handler and the audit
 * entry are exactly the API's. It is the one thing to replace with the contract-derived tool layer of the MCP
 * endpoint (src/mcp/), which implements the same ChatTools interface; nothing else in src/chat/ changes then.
 *
 * Not here yet: the `client: chat` attribution of audit entries. It needs a marker the caller cannot forge
 * (set in-process, never a request header), which the MCP tool layer's in-process dispatch provides.
 */
import type { ChatTools, ToolCaller, ToolResult, ToolSpec } from './tools.js';

const id = (description: string) => ({ type: 'integer', minimum: 1, description });
const STATUS = { type: 'string', enum: ['pending', 'in_progress', 'review', 'completed', 'blocked'] };
const LIST = {
  status: { type: 'array', items: STATUS, description: 'Only tasks in one of these statuses.' },
  limit: { type: 'integer', minimum: 1, maximum: 100, description: 'At most this many tasks (default 50).' },
};

interface Route {
  spec: ToolSpec;
  method: 'GET' | 'POST' | 'PATCH';
  path: (args: Record<string, unknown>) => string;
  /** Arguments sent as the query string; the rest (minus path ids) is the JSON body of a POST/PATCH. */
  query?: readonly string[];
  pathArgs: readonly string[];
}

const ROUTES: Route[] = [
  {
    spec: {
      name: 'createTask',
      description: 'Create a task in a project the user is a member of. Use the default project when the user names none.',
      parameters: {
        type: 'object',
        required: ['project_id', 'title'],
        additionalProperties: false,
        properties: {
          project_id: id('The project to create the task in.'),
          title: { type: 'string', minLength: 1, maxLength: 200 },
          description: { type: 'string', maxLength: 10000 },
          priority: { type: 'string', enum: ['low', 'medium', 'high', 'critical'] },
          assignee_id: id('A worker (human or agent) who is a member of the project.'),
          due_date: { type: 'string', format: 'date-time', description: 'RFC 3339, e.g. 2026-02-06T17:00:00Z.' },
          tags: { type: 'array', items: { type: 'string', maxLength: 50 }, maxItems: 20 },
        },
      },
    },
    method: 'POST',
    path: (a) => `/api/projects/${a.project_id}/tasks`,
    pathArgs: ['project_id'],
  },
  {
    spec: {
      name: 'listProjectTasks',
      description: "List a project's tasks, newest first.",
      parameters: { type: 'object', required: ['project_id'], additionalProperties: false, properties: { project_id: id('The project.'), ...LIST } },
    },
    method: 'GET',
    path: (a) => `/api/projects/${a.project_id}/tasks`,
    query: ['status', 'limit'],
    pathArgs: ['project_id'],
  },
  {
    spec: {
      name: 'listMyTasks',
      description: 'List tasks from every project the user is a member of; assignee "me" for their own tasks.',
      parameters: {
        type: 'object',
        additionalProperties: false,
        properties: { assignee: { type: 'string', description: '"me" or a worker id.' }, ...LIST },
      },
    },
    method: 'GET',
    path: () => '/api/tasks',
    query: ['assignee', 'status', 'limit'],
    pathArgs: [],
  },
  {
    spec: {
      name: 'getTask',
      description: 'Read one task with its subtasks.',
      parameters: { type: 'object', required: ['task_id'], additionalProperties: false, properties: { task_id: id('The task.') } },
    },
    method: 'GET',
    path: (a) => `/api/tasks/${a.task_id}`,
    pathArgs: ['task_id'],
  },
  {
    spec: {
      name: 'updateTaskStatus',
      description:
        'Move a task through the workflow: pending → in_progress → review → completed, or blocked. Completing a task needs its subtasks completed.',
      parameters: {
        type: 'object',
        required: ['task_id', 'status'],
        additionalProperties: false,
        properties: { task_id: id('The task.'), status: STATUS },
      },
    },
    method: 'PATCH',
    path: (a) => `/api/tasks/${a.task_id}/status`,
    pathArgs: ['task_id'],
  },
];

const isId = (v: unknown) => (typeof v === 'number' || typeof v === 'string') && /^[1-9][0-9]{0,17}$/.test(String(v));

/** The bridge over HTTP to the API at `baseUrl` (this server's own address). */
export function createToolsBridge(baseUrl: string, timeoutMs = 15_000): ChatTools {
  const byName = new Map(ROUTES.map((r) => [r.spec.name, r]));
  return {
    list: () => ROUTES.map((r) => r.spec),
    async call(name, args, caller: ToolCaller): Promise<ToolResult> {
      const route = byName.get(name);
      if (!route) return { ok: false, body: { detail: `No tool named ${name}` } };
      for (const p of route.pathArgs) {
        if (!isId(args[p])) return { ok: false, body: { detail: `${p} must be a positive integer id` } };
      }
      const url = new URL(route.path(args), baseUrl);
      const body: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(args)) {
        if (route.pathArgs.includes(key) || value === undefined || value === null) continue;
        if (route.query?.includes(key)) for (const v of [value].flat()) url.searchParams.append(key, String(v));
        else body[key] = value;
      }
      const headers: Record<string, string> = caller.authorization ? { authorization: caller.authorization } : {};
      const hasBody = route.method !== 'GET';
      if (hasBody) headers['content-type'] = 'application/json';
      const res = await fetch(url, {
        method: route.method,
        headers,
        body: hasBody ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: hand the text to the model as it is
      }
      return { ok: res.ok, body: parsed };
    },
  };
}
