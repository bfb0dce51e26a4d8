/**
 * A Phase I `.taskflow/data.json` as the Python CLI would have left it after months of use by a small team of
 * humans and agents: several projects, subtasks many levels deep (a few re-parented under later tasks),
 * every status, recurring tasks, tags, due dates as dates and date-times, and an append-only audit log whose
 * ids follow time. Deterministic: the same seed gives the same file, byte for byte.
 */

export interface P1Project { slug: string; name: string; description: string | null }
export interface P1Worker {
  id: string; type: 'human' | 'agent'; name: string; agent_type: string | null; capabilities: string[]; created_at: string;
}
export interface P1Task {
  id: number; title: string; description: string | null; status: string; priority: string; progress_percent: number;
  project_slug: string; assigned_to: string | null; parent_id: number | null; tags: string[]; due_date: string | null;
  recurrence: string | { pattern: string; max_occurrences: number | null } | null; created_by: string;
  created_at: string; updated_at: string;
}
export interface P1Audit {
  id: number; task_id: number | null; project_slug: string | null; actor_id: string; actor_type: string;
  action: string; context: Record<string, unknown>; timestamp: string;
}
export interface P1File { projects: P1Project[]; workers: P1Worker[]; tasks: P1Task[]; audit_logs: P1Audit[] }

/** mulberry32: tiny, fast and the same everywhere. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}

/** Python's `datetime.now().isoformat()`: naive, microseconds. */
const pyTime = (ms: number, micro: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '') + '.' + String(micro).padStart(6, '0');

const PROJECTS: P1Project[] = [
  { slug: 'taskflow', name: 'TaskFlow', description: 'The human-agent task platform itself' },
  { slug: 'website-redesign', name: 'Website redesign', description: null },
  { slug: 'mobile-app', name: 'Mobile app', description: 'iOS and Android clients' },
  { slug: 'infra', name: 'Infrastructure', description: 'Clusters, CI, databases' },
  { slug: 'research', name: 'Research', description: 'Papers, spikes and evaluations' },
  { slug: 'personal', name: 'Personal', description: 'Errands' },
];

const HUMANS = [
  ['@muhammad', 'Muhammad Qasim'], ['@sarah', 'Sarah Chen'], ['@ahmad', 'Ahmad Raza'],
  ['@li-wei', 'Li Wei'], ['@olga', 'Olga Petrova'], ['@jose_m', 'José Martínez'],
] as const;
const AGENTS = [
  ['@claude-code', 'Claude Code', 'claude', ['coding', 'refactoring', 'tests']],
  ['@qwen', 'Qwen', 'qwen', ['research', 'translation']],
  ['@gemini', 'Gemini', 'gemini', ['research', 'summaries']],
  ['@custom-bot', 'Release bot', 'custom', ['releases']],
  ['@claude-reviewer', 'Claude reviewer', 'claude', ['review']],
  ['@docs-agent', 'Docs agent', 'custom', ['docs', 'writing']],
] as const;

const VERBS = ['Implement', 'Fix', 'Write', 'Review', 'Design', 'Refactor', 'Test', 'Document', 'Benchmark', 'Deploy', 'Investigate', 'Plan'];
const NOUNS = ['login flow', 'audit trail', 'MCP server', 'task list', 'onboarding', 'billing page', 'CI pipeline', 'search',
  'cache layer', 'notification service', 'API docs', 'dark mode', 'migration', 'rate limiter', 'export to CSV', 'settings'];
const TAGS = ['backend', 'frontend', 'urgent', 'bug', 'feature', 'docs', 'ops', 'ux', 'security', 'tech-debt', 'q1', 'q2'];
const STATUSES = ['pending', 'in_progress', 'review', 'completed', 'blocked'] as const;
const PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;

export interface FixtureOptions { tasks?: number; seed?: number }

