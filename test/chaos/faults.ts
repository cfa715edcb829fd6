/**
 * A scenario's fault schedule on the local cloud's virtual clock: each fault is applied by a timer
 * at its start (`cloud.clock.at`) and lifted by another at its end, through the local cloud's own
 * means: the fault registry (throttling, 5xx, latency, stuck states, relay delivery faults, crashes),
 * the world's admin actions (a link down or flapping, a region outage), the real EventBridge API and
 * Cloud Scheduler (a watcher silenced), the clock (a jump). `stop()` lifts whatever still holds, so
 * the scenario can then watch the system settle with no fault left.
 */
import { DisableRuleCommand, EnableRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Timer } from '#local/clock.ts';
import type { FaultSpec } from '#local/faults.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS } from '../support/local-cloud.ts';
import { type ChaosContext, ScenarioEnded } from './registry.ts';
import { type ChaosFault, describeScenario, REGION_PAIRS, type RelayDirection } from './scenario.ts';

const STAGE = 'dev';
const BUS = `crosslink-${STAGE}`;
const AWS_WATCHER_RULES = [
  { Name: `crosslink-watcher-schedule-${STAGE}` },
  { Name: `crosslink-interconnect-calls-${STAGE}`, EventBusName: BUS },
];
const GOOGLE_WATCHER_JOB = 'crosslink-watcher';
const FLAP_PERIOD = '2m';
/** How often a fault whose target does not exist yet is tried again (virtual ms). */
const RETRY_MS = 60_000;

/** The delivery each relay direction's faults act on. */
export const RELAY_HOPS: Record<RelayDirection, Pick<FaultSpec, 'edge' | 'service' | 'operation'>> = {
  'aws-to-gcp': { edge: 'aws', service: 'sqs', operation: `crosslink-relay-${STAGE}` },
  'gcp-to-aws': { edge: 'gcp', service: 'pubsub', operation: 'crosslink-events-relay' },
  'gcp-peer-push': { edge: 'gcp', service: 'pubsub', operation: 'crosslink-peer-events-push' },
  'aws-peer-queue': { edge: 'aws', service: 'sqs', operation: `crosslink-peer-events-${STAGE}` },
};

export interface FaultTally {
  /** Faults applied (a fault whose target did not exist yet, a link not yet made, is not). */
  injected: number;
  /** Faults whose target never existed while they were due. */
  skipped: number;
}

/** What lifts one applied fault. */
type Lift = () => Promise<void> | void;

export class FaultSchedule {
  readonly tally: FaultTally = { injected: 0, skipped: 0 };
  readonly #ctx: ChaosContext;
  readonly #cloud: LocalCloud;
  readonly #timers = new Set<Timer>();
  readonly #held = new Map<number, Lift>();
  readonly #eb: EventBridgeClient;
  #stopped = false;

  constructor(ctx: ChaosContext) {
    this.#ctx = ctx;
    this.#cloud = ctx.both.cloud;
    this.#eb = new EventBridgeClient({
      region: this.#cloud.aws.region,
      endpoint: this.#cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
  }

