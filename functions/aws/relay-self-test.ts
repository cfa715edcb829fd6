/**
 * The relay's self-test (`crosslink doctor`): what only the relay's own identity can prove, run by
 * the relay function itself with its role's credentials when invoked with `{"crosslinkSelfTest":
 * true}` instead of an SQS batch: its configuration reads, the workload identity exchange gives a
 * Google token, and that token holds `pubsub.topics.publish` on the peer topic
 * (`topics.testIamPermissions`, which publishes nothing). Each step answers ok or the reason.
 */
import type { GoogleTokenSource } from './google-federation.ts';
import { type GoogleRelayConfig, googleRelayConfig } from './google-relay.ts';

export interface SelfTestStep {
  step: 'configuration' | 'token exchange' | 'publish permission';
  ok: boolean;
  detail: string;
}

export interface SelfTestReport {
  ok: boolean;
  steps: SelfTestStep[];
}

export function isSelfTest(event: unknown): boolean {
  return (
    typeof event === 'object' &&
    event !== null &&
    (event as { crosslinkSelfTest?: unknown }).crosslinkSelfTest === true
  );
}

const PUBLISH = 'pubsub.topics.publish';

export async function relaySelfTest(
  env: Record<string, string | undefined>,
  deps: {
    client: (config: GoogleRelayConfig) => GoogleTokenSource;
    fetch?: typeof fetch;
  },
): Promise<SelfTestReport> {
  const steps: SelfTestStep[] = [];
  const done = () => ({ ok: steps.every((s) => s.ok), steps });
  let config: GoogleRelayConfig;
  try {
    config = googleRelayConfig(env);
    steps.push({ step: 'configuration', ok: true, detail: `publishes to ${config.project}/${config.topic}` });
  } catch (e) {
    steps.push({ step: 'configuration', ok: false, detail: (e as Error).message });
    return done();
  }
  let token: string;
  try {
    token = (await deps.client(config).getAccessToken()).token;
  } catch (e) {
    steps.push({ step: 'token exchange', ok: false, detail: (e as Error).message });
    return done();
  }
  steps.push({
    step: 'token exchange',
    ok: true,
    detail: 'workload identity federation gave a Google token',
  });
  const url = `${config.pubsubEndpoint}/v1/projects/${config.project}/topics/${encodeURIComponent(config.topic)}:testIamPermissions`;
  let res: Response;
  try {
    res = await (deps.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ permissions: [PUBLISH] }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (e) {
    steps.push({
      step: 'publish permission',
      ok: false,
      detail: `${config.pubsubEndpoint} did not answer: ${(e as Error).message}`,
    });
    return done();
  }
  const json = (await res.json().catch(() => ({}))) as {
    permissions?: string[];
    error?: { status?: string; message?: string };
  };
  // Pub/Sub always answers testIamPermissions; an endpoint that cannot (a bare emulator answers
  // 501) is not the Pub/Sub the relay should publish to.
  if (res.status === 501)
    steps.push({
      step: 'publish permission',
      ok: false,
      detail: `${config.pubsubEndpoint} answered 501 (no IAM to ask): not Pub/Sub, or an emulator without its IAM front`,
    });
  else if (res.ok)
    steps.push(
      json.permissions?.includes(PUBLISH)
        ? { step: 'publish permission', ok: true, detail: `holds ${PUBLISH} on ${config.topic}` }
        : {
            step: 'publish permission',
            ok: false,
            detail: `lacks ${PUBLISH} on ${config.topic} (the topic grant of the relay's principal set)`,
          },
    );
  else
    steps.push({
      step: 'publish permission',
      ok: false,
      detail:
        `topics.testIamPermissions on ${config.topic}: ${res.status} ${json.error?.status ?? ''} ${json.error?.message ?? ''}`.trim(),
    });
  return done();
}
