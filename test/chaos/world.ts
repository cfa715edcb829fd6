/**
 * What the invariants read: the simulated world (the connections and transports the providers hold,
 * the events each side put on its bus or topic, the dead letters, every function's output) and
 * both sides' records, read from their stores (DynamoDB on AWS, Firestore on Google) with the
 * stores' own adapters, never through crosslink's intakes or CLI.
 *
 * Google's events are read from a pull subscription of its own on `crosslink-events` (the tap,
 * made once per cloud), so reading them takes nothing from crosslink's subscriptions; AWS's from
 * the events its bus accepted (the local EventBridge keeps the last thousand).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { Firestore } from '@google-cloud/firestore';
import { DynamoDbLinkStore } from '#aws/link-store.ts';
import type { CloudEvent } from '#core/envelope.ts';
import type { LinkRecord } from '#core/link/model.ts';
import type { AuditEntry } from '#core/link/ports.ts';
import { FirestoreLinkStore } from '#gcp/link-store.ts';
import { eventsOf } from '#local/aws/services/events.ts';
import type { InterconnectState } from '#local/aws/services/interconnect/model.ts';
import { allRecords } from '#local/gcp/services/networkconnectivity/reconcile.ts';
import type { LocalCloud } from '#local/index.ts';
import {
  GCP_DEAD_SUBSCRIPTION,
  PubsubRelayDeadLetters,
  SqsRelayDeadLetters,
} from '#scripts/cli/relay-dead-letters.ts';
import { type BothHalves, outputOf } from '../support/both-halves.ts';
import { ADMIN_CREDENTIALS } from '../support/local-cloud.ts';
import { readVpnWorld, type VpnWorld } from './vpn-world.ts';

const STAGE = 'dev';
const TABLE = `crosslink-links-${STAGE}`;
const GOOGLE_EVENTS_TOPIC = 'crosslink-events';
/**
 * The dead letters nothing brings back, read by taking them. The relay's own (AWS
 * `crosslink-relay-dlq-<stage>`, Google `crosslink-relay-dead-sub`) wait for an operator's
 * `crosslink relay redrive`: those are read without taking them (`relayDeadLetters`).
 */
const GOOGLE_DEAD_SUBSCRIPTIONS = [
  'crosslink-peer-events-dead-sub',
  'crosslink-starter-dead-sub',
  'crosslink-audit-dead-sub',
];
const AWS_RELAY_DLQ = `crosslink-relay-dlq-${STAGE}`;
const TAP = 'crosslink-chaos-tap';

export interface HeldConnection {
  id: string;
  state: string;
  region: string;
  description: string;
  sharedId: string;
  activationKey: string;
}

export interface HeldTransport {
  name: string;
  /** The link id: transports are named after their link. */
  id: string;
  state: string;
  location: string;
  deleting: boolean;
  keys: string[];
}

export interface SideRecords {
  link?: LinkRecord;
  audit: AuditEntry[];
}

export interface Observation {
  /** Virtual time of the reading. */
  at: number;
  connections: HeldConnection[];
  transports: HeldTransport[];
  /** Per link id of the scenario: each side's record and audit. */
  records: Map<string, { aws: SideRecords; gcp: SideRecords }>;
  /** Events each side emitted (its own origin), by id, since the observer began. */
  emitted: { aws: Map<string, CloudEvent>; gcp: Map<string, CloudEvent> };
  /** Every line the functions of both halves wrote. */
  output: string;
  /** What the dead letters held (read once the faults stopped; empty before). */
  deadLetters: DeadLetter[];
  /** The VPNs between the clouds and the links beside them (vpn-world.ts). */
  vpnWorld?: VpnWorld;
}

/**
 * A dead letter: where, why (the relay's `reason` attribute, EventBridge's `ERROR_MESSAGE`, or
 * Pub/Sub's count of failed deliveries; absent when the message came with none, as SQS's own redrive
 * sends it), and the message (which carries the event id). Reading takes it, so each is reported to
 * the scenario that read it.
 */
export interface DeadLetter {
  where: string;
  reason?: string;
  body: string;
}

/** A connection or transport bills until it is deleted (AWS `deleted` / `deleting`, Google deleting). */
export function billing(c: HeldConnection): boolean {
  return c.state !== 'deleted' && c.state !== 'deleting';
}

/** Reads the world and both sides' records; made once per cloud, shared by the scenarios run on it. */
export class Observer {
  readonly #both: BothHalves;
  readonly #cloud: LocalCloud;
  readonly #dynamo: DynamoDBClient;
  readonly #aws: DynamoDbLinkStore;
  readonly #firestore: Firestore;
  readonly #gcp: FirestoreLinkStore;
  readonly #emitted = { aws: new Map<string, CloudEvent>(), gcp: new Map<string, CloudEvent>() };

