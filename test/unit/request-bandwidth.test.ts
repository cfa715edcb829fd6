/**
 * The bandwidth has one spelling past the intake: `BPS_1G` (Google's) is accepted and normalised to
 * `1Gbps`, so the stages (CreateConnection takes AWS's spelling) run with what the intake accepted.
 */
import { describe, expect, it } from 'vitest';
import { type HttpApiEvent, type IntakeDeps, intake } from '#aws/intake.ts';
import { parseLinkRequest } from '#core/policy/request.ts';
import { REQUEST, stepHarness } from '../support/step-harness.ts';

const body = (bandwidth: string) => ({ ...REQUEST, name: 'payments-east', bandwidth });

describe('bandwidth spelling', () => {
  it('parseLinkRequest normalises either spelling to the AWS one', () => {
    expect(parseLinkRequest(body('BPS_1G')).bandwidth).toBe('1Gbps');
    expect(parseLinkRequest(body('BPS_500M')).bandwidth).toBe('500Mbps');
    expect(parseLinkRequest(body('10Gbps')).bandwidth).toBe('10Gbps');
  });

  it('the intake starts provisioning with the normalised request, not the raw body', async () => {
    const h = stepHarness();
    const inputs: unknown[] = [];
    const deps = {
      ...h.deps,
      stateMachines: { provisioning: 'arn:prov', decommissioning: 'arn:decom' },
      executions: {
        start: async (_arn: string, _name: string, input: unknown) => {
          inputs.push(input);
          return true;
        },
        running: async () => false,
      },
    } as unknown as IntakeDeps;
    const event: HttpApiEvent = {
      routeKey: 'POST /links',
      body: JSON.stringify(body('BPS_1G')),
      requestContext: { authorizer: { iam: { userArn: 'arn:aws:iam::000000000000:user/alice' } } },
    };
    const out = await intake(deps, event);
    expect(out.statusCode, out.body).toBe(201);
    expect(inputs).toEqual([
      expect.objectContaining({ request: expect.objectContaining({ bandwidth: '1Gbps' }) }),
    ]);
    const requested = h.events.events.find((e) => e.type.includes('LinkRequested'));
    expect(requested?.data).toMatchObject({ request: { bandwidth: '1Gbps' } });
  });
});
