/**
 * The progress line of `--wait` in a terminal: one line on stderr, rewritten in place at each poll,
 * with the stage, the time waited and what the link waits for; cleared when the wait ends. Silent
 * with `--json` and when stderr is not a terminal (a pipe, a file, CI), where the stage lines on
 * stdout are the record.
 */
import type { LinkResource } from './intake-client.ts';
import type { CliIO } from './io.ts';

export interface Progress {
  update(link: LinkResource, waitedMs: number): void;
  done(): void;
}

const SILENT: Progress = { update: () => {}, done: () => {} };
const CLEAR = '\r\x1b[2K';

/** `1h 02m`, `3m 07s`, `12s`. */
export function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h ${pad(m)}m`;
  if (m > 0) return `${m}m ${pad(s % 60)}s`;
  return `${s % 60}s`;
}

/** What the link waits for in its state, in a few words. */
export function waitingOn(link: LinkResource): string {
  const sides = ['aws', 'gcp'] as const;
  const up = (side: (typeof sides)[number]) => link.halves[side].state === 'UP';
  switch (link.state) {
    case 'REQUESTED':
      return 'both sides to record the request';
    case 'AWAITING_APPROVAL': {
      const approved = new Set(link.approvals.filter((a) => a.decision === 'approve').map((a) => a.side));
      const missing = sides.filter((s) => !approved.has(s));
      return missing.length > 0
        ? `the ${missing.join(' and ')} approval${missing.length > 1 ? 's' : ''}`
        : 'the approvals to land';
    }
    case 'APPROVED':
      return 'provisioning to start';
    case 'PROVISIONING': {
      const down = sides.filter((s) => !up(s));
      return down.length > 0
        ? `the ${down.join(' and ')} half to come up (${down.map((s) => link.halves[s].state).join(', ')})`
        : 'both halves to report up';
    }
    case 'DECOMMISSIONING':
      return 'both halves to be deleted';
    default:
      return link.decommission?.status === 'PENDING'
        ? 'the decommission approval'
        : `the link to leave ${link.state}`;
  }
}

/** The progress line for `until`, or a silent one (`--json`, stderr not a terminal). */
export function progressLine(io: CliIO, json: boolean, until: string): Progress {
  const tty = io.status;
  if (json || !tty?.isTTY) return SILENT;
  let shown = false;
  return {
    update(link, waitedMs) {
      shown = true;
      tty.write(`${CLEAR}waiting for ${until}: ${link.state}, ${elapsed(waitedMs)}, on ${waitingOn(link)}`);
    },
    done() {
      if (shown) tty.write(CLEAR);
      shown = false;
    },
  };
}
