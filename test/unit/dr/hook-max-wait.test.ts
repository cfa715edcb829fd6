/**
 * The commanded side's cap on a hook's wait (`HOOK_MAX_WAIT_MS`) is the commanded function's own
 * time limit less the time to answer, on both clouds: a hook slower than the function's limit is
 * answered HookTimedOut, never cut off with no answer sent. The deployment files must say the
 * limit the code assumes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COMMANDED_TIMEOUT_S, HOOK_MAX_WAIT_MS } from '#core/dr/commanded.ts';
import { loadGcpConfig } from '#deployment/gcp-config.ts';

describe("the commanded side's wait for a hook", () => {
  it("is the function's time limit less 30 s to answer", () => {
    expect(HOOK_MAX_WAIT_MS).toBe((COMMANDED_TIMEOUT_S - 30) * 1000);
  });

  it("matches serverless.yml's drCommanded timeout", () => {
    const sls = parse(readFileSync('serverless.yml', 'utf8'), { logLevel: 'silent' }) as {
      functions: Record<string, { timeout?: number }>;
    };
    expect(sls.functions.drCommanded?.timeout).toBe(COMMANDED_TIMEOUT_S);
  });

  it("matches gcp.yml's dr-commanded timeoutSeconds", () => {
    const fn = loadGcpConfig('gcp.yml').functions.find((f) => f.name === 'dr-commanded');
    expect(fn?.timeoutSeconds).toBe(COMMANDED_TIMEOUT_S);
  });
});
