import { z } from 'zod';
import { ACTOR_TYPES, AGENT_TYPES, RECURRENCE_PATTERNS as PATTERNS, TASK_PRIORITIES as PRIORITIES, TASK_STATUSES as STATUSES, WORKER_TYPES } from '../db/index.js';

/**
 * The Phase I CLI's `.taskflow/data.json`, as its pydantic models wrote it. Tolerant where Phase I was loose
 * and nothing is lost (naive timestamps, a date for a due date, a space instead of `T`, tags with stray
 * spaces, missing optional fields, unknown extra keys); strict wherever accepting the value would put wrong
 * or truncated data into TaskFlow (unknown statuses, titles longer than TaskFlow allows, bad handles).
 */

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: (iss) => `must be one of ${values.join(', ')} (got ${JSON.stringify(iss.input)})` });

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Normalises a Phase I timestamp to text PostgreSQL reads as timestamptz, keeping every fractional digit
 * (Python writes microseconds; a JS Date would drop three). Phase I wrote `datetime.now()` without a zone,
 * so a naive value is taken as UTC. Returns null when it is not a real date and time.
 */
export function toTimestamptz(text: string, allowDateOnly: boolean): string | null {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  if (h === undefined && !allowDateOnly) return null;
  const [year, month, day, hour, minute, second] = [y, mo, d, h ?? '0', mi ?? '0', s ?? '0'].map(Number) as number[];
  const probe = new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!));
  const real =
    probe.getUTCFullYear() === year && probe.getUTCMonth() === month! - 1 && probe.getUTCDate() === day &&
    hour! < 24 && minute! < 60 && second! < 60;
  if (!real) return null;
  const offset = !zone || zone.toUpperCase() === 'Z' ? '+00:00' : zone.length === 3 ? `${zone}:00` : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(year!, 4)}-${pad(month!)}-${pad(day!)}T${pad(hour!)}:${pad(minute!)}:${pad(second!)}${frac ?? ''}${offset}`;
}

const timestamp = z.string().transform((text, ctx) => {
  const value = toTimestamptz(text, false);
  if (value === null) {
    ctx.addIssue({ code: 'custom', message: `must be a date-time like 2026-03-01T09:30:00 (got ${JSON.stringify(text)})` });
    return z.NEVER;
  }
  return value;
});

/** Phase I parsed `--due 2026-03-01` into a naive midnight; a bare date means the same here (midnight UTC). */
const dueDate = z.string().transform((text, ctx) => {
  const value = toTimestamptz(text, true);
  if (value === null) {
    ctx.addIssue({ code: 'custom', message: `must be a date (2026-03-01) or a date-time (got ${JSON.stringify(text)})` });
    return z.NEVER;
  }
  return value;
});

const handle = z
  .string()
  .regex(/^@[a-z0-9_-]+$/, { error: (iss) => `must be a handle like @sarah: @ then a-z, 0-9, _ or - (got ${JSON.stringify(iss.input)})` })
  .max(64, { error: 'must be at most 64 characters' });

/** Phase I numbered tasks and audit entries with integers; the import only uses them as keys. */
const phase1Id = z.number({ error: 'must be an integer id' }).int({ error: 'must be an integer id' }).nonnegative();

const text = (max: number) => z.string().max(max, { error: `must be at most ${max} characters (TaskFlow's limit)` });
const optionalText = (max: number) =>
  text(max).nullish().transform((v) => (v === undefined || v === null || v.trim() === '' ? null : v));

/** `"daily"`, `{ "pattern": "daily", "max_occurrences": 5 }`, or nothing; the pattern in any case. */
const recurrence = z.unknown().optional().transform((v, ctx): { pattern: (typeof PATTERNS)[number]; max: number | null } | null => {
  if (v === undefined || v === null || v === '') return null;
  const raw = typeof v === 'string' ? v : typeof v === 'object' && !Array.isArray(v) ? (v as { pattern?: unknown }).pattern : undefined;
  const max = typeof v === 'object' ? (v as { max_occurrences?: unknown }).max_occurrences ?? null : null;
  if (raw === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be null, a pattern (hourly, daily, weekly, monthly) or { pattern, max_occurrences }' });
    return z.NEVER;
  }
  const pattern = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (!PATTERNS.includes(pattern as never)) {
    ctx.addIssue({ code: 'custom', message: `pattern must be one of ${PATTERNS.join(', ')} (got ${JSON.stringify(raw)})` });
    return z.NEVER;
  }
  if (max !== null && !(Number.isInteger(max) && (max as number) >= 1)) {
    ctx.addIssue({ code: 'custom', message: `max_occurrences must be an integer of at least 1 (got ${JSON.stringify(max)})` });
    return z.NEVER;
  }
  return { pattern: pattern as (typeof PATTERNS)[number], max: max as number | null };
});

/** Trimmed, without blanks or repeats (Phase I split `--tags "a, b,"` itself); TaskFlow allows 20 of 1–50 characters. */
const tags = z
  .array(z.string().transform((t) => t.trim()).pipe(text(50)))
  .nullish()
  .transform((list) => [...new Set((list ?? []).filter((t) => t !== ''))])
  .pipe(z.array(z.string()).max(20, { error: 'must have at most 20 distinct tags' }));

export const Phase1Project = z.object({
  slug: z
    .string()
    .regex(/^[a-z0-9-]+$/, { error: (iss) => `must be a-z, 0-9 and - only (got ${JSON.stringify(iss.input)})` })
    .max(100, { error: 'must be at most 100 characters' }),
  name: z.string().trim().min(1, { error: 'must not be blank' }).pipe(text(200)),
  description: optionalText(2000),
});

export const Phase1Worker = z
  .object({
    id: handle,
    type: oneOf(WORKER_TYPES),
    name: z.string().trim().min(1, { error: 'must not be blank' }).pipe(text(200)),
    agent_type: oneOf(AGENT_TYPES).nullish(),
    capabilities: z.array(text(100)).max(20, { error: 'must have at most 20 entries' }).nullish().transform((c) => c ?? []),
    created_at: timestamp.nullish(),
  })
  .superRefine((w, ctx) => {
    if (w.type === 'agent' && !w.agent_type) ctx.addIssue({ code: 'custom', path: ['agent_type'], message: 'is required for an agent' });
  })
  // A human with an agent_type contradicts itself; the type wins and the stray field is dropped.
  .transform((w) => ({ ...w, agent_type: w.type === 'agent' ? w.agent_type! : null }));

export const Phase1Task = z.object({
  id: phase1Id,
  title: z.string().trim().min(1, { error: 'must not be blank' }).pipe(text(200)),
  description: optionalText(10_000),
  status: oneOf(STATUSES),
  priority: oneOf(PRIORITIES).nullish().transform((p) => p ?? 'medium'),
  progress_percent: z.number().int().min(0, { error: 'must be between 0 and 100' }).max(100, { error: 'must be between 0 and 100' }).nullish().transform((p) => p ?? 0),
  project_slug: z.string(),
  assigned_to: z.string().nullish().transform((h) => h ?? null),
  parent_id: phase1Id.nullish().transform((p) => p ?? null),
  tags,
  due_date: dueDate.nullish().transform((d) => d ?? null),
  recurrence,
  created_by: z.string(),
  created_at: timestamp,
  updated_at: timestamp.nullish(),
  /** Not written by the Phase I CLI we know, but kept when a later version did. */
  started_at: timestamp.nullish(),
  completed_at: timestamp.nullish(),
});

export const Phase1AuditLog = z.object({
  id: phase1Id,
  task_id: phase1Id.nullish().transform((t) => t ?? null),
  project_slug: z.string().nullish().transform((s) => s ?? null),
  actor_id: z.string(),
  actor_type: oneOf(ACTOR_TYPES),
  action: z.string().trim().min(1, { error: 'must not be blank' }).pipe(text(100)),
  context: z.record(z.string(), z.unknown()).nullish().transform((c) => c ?? {}),
  timestamp,
});

/** Every collection may be missing (an empty Phase I store); keys Phase I kept beside them are ignored. */
const Collections = z.object(
  {
    projects: z.array(z.unknown()).default([]),
    workers: z.array(z.unknown()).default([]),
    tasks: z.array(z.unknown()).default([]),
    audit_logs: z.array(z.unknown()).default([]),
  },
  { error: 'must be a JSON object with projects, workers, tasks and audit_logs' },
);

/** A record that passed its schema, with its index in the file for error messages. */
export type At<T> = T & { position: number };

export interface Phase1File {
  projects: At<z.infer<typeof Phase1Project>>[];
  workers: At<z.infer<typeof Phase1Worker>>[];
  tasks: At<Phase1Task>[];
  audit_logs: At<Phase1AuditLog>[];
}
export type Phase1Task = z.infer<typeof Phase1Task>;
export type Phase1AuditLog = z.infer<typeof Phase1AuditLog>;

/**
 * Keys of records that failed their schema but still name themselves: a reference to one of them is not
 * reported a second time as "no such task", only the record itself is.
 */
export interface Named {
  slugs: Set<string>;
  handles: Set<string>;
  taskIds: Set<number>;
}

export interface Parsed {
  file: Phase1File;
  /** `tasks[17].status: must be one of …`, one per problem, in file order. */
  errors: string[];
  invalid: Named;
}

/** `['tasks', 17, 'status']` → `tasks[17].status`: the position an operator finds in the file. */
export const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '') ||
  '(file)';

