import { describe, expect, it } from 'vitest';
import type { ProbeSeen } from '#local/world/protected-service.ts';
import { rulesOf } from '../chaos/dr.ts';
import { DrChecker, type DrRules, type DrSeen, drVerdict, oneWriter } from '../chaos/dr-checks.ts';
import { exampleDoc } from './dr/helpers.ts';

const MIN = 60_000;
/** The payments plan's rules as rulesOf reads them from the example plan. */
const RULES: DrRules = rulesOf(exampleDoc());

/** The world with the primary serving and writing, its cell On. */
function healthy(at: number, over: Partial<DrSeen> = {}): DrSeen {
  return {
    at,
    cells: { aws: 'On', gcp: 'Off' },
    dns: ['aws'],
    db: {
      aws: { role: 'writer', fenced: false, regionUp: true },
      gcp: { role: 'replica', fenced: false, regionUp: true },
    },
    serving: { aws: 'ok', gcp: 'ok' },
    primaryProbes: [],
    ...over,
  };
}

/** The world failed over: the standby's cell On, its database the writer, the primary's region out. */
function failedOver(at: number, probes: ProbeSeen[], over: Partial<DrSeen> = {}): DrSeen {
  return healthy(at, {
    cells: { aws: 'Off', gcp: 'On' },
    dns: ['gcp'],
    db: {
      aws: { role: 'writer', fenced: false, regionUp: false },
      gcp: { role: 'writer', fenced: false, regionUp: true },
    },
    serving: { aws: 'region-down', gcp: 'ok' },
    primaryProbes: probes,
    ...over,
  });
}

/** One probe of the primary's /healthz by `vantage` per minute from `from`, failing or not. */
function probes(vantage: string, from: number, n: number, fail: boolean, own = false): ProbeSeen[] {
  return Array.from({ length: n }, (_, i) => ({
    at: from + i * MIN,
    vantage,
    service: 'payments-api',
    cloud: 'aws' as const,
    kind: 'healthz' as const,
    ...(fail ? {} : { status: 200 }),
    ...(own ? { ownNetworkDown: true } : {}),
  }));
}

/** Both probes' `n` answers from `from`, a minute apart. */
const bothProbes = (from: number, n: number, fail: boolean): ProbeSeen[] => [
  ...probes('aws-us-west-2', from, n, fail),
  ...probes('gcp-us-west1', from, n, fail),
];

/** Traffic moved at `at` with Aurora fenced, every side serving again (the primary back). */
const fencedMove = (at: number, seen: ProbeSeen[]) =>
  failedOver(at, seen, {
    serving: { aws: 'ok', gcp: 'ok' },
    db: {
      aws: { role: 'writer', fenced: true, regionUp: true },
      gcp: { role: 'writer', fenced: false, regionUp: true },
    },
  });

describe("the payments plan's rules read by the chaos DR checks", () => {
  it('are a quorum of 2, the two probes at 3 failures in a row, the Route 53 checkers, 5 minutes of staleness', () => {
    expect(RULES).toEqual({
      primary: 'aws',
      quorum: 2,
      probes: [
        { vantage: 'aws-us-west-2', failuresInRow: 3 },
        { vantage: 'gcp-us-west1', failuresInRow: 3 },
      ],
      external: ['route53-checkers'],
      staleAfterMs: 5 * MIN,
      // The fence 2m, the promotion 10m, the scaling 5m, the flip the plan's 5m action timeout (22m),
      // each sent again twice with its timeout (44m), and for each of the four actions a late-result
      // window of 22m.
      moveWindowMs: 7 * 22 * MIN,
    });
  });
});

