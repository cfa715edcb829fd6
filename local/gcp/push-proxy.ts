/**
 * Push delivery for the Pub/Sub emulator, with the OIDC token the emulator cannot sign.
 *
 * Design: the proxy takes push subscriptions over. It lists the subscriptions of the watched
 * projects on the emulator (every `pollMs`), and for each one with a `pushConfig.pushEndpoint` it
 * records that push config (endpoint, `oidcToken.serviceAccountEmail`, `oidcToken.audience`,
 * `noWrapper`), then sets the subscription's push config to empty with `modifyPushConfig`, so the
 * emulator keeps it as a pull subscription and stops pushing unsigned requests. The proxy then pulls
 * and pushes each message itself:
 * - `POST` to the endpoint with the push body Google sends (`{message, subscription}`, plus
 *   `deliveryAttempt` when the subscription has a dead-letter policy) and
 *   `Authorization: Bearer <ID token>` signed by the local cloud's key for the configured service
 *   account, `aud` = the configured audience or, by default, the endpoint URL;
 * - acknowledges on 102, 200, 201, 202 or 204;
 * - otherwise (another status, a connection error, no answer within the ack deadline) nacks by
 *   setting the message's ack deadline to the backoff of the subscription's `retryPolicy`
 *   (exponential from `minimumBackoff` to `maximumBackoff`; without a policy Pub/Sub's push backoff,
 *   100 ms doubling to 60 s), rounded up to whole seconds, the unit of `modifyAckDeadline`.
 * Keeping the message in the emulator means the emulator does the rest as it does for pull:
 * `deliveryAttempt` counting and forwarding to the dead-letter topic after `maxDeliveryAttempts`
 * (with its `CloudPubSubDeadLetterSource*` attributes).
 *
 * Why not let the emulator push to a signing relay? Its push retry timing is its own, and pointing
 * `pushEndpoint` at a relay would make it just as visible; pulling keeps the retry policy ours and
 * the dead-lettering the emulator's. What shows: `subscriptions.get` on the emulator returns an
 * empty `pushConfig` for an adopted subscription (`proxy.subscriptions()` has the original), and a
 * message published in the first `pollMs` after the subscription was created may get one unsigned
 * push from the emulator before the takeover (call `adopt()` right after creating it to avoid that).
 *
 * Faults (`local/faults.ts`, edge `gcp`, service `pubsub`, operation = the subscription id or `*`):
 * `drop` loses the push (no request, no ack: redelivered after the ack deadline), `duplicate`
 * sends it twice, `reorder` holds each copy for a random wall delay in [0, latencyMs] before posting
 * it, so pushes pulled together or close together arrive shuffled. A hold counts against the ack
 * deadline: it is capped at half of it, and the post gets the rest as its timeout. While a message is
 * held the worker keeps pulling, so later messages can overtake it; the message is acknowledged after
 * its copies were posted if one succeeded. All of this runs on wall-clock time, like the emulator.
 * `crash` (service `pubsub`) lets a push run and then loses its answer (`crashed`, not acknowledged),
 * as a function that died after its work: Pub/Sub redelivers it after the backoff.
 *
 * Given the local cloud's clock (`clock`), the proxy times the waits between two attempts of one
 * message on that clock, as every other retry of the system is timed (SQS's visibility timeout, a
 * state machine's Retry): the retry policy's backoff after a failed push, the ack deadline a dropped
 * push waits out. It keeps the message leased in the emulator meanwhile (`modifyAckDeadline` to
 * Pub/Sub's longest, 600 s), posts it again itself when the timer fires, and after the dead-letter
 * policy's last attempt publishes it to the dead-letter topic with Pub/Sub's
 * `CloudPubSubDeadLetterSource*` attributes and acknowledges it. The emulator cannot do this part
 * on the clock: it applies the retry policy to a nack on its own wall clock (a 600 s backoff is ten
 * wall minutes), so a retry ladder of ten attempts (crosslink-peer-events-push) would take 40 wall
 * minutes rather than 40 virtual ones. Should the clock stand still past the lease, the emulator
 * delivers the message again itself, and the proxy's own wait is dropped. Without a clock the
 * emulator times the waits on the wall clock, as above. `unsettled()` names the messages still on
 * their way: pushed, and neither acknowledged nor dead-lettered.
 */
