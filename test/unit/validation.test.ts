/** http/validation.ts: ajv errors → one field error per bad field, with a JSON pointer to the field itself. */
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { addHardeningKeywords, hardenRequestSchemas } from '../../src/http/hardening.js';
import { toFieldErrors } from '../../src/http/validation.js';

const ajv = new Ajv({ allErrors: true, strict: false });

const recurrence = {
  type: 'object',
  additionalProperties: false,
  required: ['pattern'],
  properties: { pattern: { type: 'string', enum: ['hourly', 'daily', 'weekly', 'monthly'] }, max_occurrences: { type: ['integer', 'null'], minimum: 1 } },
};
const assignee = {
  oneOf: [
    { type: 'object', additionalProperties: false, required: ['user_id'], properties: { user_id: { type: 'string', minLength: 1 } } },
    { type: 'object', additionalProperties: false, required: ['agent_id'], properties: { agent_id: { type: 'integer' } } },
  ],
};
// Shaped like the contract's createTask request, wrapped the way openapi-backend validates it.
const validate = ajv.compile({
  type: 'object',
  properties: {
    requestBody: {
      type: 'object',
      additionalProperties: false,
      required: ['title'],
      properties: {
        title: { type: 'string', minLength: 1 },
        recurrence: { oneOf: [recurrence, { type: 'null' }] },
        assignee,
        schedule: { type: 'object', required: ['window'], properties: { window: { type: 'object', required: ['start'], properties: { start: { type: 'string' } } } } },
      },
    },
  },
});

function pointersFor(body: unknown) {
  expect(validate({ requestBody: body })).toBe(false);
  return toFieldErrors(validate.errors);
}

describe('toFieldErrors', () => {
  it('points a missing top-level field at the field', () => {
    expect(pointersFor({})).toEqual([{ pointer: '/body/title', message: "must have required property 'title'" }]);
  });

  it('points a missing nested required field at the field, not its parent object', () => {
    expect(pointersFor({ title: 'x', recurrence: {} })).toEqual([{ pointer: '/body/recurrence/pattern', message: "must have required property 'pattern'" }]);
  });

  it('points at the nested field at any depth, without a oneOf in between', () => {
    expect(pointersFor({ title: 'x', schedule: { window: {} } }).map((e) => e.pointer)).toEqual(['/body/schedule/window/start']);
  });

  it('names a bad value inside a nullable object at its own pointer', () => {
    const errors = pointersFor({ title: 'x', recurrence: { pattern: 'yearly', extra: 1 } });
    expect(errors).toHaveLength(2);
    expect(errors).toEqual(expect.arrayContaining([
      { pointer: '/body/recurrence/pattern', message: 'must be one of: hourly, daily, weekly, monthly' },
      { pointer: '/body/recurrence/extra', message: 'is not a known field' },
    ]));
  });

  it('reports a value of the wrong type once, at the field', () => {
    expect(pointersFor({ title: 'x', recurrence: 'weekly' })).toEqual([{ pointer: '/body/recurrence', message: 'does not match any of the allowed shapes' }]);
  });

  it('keeps naming the alternatives when several object shapes could fit', () => {
    expect(pointersFor({ title: 'x', assignee: {} })).toEqual([{ pointer: '/body/assignee', message: 'must have exactly one of: user_id, agent_id' }]);
  });

  it('follows the branch whose shape fits when the other one does not', () => {
    expect(pointersFor({ title: 'x', assignee: { user_id: '' } })).toEqual([{ pointer: '/body/assignee/user_id', message: 'must NOT have fewer than 1 characters' }]);
  });
});

describe('a field the contract and the hardening keywords both refuse', () => {
  it('is reported once, with the rule in words rather than the pattern that states it', () => {
    const hardened = addHardeningKeywords(addFormats.default(new Ajv({ allErrors: true, strict: false })));
    const check = hardened.compile(
      hardenRequestSchemas({
        type: 'object',
        properties: {
          requestBody: {
            type: 'object',
            properties: {
              title: { type: 'string', pattern: '^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$' },
              due: { type: 'string', format: 'date-time', pattern: '^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]+)?([Zz]|[+-](0[0-9]|1[0-5]):[0-5][0-9])$' },
            },
          },
        },
      }),
    );
    expect(check({ requestBody: { title: 'a\u0000b', due: '2026-01-01T00:00:00+16:00' } })).toBe(false);
    expect(toFieldErrors(check.errors)).toEqual([
      { pointer: '/body/title', message: 'must not contain NUL (\\u0000) characters' },
      { pointer: '/body/due', message: expect.stringMatching(/^must be an instant between the years 1000 and 9999/) },
    ]);
    // A breach of the pattern alone (a blank title) still names the field.
    expect(check({ requestBody: { title: '  ' } })).toBe(false);
    expect(toFieldErrors(check.errors).map((e) => e.pointer)).toEqual(['/body/title']);
  });
});
