/** Stops the PostgreSQL that global-setup.ts started (same process, so the handle is on globalThis). */
export default async function globalTeardown(): Promise<void> {
  const pg = (globalThis as { __taskflowPg?: { stop(): Promise<void> } }).__taskflowPg;
  await pg?.stop();
}
