/**
 * The planner's policy: windows, thresholds, backup rules, change windows, IaC handling and prices.
 * Defaults follow docs/architecture.md ("Not built yet") and docs/vpn-planner.md; every value can be set in the links file's `policy`.
 */
import { parseDuration } from '../clock.ts';
import { type Json, Reader } from './read.ts';

export interface ChangeWindow {
  /** Days of the week (UTC) the window opens on, 0 = Sunday. */
  readonly days: readonly number[];
  /** Minutes after midnight UTC; `end <= start` runs past midnight. */
  readonly start: number;
  readonly end: number;
}

export interface BackupRule {
  /** AWS gateway id and Google network the rule is for; absent means every pair. */
  readonly aws: string | undefined;
  readonly gcp: string | undefined;
  /** VPNs to keep up (not drained) between the two networks, whatever the links. */
  readonly minVpns: number;
}

export interface Pricing {
  readonly awsPerConnectionHour: number;
  readonly gcpPerTunnelHour: number;
  readonly hoursPerMonth: number;
  readonly currency: string;
}

export interface PlannerPolicy {
  readonly soakMs: number;
  readonly idleWindowMs: number;
  /** VPN traffic at or under this rate (both directions, all tunnels) counts as idle. */
  readonly idleMaxBytesPerHour: number;
  /** Share of the idle window that traffic samples must cover for "idle" to be believed. */
  readonly minTrafficCoverage: number;
  readonly coolingOffMs: number;
  readonly backup: readonly BackupRule[];
  /** Empty: changes at any time. */
  readonly changeWindows: readonly ChangeWindow[];
  readonly optOutTag: string;
  /** Delete VPNs owned by an IaC tool anyway (they come back on the tool's next apply). */
  readonly allowIacDelete: boolean;
  readonly pricing: Pricing;
}