  /**
   * Sets a timer for each fault's start (and its end). A fault whose target does not exist yet (a
   * link not made so far) is tried again every virtual minute while it is due.
   */
  start(): void {
    const lines = describeScenario({ links: [], faults: this.#ctx.scenario.faults });
    this.#ctx.scenario.faults.forEach((f, i) => {
      const label = `fault ${i} (${lines[i]})`;
      const endsAt = this.#ctx.startedAt + f.at + ('forMs' in f ? f.forMs : 0);
      const attempt = async (): Promise<void> => {
        const lift = await this.#applyKind(f);
        if (lift === undefined) {
          const again = this.#cloud.clock.now() + RETRY_MS;
          if (again < endsAt) return this.#timer(again, attempt);
          this.tally.skipped++;
          return this.#ctx.step(`${label} skipped: its target never existed while it was due`);
        }
        this.tally.injected++;
        if ('forMs' in f) {
          this.#held.set(i, lift);
          this.#timer(endsAt, async () => {
            this.#held.delete(i);
            await lift();
            await this.#ctx.step(`${label} lifted`);
          });
        }
        await this.#ctx.step(`${label} applied`);
      };
      this.#timer(this.#ctx.startedAt + f.at, attempt);
    });
  }

  #timer(due: number, fn: () => Promise<void>): void {
    const timer = this.#cloud.clock.at(due, () => {
      this.#timers.delete(timer);
      if (this.#stopped) return;
      return fn().catch(async (err: Error) => {
        if (this.#ctx.ended || err instanceof ScenarioEnded) return;
        await this.#ctx.step(`fault timer failed: ${err.message}`).catch(() => undefined);
      });
    });
    this.#timers.add(timer);
  }

  async #applyKind(f: ChaosFault): Promise<Lift | undefined> {
    const cloud = this.#cloud;
    const registry = (spec: FaultSpec): Lift => {
      const { id } = cloud.faults.add(spec);
      return () => {
        cloud.faults.remove(id);
      };
    };
    const world = (action: string, body: Record<string, unknown>) => {
      const fn = cloud.world.admin[action];
      if (!fn) throw new Error(`the world has no admin action ${action}`);
      return fn(body);
    };
    switch (f.kind) {
      case 'throttle':
      case 'error':
      case 'latency': {
        const [edge, service] = f.service.split(':') as ['aws' | 'gcp', string];
        return registry({
          edge,
          service,
          kind: f.kind,
          ...(f.kind === 'latency' ? { latencyMs: f.latencyMs } : { rate: f.rate }),
          ...(f.kind === 'error' && f.status ? { status: f.status } : {}),
        });
      }
      case 'stuck':
        return registry({
          edge: f.service === 'interconnect' ? 'aws' : 'gcp',
          service: f.service,
          kind: 'stuck',
          state: f.state,
        });
      case 'relay':
        return registry({ ...RELAY_HOPS[f.direction], kind: f.fault, rate: f.rate });
      case 'partition': {
        // Nothing crosses while it holds: the AWS relay's publishes to Pub/Sub fail (503) and
        // Google's pushes to AWS's relay endpoint are lost. Each side retries as it does (SQS
        // redelivers to the relay, Pub/Sub redelivers the push) and dead-letters, with its reason,
        // what still has not crossed when its retries run out.
        const lifts = [
          registry({ edge: 'gcp', service: 'pubsub', operation: 'Publish', kind: 'error', status: 503 }),
          registry({ ...RELAY_HOPS['gcp-to-aws'], kind: 'drop' }),
        ];
        return () => {
          for (const l of lifts) void l();
        };
      }
      case 'crash': {
        const [where, name] = f.target.split(':') as ['lambda' | 'pubsub', string];
        return registry({
          service: where,
          operation: where === 'lambda' ? `crosslink-${STAGE}-${name}` : name,
          kind: 'crash',
          rate: f.rate,
        });
      }
      case 'link-down':
      case 'flap': {
        const sharedId = await this.#sharedIdOf(f.link);
        if (!sharedId) return undefined;
        if (f.kind === 'link-down') {
          world('link-down', { sharedId });
          return () => void world('link-up', { sharedId });
        }
        world('flap', { sharedId, period: FLAP_PERIOD });
        return () => void world('flap-stop', { sharedId });
      }
      case 'region-outage': {
        const gcpRegion = REGION_PAIRS[f.pair].gcp;
        world('region-outage', { gcpRegion, on: true });
        return () => void world('region-outage', { gcpRegion, on: false });
      }
      case 'watcher-missed':
        return f.side === 'aws' ? this.#silenceAwsWatcher() : this.#silenceGoogleWatcher();
      case 'clock-jump':
        await cloud.clock.advance(f.byMs);
        return () => {};
    }
  }

  async #silenceAwsWatcher(): Promise<Lift> {
    for (const rule of AWS_WATCHER_RULES) await this.#eb.send(new DisableRuleCommand(rule));
    return async () => {
      for (const rule of AWS_WATCHER_RULES) await this.#eb.send(new EnableRuleCommand(rule));
    };
  }

  #silenceGoogleWatcher(): Lift {
    const scheduler = this.#cloud.plumbing?.scheduler;
    if (!scheduler) throw new Error('the local cloud runs no Google plumbing');
    scheduler.pause(GOOGLE_WATCHER_JOB);
    return () => scheduler.resume(GOOGLE_WATCHER_JOB);
  }

  /** The shared id of the scenario's link `index`, once a connection carries it. */
  async #sharedIdOf(index: number): Promise<string | undefined> {
    const id = this.#ctx.linkIds[index];
    if (!id) return undefined;
    const world = this.#cloud.aws.edge.world;
    for (const scope of world.scopes('interconnect')) {
      const st = world.stateOf<{
        connections: Map<string, { connection: { description: string; sharedId: string } }>;
      }>('interconnect', scope.accountId, scope.region);
      for (const r of st.connections.values())
        if (r.connection.description === `crosslink ${id}`) return r.connection.sharedId;
    }
    return undefined;
  }

  /** Cancels the faults not yet due and lifts those that hold: from here on nothing is injected. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
    for (const lift of this.#held.values()) await lift();
    this.#held.clear();
    this.#eb.destroy();
  }
}