  private constructor(both: BothHalves) {
    this.#both = both;
    this.#cloud = both.cloud;
    const cloud = this.#cloud;
    this.#dynamo = new DynamoDBClient({
      region: cloud.aws.region,
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    this.#aws = new DynamoDbLinkStore(this.#dynamo, TABLE, cloud.clock);
    const host = cloud.emulators?.firestoreHost;
    if (!host) throw new Error('the chaos runs need the Firestore emulator');
    // As every Firestore client of an emulator: the variable makes it skip credentials.
    process.env.METADATA_SERVER_DETECTION = 'none';
    process.env.FIRESTORE_EMULATOR_HOST = host;
    this.#firestore = new Firestore({ projectId: cloud.gcp.project });
    this.#gcp = new FirestoreLinkStore(this.#firestore, cloud.clock);
  }

  /** Makes the Google tap (a pull subscription on `crosslink-events`) and returns the observer. */
  static async start(both: BothHalves): Promise<Observer> {
    const o = new Observer(both);
    const res = await fetch(o.#pubsub(`subscriptions/${TAP}`), {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic: `projects/${both.cloud.gcp.project}/topics/${GOOGLE_EVENTS_TOPIC}` }),
    });
    if (!res.ok && res.status !== 409) throw new Error(`the chaos tap: ${res.status} ${await res.text()}`);
    return o;
  }

  #pubsub(path: string): string {
    return `http://${this.#cloud.emulators?.pubsubHost}/v1/projects/${this.#cloud.gcp.project}/${path}`;
  }

  /** Pulls (and acknowledges) what a subscription holds now. */
  async #pull(subscription: string): Promise<{ data: string; attributes: Record<string, string> }[]> {
    const out: { data: string; attributes: Record<string, string> }[] = [];
    for (;;) {
      const res = await fetch(this.#pubsub(`subscriptions/${subscription}:pull`), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ maxMessages: 100, returnImmediately: true }),
      });
      if (!res.ok) throw new Error(`pull ${subscription}: ${res.status} ${await res.text()}`);
      const got = (await res.json()) as {
        receivedMessages?: {
          ackId: string;
          message: { data?: string; attributes?: Record<string, string> };
        }[];
      };
      const msgs = got.receivedMessages ?? [];
      if (msgs.length === 0) return out;
      for (const m of msgs)
        out.push({
          data: Buffer.from(m.message.data ?? '', 'base64').toString('utf8'),
          attributes: m.message.attributes ?? {},
        });
      await fetch(this.#pubsub(`subscriptions/${subscription}:acknowledge`), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ackIds: msgs.map((m) => m.ackId) }),
      });
    }
  }

  async #collectEvents(): Promise<void> {
    const cloud = this.#cloud;
    for (const e of eventsOf(cloud.aws.edge.world, cloud.aws.accountId, cloud.aws.region).recent as {
      source?: string;
      detail?: unknown;
    }[]) {
      const detail = (typeof e.detail === 'string' ? JSON.parse(e.detail) : e.detail) as
        | CloudEvent
        | undefined;
      if (e.source === 'crosslink' && detail?.crosslinkorigin === 'aws' && detail.id)
        this.#emitted.aws.set(detail.id, detail);
    }
    for (const m of await this.#pull(TAP)) {
      const event = JSON.parse(m.data) as CloudEvent;
      if (event.crosslinkorigin === 'gcp' && event.id) this.#emitted.gcp.set(event.id, event);
    }
  }

  /** Reads everything the invariants need about the links `ids`. */
  async observe(ids: readonly string[], deadLetters: DeadLetter[] = []): Promise<Observation> {
    const cloud = this.#cloud;
    await this.#collectEvents();
    const world = cloud.aws.edge.world;
    const connections: HeldConnection[] = world.scopes('interconnect').flatMap((scope) =>
      [
        ...world
          .stateOf<InterconnectState>('interconnect', scope.accountId, scope.region)
          .connections.values(),
      ].map((r) => ({
        id: r.connection.id,
        state: r.connection.state,
        region: scope.region,
        description: r.connection.description,
        sharedId: r.connection.sharedId,
        activationKey: r.connection.activationKey,
      })),
    );
    const transports: HeldTransport[] = allRecords(cloud.gcp.edge.world).map((r) => ({
      name: r.t.name,
      id: r.t.name.split('/').pop() as string,
      state: r.t.state,
      location: r.location,
      deleting: r.deleting === true,
      keys: [r.t.generatedActivationKey, r.t.providedActivationKey].filter((k): k is string => !!k),
    }));
    const records = new Map<string, { aws: SideRecords; gcp: SideRecords }>();
    await Promise.all(
      ids.map(async (id) => {
        const [aws, gcp, auditAws, auditGcp] = await Promise.all([
          this.#aws.get(id),
          this.#gcp.get(id),
          this.#aws.listAudit(id),
          this.#gcp.listAudit(id),
        ]);
        records.set(id, {
          aws: { ...(aws ? { link: aws.link } : {}), audit: auditAws },
          gcp: { ...(gcp ? { link: gcp.link } : {}), audit: auditGcp },
        });
      }),
    );
    return {
      at: cloud.clock.now(),
      connections,
      transports,
      records,
      emitted: { aws: new Map(this.#emitted.aws), gcp: new Map(this.#emitted.gcp) },
      output: outputOf(cloud),
      deadLetters,
      vpnWorld: readVpnWorld(cloud.network),
    };
  }

  /**
   * What the relay's dead-letter places hold, read as `crosslink relay dead-letters ls` reads them:
   * nothing taken, so an operator can still redrive them.
   */
  async relayDeadLetters(): Promise<DeadLetter[]> {
    const cloud = this.#cloud;
    const aws = new SqsRelayDeadLetters(
      { region: cloud.aws.region, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS },
      STAGE,
    );
    const gcp = new PubsubRelayDeadLetters({
      endpoint: `http://${cloud.emulators?.pubsubHost}`,
      project: cloud.gcp.project,
    });
    try {
      const listed = [...(await aws.list(1000)), ...(await gcp.list(1000))];
      return listed.map((d) => ({
        where: d.side === 'aws' ? aws.dlq : GCP_DEAD_SUBSCRIPTION,
        ...(d.reason ? { reason: d.reason } : {}),
        body: d.eventId ?? '',
      }));
    } finally {
      aws.close();
      gcp.close();
    }
  }

  /** What the other dead-letter queues and subscriptions hold, with each one's reason; reading takes it. */
  async deadLetters(): Promise<DeadLetter[]> {
    const cloud = this.#cloud;
    const sqs = new SQSClient({
      region: cloud.aws.region,
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    const status = await this.#both.json<{
      aws: { accounts: Record<string, Record<string, { sqs?: Record<string, unknown> }>> };
    }>('sim', 'status');
    const dlqs = Object.values(status.aws.accounts)
      .flatMap((regions) => Object.values(regions))
      .flatMap((r) => Object.keys(r.sqs ?? {}))
      .filter((name) => name.includes('-dlq-') && name !== AWS_RELAY_DLQ);
    const out: DeadLetter[] = [];
    try {
      for (const QueueName of dlqs) {
        const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName }));
        for (;;) {
          const got = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
          );
          const msgs = got.Messages ?? [];
          if (msgs.length === 0) break;
          for (const m of msgs) {
            const a = m.MessageAttributes ?? {};
            const reason = a.reason?.StringValue ?? a.ERROR_MESSAGE?.StringValue;
            out.push({ where: QueueName, ...(reason ? { reason } : {}), body: m.Body ?? '' });
            await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
          }
        }
      }
    } finally {
      sqs.destroy();
    }
    for (const sub of GOOGLE_DEAD_SUBSCRIPTIONS)
      for (const m of await this.#pull(sub)) {
        const count = m.attributes.CloudPubSubDeadLetterSourceDeliveryCount;
        const from = m.attributes.CloudPubSubDeadLetterSourceSubscription;
        out.push({
          where: sub,
          ...(count ? { reason: `${count} deliveries from ${from ?? 'its subscription'} failed` } : {}),
          body: m.data,
        });
      }
    return out;
  }

  /**
   * True when nothing is on its way between the functions: every message the push proxy pushed was
   * acknowledged or dead-lettered (one not acknowledged comes back after its ack deadline or
   * backoff, on the virtual clock) and the SQS queues other than the dead-letter queues hold no
   * message.
   */
  async quiet(): Promise<boolean> {
    if ((this.#cloud.pushProxy?.unsettled().length ?? 0) > 0) return false;
    const status = await this.#both.json<{
      aws: {
        accounts: Record<
          string,
          Record<
            string,
            {
              sqs?: Record<string, Record<string, number>>;
              events?: { pending?: number };
              lambda?: { asyncPending?: number };
            }
          >
        >;
      };
    }>('sim', 'status');
    const regions = Object.values(status.aws.accounts).flatMap((r) => Object.values(r));
    // An EventBridge delivery or a Lambda asynchronous event whose retry waits on the clock is on
    // its way, however long the wait.
    if (regions.some((r) => (r.events?.pending ?? 0) > 0 || (r.lambda?.asyncPending ?? 0) > 0)) return false;
    return regions
      .flatMap((r) => Object.entries(r.sqs ?? {}))
      .filter(([name]) => !name.includes('-dlq-'))
      .every(([, counts]) => Object.values(counts).every((n) => typeof n !== 'number' || n === 0));
  }

  /** The Google project of the cloud (transports of the links go there). */
  get project(): string {
    return this.#both.cloud.gcp.project;
  }

  async close(): Promise<void> {
    this.#dynamo.destroy();
    await this.#firestore.terminate();
  }
}
