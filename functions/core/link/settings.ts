/**
 * The settings every orchestrated half reads from its runtime environment (Lambda variables, Cloud
 * Run function variables), with one set of names and defaults for both clouds, so a wait or deadline
 * never differs between the halves of a link because one runtime spelt a default differently.
 */
import { parseDuration } from '../clock.ts';
import { ValidationError } from '../errors.ts';
import type { StepSettings } from './stage.ts';

export type Environment = Record<string, string | undefined>;

/** The variable's value; an Error naming it when it is unset or empty. */
export function need(env: Environment, name: string): string {
  const v = env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

/** A variable holding JSON, parsed; undefined when unset or empty; ValidationError naming it when not JSON. */
export function jsonSetting(env: Environment, name: string): unknown {
  const raw = env[name];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new ValidationError(
      [{ path: name, reason: `not valid JSON: ${(e as Error).message}` }],
      'settings',
    );
  }
}

/** Cost tags / labels (`CROSSLINK_COST_TAGS`, a JSON object) put on every created resource. */
export function costTags(env: Environment): Record<string, string> {
  return JSON.parse(env.CROSSLINK_COST_TAGS ?? '{}') as Record<string, string>;
}

/**
 * The peer's sealing key, or undefined when both variables are empty (the first phase of a deploy,
 * before the peer exists: links are refused until the next deploy gives them). One without the
 * other is a broken deploy, named.
 */
export function peerKey(env: Environment): { publicKeyPem: string; keyId: string } | undefined {
  const publicKeyPem = env.CROSSLINK_PEER_PUBLIC_KEY_PEM ?? '';
  const keyId = env.CROSSLINK_PEER_KEY_ID ?? '';
  if (publicKeyPem === '' && keyId === '') return undefined;
  return {
    publicKeyPem: need(env, 'CROSSLINK_PEER_PUBLIC_KEY_PEM'),
    keyId: need(env, 'CROSSLINK_PEER_KEY_ID'),
  };
}

/** The steps' settings: approval waits, the peer's sealing key, drain and up deadlines. */
export function stepSettings(env: Environment): StepSettings {
  return {
    escalateAfterMs: parseDuration(env.CROSSLINK_APPROVAL_ESCALATE_AFTER ?? '24h'),
    expireAfterMs: parseDuration(env.CROSSLINK_APPROVAL_EXPIRE_AFTER ?? '72h'),
    pollEveryMs: Math.min(3_600_000, parseDuration(env.CROSSLINK_POLL_EVERY ?? '1h')),
    peerKey: peerKey(env),
    tags: costTags(env),
    drainWaitMs: parseDuration(env.CROSSLINK_DRAIN_WAIT ?? '6h'),
    drainSoakMs: parseDuration(env.CROSSLINK_DRAIN_SOAK ?? '10m'),
    upDeadlineMs: parseDuration(env.CROSSLINK_UP_DEADLINE ?? '7d'),
    orphanSweepEveryMs: parseDuration(env.CROSSLINK_ORPHAN_SWEEP_EVERY ?? '15m'),
  };
}