describe('dr-quorum: no failover without quorum', () => {
  it('holds for a move after both probes failed three times in a row and the primary stopped serving', () => {
    // Prepare
    const c = new DrChecker(RULES);
    c.observe(healthy(0));
    c.observe(healthy(MIN, { serving: { aws: 'region-down', gcp: 'ok' } }));
    const seen = [...probes('aws-us-west-2', 2 * MIN, 3, true), ...probes('gcp-us-west1', 2 * MIN, 3, true)];

    // Act
    const found = c.observe(
      failedOver(5 * MIN, seen, {
        db: {
          aws: { role: 'replica', fenced: false, regionUp: false },
          gcp: { role: 'writer', fenced: false, regionUp: true },
        },
      }),
    );

    // Assess
    expect(found).toEqual([]);
  });

  it('judges a move where it began: the primary fenced while both probes saw it fail, the flip after it came back', () => {
    // Prepare: both probes fail three times, Aurora fenced at +4 minutes
    const c = new DrChecker(RULES);
    c.observe(healthy(0));
    const down = [...probes('aws-us-west-2', MIN, 3, true), ...probes('gcp-us-west1', MIN, 3, true)];
    const fenced = {
      aws: { role: 'writer' as const, fenced: true, regionUp: false },
      gcp: { role: 'replica' as const, fenced: false, regionUp: true },
    };
    expect(c.observe(healthy(4 * MIN, { db: fenced, primaryProbes: down }))).toEqual([]);
    // The primary back and probed healthy three times while the promotion and the scaling ran
    const back = [
      ...down,
      ...probes('aws-us-west-2', 5 * MIN, 3, false),
      ...probes('gcp-us-west1', 5 * MIN, 3, false),
    ];

    // Act: the flip at +8 minutes
    const found = c.observe(
      failedOver(8 * MIN, back, {
        serving: { aws: 'ok', gcp: 'ok' },
        db: {
          aws: { role: 'writer', fenced: true, regionUp: true },
          gcp: { role: 'writer', fenced: false, regionUp: true },
        },
      }),
    );

    // Assess
    expect(found).toEqual([]);
  });

  it('holds for a move whose quorum formed between two observations, the primary back by the next (seed 153)', () => {
    // Prepare: the primary out from +9.7 to +12.5 minutes; both probes fail at +10, +11 and +12 and
    // answer at +13; no observation falls inside the outage
    const c = new DrChecker(RULES);
    const before = bothProbes(6 * MIN, 4, false);
    c.observe(healthy(9 * MIN, { primaryProbes: before }));
    const seen = [...before, ...bothProbes(10 * MIN, 3, true), ...bothProbes(13 * MIN, 1, false)];

    // Act: the next observation, at +13.5, finds Aurora fenced and the traffic moved
    const found = c.observe(fencedMove(13.5 * MIN, seen));

    // Assess: judged at +12, the last moment before the move began where the quorum can have held
    expect(found).toEqual([]);
  });

  it('holds for a move decided before the observation that came before it, within staleAfter (seed 153 again)', () => {
    // Prepare: both probes fail at +10, +11 and +12; an observation at +12.5 (the primary back, the
    // probes' last answers failing, no move yet); healthy answers at +13
    const c = new DrChecker(RULES);
    const before = bothProbes(6 * MIN, 4, false);
    c.observe(healthy(9 * MIN, { primaryProbes: before }));
    const failing = [...before, ...bothProbes(10 * MIN, 3, true)];
    c.observe(healthy(12.5 * MIN, { primaryProbes: failing }));
    const seen = [...failing, ...bothProbes(13 * MIN, 1, false)];

    // Act: the next observation, at +13.5, finds Aurora fenced and the traffic moved
    const found = c.observe(fencedMove(13.5 * MIN, seen));

    // Assess: the quorum held at +12, before the observation at +12.5 and within 5 minutes of the move
    expect(found).toEqual([]);
  });

  it('catches a fence nobody saw cause for, at the flip it led to', () => {
    // Prepare: Aurora fenced with every probe of the primary healthy
    const c = new DrChecker(RULES);
    c.observe(healthy(0));
    const up = [...probes('aws-us-west-2', MIN, 3, false), ...probes('gcp-us-west1', MIN, 3, false)];
    const fenced = {
      aws: { role: 'writer' as const, fenced: true, regionUp: true },
      gcp: { role: 'replica' as const, fenced: false, regionUp: true },
    };
    c.observe(healthy(4 * MIN, { db: fenced, primaryProbes: up }));
    // Then both probes fail three times before the flip
    const later = [
      ...up,
      ...probes('aws-us-west-2', 5 * MIN, 3, true),
      ...probes('gcp-us-west1', 5 * MIN, 3, true),
    ];

    // Act
    const found = c.observe(
      failedOver(8 * MIN, later, {
        serving: { aws: 'region-down', gcp: 'ok' },
        db: {
          aws: { role: 'writer', fenced: true, regionUp: false },
          gcp: { role: 'writer', fenced: false, regionUp: true },
        },
      }),
    );

    // Assess: judged at +4 minutes, where nobody had seen the primary fail
    expect(found).toEqual([
      {
        invariant: 'dr-quorum',
        detail:
          'traffic moved from aws to gcp with 0 of the quorum of 2 vantage points seeing the primary fail (none)',
      },
    ]);
  });

  it('judges a flip past the move window of an old beginning (a fenced move that stalled) at the flip', () => {
    // Prepare: Aurora fenced at +4 minutes on both probes' failures; the move stalls there
    const c = new DrChecker(RULES);
    c.observe(healthy(0));
    const down = [...probes('aws-us-west-2', MIN, 3, true), ...probes('gcp-us-west1', MIN, 3, true)];
    const fenced = {
      aws: { role: 'writer' as const, fenced: true, regionUp: true },
      gcp: { role: 'replica' as const, fenced: false, regionUp: true },
    };
    c.observe(healthy(4 * MIN, { db: fenced, primaryProbes: down }));
    const healthyLater = [
      ...down,
      ...probes('aws-us-west-2', 160 * MIN, 3, false),
      ...probes('gcp-us-west1', 160 * MIN, 3, false),
    ];

    // Act: traffic moves at +165 minutes (past the 154-minute move window) with every probe healthy
    const found = c.observe(
      failedOver(165 * MIN, healthyLater, {
        serving: { aws: 'ok', gcp: 'ok' },
        db: {
          aws: { role: 'writer', fenced: true, regionUp: true },
          gcp: { role: 'writer', fenced: false, regionUp: true },
        },
      }),
    );

    // Assess: not excused by the quorum of +4 minutes
    expect(found.map((v) => v.detail)).toEqual([
      'traffic moved from aws to gcp with 0 of the quorum of 2 vantage points seeing the primary fail (none)',
    ]);
  });

  it('catches a move that only one vantage point saw (the other blind: its own network down)', () => {
    // Prepare: AWS's probe failed three times; Google's probes failed with its own network down
    const c = new DrChecker(RULES);
    c.observe(healthy(0));
    const seen = [...probes('aws-us-west-2', MIN, 3, true), ...probes('gcp-us-west1', MIN, 3, true, true)];

    // Act: the primary still serving by every observation, the traffic moved
    const found = c.observe(
      failedOver(4 * MIN, seen, {
        serving: { aws: 'ok', gcp: 'ok' },
        db: {
          aws: { role: 'replica', fenced: false, regionUp: true },
          gcp: { role: 'writer', fenced: false, regionUp: true },
        },
      }),
    );

    // Assess
    expect(found).toEqual([
      {
        invariant: 'dr-quorum',
        detail:
          'traffic moved from aws to gcp with 1 of the quorum of 2 vantage points seeing the primary fail (aws-us-west-2)',
      },
    ]);
  });

  it('catches a move on a flap: two failures in a row are not three, a recovery between restarts the count', () => {
    // Prepare
    const c = new DrChecker(RULES);
    c.observe(healthy(0));
    const flapping = (v: string) => [
      ...probes(v, MIN, 2, true),
      ...probes(v, 3 * MIN, 1, false),
      ...probes(v, 4 * MIN, 2, true),
    ];

    // Act: moved by the DNS answer alone (the cells unreadable)
    const found = c.observe(
      failedOver(6 * MIN, [...flapping('aws-us-west-2'), ...flapping('gcp-us-west1')], {
        cells: { aws: undefined, gcp: undefined },
        serving: { aws: 'ok', gcp: 'ok' },
        db: {
          aws: { role: 'replica', fenced: false, regionUp: true },
          gcp: { role: 'writer', fenced: false, regionUp: true },
        },
      }),
    );

    // Assess
    expect(found.map((v) => v.invariant)).toEqual(['dr-quorum']);
    expect(found[0]?.detail).toContain('with 0 of the quorum of 2');
  });

  it('catches failures seen too long before the move (stale) and a move back to the primary nobody approved', () => {
    // Prepare
    const c = new DrChecker(RULES);
    c.observe(healthy(0));
    const old = [...probes('aws-us-west-2', MIN, 3, true), ...probes('gcp-us-west1', MIN, 3, true)];

    // Act
    const stale = c.observe(
      failedOver(20 * MIN, old, {
        serving: { aws: 'ok', gcp: 'ok' },
        db: {
          aws: { role: 'replica', fenced: false, regionUp: true },
          gcp: { role: 'writer', fenced: false, regionUp: true },
        },
      }),
    );
    const back = c.observe(
      healthy(21 * MIN, {
        db: {
          aws: { role: 'writer', fenced: false, regionUp: true },
          gcp: { role: 'replica', fenced: false, regionUp: true },
        },
      }),
    );

    // Assess
    expect(stale.map((v) => v.invariant)).toEqual(['dr-quorum']);
    expect(back).toEqual([
      {
        invariant: 'dr-quorum',
        detail: 'traffic moved back to the primary (aws): a failback nobody approved',
      },
    ]);
  });
});

