/**
 * A relay partition between the clouds (`POST /_crosslink/world/relay-partition`): the Pub/Sub IAM
 * front the AWS relay publishes through drops the connection while the partition holds, and answers
 * again once it heals; the region outage and vantage faults of the same world answer by field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PubsubFront } from '#local/gcp/pubsub-front.ts';
import type { LocalCloud } from '#local/index.ts';
import { serviceWorldOf } from '#local/world/protected-service.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let front: PubsubFront;

/** A world action: its status and body (errors included). */
const world = (action: string, body: unknown) =>
  admin(cloud, 'POST', `/world/${action}`, body).then(
    (b: Record<string, unknown>) => ({ status: 200, body: b }),
    (e: { status: number; message: string }) => ({ status: e.status, body: { message: e.message } }),
  );

beforeAll(async () => {
  cloud = await startTestCloud();
  // No emulator behind it: what is checked here is whether a publish reaches the front at all.
  front = new PubsubFront({
    pubsubHost: '127.0.0.1:9',
    auth: cloud.gcp.auth,
    iam: cloud.gcp.iam,
    clock: cloud.clock,
    partitioned: () => serviceWorldOf(cloud.clock).relayPartitioned,
  });
  await front.start();
});
afterAll(async () => {
  await front?.stop();
  await cloud?.stop();
});

const publish = () =>
  fetch(`http://${front.host}/v1/projects/${cloud.gcp.project}/topics/crosslink-peer-events:publish`, {
    method: 'POST',
    body: '{}',
  }).then(
    (r) => r.status,
    () => 'no answer' as const,
  );

describe('relay partition', () => {
  it('drops the relay publishes while the clouds are cut apart, and lets them through once healed', async () => {
    // Act
    const cut = await world('relay-partition', {});
    const during = await publish();
    const healed = await world('relay-partition', { on: false });
    const after = await publish();
    // Assess
    expect(cut.body).toEqual({ relayPartitioned: true });
    expect(during).toBe('no answer');
    expect(healed.body).toEqual({ relayPartitioned: false });
    // Reached: the front itself answers (no token: 401).
    expect(after).toBe(401);
  });

  it('refuses faults with a bad field, naming it', async () => {
    const badCloud = await world('region-outage', { cloud: 'azure', region: 'eastus' });
    const badRegion = await world('region-outage', { cloud: 'aws', region: 'us-central1' });
    const badVantage = await world('vantage-network', { vantage: '' });
    expect(badCloud).toMatchObject({ status: 400 });
    expect(badRegion.status).toBe(400);
    expect(badRegion.body.message).toBe('region: "us-central1" is not an AWS region name');
    expect(badVantage.body.message).toBe('vantage: a vantage point id is required');
  });
});
