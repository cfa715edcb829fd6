/**
 * The run's settings in the policy (config/policy.yaml `vpn`) and its prices (config/pricing.yaml
 * `vpn`). Every problem names its field: `vpn.mode.prod: must be dry-run or apply, got "yes"`.
 *
 * - `vpn.coordinator: aws | gcp`: the one side with a schedule, which plans and commands both halves.
 * - `vpn.mode: {prod: dry-run | apply, nonprod: dry-run | apply}`: per VPN environment (a VPN is
 *   nonprod only when both halves are labelled so); an environment not named runs dry.
 * - `vpn.planner`: the planner's policy (docs/vpn-planner.md, the links file's `policy` keys).
 */
import { type Issue, ValidationError } from '../errors.ts';
import { DEFAULT_POLICY, type PlannerPolicy, readPolicy } from './policy.ts';
import { Reader } from './read.ts';

export type VpnEnvironment = 'prod' | 'nonprod';
export type VpnRunMode = 'dry-run' | 'apply';

/** Hourly prices of a VPN (config/pricing.yaml `vpn`); null where no price is known. */
export interface VpnPrices {
  readonly currency: string;
  readonly awsConnectionHour: number | null;
  readonly gcpTunnelHour: number | null;
  readonly hoursPerMonth: number;
  readonly source: string;
}

export interface VpnRunSettings {
  readonly coordinator: 'aws' | 'gcp';
  readonly mode: Readonly<Record<VpnEnvironment, VpnRunMode>>;
  readonly planner: PlannerPolicy;
}

const MODES: readonly string[] = ['dry-run', 'apply'];
const KEYS = new Set(['coordinator', 'mode', 'planner']);

/** The `vpn` section of a policy document (absent: AWS coordinates, everything dry-run, planner defaults). */
export function readVpnRunSettings(vpn: unknown): VpnRunSettings {
  const issues: Issue[] = [];
  if (vpn === undefined)
    return { coordinator: 'aws', mode: { prod: 'dry-run', nonprod: 'dry-run' }, planner: DEFAULT_POLICY };
  if (!vpn || typeof vpn !== 'object' || Array.isArray(vpn))
    throw new ValidationError([{ path: 'vpn', reason: 'must be an object' }], 'policy');
  const o = vpn as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!KEYS.has(k)) issues.push({ path: `vpn.${k}`, reason: 'unknown setting' });
  const coordinator = o.coordinator ?? 'aws';
  if (coordinator !== 'aws' && coordinator !== 'gcp')
    issues.push({
      path: 'vpn.coordinator',
      reason: `must be aws or gcp, got ${JSON.stringify(coordinator)}`,
    });
  const mode: Record<VpnEnvironment, VpnRunMode> = { prod: 'dry-run', nonprod: 'dry-run' };
  if (o.mode !== undefined) {
    if (!o.mode || typeof o.mode !== 'object' || Array.isArray(o.mode))
      issues.push({ path: 'vpn.mode', reason: 'must map prod and nonprod to dry-run or apply' });
    else
      for (const [env, m] of Object.entries(o.mode as Record<string, unknown>)) {
        if (env !== 'prod' && env !== 'nonprod')
          issues.push({ path: `vpn.mode.${env}`, reason: 'unknown environment: prod or nonprod' });
        else if (typeof m !== 'string' || !MODES.includes(m))
          issues.push({
            path: `vpn.mode.${env}`,
            reason: `must be dry-run or apply, got ${JSON.stringify(m)}`,
          });
        else mode[env] = m as VpnRunMode;
      }
  }
  const r = new Reader();
  const planner = readPolicy(o.planner, r, 'vpn.planner');
  issues.push(...r.issues);
  if (issues.length) throw new ValidationError(issues, 'policy');
  return { coordinator: coordinator as 'aws' | 'gcp', mode, planner };
}

/** Whether `--apply` can apply anything: some environment's mode is apply. */
export function applyAllowed(s: VpnRunSettings): VpnEnvironment[] {
  return (['prod', 'nonprod'] as const).filter((e) => s.mode[e] === 'apply');
}

/** config/pricing.yaml's `vpn` section and `currency`; every bad field named. */
export function readVpnPrices(pricing: unknown): VpnPrices {
  const issues: Issue[] = [];
  const root = (pricing && typeof pricing === 'object' ? pricing : {}) as Record<string, unknown>;
  const vpn = root.vpn;
  if (!vpn || typeof vpn !== 'object' || Array.isArray(vpn))
    throw new ValidationError([{ path: 'vpn', reason: 'is required: the VPN hourly prices' }], 'pricing');
  const o = vpn as Record<string, unknown>;
  const price = (k: string): number | null => {
    const v = o[k];
    if (v === null) return null;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
    issues.push({ path: `vpn.${k}`, reason: 'must be a price per hour (>= 0) or null when unknown' });
    return null;
  };
  const awsConnectionHour = price('awsConnectionHour');
  const gcpTunnelHour = price('gcpTunnelHour');
  const hours = o.hoursPerMonth ?? 730;
  if (typeof hours !== 'number' || !(hours > 0))
    issues.push({ path: 'vpn.hoursPerMonth', reason: 'must be a number of hours > 0' });
  const source = typeof o.source === 'string' && o.source ? o.source : '';
  if (!source) issues.push({ path: 'vpn.source', reason: 'is required: where the prices come from' });
  const currency = typeof root.currency === 'string' ? root.currency : '';
  if (!/^[A-Z]{3}$/.test(currency)) issues.push({ path: 'currency', reason: 'must be a currency code' });
  if (issues.length) throw new ValidationError(issues, 'pricing');
  return { currency, awsConnectionHour, gcpTunnelHour, hoursPerMonth: hours as number, source };
}