describe('dr-one-writer: never two writable databases, never both sides in DNS', () => {
  it('holds for a writer whose region is out beside the promoted one (it takes no writes)', () => {
    expect(oneWriter(failedOver(0, []))).toEqual([]);
  });

  it('catches two writers once the old primary is back, both cells On, and an answer naming both sides', () => {
    // Act
    const found = oneWriter(
      failedOver(0, [], {
        cells: { aws: 'On', gcp: 'On' },
        dns: ['aws', 'gcp'],
        db: {
          aws: { role: 'writer', fenced: false, regionUp: true },
          gcp: { role: 'writer', fenced: false, regionUp: true },
        },
      }),
    );

    // Assess
    expect(found.map((v) => v.detail)).toEqual([
      'two writable databases: aws and gcp are both unfenced writers, both regions up',
      'both ARC cells On: traffic may go to both sides',
      'Route 53 answered both sides (aws, gcp)',
    ]);
  });
});

describe('dr-one-writer with a fence', () => {
  it('holds for a fenced writer back beside the promoted one (it refuses writes), and not for an unfenced one', () => {
    // Prepare: the old primary's region is back, its database still a writer
    const back = (fenced: boolean) =>
      failedOver(0, [], {
        serving: { aws: 'ok', gcp: 'ok' },
        db: {
          aws: { role: 'writer', fenced, regionUp: true },
          gcp: { role: 'writer', fenced: false, regionUp: true },
        },
      });

    // Act / Assess
    expect(oneWriter(back(true))).toEqual([]);
    expect(drVerdict(back(true))).toEqual([]);
    expect(oneWriter(back(false)).map((v) => v.invariant)).toEqual(['dr-one-writer']);
    expect(drVerdict(back(false)).map((v) => v.detail)).toEqual(["aws's database is writable too"]);
  });

  it('refuses traffic on a side whose database is fenced', () => {
    const fencedServing = failedOver(0, [], {
      serving: { aws: 'ok', gcp: 'ok' },
      db: {
        aws: { role: 'writer', fenced: true, regionUp: true },
        gcp: { role: 'writer', fenced: true, regionUp: true },
      },
    });
    expect(drVerdict(fencedServing).map((v) => v.detail)).toEqual([
      'gcp has the traffic and its database is fenced',
    ]);
  });
});

