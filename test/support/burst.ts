/**
 * A burst of the peer's state changes, as a Google watcher run after an outage sends them: for each
 * of `links` ACTIVE links, `changesPerLink` changes of its Google half (sequences 2, 3, ...: the
 * transport enabled and disabled in turn), some delivered twice (the same event), all in a shuffled
 * order, through the AWS peer-event consumer's batch handler (`peerEventBatch`, the `peerEvents`
 * Lambda's code) with its real store (DynamoDB on the local cloud). The queue in front of it is
 * modelled as serverless.yml configures it: batches of 10, a failed record received again until
 * `maxReceives` (then dead-lettered), `concurrency` batches at once.
 *
 * What it proves (test/e2e/burst.test.ts): every link ends at its last sequence with that state
 * (no loss), no sequence applied twice (no duplicate effect), nothing dead-lettered. What it
 * measures (bench/burst.ts): the process CPU per event and the wall time to drain.
 */
import { performance } from 'node:perf_hooks';
import { toEventBridgeEntry } from '#aws/envelope.ts';
import { peerEventBatch } from '#aws/intake.ts';
import { buildEvent } from '#core/envelope.ts';
import { mintLinkId } from '#core/ids.ts';
import { startLocalCloud } from '#local/index.ts';
import { seededRandom } from '#local/random.ts';
import { startAwsHalf } from './aws-half.ts';
import { fleetLink } from './fleet.ts';

export interface BurstOutcome {
  links: number;
  /** State changes sent (distinct events). */
  changes: number;
  /** Deliveries, duplicates included. */
  deliveries: number;
  applied: number;
  ignored: number;
  /** Receives that failed (then received again). */
  retried: number;
  deadLettered: number;
  /** Links whose Google half did not end at its last sequence and state. */
  lost: string[];
  /** `linkId sequence` applied more than once. */
  appliedTwice: string[];
  drainMs: number;
  cpuMicros: number;
}

/** The burst the bench measures and the test checks: 100 links x 10 changes, 10% twice, as serverless.yml's queue takes them. */
export const BURST_OF_1000 = {
  links: 100,
  changesPerLink: 10,
  duplicates: 0.1,
  concurrency: 5,
  maxReceives: 20,
};

export async function runBurst(options: {
  links: number;
  changesPerLink: number;
  /** Share of the changes delivered twice. */
  duplicates: number;
  concurrency: number;
  maxReceives: number;
  seed?: number;
}): Promise<BurstOutcome> {
  const cloud = await startLocalCloud({
    ports: 0,
    clock: { mode: 'manual', start: '2026-06-01T00:00:00Z' },
    seed: options.seed ?? 1,
    log: () => {},
  });
  const half = await startAwsHalf(cloud);
  const rand = seededRandom(options.seed ?? 1).next;
  try {
    const hash = half.deps.policy.hash;
    const ids: string[] = [];
    for (let i = 0; i < options.links; i++) {
      const id = mintLinkId(cloud.clock);
      await half.deps.store.create(
        fleetLink(
          id,
          { connectionId: `mcc-${id.slice(-8)}`, nativeState: 'available' },
          hash,
          cloud.clock.now(),
        ),
      );
      ids.push(id);
    }
    // Each change as the Google watcher publishes it; sequence n: enabled when n is even.
    const last = 1 + options.changesPerLink;
    type Message = { messageId: string; body: string; linkId: string; sequence: number; receives: number };
    const messages: Message[] = [];
    for (const linkId of ids)
      for (let sequence = 2; sequence <= last; sequence++) {
        const enabled = sequence % 2 === 0;
        const event = buildEvent({
          name: 'LinkSideStateChanged',
          origin: { cloud: 'gcp', project: 'payments-prod', region: 'us-east4' },
          subject: linkId,
          clock: cloud.clock,
          data: {
            linkId,
            policyHash: hash,
            side: 'gcp',
            sequence,
            nativeState: 'ACTIVE',
            previousNativeState: 'ACTIVE',
            adminEnabled: enabled,
            condition: enabled ? 'UP' : 'DOWN',
            observedAt: new Date(cloud.clock.now() + sequence * 1000).toISOString(),
          },
        } as never);
        const entry = toEventBridgeEntry(event, 'crosslink');
        const body = JSON.stringify({
          version: '0',
          id: `eb-${linkId}-${sequence}`,
          'detail-type': entry.DetailType,
          source: entry.Source,
          account: '000000000000',
          time: new Date(cloud.clock.now()).toISOString(),
          region: 'us-east-1',
          resources: [],
          detail: JSON.parse(entry.Detail as string),
        });
        messages.push({ messageId: `m-${linkId}-${sequence}`, body, linkId, sequence, receives: 0 });
      }
    const changes = messages.length;
    // Duplicates: the same event again (another message id, the same event id inside).
    const dupes = messages
      .filter(() => rand() < options.duplicates)
      .map((m) => ({ ...m, messageId: `${m.messageId}-again` }));
    const queue = [...messages, ...dupes];
    for (let i = queue.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [queue[i], queue[j]] = [queue[j] as Message, queue[i] as Message];
    }
    const deliveries = queue.length;
    const outcome = new Map<string, string>();
    const appliedBy = new Map<string, number>();
    let retried = 0;
    let deadLettered = 0;
    const byId = new Map(queue.map((m) => [m.messageId, m]));
    const log = {
      info: (_: string, extra: Record<string, unknown>) => {
        const m = byId.get(extra.messageId as string);
        if (!m) return;
        outcome.set(m.messageId, extra.outcome as string);
        if (extra.outcome === 'applied') {
          const k = `${m.linkId} ${m.sequence}`;
          appliedBy.set(k, (appliedBy.get(k) ?? 0) + 1);
        }
      },
      error: () => {},
    };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const worker = async () => {
      for (;;) {
        const batch = queue.splice(0, 10);
        if (batch.length === 0) return;
        for (const m of batch) m.receives++;
        const { batchItemFailures } = await peerEventBatch(half.deps, batch, log);
        for (const f of batchItemFailures) {
          const m = byId.get(f.itemIdentifier) as Message;
          if (m.receives >= options.maxReceives) deadLettered++;
          else {
            retried++;
            queue.push(m);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const drainMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const lost: string[] = [];
    for (const id of ids) {
      const l = (await half.deps.store.get(id))?.link;
      const g = l?.halves.gcp;
      const enabled = last % 2 === 0;
      if (g?.sequence !== last || g.adminEnabled !== enabled || l?.state !== (enabled ? 'ACTIVE' : 'DOWN'))
        lost.push(`${id}: ${l?.state} gcp sequence ${g?.sequence} adminEnabled ${g?.adminEnabled}`);
    }
    const outcomes = [...outcome.values()];
    return {
      links: options.links,
      changes,
      deliveries,
      applied: outcomes.filter((o) => o === 'applied').length,
      ignored: outcomes.filter((o) => o === 'ignored').length,
      retried,
      deadLettered,
      lost,
      appliedTwice: [...appliedBy].filter(([, n]) => n > 1).map(([k]) => k),
      drainMs,
      cpuMicros: cpu.user + cpu.system,
    };
  } finally {
    await half.stop();
    await cloud.stop();
  }
}