const required = { error: (iss: { input: unknown }) => (iss.input === undefined ? 'is required' : undefined) };

/**
 * Checks each record against its schema on its own, so one bad record neither hides the others' problems nor
 * keeps the valid ones from their cross-reference checks (plan.ts). Lists every problem, not the first.
 */
export function parsePhase1(json: unknown): Parsed {
  const file: Phase1File = { projects: [], workers: [], tasks: [], audit_logs: [] };
  const invalid: Named = { slugs: new Set(), handles: new Set(), taskIds: new Set() };
  const top = Collections.safeParse(json, required);
  if (!top.success) {
    return { file, invalid, errors: top.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`) };
  }
  const errors: string[] = [];
  const each = <S extends z.ZodType>(name: keyof Phase1File, schema: S, records: unknown[], into: At<z.output<S>>[], onInvalid: (raw: Record<string, unknown>) => void) =>
    records.forEach((raw, position) => {
      const result = schema.safeParse(raw, required);
      if (result.success) {
        into.push({ ...(result.data as object), position } as At<z.output<S>>);
        return;
      }
      errors.push(...result.error.issues.map((i) => `${formatPath([name, position, ...i.path])}: ${i.message}`));
      if (raw && typeof raw === 'object') onInvalid(raw as Record<string, unknown>);
    });
  each('projects', Phase1Project, top.data.projects, file.projects, (r) => typeof r.slug === 'string' && invalid.slugs.add(r.slug));
  each('workers', Phase1Worker, top.data.workers, file.workers, (r) => typeof r.id === 'string' && invalid.handles.add(r.id));
  each('tasks', Phase1Task, top.data.tasks, file.tasks, (r) => typeof r.id === 'number' && invalid.taskIds.add(r.id));
  each('audit_logs', Phase1AuditLog, top.data.audit_logs, file.audit_logs, () => {});
  return { file, errors, invalid };
}