import type { Timer, VirtualClock } from '#local/clock.ts';
import type { DeliveryPlan, FaultRegistry } from '#local/faults.ts';

export interface PushConfig {
  pushEndpoint: string;
  oidcToken?: { serviceAccountEmail: string; audience?: string };
  noWrapper?: { writeMetadata?: boolean };
  attributes?: Record<string, string>;
}

export interface AdoptedSubscription {
  name: string;
  topic: string;
  pushConfig: PushConfig;
  ackDeadlineSeconds: number;
  retryPolicy?: { minimumBackoff?: string; maximumBackoff?: string };
  deadLetterPolicy?: { deadLetterTopic: string; maxDeliveryAttempts?: number };
}

export interface Delivery {
  subscription: string;
  messageId: string;
  attempt: number;
  /** HTTP status, or `dropped` (fault), `error` (no answer), `crashed` (answered, then lost: fault). A duplicated push has two entries. */
  outcome: number | 'dropped' | 'error' | 'crashed';
  acked: boolean;
  /** Wall ms the copy was held before it was posted (`reorder` fault). */
  heldMs?: number;
  /** Wall ms. */
  at: number;
}

/** Signs the OIDC token of a push (the local cloud passes `auth.mintIdToken`). */
export type IdTokenSigner = (request: { email: string; audience: string }) => string | Promise<string>;

export interface PushProxyOptions {
  /** `host:port` of the Pub/Sub emulator. */
  pubsubHost: string;
  /** Projects whose subscriptions are watched (more with `watch()`). */
  projects: readonly string[];
  sign: IdTokenSigner;
  faults?: FaultRegistry;
  /** Wall ms between subscription scans and empty pulls (default 200). */
  pollMs?: number;
  /**
   * Whether a push to `endpoint` cannot get through now (the relay between the clouds cut, for a
   * push to the AWS side): it fails as a connection that does not reach, and is retried.
   */
  unreachable?: (endpoint: string) => boolean;
  /** The clock Pub/Sub's waits between attempts run on (see above); absent: the emulator's wall clock. */
  clock?: Pick<VirtualClock, 'now' | 'at' | 'stopped' | 'track'>;
  log?: (message: string) => void;
}

const SUCCESS = new Set([102, 200, 201, 202, 204]);
/**
 * How long a pull may take before the proxy gives up on it: well beyond the emulator's own hold of
 * an empty pull (about 90 s), so only a wedged emulator reaches it (a pull given up on may keep the
 * next message for its ack deadline; see #work).
 */
const PULL_TIMEOUT_MS = 5 * 60_000;
const USER_AGENT = 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)';
const MAX_LOG = 2_000;
const NO_FAULT: DeliveryPlan = { drop: false, copies: 1, delaysMs: [0], faultIds: [] };
/** The longest ack deadline Pub/Sub takes (seconds): the lease of a message waiting on the clock. */
const MAX_LEASE_S = 600;
/** Pub/Sub's maxDeliveryAttempts when a dead-letter policy names none. */
const DEFAULT_MAX_DELIVERY_ATTEMPTS = 5;

function seconds(duration: string | undefined, fallback: number): number {
  if (!duration) return fallback;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(duration);
  return m ? Number(m[1]) : fallback;
}

/** Backoff before the next attempt after `attempt` failed, in seconds. */
export function backoffSeconds(sub: Pick<AdoptedSubscription, 'retryPolicy'>, attempt: number): number {
  const n = Math.max(1, attempt);
  if (sub.retryPolicy) {
    const min = seconds(sub.retryPolicy.minimumBackoff, 10);
    const max = seconds(sub.retryPolicy.maximumBackoff, 600);
    return Math.min(max, min * 2 ** (n - 1));
  }
  return Math.min(60, 0.1 * 2 ** (n - 1));
}

