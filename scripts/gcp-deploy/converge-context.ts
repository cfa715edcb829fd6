/**
 * What every converge phase (converge.ts and the per-kind modules beside it) shares: the deploy's
 * options, the context a phase reads the project and runs commands through, and the small
 * comparisons and flag builders the phases use to tell what differs from what gcp.yml wants.
 */
import canonicalizeModule from 'canonicalize';
import { keyValues } from '#deployment/gcloud-flags.ts';
import { functionRegion, type GcpConfig } from '#deployment/gcp-config.ts';
import type { IamContext, Policy } from '#deployment/gcp-grants.ts';
import type { Gcloud, GcloudSession } from './gcloud.ts';

const canonicalize = canonicalizeModule as unknown as (v: unknown) => string | undefined;

export const MANAGED_LABEL = 'crosslink-managed';
export const MANAGED_MARK = '(managed by crosslink)';
/** Labels gcloud or the platform adds by itself: never a difference, never removed. */
export const PLATFORM_LABELS = new Set(['deployment-tool', 'goog-managed-by']);

export interface DeployOptions {
  config: GcpConfig;
  project: string;
  /** The config's region unless overridden. */
  region?: string;
  gcloud: Gcloud;
  dryRun: boolean;
  prune: boolean;
  /** Where function packages are written (`--source` of the deploys). */
  buildDir: string;
  /** Paths in printed commands are relative to this directory. */
  cwd: string;
  /** Receives every command line, run or (dry run) not. */
  out: (line: string) => void;
  /** Receives notes (skipped kinds, why a resource is replaced). */
  note?: (line: string) => void;
}

export interface DeployResult {
  /** The commands run (or, dry run, that would run), in order. */
  commands: string[][];
}

/** One run's project, options and gcloud session, as each converge phase takes it. */
export interface Converge extends Pick<GcloudSession, 'readJson' | 'readOrNull' | 'exec' | 'mut'> {
  o: DeployOptions;
  config: GcpConfig;
  project: string;
  projectNumber: string;
  region: string;
  /** Each network project's number, described before anything changed. */
  networkNumbers: Map<string, string>;
  iam: IamContext;
  note: (line: string) => void;
  /** A gcp.yml service account reference as this project's email. */
  email: (ref: string) => string;
  /** Function URLs as the platform reports them, filled in by the functions phase. */
  functionUrls: Map<string, string>;
}

export type Labels = Record<string, string>;

export const same = (a: unknown, b: unknown) => canonicalize(a) === canonicalize(b);
export const last = (name: string) => name.slice(name.lastIndexOf('/') + 1);
export const managedLabels = (labels: Labels | undefined): Labels => ({ ...labels, [MANAGED_LABEL]: 'true' });
export const isManaged = (labels: Labels | undefined) => labels?.[MANAGED_LABEL] === 'true';
export const marked = (description: string | undefined) =>
  description ? `${description} ${MANAGED_MARK}` : MANAGED_MARK;
export const isMarked = (description: string | undefined) => description?.endsWith(MANAGED_MARK) ?? false;
export const seconds = (d: string) => `${Number.parseFloat(d)}s`;
export const without = (map: Labels | undefined, drop: Set<string>): Labels =>
  Object.fromEntries(Object.entries(map ?? {}).filter(([k]) => !drop.has(k)));
/** A gcloud list's result (JSON null when the list is empty) as an array. */
export const listed = <T>(list: T[] | null | undefined): T[] => list ?? [];

/**
 * A function's URL: the one the platform reported, else the URL it will have once deployed (in its
 * own region, else the file's).
 */
export function functionUrl(c: Converge, name: string): string {
  const spec = c.config.functions.find((f) => f.name === name);
  const region = (spec && functionRegion(spec, c)) ?? c.region;
  return c.functionUrls.get(name) ?? `https://${region}-${c.project}.cloudfunctions.net/${name}`;
}

/** `--update-labels` for what differs and `--remove-labels` for what is not wanted. */
export function labelFlags(want: Labels, have: Labels | undefined, prefix = 'labels'): string[] {
  const h = without(have, PLATFORM_LABELS);
  const flags: string[] = [];
  if (Object.keys(want).some((k) => h[k] !== want[k])) flags.push(`--update-${prefix}=${keyValues(want)}`);
  const extra = Object.keys(h).filter((k) => !(k in want));
  if (extra.length > 0) flags.push(`--remove-${prefix}=${extra.sort().join(',')}`);
  return flags;
}

/** The members an IAM policy binds to a role without a condition. */
export function members(policy: Policy | null, role: string): Set<string> {
  return new Set(
    (policy?.bindings ?? []).filter((b) => b.role === role && !b.condition).flatMap((b) => b.members),
  );
}

/** The gcloud arguments that add or remove one member's role on one resource. */
export function resourceBinding(
  op: 'add' | 'remove',
  group: string[],
  name: string,
  member: string,
  role: string,
): string[] {
  return [...group, `${op}-iam-policy-binding`, name, `--member=${member}`, `--role=${role}`];
}
