/**
 * A fake OpenAI-compatible server for the chat tests: `POST /v1/chat/completions`, streamed (`stream: true`,
 * server-sent chunks ending in `data: [DONE]`) or not, answering from a script of replies. A reply is text,
 * tool calls, an HTTP error or a delay; a function reply sees the request (e.g. to read a tool result).
 *
 *   const model = await startFakeOpenAi();
 *   model.script({ toolCalls: [{ name: 'createTask', arguments: { project_id: 1, title: 'x' } }] }, { text: 'Done.' });
 *   … CHAT_MODEL=fake-model OPENAI_BASE_URL=model.baseUrl …
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeReply {
  text?: string;
  toolCalls?: { name: string; arguments: unknown }[];
  /** Answer this HTTP status with an OpenAI-style error body instead. */
  error?: number;
  /** Wait this long before answering (streamed: after the first chunk), to exceed the client's timeout. */
  delayMs?: number;
}

export interface ModelRequest {
  model: string;
  stream: boolean;
  messages: { role: string; content?: string | null; tool_calls?: unknown[]; tool_call_id?: string }[];
  tools?: { type: string; function: { name: string; parameters: unknown } }[];
  authorization: string | undefined;
}

export interface FakeOpenAi {
  /** The OPENAI_BASE_URL to configure. */
  baseUrl: string;
  /** Replaces the script: the replies to the next requests, in order. */
  script(...replies: (FakeReply | ((request: ModelRequest) => FakeReply))[]): void;
  /** Every request received, oldest first. */
  requests: ModelRequest[];
  /** Replies still unused. */
  pending(): number;
  close(): Promise<void>;
}

const readJson = async (req: IncomingMessage): Promise<any> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  let queue: (FakeReply | ((request: ModelRequest) => FakeReply))[] = [];
  const requests: ModelRequest[] = [];
  let n = 0;

  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404).end();
        return;
      }
      const body = await readJson(req);
      const request: ModelRequest = { model: body.model, stream: body.stream === true, messages: body.messages, tools: body.tools, authorization: req.headers.authorization };
      requests.push(request);
      const next = queue.shift();
      const reply: FakeReply = typeof next === 'function' ? next(request) : (next ?? { error: 500 });
      const id = `chatcmpl-${++n}`;
      const toolCalls = (reply.toolCalls ?? []).map((c, i) => ({ index: i, id: `call_${n}_${i}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
      if (reply.error) {
        if (reply.delayMs) await sleep(reply.delayMs);
        res.writeHead(reply.error, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'scripted failure', type: 'server_error' } }));
        return;
      }
      const finish = toolCalls.length ? 'tool_calls' : 'stop';
      if (!request.stream) {
        if (reply.delayMs) await sleep(reply.delayMs);
        const message = { role: 'assistant', content: reply.text ?? null, ...(toolCalls.length ? { tool_calls: toolCalls.map(({ index: _i, ...c }) => c) } : {}) };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id, object: 'chat.completion', created: 0, model: body.model, choices: [{ index: 0, message, finish_reason: finish }] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: unknown, finishReason: string | null = null) =>
        res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model: body.model, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`);
      chunk({ role: 'assistant', content: '' });
      if (reply.delayMs) await sleep(reply.delayMs);
      // Text in three pieces and each tool call's arguments in two, as real servers split them.
      const text = reply.text ?? '';
      const third = Math.ceil(text.length / 3);
      for (let i = 0; i < text.length; i += third) chunk({ content: text.slice(i, i + third) });
      for (const call of toolCalls) {
        const args = call.function.arguments;
        const half = Math.floor(args.length / 2);
        chunk({ tool_calls: [{ index: call.index, id: call.id, type: 'function', function: { name: call.function.name, arguments: args.slice(0, half) } }] });
        chunk({ tool_calls: [{ index: call.index, function: { arguments: args.slice(half) } }] });
      }
      chunk({}, finish);
      res.end('data: [DONE]\n\n');
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    script: (...replies) => {
      queue = [...replies];
    },
    requests,
    pending: () => queue.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
