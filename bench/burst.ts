/**
 * A burst of 1,000 state changes (100 links x 10 changes of their Google half, 10% delivered twice,
 * shuffled) through the AWS peer-event consumer with its real store on the local cloud, the queue
 * modelled as serverless.yml sets it (batches of 10, 20 receives), 5 batches at once
 * (test/support/burst.ts). Lost changes, sequences applied twice and dead letters beside their goal
 * (none); the CPU per delivery (this process: the handler, and the local cloud's DynamoDB and edge
 * it calls) and the wall time to drain.
 */
import type { Figure } from '../scripts/bench-figures.ts';
import { BURST_OF_1000, runBurst } from '../test/support/burst.ts';

export async function run(): Promise<Figure[]> {
  const b = await runBurst(BURST_OF_1000);
  const cpuPerEvent = b.cpuMicros / 1000 / b.deliveries;
  console.log(
    `${b.changes} changes over ${b.links} links, ${b.deliveries} deliveries: applied ${b.applied}, ignored ${b.ignored} (stale or seen), received again ${b.retried}, dead-lettered ${b.deadLettered}, lost ${b.lost.length}, applied twice ${b.appliedTwice.length}`,
  );
  console.log(
    `drained in ${(b.drainMs / 1000).toFixed(1)} s wall (${((b.deliveries / b.drainMs) * 1000).toFixed(0)} deliveries/s); CPU ${cpuPerEvent.toFixed(2)} ms per delivery (handler + local DynamoDB and edge, one process)`,
  );
  for (const l of b.lost.slice(0, 5)) console.log(`  lost: ${l}`);
  return [
    {
      figure: `burst of ${b.changes} changes (${b.deliveries} deliveries): changes lost`,
      measured: String(b.lost.length),
      goal: '0',
      met: b.lost.length === 0,
    },
    {
      figure: 'burst: sequences applied twice',
      measured: String(b.appliedTwice.length),
      goal: '0',
      met: b.appliedTwice.length === 0,
    },
    {
      figure: 'burst: dead-lettered',
      measured: String(b.deadLettered),
      goal: '0',
      met: b.deadLettered === 0,
    },
    {
      figure: 'burst: CPU per delivery (handler + local DynamoDB and edge)',
      measured: `${cpuPerEvent.toFixed(2)} ms`,
      goal: 'reported',
    },
    {
      figure: 'burst: time to drain (5 batches of 10 at once)',
      measured: `${(b.drainMs / 1000).toFixed(1)} s`,
      goal: 'reported',
    },
  ];
}
