/**
 * Route 53 health checks as the local cloud runs them (Route 53 Developer Guide, "How Amazon Route 53
 * determines whether a health check is healthy"):
 *
 * - HTTP / HTTPS / HTTP_STR_MATCH / HTTPS_STR_MATCH / TCP checks of an endpoint of the world
 *   (local/world/endpoints.ts), by `IPAddress` or `FullyQualifiedDomainName` (resolved through the
 *   local DNS providers when no endpoint is registered under the name) and `Port`. Every
 *   `RequestInterval` (10 or 30 s of virtual time) each checker region in `Regions` (default: the
 *   eight Route 53 checker regions) sends one request. HTTP(S) passes on a 2xx or 3xx status,
 *   STR_MATCH when `SearchString` also appears in the first 5,120 bytes of the body, TCP when the
 *   connection is accepted. A checker changes its view after `FailureThreshold` results in a row
 *   against it (default 3). The check is healthy while more than 18% of the checkers that report
 *   see it healthy; a checker in a region that is out reports nothing, and with no checker reporting
 *   the status stays as it was.
 * - RECOVERY_CONTROL checks follow a routing control: healthy while it is On, at once.
 * - `Inverted` turns the result over; a `Disabled` check is healthy.
 * - Every status is kept with its instant, so the `HealthCheckStatus` metric (AWS/Route53, us-east-1,
 *   dimension HealthCheckId; 1 healthy, 0 unhealthy) has one sample per minute
 *   (local/aws/services/cloudwatch.ts).
 *
 * CALCULATED and CLOUDWATCH_METRIC checks are not simulated: creating one is refused.
 */
import type { Timer, TimerClock } from '#local/clock.ts';
import type { Random } from '#local/random.ts';
import { dnsResolverOf } from '#local/world/dns-resolvers.ts';
import { endpointAt, probeEndpoint } from '#local/world/endpoints.ts';
import { perClock } from '#local/world/per-clock.ts';
import { regionOutagesOf } from '#local/world/region-outages.ts';
import { AdminRefusal } from '../common/admin-error.ts';
import { type ArcModel, arcOf } from './arc.ts';

/** Route 53's health checker regions (the HealthCheckRegion enum). */
export const CHECKER_REGIONS = [
  'us-east-1',
  'us-west-1',
  'us-west-2',
  'eu-west-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'sa-east-1',
] as const;

const ENDPOINT_TYPES = ['HTTP', 'HTTPS', 'HTTP_STR_MATCH', 'HTTPS_STR_MATCH', 'TCP'] as const;
type CheckType = (typeof ENDPOINT_TYPES)[number] | 'RECOVERY_CONTROL';

/** `HealthCheckConfig` as CloudFormation and CreateHealthCheck take it. */
export interface HealthCheckConfigInput {
  Type?: string;
  IPAddress?: string;
  FullyQualifiedDomainName?: string;
  Port?: number;
  ResourcePath?: string;
  SearchString?: string;
  RequestInterval?: number;
  FailureThreshold?: number;
  Inverted?: boolean;
  Disabled?: boolean;
  Regions?: string[];
  RoutingControlArn?: string;
}

export interface HealthCheck {
  id: string;
  accountId: string;
  type: CheckType;
  config: Required<
    Pick<HealthCheckConfigInput, 'RequestInterval' | 'FailureThreshold' | 'Inverted' | 'Disabled'>
  > &
    HealthCheckConfigInput & { Regions: string[] };
  /** Each checker region's view (healthy or not) and the results in a row against it. */
  checkers: Map<string, { healthy: boolean; against: number }>;
  /** Status changes in time order, the first at creation. */
  history: { at: number; healthy: boolean }[];
  timer: Timer | undefined;
}

