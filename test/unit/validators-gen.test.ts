/**
 * The checked-in validator modules (functions/core/validators.gen.ts, functions/aws/validators.gen.ts)
 * are what scripts/gen-validators.ts makes of the schemas today: a schema changed without
 * `npm run gen:validators` fails here, not in a function. And a validator compiled ahead of time
 * answers as the run-time compiler does (the same options and keywords), problems and all.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_DATA_SCHEMAS } from '#core/events/documents.ts';
import { schemaIssues } from '#core/schema.ts';
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
});
