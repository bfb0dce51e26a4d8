/**
 * The tasks both list suites (listProjectTasks, listMyTasks) filter: five in alice's project, of every status,
 * priority and due date that the filters tell apart (not a test file: jest only runs *.test.ts).
 */
import type { TestApp } from '../helpers/app.js';
import { createSubtask, createTask, forceStatus, type SignedIn, type Task } from '../helpers/factories.js';

export async function seedListTasks(t: TestApp, alice: SignedIn, bob: SignedIn, project: number): Promise<Record<string, Task>> {
  const tasks: Record<string, Task> = {};
  const make = async (key: string, body: Record<string, unknown>, status?: string) => {
    tasks[key] = await createTask(alice, project, { title: key, ...body });
    if (status) await forceStatus(t, tasks[key].id, status);
  };
  await make('launch', { tags: ['launch', 'copy'], priority: 'high', assignee_id: alice.workerId, due_date: '2026-02-06T17:00:00Z', description: 'Blog post' });
  await make('copy-only', { tags: ['copy'], priority: 'low', assignee_id: bob.workerId, due_date: '2026-02-01T00:00:00Z' }, 'in_progress');
  await make('percent', { title: '50% off_sale', description: 'Discount \\ banner', priority: 'critical' }, 'blocked');
  await make('plain', { title: 'Plain 50 percent', priority: 'medium' }, 'completed');
  tasks.sub = await createSubtask(alice, tasks.launch!.id, { title: 'Proofread the BLOG post', due_date: '2026-02-03T00:00:00Z' });
  return tasks;
}
