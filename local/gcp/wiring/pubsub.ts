/**
 * The Google plumbing's Pub/Sub side: gcp.yml's topics and subscriptions (and the subscription
 * Eventarc makes for each function on a topic) applied to the Pub/Sub emulator over its REST API,
 * only what changed since the last apply, push subscriptions handed to the signing push proxy.
 * Also `PlumbingError`, the refusal every part of the plumbing (../wiring.ts) throws.
 */
import {
  type FunctionSpec,
  type GcpConfig,
  type SubscriptionSpec,
  serviceAccountEmail,
} from '#deployment/gcp-config.ts';
import { substituteEndpoints } from '#deployment/gcp-config-substitute.ts';
import type { PushProxy } from '../push-proxy.ts';

export class PlumbingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlumbingError';
  }
}

/** The emulator's subscription body for a spec (what subscriptions.create takes). */
function subscriptionBody(
  project: string,
  s: SubscriptionSpec,
  pushEndpoint: string | undefined,
): Record<string, unknown> {
  return {
    topic: `projects/${project}/topics/${s.topic}`,
    ackDeadlineSeconds: s.ackDeadlineSeconds ?? 10,
    ...(s.push && pushEndpoint
      ? {
          pushConfig: {
            pushEndpoint,
            oidcToken: {
              serviceAccountEmail: serviceAccountEmail(s.push.serviceAccount, project),
              audience: s.push.audience ?? pushEndpoint,
            },
          },
        }
      : {}),
    ...(s.retryPolicy ? { retryPolicy: s.retryPolicy } : {}),
    ...(s.deadLetter
      ? {
          deadLetterPolicy: {
            deadLetterTopic: `projects/${project}/topics/${s.deadLetter.topic}`,
            maxDeliveryAttempts: s.deadLetter.maxDeliveryAttempts ?? 5,
          },
        }
      : {}),
    ...(s.labels ? { labels: s.labels } : {}),
  };
}

/** The subscription Eventarc makes for a function on a Pub/Sub topic (retry: Google's 10s-600s backoff). */
function triggerSubscription(fn: FunctionSpec): SubscriptionSpec | undefined {
  const t = fn.trigger.topic;
  if (!t) return undefined;
  return {
    name: `eventarc-${fn.name}-sub`,
    topic: t.name,
    ackDeadlineSeconds: Math.min(600, Math.max(10, fn.timeoutSeconds ?? 60)),
    push: { function: fn.name, serviceAccount: t.serviceAccount },
    retryPolicy: { minimumBackoff: '10s', maximumBackoff: '600s' },
  };
}

export interface PubsubTopologyOptions {
  project: string;
  /** The push proxy, or its start (the topology is applied once it is running). */
  pushProxy: PushProxy | null | Promise<PushProxy | null>;
  /** The deploying environment's variables (see GooglePlumbingOptions.variables). */
  variables?: () => Promise<Record<string, string>> | Record<string, string>;
  /** The push endpoint of a hosted function. */
  functionUrl: (name: string) => string;
  log: (message: string) => void;
}

/** What the emulator holds of gcp.yml's topics and subscriptions, and how to bring it to a config. */
export class PubsubTopology {
  readonly #o: PubsubTopologyOptions;
  readonly #log: (m: string) => void;
  readonly #appliedSubs = new Map<string, string>();
  readonly #appliedTopics = new Set<string>();

  constructor(options: PubsubTopologyOptions) {
    this.#o = options;
    this.#log = options.log;
  }

  /** Creates, recreates and deletes topics and subscriptions on the emulator at `host` to match `config`. */
  async apply(config: GcpConfig, host: string): Promise<void> {
    const { project } = this.#o;
    const pushProxy = await this.#o.pushProxy;
    const base = `http://${host}/v1/projects/${project}`;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      if (!res.ok && res.status !== 409 && !(method === 'DELETE' && res.status === 404)) {
        throw new PlumbingError(`Pub/Sub emulator: ${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
      }
      return res.status;
    };
    // Each step's calls go at once (a dozen topics and subscriptions: sequential, they took a
    // second of `npm start`); the topics exist before the subscriptions that name them.
    await Promise.all(
      config.topics.map(async (t) => {
        await call('PUT', `/topics/${t.name}`, t.labels ? { labels: t.labels } : {});
        this.#appliedTopics.add(t.name);
      }),
    );
    const { config: resolved, dropped } = substituteEndpoints(
      config,
      this.#o.variables ? await this.#o.variables() : {},
      'drop',
    );
    for (const d of dropped)
      this.#log(
        `subscription ${d.subscription}: ${d.variable} is not set (no push target here): not created`,
      );
    const subs = [
      ...resolved.subscriptions,
      ...config.functions.map(triggerSubscription).filter((s): s is SubscriptionSpec => s !== undefined),
    ];
    const wanted = new Set(subs.map((s) => s.name));
    await Promise.all(
      [...this.#appliedSubs.keys()]
        .filter((name) => !wanted.has(name))
        .map(async (name) => {
          await call('DELETE', `/subscriptions/${name}`);
          this.#appliedSubs.delete(name);
        }),
    );
    await Promise.all(
      subs.map(async (s) => {
        const endpoint = s.push
          ? (s.push.endpoint ?? this.#o.functionUrl(s.push.function as string))
          : undefined;
        const body = subscriptionBody(project, s, endpoint);
        const key = JSON.stringify(body);
        if (this.#appliedSubs.get(s.name) === key) return;
        if (s.push && !pushProxy)
          throw new PlumbingError(`subscription ${s.name} pushes, but the push proxy is not running`);
        // Created fresh so the emulator holds exactly the declared settings (a changed one loses its backlog).
        await call('DELETE', `/subscriptions/${s.name}`);
        await call('PUT', `/subscriptions/${s.name}`, body);
        this.#appliedSubs.set(s.name, key);
        if (s.push) await pushProxy?.adopt(`projects/${project}/subscriptions/${s.name}`);
      }),
    );
    await Promise.all(
      [...this.#appliedTopics]
        .filter((name) => !config.topics.some((t) => t.name === name))
        .map(async (name) => {
          await call('DELETE', `/topics/${name}`);
          this.#appliedTopics.delete(name);
        }),
    );
  }
}
