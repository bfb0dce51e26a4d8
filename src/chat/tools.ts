/**
 * What the assistant may do, as the chat code needs it: a list of tools (name, description, JSON Schema of the
 * arguments) and a way to call one as the caller. The chat code depends only on this interface; where the tools
 * come from (the contract-derived tool layer, or the temporary bridge in tools-bridge.ts) is wired in compose.ts.
 */
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
