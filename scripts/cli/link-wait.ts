/**
 * `--wait` for link commands: polls `GET /links/{id}` with exponential backoff until the link
 * reaches the state waited for. Another end state (REJECTED, EXPIRED, FAILED, DECOMMISSIONED when
 * not the one waited for) ends the wait with OtherEndStateError (exit 6); running out of time with
 * TimedOutError (exit 5). Time is the target's clock: the local cloud's virtual clock, or the
 * system clock for real accounts, so `--timeout 30m` means thirty minutes of that clock.
 */
import { TimedOutError } from '#core/errors.ts';
import { OtherEndStateError } from './errors.ts';
import type { IntakeAccess, LinkResource } from './intake-client.ts';

const END_STATES = new Set(['ACTIVE', 'DECOMMISSIONED', 'REJECTED', 'EXPIRED', 'FAILED']);
/** When --wait has no --timeout: a day of the target's clock. */
export const DEFAULT_WAIT_MS = 24 * 3_600_000;

export interface WaitOptions {
  /** The state waited for, or what is waited for when `done` says it (e.g. `decommission REJECTED`). */
  until: string;
  /** When given, the wait ends with this link instead of on reaching the state `until`. */
  done?: (link: LinkResource) => boolean;
  timeoutMs: number;
  /** Called with each state seen for the first time (progress lines). */
  onState?: (link: LinkResource) => void;
  /** Called after every poll that does not end the wait, with the time waited so far. */
  onPoll?: (link: LinkResource, waitedMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  firstPollMs?: number;
}

export async function waitForLinkState(
  access: IntakeAccess,
  id: string,
  options: WaitOptions,
): Promise<LinkResource> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const start = await access.clock.now();
  let pause = options.firstPollMs ?? 200;
  let last: string | undefined;
  let attemptAtStart: number | undefined;
  for (;;) {
    const link = await access.client.get(id);
    attemptAtStart ??= link.decommission?.attempt ?? 1;
    if (link.state !== last) {
      last = link.state;
      options.onState?.(link);
    }
    if (options.done ? options.done(link) : link.state === options.until) return link;
    const ended = options.until === 'DECOMMISSIONED' ? decommissionEnded(link, attemptAtStart) : undefined;
    if (ended) throw new OtherEndStateError(`link ${id}: ${ended}, not ${options.until}`);
    if (options.until === 'DECOMMISSIONED' ? link.state === 'FAILED' : END_STATES.has(link.state)) {
      const why = link.stages.at(-1)?.reason;
      throw new OtherEndStateError(
        `link ${id} ended ${link.state}${why ? ` (${why})` : ''}, not ${options.until}`,
      );
    }
    const waited = (await access.clock.now()) - start;
    options.onPoll?.(link, waited);
    if (waited >= options.timeoutMs)
      throw new TimedOutError(
        `timed out after ${formatMs(options.timeoutMs)} waiting for link ${id} to be ${options.until}; it is ${link.state}`,
      );
    await sleep(pause);
    pause = Math.min(pause * 2, access.maxPollMs);
  }
}

/**
 * While a decommission is pending, approved or draining the link keeps its state (ACTIVE, DEGRADED,
 * DOWN, then DECOMMISSIONING), so the end of a decommission wait is read from the request itself:
 * rejected, expired, or stalled because the peer never reported its half drained (that stops the
 * attempt and raises the number for the next one).
 */
function decommissionEnded(link: LinkResource, attemptAtStart: number): string | undefined {
  const d = link.decommission;
  if (!d) return undefined;
  if (d.status === 'REJECTED' || d.status === 'EXPIRED')
    return `the decommission request was ${d.status.toLowerCase()}${d.decision?.reason ? ` (${d.decision.reason})` : ''}`;
  // A stall raises the attempt: one seen at the start belongs to an earlier attempt, not this wait's.
  if (d.stalled && d.attempt > attemptAtStart)
    return `decommission attempt ${d.attempt - 1} stopped before deleting (${d.stalled.reason})`;
  return undefined;
}

/**
 * What `approve` / `reject --wait` waits for, from the link the decision returned: the intake
 * routes a decision on a link past its own approval to its pending decommission, so a provisioning
 * approval waits for ACTIVE (REJECTED), a decommission approval for DECOMMISSIONED, and a
 * decommission rejection for the request's status REJECTED (the link stays as it was).
 */
export function decisionWait(
  decision: 'approve' | 'reject',
  link: LinkResource,
): { until: string; said: string; done?: (link: LinkResource) => boolean } {
  const forDecommission =
    link.decommission !== undefined && !['REQUESTED', 'AWAITING_APPROVAL'].includes(link.state);
  const said = decision === 'approve' ? 'approved' : 'rejected';
  if (!forDecommission) return { until: decision === 'approve' ? 'ACTIVE' : 'REJECTED', said };
  if (decision === 'approve') return { until: 'DECOMMISSIONED', said: `${said} the decommission` };
  return {
    until: 'decommission REJECTED',
    said: `${said} the decommission`,
    done: (l) => l.decommission?.status === 'REJECTED',
  };
}

export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