interface PulledMessage {
  ackId: string;
  deliveryAttempt?: number;
  message: {
    data?: string;
    attributes?: Record<string, string>;
    messageId: string;
    publishTime: string;
    orderingKey?: string;
  };
}

export class PushProxy {
  readonly #base: string;
  readonly #projects: Set<string>;
  readonly #sign: IdTokenSigner;
  readonly #unreachable: (endpoint: string) => boolean;
  readonly #faults: FaultRegistry | undefined;
  readonly #pollMs: number;
  readonly #log: (m: string) => void;
  readonly #subs = new Map<string, AdoptedSubscription>();
  readonly #workers = new Map<string, Promise<void>>();
  readonly #attempts = new Map<string, number>();
  readonly #deliveries: Delivery[] = [];
  readonly #abort = new AbortController();
  /** Deliveries with held copies, which the workers do not wait for. */
  readonly #held = new Set<Promise<void>>();
  readonly #clock: PushProxyOptions['clock'];
  /** Messages waiting on the clock for their next attempt, by key. */
  readonly #waiting = new Map<string, Timer>();
  /** Messages pushed and not settled (see `unsettled`), by key. */
  readonly #unsettled = new Set<string>();
  #scanner: Promise<void> | undefined;
  #running = false;

  constructor(options: PushProxyOptions) {
    this.#base = `http://${options.pubsubHost}/v1`;
    this.#projects = new Set(options.projects);
    this.#sign = options.sign;
    this.#unreachable = options.unreachable ?? (() => false);
    this.#faults = options.faults;
    this.#pollMs = options.pollMs ?? 200;
    this.#clock = options.clock;
    this.#log = options.log ?? (() => {});
  }

