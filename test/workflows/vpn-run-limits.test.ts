/**
 * A VPN run over 1,000 VPNs stays under 10% of each execution limit (counts, not time): the AWS state
 * machine's history under 2,500 events (Step Functions: 25,000), the Google workflow under 10,000 steps
 * (Workflows: 100,000) and within a tenth of Workflows' 512 KB of variables. Both run on the local
 * engines with the real core steps and the ports in memory (test/support/vpn-run-engines.ts), the
 * other side's inventory through the exchange in pages; `npm run bench -- vpn-run` prints the same
 * figures.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS, measureVpnRun } from '../support/vpn-run-engines.ts';

describe('a VPN run over 1,000 VPNs', () => {
  it('keeps the AWS execution under 10% of the Step Functions history limit', async () => {
    // Act
    const m = await measureVpnRun(1_000, 'aws');
    // Assess
    expect(m.state).toBe('SUCCEEDED');
    expect(m.pages).toBe(40);
    expect(m.historyEvents).toBeLessThanOrEqual(LIMITS.awsHistoryEvents / 10);
  }, 60_000);

  it('keeps the Google execution under 10% of the Workflows step limit and within a tenth of its memory', async () => {
    // Act
    const m = await measureVpnRun(1_000, 'gcp', { memoryFraction: 0.1, maxSteps: LIMITS.gcpSteps / 10 });
    // Assess
    expect(m.state).toBe('SUCCEEDED');
    expect(m.pages).toBe(40);
    expect(m.steps).toBeLessThanOrEqual(LIMITS.gcpSteps / 10);
  }, 60_000);

  it('would fail under a memory cap its variables outgrow (the cap is enforced)', async () => {
    // Act
    const m = await measureVpnRun(1_000, 'gcp', { memoryFraction: 0.001 });
    // Assess
    expect(m.state).toMatch(/^FAILED .*ResourceLimitError/);
  }, 60_000);
});
