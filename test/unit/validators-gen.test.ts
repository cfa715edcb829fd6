/**
 * The checked-in validator modules (functions/core/validators.gen.ts, functions/aws/validators.gen.ts)
 * are what scripts/gen-validators.ts makes of the schemas today: a schema changed without
 * `npm run gen:validators` fails here, not in a function. And a validator compiled ahead of time
 * answers as the run-time compiler does (the same options and keywords), problems and all.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENVELOPE_SCHEMA, EVENT_DATA_SCHEMAS, REFERENCED_SCHEMAS } from '#core/events/documents.ts';
import { registerSchema, schemaIssues } from '#core/schema.ts';
import { issuesOf } from '#core/validation.ts';
import * as compiled from '#core/validators.gen.ts';
import { generate, SETS } from '#scripts/gen-validators.ts';
import requestSchema from '../../config/link-request.schema.json' with { type: 'json' };
import policySchema from '../../config/policy.schema.json' with { type: 'json' };

describe('the generated validators', () => {
  it.each(SETS.map((s) => [s.file, s] as const))('%s is up to date with its schemas', (file, set) => {
    expect(readFileSync(file, 'utf8')).toBe(generate(set));
  });

  it('name the same problems as the run-time compiler', () => {
    const policy = {
      version: 2,
      regionPairs: [{ aws: 'nowhere', gcp: 'us-east4', extra: 1 }],
      bandwidths: ['1Gbps', '1Gbps', 'fast'],
      routes: { maxPrefixesPerSide: 0 },
    };
    expect(issuesOf(compiled.policy, policy)).toEqual(schemaIssues(policySchema, policy));
    expect(issuesOf(compiled.policy, policy).length).toBeGreaterThan(5);
    const request = { name: '', initiator: 'azure', aws: { routes: ['x'] } };
    // The run-time compiler needs the request schema registered once (it is, by the event schemas).
    expect(issuesOf(compiled.linkRequest, request)).toEqual(schemaIssues(requestSchema, request));
    const data = { linkId: 'nope', policyHash: 12 };
    expect(issuesOf(compiled.LinkRequested, data).map((i) => i.path)).toContain('linkId');
    expect(Object.keys(EVENT_DATA_SCHEMAS).every((n) => n in compiled)).toBe(true);
  });

  it("name the same problems as the run-time compiler for every event's sample, each field broken in turn", () => {
    const broken = (value: Record<string, unknown>): unknown[] => [
      value,
      {},
      42,
      [],
      { ...value, unknownField: true },
      ...Object.keys(value).flatMap((key) => {
        const { [key]: _, ...without } = value;
        return [without, { ...value, [key]: 12345 }, { ...value, [key]: '' }, { ...value, [key]: { x: [] } }];
      }),
    ];
    for (const referenced of REFERENCED_SCHEMAS) registerSchema(referenced);
    let problems = 0;
    for (const [name, schema] of Object.entries(EVENT_DATA_SCHEMAS)) {
      const event = JSON.parse(
        readFileSync(join(import.meta.dirname, '../../events/samples', `${name}.cloudevent.json`), 'utf8'),
      ) as Record<string, unknown> & { data: Record<string, unknown> };
      const validate = (compiled as Record<string, typeof compiled.policy>)[name] as typeof compiled.policy;
      for (const data of broken(event.data)) {
        const issues = issuesOf(validate, data);
        expect(issues, `${name}: ${JSON.stringify(data)}`).toEqual(schemaIssues(schema, data));
        problems += issues.length;
      }
      for (const envelope of broken(event))
        expect(issuesOf(compiled.envelope, envelope)).toEqual(schemaIssues(ENVELOPE_SCHEMA, envelope));
    }
    // The variants are broken: the comparison is of problems, not of passes.
    expect(problems).toBeGreaterThan(500);
  });
});