  /** Starts watching; resolves after the first scan. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.scan();
    this.#scanner = (async () => {
      while (this.#running) {
        await this.#sleep(this.#pollMs);
        if (!this.#running) break;
        await this.scan().catch((err) => this.#log(`push proxy: scan failed: ${(err as Error).message}`));
      }
    })();
  }

  /** Stops scanning and delivering; in-flight pushes are aborted (their messages get redelivered). */
  async stop(): Promise<void> {
    this.#running = false;
    for (const t of this.#waiting.values()) t.cancel();
    this.#waiting.clear();
    this.#abort.abort();
    await this.#scanner;
    await Promise.allSettled([...this.#workers.values(), ...this.#held]);
  }

  /** Watches another project. */
  watch(project: string): void {
    this.#projects.add(project);
  }

  /** The push subscriptions taken over, with their original push config. */
  subscriptions(): AdoptedSubscription[] {
    return [...this.#subs.values()].map((s) => structuredClone(s));
  }

  /** Every push attempt so far (most recent last; the last 2,000). */
  deliveries(subscription?: string): Delivery[] {
    return this.#deliveries
      .filter((d) => !subscription || d.subscription === subscription)
      .map((d) => ({ ...d }));
  }

  /**
   * The messages on their way (`<subscription>/<messageId>`): pushed at least once, and neither
   * acknowledged nor past their last attempt under a dead-letter policy (dead-lettered by the proxy
   * on the clock, or handed back to the emulator, which forwards them).
   */
  unsettled(): string[] {
    return [...this.#unsettled];
  }

  /** The messages waiting on the clock for their next attempt (`<subscription>/<messageId>`) and when it is due (virtual ms). */
  retries(): { key: string; due: number }[] {
    return [...this.#waiting].map(([key, t]) => ({ key, due: t.due }));
  }

  /** One pass over the watched projects: adopts new push subscriptions, forgets deleted ones. */
  async scan(): Promise<void> {
    for (const project of this.#projects) {
      let pageToken = '';
      do {
        const q = new URLSearchParams({ pageSize: '100', ...(pageToken ? { pageToken } : {}) });
        const res = await this.#call('GET', `/projects/${project}/subscriptions?${q}`);
        const body = (await res.json()) as {
          subscriptions?: Array<Record<string, unknown>>;
          nextPageToken?: string;
        };
        for (const s of body.subscriptions ?? []) {
          const push = s.pushConfig as PushConfig | undefined;
          if (push?.pushEndpoint) await this.#take(s);
        }
        pageToken = body.nextPageToken ?? '';
      } while (pageToken);
    }
  }

  /** Takes over one subscription now (`projects/<p>/subscriptions/<s>`), if it is a push subscription. */
  async adopt(name: string): Promise<boolean> {
    const res = await this.#call('GET', `/${name}`);
    if (!res.ok) return false;
    const s = (await res.json()) as Record<string, unknown>;
    if (!(s.pushConfig as PushConfig | undefined)?.pushEndpoint) return this.#subs.has(name);
    await this.#take(s);
    return true;
  }

  async #take(s: Record<string, unknown>): Promise<void> {
    const name = s.name as string;
    const sub: AdoptedSubscription = {
      name,
      topic: s.topic as string,
      pushConfig: s.pushConfig as PushConfig,
      ackDeadlineSeconds: (s.ackDeadlineSeconds as number | undefined) ?? 10,
      ...(s.retryPolicy ? { retryPolicy: s.retryPolicy as AdoptedSubscription['retryPolicy'] } : {}),
      ...(s.deadLetterPolicy
        ? { deadLetterPolicy: s.deadLetterPolicy as AdoptedSubscription['deadLetterPolicy'] & object }
        : {}),
    };
    const res = await this.#call('POST', `/${name}:modifyPushConfig`, { pushConfig: {} });
    if (!res.ok) return; // deleted meanwhile
    this.#subs.set(name, sub);
    this.#log(`push proxy: delivering ${name} to ${sub.pushConfig.pushEndpoint}`);
    if (!this.#workers.has(name)) {
      const worker = this.#work(name).finally(() => this.#workers.delete(name));
      this.#workers.set(name, worker);
    }
  }

  async #work(name: string): Promise<void> {
    while (this.#running && this.#subs.has(name)) {
      let received: PulledMessage[] = [];
      try {
        // A long poll (the emulator holds an empty pull for about 90 s), never abandoned before the
        // emulator answers: the emulator hands a message that arrives to any pull it still holds,
        // one whose client gave up included, and that message is then invisible for the whole ack
        // deadline (5 minutes on crosslink-peer-events-push). Aborting pulls at 30 s did exactly
        // that to the first event after a quiet half minute.
        const res = await this.#call('POST', `/${name}:pull`, { maxMessages: 10 }, PULL_TIMEOUT_MS);
        if (res.status === 404) {
          this.#subs.delete(name);
          break;
        }
        received = ((await res.json()) as { receivedMessages?: PulledMessage[] }).receivedMessages ?? [];
      } catch (err) {
        if (!this.#running) break;
        this.#log(`push proxy: pull ${name} failed: ${(err as Error).message}`);
      }
      if (received.length === 0) {
        await this.#sleep(this.#pollMs);
        continue;
      }
      await Promise.all(received.map((m) => this.#deliver(name, m)));
    }
  }

  /** Resolves when the message is settled, or at once when a copy is held (it settles on its own). */
  #deliver(name: string, m: PulledMessage, again?: number): Promise<void> {
    const sub = this.#subs.get(name);
    if (!sub) return Promise.resolve();
    const key = `${name}/${m.message.messageId}`;
    // Pulled anew (the lease ran out while the clock stood): the emulator's delivery replaces the wait.
    if (again === undefined) this.#waiting.get(key)?.cancel();
    const attempt = again ?? m.deliveryAttempt ?? (this.#attempts.get(key) ?? 0) + 1;
    this.#attempts.set(key, attempt);
    const subId = name.split('/').pop() as string;
    const plan = this.#faults?.delivery('gcp', 'pubsub', subId) ?? NO_FAULT;
    if (plan.drop) {
      // Lost on the way: no request, no answer; the ack deadline runs out and Pub/Sub redelivers.
      this.#record({
        subscription: name,
        messageId: m.message.messageId,
        attempt,
        outcome: 'dropped',
        acked: false,
      });
      this.#unsettled.add(key);
      // No answer: Pub/Sub tries again once the ack deadline ran out.
      if (this.#clock) return this.#again(sub, m, key, attempt, sub.ackDeadlineSeconds);
      if (this.#lastAttempt(sub, attempt)) this.#unsettled.delete(key);
      return Promise.resolve();
    }
    const sending = this.#send(sub, m, key, attempt, plan.delaysMs);
    if (plan.delaysMs.every((d) => d === 0)) return sending;
    this.#held.add(sending);
    void sending.finally(() => this.#held.delete(sending));
    return Promise.resolve();
  }

  async #send(
    sub: AdoptedSubscription,
    m: PulledMessage,
    key: string,
    attempt: number,
    delaysMs: number[],
  ): Promise<void> {
    const name = sub.name;
    const deadlineMs = sub.ackDeadlineSeconds * 1000;
    const results = await Promise.all(
      delaysMs.map(async (delay) => {
        const held = Math.min(delay, Math.floor(deadlineMs / 2));
        if (held > 0) await this.#sleep(held);
        if (!this.#running) return false;
        const posted = await this.#post(sub, m, attempt, deadlineMs - held);
        // A `crash` fault: the function did its work, then died before its answer reached Pub/Sub.
        const crashed =
          typeof posted === 'number' && SUCCESS.has(posted)
            ? this.#faults?.crashes('gcp', 'pubsub', name.split('/').pop() as string)
            : undefined;
        const outcome = crashed ? 'crashed' : posted;
        const ok = typeof outcome === 'number' && SUCCESS.has(outcome);
        this.#record({
          subscription: name,
          messageId: m.message.messageId,
          attempt,
          outcome,
          acked: ok,
          ...(held > 0 ? { heldMs: held } : {}),
        });
        return ok;
      }),
    );
    if (!this.#running) return;
    try {
      if (results.includes(true)) {
        this.#attempts.delete(key);
        this.#unsettled.delete(key);
        await this.#call('POST', `/${name}:acknowledge`, { ackIds: [m.ackId] });
      } else {
        this.#unsettled.add(key);
        const wait = Math.ceil(backoffSeconds(sub, attempt));
        if (this.#clock) return await this.#again(sub, m, key, attempt, wait);
        await this.#setDeadline(name, m.ackId, wait);
        if (this.#lastAttempt(sub, attempt)) this.#unsettled.delete(key);
      }
    } catch (err) {
      if (this.#running) this.#log(`push proxy: ack/nack on ${name} failed: ${(err as Error).message}`);
    }
  }

  /** Whether a failed `attempt` was the last one a dead-letter policy allows: the message goes to its dead-letter topic. */
  #lastAttempt(sub: AdoptedSubscription, attempt: number): boolean {
    const policy = sub.deadLetterPolicy;
    return policy !== undefined && attempt >= (policy.maxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS);
  }

  #setDeadline(name: string, ackId: string, seconds: number): Promise<Response> {
    return this.#call('POST', `/${name}:modifyAckDeadline`, { ackIds: [ackId], ackDeadlineSeconds: seconds });
  }

  /**
   * The next attempt of a message whose `attempt` failed, after `seconds` of the clock's time, the
   * message leased meanwhile; after the dead-letter policy's last attempt, the dead-letter topic.
   */
  async #again(
    sub: AdoptedSubscription,
    m: PulledMessage,
    key: string,
    attempt: number,
    seconds: number,
  ): Promise<void> {
    const clock = this.#clock;
    if (!clock || clock.stopped || !this.#running) return;
    if (this.#lastAttempt(sub, attempt)) return this.#deadLetter(sub, m, key, attempt);
    await this.#setDeadline(sub.name, m.ackId, MAX_LEASE_S);
    if (!this.#running || clock.stopped) return;
    this.#waiting.get(key)?.cancel();
    const timer = clock.at(clock.now() + seconds * 1000, () => {
      if (this.#waiting.get(key) !== timer) return;
      this.#waiting.delete(key);
      if (!this.#running) return;
      this.#attempts.set(key, attempt + 1);
      return clock.track(this.#deliver(sub.name, m, attempt + 1), `Pub/Sub push ${key}`);
    });
    this.#waiting.set(key, timer);
  }

  /** What Pub/Sub does after the last attempt: the message to the dead-letter topic, then acknowledged. */
  async #deadLetter(sub: AdoptedSubscription, m: PulledMessage, key: string, attempt: number): Promise<void> {
    const policy = sub.deadLetterPolicy as NonNullable<AdoptedSubscription['deadLetterPolicy']>;
    const [, project, , id] = sub.name.split('/');
    const res = await this.#call('POST', `/${policy.deadLetterTopic}:publish`, {
      messages: [
        {
          data: m.message.data ?? '',
          attributes: {
            ...m.message.attributes,
            CloudPubSubDeadLetterSourceDeliveryCount: String(attempt),
            CloudPubSubDeadLetterSourceSubscription: id as string,
            CloudPubSubDeadLetterSourceSubscriptionProject: project as string,
            CloudPubSubDeadLetterSourceTopicPublishTime: m.message.publishTime,
          },
        },
      ],
    });
    if (!res.ok) {
      // The lease's end gives it back to the emulator, which tries again.
      this.#log(`push proxy: dead-lettering ${key} failed: ${res.status} ${await res.text()}`);
      return;
    }
    this.#attempts.delete(key);
    this.#unsettled.delete(key);
    await this.#call('POST', `/${sub.name}:acknowledge`, { ackIds: [m.ackId] });
  }

  async #post(
    sub: AdoptedSubscription,
    m: PulledMessage,
    attempt: number,
    timeoutMs: number,
  ): Promise<number | 'error'> {
    const cfg = sub.pushConfig;
    const headers: Record<string, string> = { 'user-agent': USER_AGENT };
    if (cfg.oidcToken?.serviceAccountEmail) {
      const audience = cfg.oidcToken.audience || cfg.pushEndpoint;
      headers.authorization = `Bearer ${await this.#sign({ email: cfg.oidcToken.serviceAccountEmail, audience })}`;
    }
    let body: string | Buffer;
    if (cfg.noWrapper) {
      body = Buffer.from(m.message.data ?? '', 'base64');
      headers['content-type'] = 'application/octet-stream';
      if (cfg.noWrapper.writeMetadata) {
        for (const [k, v] of Object.entries(m.message.attributes ?? {}))
          headers[`x-goog-pubsub-attr-${k}`] = v;
        headers['x-goog-pubsub-message-id'] = m.message.messageId;
        headers['x-goog-pubsub-publish-time'] = m.message.publishTime;
        headers['x-goog-pubsub-subscription-name'] = sub.name;
      }
    } else {
      headers['content-type'] = 'application/json';
      const message = {
        ...(m.message.attributes ? { attributes: m.message.attributes } : {}),
        data: m.message.data ?? '',
        messageId: m.message.messageId,
        message_id: m.message.messageId,
        publishTime: m.message.publishTime,
        publish_time: m.message.publishTime,
        ...(m.message.orderingKey ? { orderingKey: m.message.orderingKey } : {}),
      };
      body = JSON.stringify({
        message,
        subscription: sub.name,
        ...(sub.deadLetterPolicy ? { deliveryAttempt: attempt } : {}),
      });
    }
    if (this.#unreachable(cfg.pushEndpoint)) return 'error';
    try {
      const res = await fetch(cfg.pushEndpoint, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(timeoutMs)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status;
    } catch {
      return 'error';
    }
  }

  #record(d: Omit<Delivery, 'at'>): void {
    this.#deliveries.push({ ...d, at: Date.now() });
    if (this.#deliveries.length > MAX_LOG) this.#deliveries.splice(0, this.#deliveries.length - MAX_LOG);
  }

  #call(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<Response> {
    return fetch(`${this.#base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(timeoutMs)]),
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#abort.signal.aborted) return resolve();
      const t = setTimeout(resolve, ms);
      this.#abort.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  }
}
