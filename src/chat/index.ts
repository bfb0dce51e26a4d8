export { chatKitHandler, type ChatKitDeps } from './chatkit.handlers.js';
export { createChatPool, ensureDatabase, migrateChat, EMBEDDED_CHAT_DATABASE } from './database.js';
export { createChatModel } from './model.js';
export { contractChatTools } from './tools.js';
export type { ChatTools, ToolSpec, ToolCaller, ToolResult } from './tools.js';
