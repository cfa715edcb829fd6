/** `GET /links` on the AWS intake: the query checked field by field, and summaries, never stored records. */
import { describe, expect, it } from 'vitest';
import { type IntakeDeps, intake } from '#aws/intake.ts';
import { ManualClock } from '#core/clock.ts';
import type { LinkRecord } from '#core/link/model.ts';
import { MemoryLinkStore } from '../support/memory-store.ts';

const clock = new ManualClock('2026-06-01T00:00:00Z');
const store = new MemoryLinkStore(clock);
const deps = {
  store,
  clock,
  origin: { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' },
} as unknown as IntakeDeps;
const list = (q: Record<string, string>) =>
  intake(deps, {
    routeKey: 'GET /links',
    queryStringParameters: q,
    requestContext: {
      requestId: 'r1',
      authorizer: { iam: { userArn: 'arn:aws:iam::000000000000:user/bob' } },
    },
  });

describe('GET /links', () => {
  it('refuses a limit or state it cannot honour, naming each', async () => {
    const out = await list({ limit: '-1', state: 'SLEEPING' });
    expect(out.statusCode).toBe(400);
    const issues = JSON.parse(out.body).error.issues as { path: string; reason: string }[];
    expect(issues.map((i) => i.path).sort()).toEqual(['limit', 'state']);
    expect(issues.find((i) => i.path === 'limit')?.reason).toBe('must be a whole number from 1 to 100');
    expect((await list({ limit: '2.5' })).statusCode).toBe(400);
    expect((await list({ limit: '101' })).statusCode).toBe(400);
  });

  it('lists link summaries: the resource shape without audit, outbox or policy hash', async () => {
    const record = {
      id: 'lk-01kt07nv00h4n3a3ngvn91t9qs',
      name: 'payments-east',
      state: 'REQUESTED',
      initiator: 'aws',
      environment: 'prod',
      requester: 'arn:aws:iam::000000000000:user/alice',
      policyHash: 'x'.repeat(64),
      halves: {
        aws: { cloud: 'aws', condition: 'NONE', nativeState: null, sequence: 0 },
        gcp: { cloud: 'gcp', condition: 'NONE', nativeState: null, sequence: 0 },
      },
      approvals: [],
      stages: [{ state: 'REQUESTED', at: '2026-06-01T00:00:00.000Z' }],
      outbox: [],
      createdAt: '2026-06-01T00:00:00.000Z',
      updatedAt: '2026-06-01T00:00:00.000Z',
    } as unknown as LinkRecord;
    await store.create(record);
    const out = await list({ limit: '10', state: 'REQUESTED' });
    expect(out.statusCode).toBe(200);
    const body = JSON.parse(out.body);
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toEqual({
      id: record.id,
      name: 'payments-east',
      state: 'REQUESTED',
      initiator: 'aws',
      environment: 'prod',
      requester: 'arn:aws:iam::000000000000:user/alice',
      halves: {
        aws: { state: 'NONE', nativeState: null, sequence: 0 },
        gcp: { state: 'NONE', nativeState: null, sequence: 0 },
      },
      approvals: [],
      stages: [{ state: 'REQUESTED', at: '2026-06-01T00:00:00.000Z' }],
    });
  });
});
