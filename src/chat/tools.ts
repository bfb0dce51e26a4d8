/**
 * What the assistant may do, as the chat code needs it: a list of tools (name, description, JSON Schema of the
 * arguments) and a way to call one as the caller. The chat code depends only on this interface; where the tools
 * come from (the contract-derived tool layer of src/mcp/) is wired in app.ts.
 */
import type { Request } from 'express';
import type { Document } from 'openapi-backend';
import { dispatchToolCall, type InternalClients } from '../mcp/dispatch.js';
import { toolsFromContract } from '../mcp/tools.js';

export interface ToolSpec {
  /** The operationId the tool runs. */
  name: string;
  description: string;
  /** JSON Schema of the arguments: path, query and body fields merged into one object. */
  parameters: Record<string, unknown>;
}

export interface ToolCaller {
  /** The caller's own Authorization header, so the call is authenticated, authorised and audited as them. */
  authorization: string | undefined;
  client: 'chat';
}

export interface ToolResult {
  /** False when the API refused the call (a 4xx/5xx problem); the body is then the problem, for the model to read. */
  ok: boolean;
  body: unknown;
}

export interface ChatTools {
  list(): ToolSpec[];
  call(name: string, args: Record<string, unknown>, caller: ToolCaller): Promise<ToolResult>;
}

/**
 * The assistant's tools are the MCP endpoint's: one per `/api` operation, derived from the contract
 * (src/mcp/tools.ts), and each call dispatched through this same server as the caller (src/mcp/dispatch.ts),
 * marked in-process as the `chat` client so its audit entries say so.
 */
export function contractChatTools(contract: Document, registry: InternalClients, timeoutMs = 15_000): (req: Request) => ChatTools {
  const { tools, routes } = toolsFromContract(contract);
  const specs: ToolSpec[] = tools.map((t) => ({ name: t.name, description: t.description, parameters: t.inputSchema }));
  return (req) => ({
    list: () => specs,
    async call(name, args, caller): Promise<ToolResult> {
      const route = routes.get(name);
      if (!route) return { ok: false, body: { detail: `No tool named ${name}` } };
      const { status, text } = await dispatchToolCall(req, route, args, {
        client: { name: caller.client, registry },
        signal: AbortSignal.timeout(timeoutMs),
      });
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: hand the text to the model as it is
      }
      return { ok: status < 400, body };
    },
  });
}
