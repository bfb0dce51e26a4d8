/**
 * Bad and hostile input: every one is a documented 4xx problem that names the field, and nothing is stored.
 * Odd but valid text (emoji, RTL, SQL look-alikes) is stored and returned byte for byte.
 */
import { startTestApp, type ApiUser, type TestApp } from '../helpers/app.js';
import { rowCounts, serverTally } from './support.js';

const PROBLEM = 'https://taskflow.dev/problems/';

describe('input hardening', () => {
  let t: TestApp;
  let alice: ApiUser;
  let projectId: number;
  let taskId: number;
  beforeAll(async () => {
    t = await startTestApp();
    alice = await t.user('alice');
    const project = await alice.request('POST', '/api/projects', { body: { slug: 'hardening', name: 'Hardening' } });
    projectId = project.body.id;
    const task = await alice.request('POST', `/api/projects/${projectId}/tasks`, { body: { title: 'Base task' } });
    taskId = task.body.id;
  });
  afterAll(async () => {
    if (!t) return;
    const byStatus = await serverTally(t, 'input hardening');
    expect(Object.keys(byStatus).filter((s) => s.startsWith('5'))).toEqual([]);
    await t.close();
  });

  /** Sends a request that must be refused, and checks the database did not change. */
  async function refused(method: string, path: string, options: Parameters<ApiUser['request']>[2], status: number, type: string) {
    const before = await rowCounts(t.pool);
    const res = await alice.request(method, path, options);
    expect({ status: res.status, type: res.body?.type }).toEqual({ status, type: PROBLEM + type });
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await rowCounts(t.pool)).toEqual(before);
    return res.body as { errors?: { pointer: string; message: string }[]; detail: string };
  }
  const pointers = (body: { errors?: { pointer: string }[] }) => (body.errors ?? []).map((e) => e.pointer).sort();

  describe('transport', () => {
    it.each([
      ['{"slug": "x", "name": ', 'truncated'],
      ["{'slug': 'x'}", 'single quotes'],
      ['{"slug": "x",}', 'trailing comma'],
      ['\u0000', 'a NUL byte'],
    ])('malformed JSON (%s: %s) is 400 malformed-json', async (rawBody) => {
      const body = await refused('POST', '/api/projects', { rawBody, headers: { 'content-type': 'application/json' } }, 400, 'malformed-json');
      expect(body.detail).not.toMatch(/Unexpected|position|SyntaxError/); // no parser internals
    });

    it.each([
      ['text/plain', '{"slug":"x","name":"x"}'],
      ['application/x-www-form-urlencoded', 'slug=x&name=x'],
      ['multipart/form-data; boundary=x', '--x\r\n\r\n--x--'],
      ['application/xml', '<project/>'],
    ])('Content-Type %s is 415', async (contentType, rawBody) => {
      await refused('POST', '/api/projects', { rawBody, headers: { 'content-type': contentType } }, 415, 'unsupported-media-type');
    });

    it('a JSON body without Content-Type is 415', async () => {
      await refused('POST', '/api/projects', { rawBody: '{"slug":"x","name":"x"}', headers: { 'content-type': '' } }, 415, 'unsupported-media-type');
    });

    it('a body over 1 MiB is 413, one just under is judged on its fields', async () => {
      const big = JSON.stringify({ slug: 'big', name: 'Big', description: 'x'.repeat(1024 * 1024) });
      await refused('POST', '/api/projects', { rawBody: big, headers: { 'content-type': 'application/json' } }, 413, 'payload-too-large');
      const under = JSON.stringify({ slug: 'big', name: 'Big', description: 'x'.repeat(1024 * 1024 - 100) });
      const body = await refused('POST', '/api/projects', { rawBody: under, headers: { 'content-type': 'application/json' } }, 422, 'validation-failed');
      expect(pointers(body)).toEqual(['/body/description']);
    });

    it('a missing body on a write is 422 naming the body', async () => {
      const body = await refused('POST', '/api/projects', {}, 422, 'validation-failed');
      expect(pointers(body)).toEqual(['/body']);
    });

    it.each([['[]'], ['"a string"'], ['42'], ['null']])('a JSON body that is not an object (%s) is 422', async (rawBody) => {
      await refused('POST', '/api/projects', { rawBody, headers: { 'content-type': 'application/json' } }, 422, 'validation-failed');
    });
  });

  describe('fields', () => {
    it('unknown fields are 422, one entry per field', async () => {
      const body = await refused('POST', '/api/projects', { body: { slug: 'u', name: 'U', owner_id: 1, is_default: true } }, 422, 'validation-failed');
      expect(pointers(body)).toEqual(['/body/is_default', '/body/owner_id']);
      expect(body.errors!.every((e) => e.message === 'is not a known field')).toBe(true);
    });

    it('several bad fields give one entry each', async () => {
      const body = await refused(
        'POST',
        `/api/projects/${projectId}/tasks`,
        { body: { title: '', priority: 'urgent', tags: ['ok', ''], due_date: 'tomorrow', recurrence: { pattern: 'yearly' } } },
        422,
        'validation-failed',
      );
      expect(pointers(body)).toEqual(['/body/due_date', '/body/priority', '/body/recurrence/pattern', '/body/tags/1', '/body/title']);
    });

    it.each([
      ['PATCH', '/progress', { progress_percent: 101 }, '/body/progress_percent'],
      ['PATCH', '/progress', { progress_percent: -1 }, '/body/progress_percent'],
      ['PATCH', '/progress', { progress_percent: 1.5 }, '/body/progress_percent'],
      ['PATCH', '/progress', { progress_percent: 1e400 }, '/body/progress_percent'],
      ['PATCH', '/assign', { assignee_id: 0 }, '/body/assignee_id'],
      ['PATCH', '/assign', { assignee_id: 99999999999999999999 }, '/body/assignee_id'],
      ['PATCH', '/assign', { assignee_id: '12' }, '/body/assignee_id'],
    ])('out-of-range number: %s %s %j → %s', async (method, suffix, payload, pointer) => {
      const rawBody = JSON.stringify(payload).replace('null', '1e400');
      const body = await refused(method, `/api/tasks/${taskId}${suffix}`, { rawBody, headers: { 'content-type': 'application/json' } }, 422, 'validation-failed');
      expect(pointers(body)).toEqual([pointer]);
    });

    it.each([
      ['/api/tasks/99999999999999999999', '/path/task_id'],
      ['/api/tasks/9223372036854775807', '/path/task_id'],
      ['/api/tasks/9223372036854775808', '/path/task_id'],
      ['/api/tasks/9007199254740993', '/path/task_id'],
      ['/api/tasks/0', '/path/task_id'],
      ['/api/tasks/-5', '/path/task_id'],
      ['/api/tasks/1.5', '/path/task_id'],
      ['/api/tasks/abc', '/path/task_id'],
      ['/api/projects/99999999999999999999', '/path/project_id'],
      ['/api/agents/99999999999999999999', '/path/agent_id'],
    ])('id beyond int8 or not an id: GET %s → 422 %s', async (path, pointer) => {
      const body = await refused('GET', path, {}, 422, 'validation-failed');
      expect(pointers(body)).toEqual([pointer]);
    });

    it('a membership id beyond int8 is 422 too', async () => {
      const body = await refused('DELETE', '/api/projects/1/members/99999999999999999999', {}, 422, 'validation-failed');
      expect(pointers(body)).toEqual(['/path/member_id']);
    });

    it.each([
      [{ user_id: 5 }, ['/body/user_id']],
      [{ agent_id: 'x' }, ['/body/agent_id']],
      [{ user_id: 'bob', agent_id: 5 }, ['/body']],
      [{}, ['/body']],
    ])('addProjectMember %j names the field of the shape it meant', async (payload, expected) => {
      const body = await refused('POST', `/api/projects/${projectId}/members`, { body: payload }, 422, 'validation-failed');
      expect(pointers(body)).toEqual(expected);
    });

    it.each([
      [{ limit: 0 }, '/query/limit'],
      [{ limit: 101 }, '/query/limit'],
      [{ limit: 'ten' }, '/query/limit'],
      [{ due_before: '2026-02-30T00:00:00Z' }, '/query/due_before'],
      [{ due_before: '31/01/2026' }, '/query/due_before'],
      [{ due_before: '0000-01-01T00:00:00Z' }, '/query/due_before'],
      [{ sort: 'id; drop table task' }, '/query/sort'],
      [{ q: 'x'.repeat(201) }, '/query/q'],
      [{ status: 'done' }, '/query/status/0'],
      [{ cursor: 'not-a-cursor' }, '/query/cursor'],
    ])('query %j → 422 %s', async (query, pointer) => {
      const body = await refused('GET', `/api/projects/${projectId}/tasks`, { query }, 422, 'validation-failed');
      expect(pointers(body)).toEqual([pointer]);
    });

    it.each([
      ['2026-02-30T09:00:00Z'],
      ['2026-13-01T09:00:00Z'],
      ['2026-01-01'],
      ['2026-01-01T25:00:00Z'],
      ['2026-01-01T09:00:00'],
      ['not a date'],
      [''],
      ['0000-01-01T00:00:00Z'], // PostgreSQL: out of range
      ['0999-12-31T23:59:59Z'],
      ['2026-01-01T00:00:00-23:59'], // PostgreSQL: offset out of range
      ['9999-12-31T23:59:59-12:00'], // year 10000 in UTC: not RFC 3339 on the way back
      ['2026-06-30T23:59:60Z'], // leap second
    ])('invalid date %j is 422 at /body/due_date', async (due) => {
      const body = await refused('POST', `/api/projects/${projectId}/tasks`, { body: { title: 'Dated', due_date: due } }, 422, 'validation-failed');
      expect(pointers(body)).toEqual(['/body/due_date']);
    });

    it.each([
      ['POST', () => `/api/projects/${projectId}/tasks`, { title: 'x'.repeat(201) }, '/body/title'],
      ['POST', () => `/api/projects/${projectId}/tasks`, { title: 'ok', description: 'x'.repeat(10_001) }, '/body/description'],
      ['POST', () => `/api/projects/${projectId}/tasks`, { title: 'ok', tags: ['x'.repeat(51)] }, '/body/tags/0'],
      ['POST', () => `/api/projects/${projectId}/tasks`, { title: 'ok', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, '/body/tags'],
      ['POST', () => '/api/projects', { slug: 's'.repeat(101), name: 'ok' }, '/body/slug'],
      ['POST', () => '/api/agents', { handle: '@' + 'a'.repeat(50), name: 'ok', agent_type: 'custom' }, '/body/handle'],
      ['POST', () => `/api/tasks/${taskId}/reject`, { reason: 'x'.repeat(501) }, '/body/reason'],
      ['PATCH', () => `/api/tasks/${taskId}/progress`, { progress_percent: 5, note: 'x'.repeat(501) }, '/body/note'],
    ])('over-long string: %s %s → %s', async (method, path, payload, pointer) => {
      const body = await refused(method, path(), { body: payload }, 422, 'validation-failed');
      expect(pointers(body)).toEqual([pointer]);
    });

    it.each([
      ['1000-01-01T00:00:00Z', '1000-01-01T00:00:00.000Z'],
      ['9999-12-31T23:59:59Z', '9999-12-31T23:59:59.000Z'],
      ['2026-01-01t09:30:00z', '2026-01-01T09:30:00.000Z'],
      ['2026-01-01T09:30:00+14:00', '2025-12-31T19:30:00.000Z'],
      ['2026-01-01T09:30:00.123456789Z', '2026-01-01T09:30:00.123Z'],
    ])('edge date %j is stored as the same instant %j, and lists in every sort', async (due, stored) => {
      const edge = await alice.request('POST', '/api/projects', { body: { slug: `edge-${Date.parse(stored)}`, name: 'Edge dates' } });
      const created = await alice.request('POST', `/api/projects/${edge.body.id}/tasks`, { body: { title: 'Edge', due_date: due } });
      expect(created).toMatchObject({ status: 201, body: { due_date: stored } });
      expect((await alice.request('GET', `/api/tasks/${created.body.id}`)).body.due_date).toBe(stored);
      for (const sort of ['due_date', '-due_date', 'created_at']) {
        const list = await alice.request('GET', `/api/projects/${edge.body.id}/tasks`, { query: { sort } });
        expect({ sort, status: list.status }).toEqual({ sort, status: 200 });
      }
    });

    it('an integer beyond PostgreSQL integer (max_occurrences 2^40) is 422', async () => {
      const body = await refused('POST', `/api/projects/${projectId}/tasks`, { body: { title: 'R', recurrence: { pattern: 'daily', max_occurrences: 2 ** 40 } } }, 422, 'validation-failed');
      expect(pointers(body)).toEqual(['/body/recurrence/max_occurrences']);
    });

    it('a blank title (whitespace only) is 422', async () => {
      const body = await refused('POST', `/api/projects/${projectId}/tasks`, { body: { title: ' \t\n ' } }, 422, 'validation-failed');
      expect(pointers(body)).toEqual(['/body/title']);
    });
  });

  describe('NUL bytes (PostgreSQL text cannot hold U+0000)', () => {
    it.each([
      ['POST', () => '/api/projects', { slug: 'nul', name: 'a\u0000b' }, ['/body/name']],
      ['POST', () => '/api/projects', { slug: 'nul', name: 'ok', description: '\u0000' }, ['/body/description']],
      ['POST', () => `/api/projects/${projectId}/tasks`, { title: 'T\u0000', tags: ['ok', 'x\u0000y'] }, ['/body/tags/1', '/body/title']],
      ['POST', () => `/api/projects/${projectId}/tasks`, { title: 'ok', description: 'line\u0000' }, ['/body/description']],
      ['PATCH', () => `/api/tasks/${taskId}`, { title: '\u0000x' }, ['/body/title']],
      ['POST', () => '/api/agents', { handle: '@nul', name: 'N\u0000', agent_type: 'custom', capabilities: ['\u0000'] }, ['/body/capabilities/0', '/body/name']],
      ['POST', () => `/api/projects/${projectId}/members`, { user_id: 'bob\u0000' }, ['/body/user_id']],
      ['POST', () => `/api/tasks/${taskId}/reject`, { reason: 'no\u0000' }, ['/body/reason']],
      ['PATCH', () => `/api/tasks/${taskId}/progress`, { progress_percent: 5, note: '\u0000' }, ['/body/note']],
      ['PATCH', () => `/api/projects/${projectId}`, { name: 'x\u0000' }, ['/body/name']],
    ])('%s %s %j → 422 %j', async (method, path, payload, expected) => {
      const body = await refused(method, path(), { body: payload }, 422, 'validation-failed');
      expect(pointers(body)).toEqual(expected);
      expect(body.errors!.every((e) => /NUL/.test(e.message))).toBe(true);
    });

    it.each([
      [() => `/api/projects/${projectId}/tasks`, { q: 'a\u0000' }, '/query/q'],
      [() => `/api/projects/${projectId}/tasks`, { tags: '\u0000' }, '/query/tags/0'],
      [() => '/api/members/search', { q: '\u0000' }, '/query/q'],
      [() => '/api/projects', { cursor: '\u0000' }, '/query/cursor'],
    ])('in a query parameter: %s %j → 422 %s', async (path, query, pointer) => {
      const body = await refused('GET', path(), { query }, 422, 'validation-failed');
      expect(pointers(body)).toEqual([pointer]);
    });
  });

  describe('text is stored verbatim', () => {
    const samples = [
      ['emoji and ZWJ sequences', '🚀 Launch 👩‍👩‍👧‍👦 ✅ 🇺🇦'],
      ['right-to-left', 'مهمة جديدة — משימה חדשה'],
      ['bidi controls and combining marks', '\u202Eabc\u202C e\u0301 Z̤͔ͧ̑̓'],
      ['astral plane and CJK', '𝒯𝒶𝓈𝓀 任务 タスク 작업'],
      ['SQL injection', "'; drop table task; --"],
      ['SQL quotes and comments', `Robert'); DELETE FROM audit_log; /* "quoted" */ \\ %_`],
      ['HTML', '<script>alert(1)</script>&amp;'],
      ['JSON-looking', '{"$ne": null}'],
      ['control characters other than NUL', 'tab\there\r\nnew line \u0001\u001f\u007f'],
    ];

    it.each(samples)('%s in a task title, description and tag', async (_name, text) => {
      const title = text.slice(0, 200);
      const created = await alice.request('POST', `/api/projects/${projectId}/tasks`, {
        body: { title, description: text, tags: [text.slice(0, 50)] },
      });
      expect(created.status).toBe(201);
      const read = await alice.request("GET", `/api/tasks/${created.body.id}`);
      // Titles are trimmed by contract; everything else is byte for byte.
      expect(read.body).toMatchObject({ title: title.trim(), description: text, tags: [text.slice(0, 50)] });
    });

    it.each(samples)('%s in a project name and agent capabilities', async (_name, text) => {
      const slug = `v-${Math.random().toString(36).slice(2, 10)}`;
      const project = await alice.request('POST', '/api/projects', { body: { slug, name: text, description: text } });
      expect(project.status).toBe(201);
      expect((await alice.request('GET', `/api/projects/${project.body.id}`)).body).toMatchObject({ name: text, description: text });
      const agent = await alice.request('POST', '/api/agents', {
        body: { handle: `@${slug}`, name: text, agent_type: 'custom', capabilities: [text.slice(0, 100)] },
      });
      expect(agent.status).toBe(201);
      expect((await alice.request('GET', `/api/agents/${agent.body.id}`)).body).toMatchObject({ name: text, capabilities: [text.slice(0, 100)] });
    });

    it('the tables survive the injection attempts and search treats the text literally', async () => {
      const created = await alice.request('POST', `/api/projects/${projectId}/tasks`, { body: { title: '100% done_ok' } });
      expect(created.status).toBe(201);
      const all = await alice.request('GET', `/api/projects/${projectId}/tasks`, { query: { limit: 100 } });
      expect(all.status).toBe(200);
      const byQuery = async (q: string) =>
        (await alice.request('GET', `/api/projects/${projectId}/tasks`, { query: { q, limit: 100 } })).body.items.map((i: { title: string }) => i.title);
      expect(await byQuery("'; drop table task; --")).toEqual(["'; drop table task; --"]);
      expect(await byQuery('100%')).toEqual(['100% done_ok']);
      expect(await byQuery('%')).toEqual(expect.arrayContaining(['100% done_ok']));
      expect((await byQuery('%')).length).toBeLessThan(all.body.items.length); // % is a character, not a wildcard
      expect(await byQuery('e_o')).toEqual(['100% done_ok']); // _ likewise
      const search = await alice.request('GET', '/api/members/search', { query: { q: "' or 1=1 --" } });
      expect(search).toMatchObject({ status: 200 });
    });
  });
});