describe('the end verdict of the DR part', () => {
  it('accepts one side serving with the one writer and a run succeeded, paged or awaiting its approval', () => {
    expect(drVerdict(healthy(0))).toEqual([]);
    const over = {
      db: {
        aws: { role: 'replica' as const, fenced: false, regionUp: true },
        gcp: { role: 'writer' as const, fenced: false, regionUp: true },
      },
      serving: { aws: 'ok', gcp: 'ok' },
    };
    expect(
      drVerdict(failedOver(0, [], { ...over, run: { epoch: 2, status: 'succeeded', pages: 0 } })),
    ).toEqual([]);
    expect(drVerdict(healthy(0, { run: { epoch: 2, status: 'stalled', pages: 1 } }))).toEqual([]);
    expect(drVerdict(healthy(0, { run: { epoch: 2, status: 'awaiting-approval', pages: 0 } }))).toEqual([]);
  });

  it('refuses a run still running or stopped without a page, no cell On, traffic on a side that does not serve or write', () => {
    expect(
      drVerdict(healthy(0, { run: { epoch: 3, status: 'running', pages: 0 } })).map((v) => v.detail),
    ).toEqual([
      'the run of epoch 3 is running, with no page: neither succeeded, paged nor waiting on its approval',
    ]);
    expect(drVerdict(healthy(0, { run: { epoch: 3, status: 'stalled', pages: 0 } }))).toHaveLength(1);
    expect(
      drVerdict(healthy(0, { cells: { aws: 'Off', gcp: 'Off' }, dns: [] })).map((v) => v.detail),
    ).toEqual(['0 ARC cells On (none), not exactly one']);
    expect(
      drVerdict(
        failedOver(0, [], {
          db: {
            aws: { role: 'writer', fenced: false, regionUp: true },
            gcp: { role: 'replica', fenced: false, regionUp: true },
          },
        }),
      ).map((v) => v.detail),
    ).toEqual(['gcp has the traffic and its database is a replica', "aws's database is writable too"]);
  });
});