export class HealthCheckError extends AdminRefusal {
  constructor(message: string) {
    super(message, 400, 'InvalidInput');
  }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export class HealthChecks {
  readonly checks = new Map<string, HealthCheck>();
  readonly #clock: TimerClock;
  readonly #arc: ArcModel;

  constructor(clock: TimerClock) {
    this.#clock = clock;
    this.#arc = arcOf(clock);
    this.#arc.onStateChange((control) => {
      for (const c of this.checks.values())
        if (c.type === 'RECOVERY_CONTROL' && c.config.RoutingControlArn === control.arn) this.#record(c);
    });
  }

  create(accountId: string, input: HealthCheckConfigInput, random: Random): HealthCheck {
    const type = input.Type as CheckType;
    if (type === ('CALCULATED' as CheckType) || type === ('CLOUDWATCH_METRIC' as CheckType))
      throw new HealthCheckError(`HealthCheckConfig.Type: ${type} health checks are not simulated locally`);
    if (!(ENDPOINT_TYPES as readonly string[]).includes(type) && type !== 'RECOVERY_CONTROL')
      throw new HealthCheckError(
        `HealthCheckConfig.Type: "${String(input.Type)}" must be one of ${[...ENDPOINT_TYPES, 'RECOVERY_CONTROL'].join(', ')}`,
      );
    const interval = input.RequestInterval ?? 30;
    if (interval !== 10 && interval !== 30)
      throw new HealthCheckError(`HealthCheckConfig.RequestInterval: ${interval} must be 10 or 30 (seconds)`);
    const threshold = input.FailureThreshold ?? 3;
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > 10)
      throw new HealthCheckError(
        `HealthCheckConfig.FailureThreshold: ${threshold} must be an integer from 1 to 10`,
      );
    const regions = input.Regions ?? [...CHECKER_REGIONS];
    if (regions.length < 3 || regions.some((r) => !(CHECKER_REGIONS as readonly string[]).includes(r)))
      throw new HealthCheckError(
        `HealthCheckConfig.Regions: at least 3 of ${CHECKER_REGIONS.join(', ')} (got ${regions.join(', ') || 'none'})`,
      );
    if (type === 'RECOVERY_CONTROL') {
      const arn = input.RoutingControlArn;
      const control = arn ? this.#arc.controls.get(arn) : undefined;
      if (!control || control.accountId !== accountId)
        throw new HealthCheckError(
          `HealthCheckConfig.RoutingControlArn: no routing control ${String(arn)} in account ${accountId}`,
        );
    } else {
      if (input.IPAddress === undefined && input.FullyQualifiedDomainName === undefined)
        throw new HealthCheckError('HealthCheckConfig: IPAddress or FullyQualifiedDomainName is required');
      if (input.IPAddress !== undefined && !IPV4.test(input.IPAddress))
        throw new HealthCheckError(
          `HealthCheckConfig.IPAddress: "${input.IPAddress}" is not an IPv4 address`,
        );
      if (type.endsWith('STR_MATCH') && !input.SearchString)
        throw new HealthCheckError(`HealthCheckConfig.SearchString: required for ${type}`);
      if (type === 'TCP' && input.Port === undefined)
        throw new HealthCheckError('HealthCheckConfig.Port: required for TCP');
    }
    const port = input.Port ?? (type.startsWith('HTTPS') ? 443 : 80);
    if (type !== 'RECOVERY_CONTROL' && (!Number.isInteger(port) || port < 1 || port > 65535))
      throw new HealthCheckError(`HealthCheckConfig.Port: ${port} must be from 1 to 65535`);
    const check: HealthCheck = {
      id: random.uuid(),
      accountId,
      type,
      config: {
        ...input,
        ...(type !== 'RECOVERY_CONTROL' && { Port: port }),
        RequestInterval: interval,
        FailureThreshold: threshold,
        Inverted: input.Inverted === true,
        Disabled: input.Disabled === true,
        Regions: regions,
      },
      // A new check's checkers start healthy; an endpoint that does not answer turns them after
      // FailureThreshold requests (inferred: Route 53 does not document the status before data).
      checkers: new Map(regions.map((r) => [r, { healthy: true, against: 0 }])),
      history: [],
      timer: undefined,
    };
    this.checks.set(check.id, check);
    this.#record(check);
    if (type !== 'RECOVERY_CONTROL') this.#schedule(check);
    return check;
  }

  delete(id: string): void {
    const c = this.checks.get(id);
    c?.timer?.cancel();
    this.checks.delete(id);
  }

  /** Whether the check is healthy now. */
  healthy(c: HealthCheck): boolean {
    return (c.history[c.history.length - 1] as { healthy: boolean }).healthy;
  }

  /** The status at `at` (undefined before the check existed). */
  healthyAt(c: HealthCheck, at: number): boolean | undefined {
    let out: boolean | undefined;
    for (const h of c.history) {
      if (h.at > at) break;
      out = h.healthy;
    }
    return out;
  }

  stop(): void {
    for (const c of this.checks.values()) c.timer?.cancel();
  }

  /** The status the check would have now, before Inverted / Disabled. */
  #raw(c: HealthCheck): boolean {
    if (c.type === 'RECOVERY_CONTROL')
      return this.#arc.controls.get(c.config.RoutingControlArn as string)?.state === 'On';
    const outages = regionOutagesOf(this.#clock);
    const reporting = [...c.checkers.entries()].filter(([r]) => !outages.isOut('aws', r));
    if (reporting.length === 0) {
      const last = c.history[c.history.length - 1];
      return last ? last.healthy !== c.config.Inverted : true;
    }
    const healthy = reporting.filter(([, v]) => v.healthy).length;
    return healthy / reporting.length > 0.18;
  }

  #record(c: HealthCheck): void {
    const healthy = c.config.Disabled ? true : this.#raw(c) !== c.config.Inverted;
    const last = c.history[c.history.length - 1];
    if (!last || last.healthy !== healthy) c.history.push({ at: this.#clock.now(), healthy });
  }

  #schedule(c: HealthCheck): void {
    c.timer = this.#clock.after(c.config.RequestInterval * 1000, () => {
      if (!this.checks.has(c.id)) return;
      this.#round(c);
      this.#schedule(c);
    });
  }

  /** One request from every checker region, each checker's view, and the status they give. */
  #round(c: HealthCheck): void {
    const outages = regionOutagesOf(this.#clock);
    const target = this.#target(c);
    for (const [region, view] of c.checkers) {
      if (outages.isOut('aws', region)) continue;
      const answer = target
        ? probeEndpoint(
            this.#clock,
            { ...target, path: c.config.ResourcePath ?? '/' },
            { cloud: 'aws', region },
          )
        : undefined;
      const passed = passes(c, answer);
      if (passed === view.healthy) view.against = 0;
      else if (++view.against >= c.config.FailureThreshold) {
        view.healthy = passed;
        view.against = 0;
      }
    }
    this.#record(c);
  }

  /** Where the checkers send their requests: the IP, or the name as registered or resolved. */
  #target(c: HealthCheck): { address: string; port: number } | undefined {
    const port = c.config.Port as number;
    if (c.config.IPAddress) return { address: c.config.IPAddress, port };
    const name = c.config.FullyQualifiedDomainName as string;
    if (endpointAt(this.#clock, name, port)) return { address: name, port };
    for (const provider of ['route53', 'cloud-dns'] as const) {
      const ip = dnsResolverOf(this.#clock, provider)?.resolve(name, 'A')?.answers[0];
      if (ip) return { address: ip, port };
    }
    return undefined;
  }
}

function passes(c: HealthCheck, answer: { status: number; body?: string } | undefined): boolean {
  if (!answer) return false;
  if (c.type === 'TCP') return true;
  if (answer.status < 200 || answer.status >= 400) return false;
  if (c.type.endsWith('STR_MATCH'))
    return (answer.body ?? '').slice(0, 5120).includes(c.config.SearchString as string);
  return true;
}

/** The health checks of the local cloud that owns `clock` (created on first use). */
export const healthChecksOf: (clock: TimerClock) => HealthChecks = perClock(
  (clock: TimerClock) => new HealthChecks(clock),
);