export const DEFAULT_POLICY: PlannerPolicy = {
  soakMs: parseDuration('72h'),
  idleWindowMs: parseDuration('24h'),
  idleMaxBytesPerHour: 1_000_000,
  minTrafficCoverage: 0.95,
  coolingOffMs: parseDuration('7d'),
  backup: [],
  changeWindows: [],
  optOutTag: 'crosslink:keep',
  allowIacDelete: false,
  pricing: { awsPerConnectionHour: 0.05, gcpPerTunnelHour: 0.05, hoursPerMonth: 730, currency: 'USD' },
};

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Reads a policy object (durations as `72h`, `7d`; windows as `{days: [Sat, Sun], start: "02:00", end: "06:00"}`). */
export function readPolicy(input: unknown, r: Reader = new Reader(), base = 'policy'): PlannerPolicy {
  if (input === undefined) return DEFAULT_POLICY;
  const o = r.object(input, base) ?? {};
  const known = new Set([
    'soak',
    'idleWindow',
    'idleMaxBytesPerHour',
    'minTrafficCoverage',
    'coolingOff',
    'backup',
    'changeWindows',
    'optOutTag',
    'allowIacDelete',
    'pricing',
  ]);
  for (const k of Object.keys(o)) if (!known.has(k)) r.fail(`${base}.${k}`, 'unknown setting');
  const duration = (key: string, fallback: number): number => {
    const v = o[key];
    if (v === undefined) return fallback;
    if (typeof v === 'string') {
      try {
        return parseDuration(v);
      } catch (e) {
        r.fail(`${base}.${key}`, (e as Error).message);
        return fallback;
      }
    }
    r.fail(`${base}.${key}`, 'expected a duration such as "72h" or "7d"');
    return fallback;
  };
  const nonNegative = (v: unknown, path: string, fallback: number): number => {
    if (v === undefined) return fallback;
    const n = r.number(v, path);
    if (n !== undefined && n < 0) r.fail(path, 'must not be negative');
    return n ?? fallback;
  };
  const backup: BackupRule[] = (r.array(o.backup, `${base}.backup`, true) ?? []).map((b, i) => {
    const p = `${base}.backup[${i}]`;
    const bo = r.object(b, p) ?? {};
    const minVpns = nonNegative(bo.minVpns, `${p}.minVpns`, 1);
    if (!Number.isInteger(minVpns)) r.fail(`${p}.minVpns`, 'must be a whole number');
    return { aws: r.optionalString(bo.aws, `${p}.aws`), gcp: r.optionalString(bo.gcp, `${p}.gcp`), minVpns };
  });
  const changeWindows = (r.array(o.changeWindows, `${base}.changeWindows`, true) ?? []).map((w, i) =>
    readWindow(r, w, `${base}.changeWindows[${i}]`),
  );
  const pr = o.pricing === undefined ? {} : (r.object(o.pricing, `${base}.pricing`) ?? {});
  const d = DEFAULT_POLICY.pricing;
  const coverage = nonNegative(
    o.minTrafficCoverage,
    `${base}.minTrafficCoverage`,
    DEFAULT_POLICY.minTrafficCoverage,
  );
  if (coverage > 1) r.fail(`${base}.minTrafficCoverage`, 'is a share between 0 and 1');
  return {
    soakMs: duration('soak', DEFAULT_POLICY.soakMs),
    idleWindowMs: duration('idleWindow', DEFAULT_POLICY.idleWindowMs),
    idleMaxBytesPerHour: nonNegative(
      o.idleMaxBytesPerHour,
      `${base}.idleMaxBytesPerHour`,
      DEFAULT_POLICY.idleMaxBytesPerHour,
    ),
    minTrafficCoverage: coverage,
    coolingOffMs: duration('coolingOff', DEFAULT_POLICY.coolingOffMs),
    backup,
    changeWindows,
    optOutTag: r.optionalString(o.optOutTag, `${base}.optOutTag`) ?? DEFAULT_POLICY.optOutTag,
    allowIacDelete: r.boolean(o.allowIacDelete, `${base}.allowIacDelete`, false),
    pricing: {
      awsPerConnectionHour: nonNegative(
        pr.awsPerConnectionHour,
        `${base}.pricing.awsPerConnectionHour`,
        d.awsPerConnectionHour,
      ),
      gcpPerTunnelHour: nonNegative(
        pr.gcpPerTunnelHour,
        `${base}.pricing.gcpPerTunnelHour`,
        d.gcpPerTunnelHour,
      ),
      hoursPerMonth: nonNegative(pr.hoursPerMonth, `${base}.pricing.hoursPerMonth`, d.hoursPerMonth),
      currency: r.optionalString(pr.currency, `${base}.pricing.currency`) ?? d.currency,
    },
  };
}

function readWindow(r: Reader, w: unknown, p: string): ChangeWindow {
  const o: Json = r.object(w, p) ?? {};
  const days = (r.array(o.days, `${p}.days`) ?? []).flatMap((d, j) => {
    const k = DAYS.indexOf(String(d));
    if (k < 0) r.fail(`${p}.days[${j}]`, `expected one of ${DAYS.join(', ')}`);
    return k < 0 ? [] : [k];
  });
  const minutes = (v: unknown, path: string): number => {
    const m = typeof v === 'string' ? /^(\d{2}):(\d{2})$/.exec(v) : null;
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) {
      r.fail(path, 'expected a UTC time "HH:MM"');
      return 0;
    }
    return Number(m[1]) * 60 + Number(m[2]);
  };
  return { days, start: minutes(o.start, `${p}.start`), end: minutes(o.end, `${p}.end`) };
}

/** Whether `now` falls in one of the windows (no windows: always). */
export function inChangeWindow(windows: readonly ChangeWindow[], now: number): boolean {
  if (windows.length === 0) return true;
  const d = new Date(now);
  const minute = d.getUTCHours() * 60 + d.getUTCMinutes();
  const today = d.getUTCDay();
  const yesterday = (today + 6) % 7;
  return windows.some((w) =>
    w.end > w.start
      ? w.days.includes(today) && minute >= w.start && minute < w.end
      : (w.days.includes(today) && minute >= w.start) || (w.days.includes(yesterday) && minute < w.end),
  );
}

export function describeWindow(w: ChangeWindow): string {
  const hm = (m: number) =>
    `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return `${w.days.map((d) => DAYS[d]).join(',')} ${hm(w.start)}-${hm(w.end)} UTC`;
}
