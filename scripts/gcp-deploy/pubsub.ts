/**
 * The Pub/Sub phases of a converge: topics (with their publisher grants, gcp-grants.ts) and
 * subscriptions (with the Pub/Sub service agent's dead-letter grants). Subscriptions run twice:
 * those that push to a function wait until the functions phase has their URLs.
 */
import { keyValues } from '#deployment/gcloud-flags.ts';
import type { SubscriptionSpec } from '#deployment/gcp-config.ts';
import { convergeTopicPublishers, type Policy } from '#deployment/gcp-grants.ts';
import {
  type Converge,
  functionUrl,
  type Labels,
  labelFlags,
  last,
  listed,
  managedLabels,
  members,
  resourceBinding,
  same,
  seconds,
} from './converge-context.ts';

/** Topics, created or updated (labels, retention), then their publisher grants. */
export async function convergeTopics(c: Converge): Promise<void> {
  const { config, readJson, exec, mut } = c;
  const topics = await readJson<{ name: string; labels?: Labels; messageRetentionDuration?: string }[]>([
    'pubsub',
    'topics',
    'list',
  ]);
  const have = new Map(listed(topics).map((t) => [last(t.name), t]));
  const cmds: string[][] = [];
  for (const t of config.topics) {
    const h = have.get(t.name);
    const labels = managedLabels(t.labels);
    const retention = t.messageRetentionDuration && seconds(t.messageRetentionDuration);
    if (!h) {
      cmds.push(
        mut(
          'pubsub',
          'topics',
          'create',
          t.name,
          `--labels=${keyValues(labels)}`,
          ...(retention ? [`--message-retention-duration=${retention}`] : []),
        ),
      );
      continue;
    }
    const flags = labelFlags(labels, h.labels);
    const hadRetention = h.messageRetentionDuration && seconds(h.messageRetentionDuration);
    if (retention && retention !== hadRetention) flags.push(`--message-retention-duration=${retention}`);
    if (!retention && hadRetention) flags.push('--clear-message-retention-duration');
    if (flags.length > 0) cmds.push(mut('pubsub', 'topics', 'update', t.name, ...flags));
  }
  await exec(cmds);
  await convergeTopicPublishers(c.iam);
}

/** A retry policy with the API's defaults for an unset bound (10s and 600s). */
function retryOf(p: { minimumBackoff?: string; maximumBackoff?: string } | undefined) {
  return p ? { min: seconds(p.minimumBackoff ?? '10s'), max: seconds(p.maximumBackoff ?? '600s') } : null;
}

interface SubJson {
  name: string;
  topic: string;
  ackDeadlineSeconds?: number;
  pushConfig?: { pushEndpoint?: string; oidcToken?: { serviceAccountEmail?: string; audience?: string } };
  deadLetterPolicy?: { deadLetterTopic?: string; maxDeliveryAttempts?: number };
  retryPolicy?: { minimumBackoff?: string; maximumBackoff?: string };
  labels?: Labels;
}

/**
 * Converges the given subscriptions and the Pub/Sub service agent's dead-letter grants: the
 * publisher role on each dead-letter topic and the subscriber role on the source subscription.
 */
