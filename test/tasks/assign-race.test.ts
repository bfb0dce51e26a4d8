import { sql } from 'slonik';
import { z } from 'zod';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { addMember, createTask, newProject, signIn } from './support.js';

describe('assignTask racing removeProjectMember', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const deadlocks = () =>
    t.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
      select deadlocks::int as n from pg_stat_database where datname = current_database()`);

  it('never deadlocks: each race ends with the member gone and the task unassigned or refused', async () => {
    const owner = await signIn(t, 'race-owner');
    const before = await deadlocks();
    for (let round = 0; round < 10; round++) {
      const helper = await signIn(t, `race-helper-${round}`);
      const projectId = await newProject(t, owner);
      await addMember(t, projectId, helper.workerId);
      const memberId = await t.pool.oneFirst(sql.type(z.object({ id: z.number() }))`
        select id from member where project_id = ${projectId} and worker_id = ${helper.workerId}`);
      const task = await createTask(owner, projectId);
      const [assign, remove] = await Promise.all([
        owner.request('PATCH', `/api/tasks/${task.id}/assign`, { body: { assignee_id: helper.workerId } }),
        owner.request('DELETE', `/api/projects/${projectId}/members/${memberId}`),
      ]);
      expect(remove.status).toBe(204);
      expect([200, 422]).toContain(assign.status); // 422: the member was already gone when the assignment ran
      const assignee = await t.pool.oneFirst(sql.type(z.object({ a: z.number().nullable() }))`
        select assignee_id as a from task where id = ${task.id}`);
      expect(assignee).toBeNull(); // removal always wins in the end: its FK unassigns
    }
    expect(await deadlocks()).toBe(before);
  });
});
