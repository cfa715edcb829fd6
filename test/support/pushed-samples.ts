/**
 * The catalog's sample events (events/samples/<name>.cloudevent.json) and a Pub/Sub push body of
 * one, as a push subscription delivers it to a Google function: the unit tests of pushed handlers.
 */
import { readFileSync } from 'node:fs';
import type { CloudEvent } from '#core/envelope.ts';
import { toPubSubMessage } from '#gcp/envelope.ts';

export const sample = (name: string): CloudEvent =>
  JSON.parse(readFileSync(new URL(`../../events/samples/${name}.cloudevent.json`, import.meta.url), 'utf8'));

/** `{message, subscription}` of `ce` pushed by the subscription `subscription` of crosslink-hub. */
export const pushOf = (ce: CloudEvent, subscription: string) => {
  const m = toPubSubMessage(ce);
  return {
    message: { data: m.data.toString('base64'), attributes: m.attributes, messageId: '1' },
    subscription: `projects/crosslink-hub/subscriptions/${subscription}`,
  };
};
