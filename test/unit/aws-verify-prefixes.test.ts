/**
 * Verify's deadline closes a live link only when it was watched: the check past the deadline must
 * follow another at most two re-check periods earlier. A check after a longer gap (a paused run, a
 * clock jump) re-checks instead of failing: an allowed-prefix update applied in the gap may not show
 * yet (chaos seed 29 failed an ACTIVE link in verify after a jump of 108 minutes).
 */
import { describe, expect, it } from 'vitest';
import { type StepDeps, verifyPrefixes } from '#aws/steps.ts';
import type { AssociationPrefixes } from '#core/link/prefixes.ts';
import { PrefixesNotCoveredError } from '#core/link/verify.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import { LINK, REQUEST, stepHarness } from '../support/step-harness.ts';

const MIN = 60_000;

/** A gateway with one association whose state and prefixes the test sets. */
function gateway(association: AssociationPrefixes) {
  const added: string[][] = [];
  return {
    association,
    added,
    port: {
      associations: async () => [structuredClone(association)],
      add: async (_id: string, prefixes: string[]) => {
        added.push(prefixes);
        association.allowedPrefixes.push(...prefixes);
        association.state = 'updating';
      },
    },
  };
}

function harness(association: AssociationPrefixes, manage = false) {
  const h = stepHarness();
  const gw = gateway(association);
  const deps = {
    ...h.deps,
    prefixes: gw.port,
    settings: { ...h.deps.settings, manageAllowedPrefixes: manage, prefixWaitMs: 30 * MIN },
  } as unknown as StepDeps;
  return { h, gw, deps };
}

const input = (verify?: { deadline: string; added: string[]; checkedAt?: string }) => ({
  linkId: LINK,
  request: REQUEST as LinkRequest,
  ...(verify ? { verify } : {}),
});

describe('verifyPrefixes', () => {
  it('fails at the deadline after checks two minutes apart, naming the route not applied', async () => {
    const { h, deps } = harness({
      associationId: 'a-1',
      state: 'updating',
      allowedPrefixes: ['10.10.0.0/16'],
    });
    let state = await verifyPrefixes(deps, input());
    expect(state).toMatchObject({ next: 'wait', waitSeconds: 120 });
    for (let i = 0; i < 14; i++) {
      h.clock.advance(2 * MIN);
      state = await verifyPrefixes(deps, input(state));
      expect(state.next).toBe('wait');
    }
    h.clock.advance(2 * MIN);
    await expect(verifyPrefixes(deps, input(state))).rejects.toThrow(PrefixesNotCoveredError);
    await expect(verifyPrefixes(deps, input(state))).rejects.toThrow(/has not applied 10\.10\.0\.0\/16/);
  });

  it('re-checks instead of failing when the check before was long ago, then goes covered', async () => {
    const { h, gw, deps } = harness(
      { associationId: 'a-1', state: 'associated', allowedPrefixes: ['10.0.0.0/8'] },
      true,
    );
    gw.association.allowedPrefixes = [];
    // The first check adds the route; the update is being applied.
    const first = await verifyPrefixes(deps, input());
    expect(first).toMatchObject({ next: 'wait', added: ['10.10.0.0/16'] });
    expect(gw.association.state).toBe('updating');
    // Nothing ran for 108 minutes; the check that follows still sees the update being applied.
    h.clock.advance(108 * MIN);
    const late = await verifyPrefixes(deps, input(first));
    expect(late).toMatchObject({ next: 'wait', waitSeconds: 120, deadline: first.deadline });
    expect(late.checkedAt).toBe(new Date(h.clock.now()).toISOString());
    // The update applied: covered.
    gw.association.state = 'associated';
    h.clock.advance(2 * MIN);
    expect(await verifyPrefixes(deps, input(late))).toMatchObject({ next: 'covered' });
  });

  it('still fails a route that stays uncovered across the watched re-check after a gap', async () => {
    const { h, deps } = harness({
      associationId: 'a-1',
      state: 'associated',
      allowedPrefixes: ['10.99.0.0/16'],
    });
    const first = await verifyPrefixes(deps, input());
    h.clock.advance(108 * MIN);
    const late = await verifyPrefixes(deps, input(first));
    expect(late.next).toBe('wait');
    h.clock.advance(2 * MIN);
    await expect(verifyPrefixes(deps, input(late))).rejects.toThrow(/does not allow 10\.10\.0\.0\/16/);
  });

  it('treats a run without a previous check time (an execution started before it was kept) as unwatched', async () => {
    const { h, deps } = harness({
      associationId: 'a-1',
      state: 'associated',
      allowedPrefixes: ['10.99.0.0/16'],
    });
    h.clock.advance(40 * MIN);
    const deadline = new Date(h.clock.now() - 10 * MIN).toISOString();
    const state = await verifyPrefixes(deps, input({ deadline, added: [] }));
    expect(state).toMatchObject({ next: 'wait', deadline });
    h.clock.advance(2 * MIN);
    await expect(verifyPrefixes(deps, input(state))).rejects.toThrow(PrefixesNotCoveredError);
  });
});