export async function convergeSubscriptions(c: Converge, specs: SubscriptionSpec[]): Promise<void> {
  const { project: P, email, note, readJson, readOrNull, exec, mut } = c;
  const pubsubAgent = `serviceAccount:service-${c.projectNumber}@gcp-sa-pubsub.iam.gserviceaccount.com`;
  if (specs.length === 0) return;
  const subs = await readJson<SubJson[]>(['pubsub', 'subscriptions', 'list']);
  const have = new Map(listed(subs).map((s) => [last(s.name), s]));
  const want = (s: SubscriptionSpec) => {
    const endpoint = s.push ? (s.push.endpoint ?? functionUrl(c, s.push.function as string)) : undefined;
    return {
      topic: `projects/${P}/topics/${s.topic}`,
      ack: s.ackDeadlineSeconds ?? 10,
      push: s.push
        ? { endpoint, account: email(s.push.serviceAccount), audience: s.push.audience ?? endpoint }
        : null,
      deadLetter: s.deadLetter
        ? {
            topic: `projects/${P}/topics/${s.deadLetter.topic}`,
            max: s.deadLetter.maxDeliveryAttempts ?? 5,
          }
        : null,
      retry: retryOf(s.retryPolicy),
    };
  };
  const actual = (j: SubJson): ReturnType<typeof want> => ({
    topic: j.topic,
    ack: j.ackDeadlineSeconds ?? 10,
    push: j.pushConfig?.pushEndpoint
      ? {
          endpoint: j.pushConfig.pushEndpoint,
          account: j.pushConfig.oidcToken?.serviceAccountEmail ?? '',
          audience: j.pushConfig.oidcToken?.audience ?? j.pushConfig.pushEndpoint,
        }
      : null,
    deadLetter: j.deadLetterPolicy?.deadLetterTopic
      ? { topic: j.deadLetterPolicy.deadLetterTopic, max: j.deadLetterPolicy.maxDeliveryAttempts ?? 5 }
      : null,
    retry: retryOf(j.retryPolicy),
  });
  const pushFlags = (w: ReturnType<typeof want>) =>
    w.push
      ? [
          `--push-endpoint=${w.push.endpoint}`,
          `--push-auth-service-account=${w.push.account}`,
          `--push-auth-token-audience=${w.push.audience}`,
        ]
      : [];
  const deadLetterFlags = (s: SubscriptionSpec, w: ReturnType<typeof want>) =>
    s.deadLetter && w.deadLetter
      ? [`--dead-letter-topic=${s.deadLetter.topic}`, `--max-delivery-attempts=${w.deadLetter.max}`]
      : [];
  const retryFlags = (w: ReturnType<typeof want>) =>
    w.retry ? [`--min-retry-delay=${w.retry.min}`, `--max-retry-delay=${w.retry.max}`] : [];

  const cmds: string[][] = [];
  const fresh = new Set<string>();
  for (const s of specs) {
    const w = want(s);
    const j = have.get(s.name);
    const labels = managedLabels(s.labels);
    if (j && j.topic !== w.topic) {
      note(`subscription ${s.name}: its topic cannot change in place; deleting and recreating it`);
      cmds.push(mut('pubsub', 'subscriptions', 'delete', s.name));
    }
    if (!j || j.topic !== w.topic) {
      fresh.add(s.name);
      cmds.push(
        mut(
          'pubsub',
          'subscriptions',
          'create',
          s.name,
          `--topic=${s.topic}`,
          `--ack-deadline=${w.ack}`,
          ...pushFlags(w),
          ...deadLetterFlags(s, w),
          ...retryFlags(w),
          `--labels=${keyValues(labels)}`,
        ),
      );
      continue;
    }
    const h = actual(j);
    const flags: string[] = [];
    if (h.ack !== w.ack) flags.push(`--ack-deadline=${w.ack}`);
    if (!same(h.push, w.push) && w.push) flags.push(...pushFlags(w));
    if (!same(h.deadLetter, w.deadLetter))
      flags.push(...(w.deadLetter ? deadLetterFlags(s, w) : ['--clear-dead-letter-policy']));
    if (!same(h.retry, w.retry)) flags.push(...(w.retry ? retryFlags(w) : ['--clear-retry-policy']));
    flags.push(...labelFlags(labels, j.labels));
    if (flags.length > 0) cmds.push(mut('pubsub', 'subscriptions', 'update', s.name, ...flags));
    if (h.push && !w.push)
      cmds.push(mut('pubsub', 'subscriptions', 'modify-push-config', s.name, '--push-endpoint='));
  }
  // The Pub/Sub service agent publishes dead letters to the topic and acks them on the source.
  const topicPolicies = new Map<string, Set<string>>();
  for (const s of specs) {
    if (!s.deadLetter) continue;
    const t = s.deadLetter.topic;
    if (!topicPolicies.has(t)) {
      const p = await readOrNull<Policy>(['pubsub', 'topics', 'get-iam-policy', t]);
      topicPolicies.set(t, members(p, 'roles/pubsub.publisher'));
    }
    const publishers = topicPolicies.get(t) as Set<string>;
    if (!publishers.has(pubsubAgent)) {
      publishers.add(pubsubAgent);
      cmds.push(
        mut(...resourceBinding('add', ['pubsub', 'topics'], t, pubsubAgent, 'roles/pubsub.publisher')),
      );
    }
    const p = fresh.has(s.name)
      ? null
      : await readOrNull<Policy>(['pubsub', 'subscriptions', 'get-iam-policy', s.name]);
    if (!members(p, 'roles/pubsub.subscriber').has(pubsubAgent))
      cmds.push(
        mut(
          ...resourceBinding(
            'add',
            ['pubsub', 'subscriptions'],
            s.name,
            pubsubAgent,
            'roles/pubsub.subscriber',
          ),
        ),
      );
  }
  await exec(cmds);
}
