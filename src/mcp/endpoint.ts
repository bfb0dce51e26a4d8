/**
 * `POST /mcp`: the Model Context Protocol over Streamable HTTP, in the transport's stateless mode. Every tool call
 * is a self-contained request carrying its own bearer, so any instance can answer any call with no session to
 * share or pin (no sticky sessions behind the load balancer), and the tools never push notifications, so the
 * GET stream and the DELETE of a session have nothing to do: both answer 405, as the transport specifies for a
 * server without sessions.
 *
 * The bearer (agent key or user JWT) is checked before MCP is spoken, with the same per-IP failure limit as the
 * API, so a bad credential is an HTTP 401 with `WWW-Authenticate`. A tool call is then dispatched as an HTTP
 * request to this same server with the caller's `Authorization`: the same routing, validation, authentication,
 * rate limits, handlers and transactions as the operation called directly.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import express, { type Request, type Response, type Router } from 'express';
import type { Document } from 'openapi-backend';
import { toProblem } from '../http/errors.js';
import { sendProblem } from '../http/reply.js';
import type { Principal } from '../http/principal.js';
import type { Logger } from '../observability/logger.js';
import { VERSION } from '../version.js';
import { dispatchToolCall } from './dispatch.js';
import { toolsFromContract, type ToolRoute } from './tools.js';

export interface McpEndpointOptions {
  contract: Document;
  /** The API's own authentication, counting failures against the caller's IP. */
  authenticate: (authorization: string | undefined, req: Request, res: Response) => Promise<Principal>;
  logger: Logger;
}

const INSTRUCTIONS =
  'TaskFlow: projects, tasks and subtasks, a review workflow and an audit trail. Every tool is one operation of ' +
  'the TaskFlow API (the tool name is its operationId). Start with getMe and listProjects; an agent finds work ' +
  'with claimNextTask, reports with updateTaskProgress and hands it in with updateTaskStatus (status review). ' +
  'Failures are RFC 9457 problem documents: branch on their `type`.';

export function mcpEndpoint(options: McpEndpointOptions): Router {
  const { tools, routes } = toolsFromContract(options.contract);
  const router = express.Router();

  router.post('/', express.json({ limit: '1mb' }), async (req, res) => {
    const authorization = req.headers.authorization;
    try {
      await options.authenticate(authorization, req, res);
    } catch (err) {
      const { problem, headers } = toProblem(err);
      sendProblem(req, res, problem, headers);
      return;
    }
    const server = new Server({ name: 'taskflow', version: VERSION }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      const route = routes.get(request.params.name);
      if (!route) return errorResult({ title: 'Unknown tool', detail: `No tool named ${request.params.name}` });
      const hasOutputSchema = tools.find((t) => t.name === request.params.name)?.outputSchema !== undefined;
      return callThroughApi(req, route, request.params.arguments ?? {}, hasOutputSchema);
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (err) {
      options.logger.error({ err }, 'MCP request failed');
      if (!res.headersSent) res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
    }
  });

  const notAllowed = (_req: Request, res: Response) => {
    res.status(405).set('Allow', 'POST').json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this MCP server is stateless; use POST' }, id: null });
  };
  router.get('/', notAllowed);
  router.delete('/', notAllowed);
  return router;
}

const errorResult = (body: unknown): CallToolResult => ({ isError: true, content: [{ type: 'text', text: JSON.stringify(body) }] });

/**
 * Runs the tool's operation as an HTTP request to this server with the MCP caller's credentials. A problem (any
 * status ≥ 400, including validation of the arguments) comes back as an `isError` result holding the problem JSON.
 */
async function callThroughApi(req: Request, route: ToolRoute, args: Record<string, unknown>, structured: boolean): Promise<CallToolResult> {
  const { status, text } = await dispatchToolCall(req, route, args);
  if (status >= 400) return errorResult(text ? JSON.parse(text) : { status });
  if (!text) return { content: [{ type: 'text', text: JSON.stringify({ status }) }] };
  const body: unknown = JSON.parse(text);
  return {
    content: [{ type: 'text', text }],
    ...(structured && body !== null && typeof body === 'object' && !Array.isArray(body) ? { structuredContent: body as Record<string, unknown> } : {}),
  };
}
