import { z } from 'zod';

/** Zod row scalars shared by every *.sql.ts: what the type parsers in pool.ts hand us. */
export const Id = z.number().int().positive();
export const Timestamp = z.string(); // RFC 3339, produced by the timestamptz parser
export const TaskStatus = z.enum(['pending', 'in_progress', 'review', 'completed', 'blocked']);
export type TaskStatus = z.infer<typeof TaskStatus>;
export const Priority = z.enum(['low', 'medium', 'high', 'critical']);
export const WorkerType = z.enum(['human', 'agent']);
export const Role = z.enum(['owner', 'member']);
