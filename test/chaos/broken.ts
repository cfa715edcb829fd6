/**
 * Deliberately broken builds, to prove that the chaos runs catch what they are for: a copy of the
 * repository (its node_modules linked, not copied) with one product file patched, which the local
 * cloud then deploys as it deploys the repository (serverless.yml packaged by osls, gcp.yml's
 * functions bundled from the copy). The break exists only in that temporary copy: nothing in the
 * repository can switch it on, so it cannot ship.
 *
 * Each patch names the text it replaces; a copy whose file no longer holds it is refused, so a
 * change to the product cannot quietly turn a broken build into a sound one.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

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
} as const satisfies Record<string, Break>;

export type BreakName = keyof typeof BREAKS;

export interface BrokenCopy {
  dir: string;
  remove(): void;
}

/** Copies the repository to a temporary directory and applies `name`'s patch there. */
export function brokenCopy(name: BreakName): BrokenCopy {
  const patch: Break = BREAKS[name];
  const dir = mkdtempSync(join(tmpdir(), `crosslink-broken-${name}-`));
  cpSync(ROOT, dir, {
    recursive: true,
    filter: (src) => !SKIP.has(relative(ROOT, src).split('/')[0] ?? ''),
  });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const file = join(dir, patch.file);
  const text = readFileSync(file, 'utf8');
  if (!text.includes(patch.from)) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `${patch.file} no longer holds the text the ${name} break replaces: update test/chaos/broken.ts`,
    );
  }
  writeFileSync(file, text.replace(patch.from, patch.to));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