export function phase1Fixture({ tasks: count = 1200, seed = 20251207 }: FixtureOptions = {}): P1File {
  const r = rng(seed);
  const start = Date.UTC(2025, 8, 1, 8, 0, 0);
  const workers: P1Worker[] = [
    ...HUMANS.map(([id, name], i) => ({ id, type: 'human' as const, name, agent_type: null, capabilities: [], created_at: pyTime(start + i * 60_000, r.int(0, 999_999)) })),
    ...AGENTS.map(([id, name, agentType, caps], i) => ({
      id, type: 'agent' as const, name, agent_type: agentType, capabilities: [...caps], created_at: pyTime(start + (10 + i) * 60_000, r.int(0, 999_999)),
    })),
  ];
  const handles = workers.map((w) => w.id);
  const typeOf = new Map(workers.map((w) => [w.id, w.type]));

  type Event = Omit<P1Audit, 'id'> & { at: number };
  const events: Event[] = [];
  const event = (at: number, task: P1Task | null, project: string, actor: string, action: string, context: Record<string, unknown>) =>
    events.push({ at, task_id: task?.id ?? null, project_slug: project, actor_id: actor, actor_type: typeOf.get(actor)!, action, context, timestamp: pyTime(at, r.int(0, 999_999)) });

  PROJECTS.forEach((p, i) => event(start + (20 + i) * 60_000, null, p.slug, '@muhammad', 'created', { name: p.name }));

  const tasks: P1Task[] = [];
  const depthOf = new Map<number, number>();
  let clock = start + 3_600_000;
  for (let id = 1; id <= count; id++) {
    clock += r.int(5, 240) * 60_000;
    // Subtasks hang under recent tasks, so chains grow deep; one chain in taskflow is made deliberately deep.
    const recent = tasks.slice(-40).filter((t) => depthOf.get(t.id)! < 7);
    const parent = id > 1 && id <= 8 ? tasks[id - 2]! : recent.length > 0 && r.chance(0.55) ? r.pick(recent) : null;
    const project = id <= 8 ? 'taskflow' : parent?.project_slug ?? r.pick(PROJECTS).slug;
    const status = id <= STATUSES.length ? STATUSES[id - 1]! : r.pick([...STATUSES, 'pending', 'completed', 'in_progress']);
    const creator = r.pick(handles);
    const assignee = r.chance(0.8) ? r.pick(handles) : null;
    const dueRoll = r.next();
    const due = dueRoll < 0.3 ? null
      : dueRoll < 0.65 ? new Date(clock + r.int(1, 60) * 86_400_000).toISOString().slice(0, 10)
      : pyTime(clock + r.int(1, 60) * 86_400_000, 0);
    const recRoll = r.next();
    const recurrence = recRoll < 0.08 ? r.pick(['daily', 'weekly', 'monthly', 'hourly', 'Weekly'])
      : recRoll < 0.12 ? { pattern: r.pick(['daily', 'weekly', 'monthly']), max_occurrences: r.chance(0.5) ? r.int(2, 12) : null }
      : null;
    const task: P1Task = {
      id,
      title: `${r.pick(VERBS)} ${r.pick(NOUNS)} #${id}`,
      description: r.chance(0.6) ? `Context for task ${id}: ${r.pick(NOUNS)} needs attention before the ${r.pick(['release', 'demo', 'audit'])}.` : null,
      status,
      priority: r.pick(PRIORITIES),
      progress_percent: 0,
      project_slug: project,
      assigned_to: assignee,
      parent_id: parent?.id ?? null,
      tags: [...new Set(Array.from({ length: r.int(0, 4) }, () => (r.chance(0.1) ? ` ${r.pick(TAGS)} ` : r.pick(TAGS))))],
      due_date: due,
      recurrence,
      created_by: creator,
      created_at: pyTime(clock, r.int(0, 999_999)),
      updated_at: '',
    };
    depthOf.set(id, parent ? depthOf.get(parent.id)! + 1 : 0);
    tasks.push(task);

    // The task's life, as the CLI logged it.
    let at = clock;
    const step = () => (at += r.int(10, 3 * 24 * 60) * 60_000);
    const worker = () => assignee ?? creator;
    event(at, task, project, creator, parent ? 'subtask_created' : 'created',
      parent ? { title: task.title, priority: task.priority, parent_id: parent.id } : { title: task.title, priority: task.priority });
    if (r.chance(0.15)) event(step(), task, project, creator, 'delegated', { from: assignee, to: assignee });
    let progress = 0;
    const work = () => {
      for (let k = r.int(0, 3); k > 0; k--) {
        progress = Math.min(95, progress + r.int(5, 40));
        event(step(), task, project, worker(), 'progressed', r.chance(0.5) ? { progress_percent: progress, note: 'Making headway' } : { progress_percent: progress });
      }
    };
    if (status !== 'pending' || r.chance(0.1)) {
      if (status === 'pending') {
        // Started, hit a wall, went back to the queue.
        event(step(), task, project, worker(), 'started', { status: 'in_progress' });
        event(step(), task, project, worker(), 'blocked', { status: 'blocked', reason: 'Waiting on a decision' });
        event(step(), task, project, worker(), 'unblocked', { status: 'pending' });
      } else {
        event(step(), task, project, worker(), 'started', { status: 'in_progress' });
        work();
        if (status === 'blocked') event(step(), task, project, worker(), 'blocked', { status: 'blocked', reason: 'Needs credentials' });
        if (status === 'review' || status === 'completed') {
          event(step(), task, project, worker(), 'review_requested', { status: 'review' });
          if (r.chance(0.25)) {
            event(step(), task, project, '@claude-reviewer', 'rejected', { reason: 'Missing tests', status: 'in_progress' });
            work();
            event(step(), task, project, worker(), 'review_requested', { status: 'review' });
          }
          if (status === 'completed') {
            if (r.chance(0.5)) event(step(), task, project, r.pick(['@muhammad', '@sarah', '@claude-reviewer']), 'approved', { status: 'completed' });
            else event(step(), task, project, worker(), 'completed', { status: 'completed' });
            progress = 100;
          }
        }
      }
    }
    task.progress_percent = progress;
    task.updated_at = pyTime(at, r.int(0, 999_999));
    clock = Math.max(clock, at - r.int(0, 3) * 86_400_000);
  }

  // Re-parenting (`taskflow edit --parent`): a few top-level tasks moved under a later top-level task.
  const tops = tasks.filter((t) => t.parent_id === null && t.id > 8);
  for (let k = 0; k + 1 < Math.min(tops.length, 24); k += 2) {
    const [child, later] = [tops[k]!, tops[tops.length - 1 - k]!];
    if (later.id > child.id) {
      child.parent_id = later.id;
      child.project_slug = later.project_slug;
    }
  }
  // A subtree moves with its root: subtasks follow their parent's project.
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const projectOf = (t: P1Task): string => (t.parent_id === null ? t.project_slug : projectOf(byId.get(t.parent_id)!));
  for (const t of tasks) t.project_slug = projectOf(t);
  for (const e of events) if (e.task_id !== null) e.project_slug = byId.get(e.task_id)!.project_slug;

  // Two tasks deleted in Phase I: gone from `tasks`, still in the log.
  for (const [i, slug] of [[count + 1, 'infra'], [count + 2, 'research']] as const) {
    const ghost = { id: i } as P1Task;
    event(start + 2 * 86_400_000 + i, ghost, slug, '@ahmad', 'created', { title: `Temporary task ${i}`, priority: 'low' });
    event(start + 3 * 86_400_000 + i, ghost, slug, '@ahmad', 'deleted', { title: `Temporary task ${i}` });
  }

  events.sort((a, b) => a.at - b.at);
  const audit_logs = events.map(({ at: _at, ...e }, i) => ({ id: i + 1, ...e }));
  // A couple of hand-edited timestamps with explicit zones, as a tidier Phase I build wrote them.
  audit_logs[1]!.timestamp = new Date(Date.parse(audit_logs[1]!.timestamp + 'Z')).toISOString();
  audit_logs[2]!.timestamp = audit_logs[2]!.timestamp.replace('T', ' ');

  return { projects: PROJECTS.map((p) => ({ ...p })), workers, tasks, audit_logs };
}
