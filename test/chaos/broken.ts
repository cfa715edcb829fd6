/**
 * Deliberately broken builds, to prove that the chaos runs catch what they are for: a copy of the
 * repository (its node_modules linked, not copied) with one product file patched, which the local
 * cloud then deploys as it deploys the repository (serverless.yml packaged by osls, gcp.yml's
 * functions bundled from the copy). The break exists only in that copy, under the checkout's
 * ignored `.crosslink/broken/<name>/`: nothing in the repository can switch it on, so it cannot
 * ship. The copy is made afresh each time, but keeps its builds (`.serverless/`, `.crosslink/`), so
 * a second run packages only what changed, as the repository's own deploys do.
 *
 * Each patch names the text it replaces; a copy whose file no longer holds it is refused, so a
 * change to the product cannot quietly turn a broken build into a sound one.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** Neither copied nor needed: the dependencies are linked; builds and state are made anew. */
const SKIP = new Set(['node_modules', '.git', '.serverless', '.crosslink', '.crosslink-package.lock']);

export interface Break {
  /** What is broken, as a reader of a report would say it. */
  what: string;
  file: string;
  from: string;
  to: string;
}

export const BREAKS = {
  /**
   * The peer-event consumers' dedupe turned off (functions/core/link/intake.ts `consumePeerEvent`):
   * every delivery of a peer event claims its id, whether another delivery holds it or already
   * applied it, so a duplicated delivery is applied again.
   */
  'no-dedupe': {
    what: "the peer-event consumers' dedupe turned off",
    file: 'functions/core/link/intake.ts',
    from: "const claim = await deps.store.claim(key, now + (deps.peerEventLeaseMs ?? PEER_EVENT_LEASE_MS), 'pending');",
    to: 'const claim = { claimed: true, result: undefined }; void now; void PEER_EVENT_LEASE_MS;',
  },
  /**
   * Compensation turned off (functions/core/link/compensate.ts): a provisioning run that failed
   * marks the link FAILED and deletes none of the halves it made, which then bill with nobody
   * asking for them.
   */
  'no-compensation': {
    what: 'compensation deleting nothing',
    file: 'functions/core/link/compensate.ts',
    from: 'for (const h of await deps.halves.findHalves(input.linkId, ownRegion(before, deps.origin.cloud))) {',
    to: 'for (const h of (await deps.halves.findHalves(input.linkId, ownRegion(before, deps.origin.cloud))).slice(0, 0)) {',
  },
  /**
   * No way back from DOWN (functions/core/link/transition.ts): a link whose half went down stays
   * DOWN once both halves are up again, as if nothing watched for the recovery.
   */
  'no-recovery': {
    what: 'a DOWN link never coming back to ACTIVE',
    file: 'functions/core/link/transition.ts',
    from: "if (!bothUp || live === 'DOWN') return { link, events: [] };",
    to: "if (bothUp || live === 'DOWN' || !bothUp) return { link, events: [] };",
  },
  /**
   * The old writer never fenced (functions/aws/dr-hook-runner.ts): AWS's commanded side answers a
   * `fence-writer` action done without invoking its hook, so a failover promotes the standby while
   * the old primary's database can still take writes once its region returns.
   */
  'no-fence': {
    what: "the old writer's fence answered done without running its hook",
    file: 'functions/aws/dr-hook-runner.ts',
    from: "const hook = hookOf(action, 'AWS');",
    to: "const hook = hookOf(action, 'AWS'); if (action.type === 'fence-writer') return {};",
  },
} as const satisfies Record<string, Break>;

export type BreakName = keyof typeof BREAKS;

/** Copies the repository to `.crosslink/broken/<name>/` and applies `name`'s patch there; returns the copy. */
export function brokenCopy(name: BreakName): string {
  const patch: Break = BREAKS[name];
  const dir = join(ROOT, '.crosslink', 'broken', name);
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(dir))
    if (!SKIP.has(entry)) rmSync(join(dir, entry), { recursive: true, force: true });
  // Entry by entry: the copy lives inside the checkout, which fs.cp refuses to copy into itself.
  for (const entry of readdirSync(ROOT))
    if (!SKIP.has(entry)) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  if (!existsSync(join(dir, 'node_modules')))
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const file = join(dir, patch.file);
  const text = readFileSync(file, 'utf8');
  if (!text.includes(patch.from))
    throw new Error(
      `${patch.file} no longer holds the text the ${name} break replaces: update test/chaos/broken.ts`,
    );
  writeFileSync(file, text.replace(patch.from, patch.to));
  return dir;
}
