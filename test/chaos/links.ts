/**
 * The links job in a chaos scenario: its workload (each planned link requested through the CLI on
 * its initiator's side, approved by each side's approver from the cloud they belong to, and, once
 * ACTIVE, decommissioned by its requester with the other side's approval) and its invariants, read
 * from the simulated world and both sides' records:
 * - every billed half (a connection or transport not deleted) belongs to a live link, or to one
 *   being compensated for at most COMPENSATION_BOUND_MS of virtual time, and to none at the end;
 * - each link has at most one connection and one transport, ever;
 * - each side applied each peer event at most once; at the end, every event a side emitted about a
 *   link reached the peer's audit (applied, ignored or refused, with its reason) or a dead letter;
 * - no activation key in any record, audit entry, event or function output: only the providers and
 *   the secret stores hold them;
 * - at the end, each link is, on both sides alike, ACTIVE (one connection available, one transport
 *   ACTIVE), DECOMMISSIONED / FAILED / EXPIRED / REJECTED with nothing billing, or waiting on the
 *   approval of a named side.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LinkRecord } from '#core/link/model.ts';
import type { CliRun } from '../support/cli.ts';
import { type ChaosContext, ScenarioEnded, type Violation } from './registry.ts';
import { type LinkPlan, REGION_PAIRS } from './scenario.ts';
import { billing, type HeldConnection, type HeldTransport, type Observation } from './world.ts';

/** How long a half may bill after its link ended before it counts as orphaned (virtual time). */
export const COMPENSATION_BOUND_MS = 30 * 60_000;

/** Wall time a person waits for one thing before giving up on it (the settle phase judges what is left). */
const PERSON_PATIENCE_MS = 90_000;

const APPROVER = { aws: ['--as', 'bob'], gcp: ['--side', 'gcp', '--as', 'carol'] } as const;
const SIDE_ARGS = { aws: [] as string[], gcp: ['--side', 'gcp'] };
const TERMINAL = new Set(['DECOMMISSIONED', 'FAILED', 'EXPIRED', 'REJECTED']);

/** The request file of plan `i` (a name of its own, the pair's regions, the examples' networks). */
function requestYaml(plan: LinkPlan, name: string): string {
  const pair = REGION_PAIRS[plan.pair];
  return [
    `name: ${name}`,
    `initiator: ${plan.initiator}`,
    'bandwidth: 1Gbps',
    'environment: prod',
    `residency: ${pair.residency}`,
    'aws:',
    '  accountId: "000000000000"',
    `  region: ${pair.aws}`,
    `  directConnectGateway: ${pair.gateway}`,
    `  routes: [${pair.routes.aws.join(', ')}]`,
    'gcp:',
    '  project: payments-prod',
    `  region: ${pair.gcp}`,
    '  network: payments-vpc',
    `  routes: [${pair.routes.gcp.join(', ')}]`,
    '',
  ].join('\n');
}

/**
 * Polls `fn` every second until it returns something truthy, for a person's patience, or until the
 * scenario ended; returns the last value.
 */
async function patiently<T>(ctx: ChaosContext, fn: () => Promise<T>): Promise<T | undefined> {
  const end = Date.now() + PERSON_PATIENCE_MS;
  let last: T | undefined;
  while (!ctx.ended) {
    last = await fn().catch(() => undefined);
    if (last || Date.now() > end) return last;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new ScenarioEnded();
}

/**
 * Runs the CLI until it exits 0 (a person asking again after an error); `tries` says how many
 * times it ran and `first` the first refusal, for the step's line.
 */
async function persist(ctx: ChaosContext, args: string[]): Promise<CliRun & { note: string }> {
  let last: CliRun = { code: -1, out: '', err: 'not run' };
  let tries = 0;
  let first: string | undefined;
  await patiently(ctx, async () => {
    last = await ctx.both.cli(...args);
    tries++;
    if (last.code !== 0) first ??= `exit ${last.code}: ${(last.err.split('\n')[0] ?? '').slice(0, 160)}`;
    return last.code === 0;
  });
  const note = tries > 1 ? ` [${last.code === 0 ? 'after' : 'refused'} ${tries} tries, first ${first}]` : '';
  return { ...last, note };
}

async function states(ctx: ChaosContext, id: string): Promise<{ aws?: string; gcp?: string }> {
  const show = async (side: 'aws' | 'gcp', who: string) => {
    const r = await ctx.both.cli('link', 'show', id, ...SIDE_ARGS[side], '--as', who, '--json');
    return r.code === 0 ? (JSON.parse(r.out) as { state: string }).state : undefined;
  };
  const [aws, gcp] = await Promise.all([show('aws', 'bob'), show('gcp', 'carol')]);
  return { ...(aws ? { aws } : {}), ...(gcp ? { gcp } : {}) };
}

/** Waits until both sides say one of `wanted` (or a terminal state); returns what they say then. */
async function until(ctx: ChaosContext, id: string, wanted: string[]) {
  let last: { aws?: string; gcp?: string } = {};
  await patiently(ctx, async () => {
    last = await states(ctx, id);
    const done = (s?: string) => s !== undefined && (wanted.includes(s) || TERMINAL.has(s));
    return done(last.aws) && done(last.gcp);
  });
  return last;
}

async function driveLink(ctx: ChaosContext, plan: LinkPlan, index: number): Promise<void> {
  const label = `link ${index}`;
  // A name of its own in every run: a seed runs again while it shrinks, on the same cloud.
  const name = `chaos-${ctx.seed}-${ctx.run}-${index}`;
  const file = join(ctx.both.home, `${name}.yaml`);
  writeFileSync(file, requestYaml(plan, name));
  const requested = await persist(ctx, ['link', 'request', file, '--as', 'alice', '--json']);
  if (requested.code !== 0) return ctx.step(`${label} request refused${requested.note}`);
  const id = (JSON.parse(requested.out) as { id: string }).id;
  ctx.linkIds[index] = id;
  await ctx.step(`${label} requested on ${plan.initiator}${requested.note}`);

  const peer = plan.initiator === 'aws' ? 'gcp' : 'aws';
  const first = await persist(ctx, ['link', 'approve', id, ...APPROVER[plan.initiator]]);
  if (first.code === 0) approvalGiven(ctx, index, plan.initiator);
  await ctx.step(
    `${label} approved on ${plan.initiator}${first.code === 0 ? '' : ' (refused)'}${first.note}`,
  );
  if (plan.approvals === 'initiator') return;
  // The peer's intake knows the link once the request crossed (until then it answers 4).
  const second = await persist(ctx, ['link', 'approve', id, ...APPROVER[peer]]);
  if (second.code === 0) approvalGiven(ctx, index, peer);
  await ctx.step(`${label} approved on ${peer}${second.code === 0 ? '' : ' (refused)'}${second.note}`);

  const up = await until(ctx, id, ['ACTIVE']);
  await ctx.step(`${label} ${up.aws === up.gcp ? up.aws : `aws ${up.aws}, gcp ${up.gcp}`}`);
  if (!plan.decommission || up.aws !== 'ACTIVE' || up.gcp !== 'ACTIVE') return;

  // alice asks on the initiator's side; the approver of the other side approves from there.
  const asked = await persist(ctx, [
    'link',
    'decommission',
    id,
    ...SIDE_ARGS[plan.initiator],
    '--as',
    'alice',
  ]);
  await ctx.step(`${label} decommission asked${asked.code === 0 ? '' : ' (refused)'}${asked.note}`);
  await patiently(ctx, async () => {
    const who = peer === 'aws' ? 'bob' : 'carol';
    const r = await ctx.both.cli('link', 'show', id, ...SIDE_ARGS[peer], '--as', who, '--json');
    return r.code === 0 && (JSON.parse(r.out) as { decommission?: { status: string } }).decommission?.status;
  });
  const approved = await persist(ctx, ['link', 'approve', id, ...APPROVER[peer]]);
  await ctx.step(
    `${label} decommission approved on ${peer}${approved.code === 0 ? '' : ' (refused)'}${approved.note}`,
  );
  const down = await until(ctx, id, ['DECOMMISSIONED']);
  await ctx.step(`${label} ${down.aws === down.gcp ? down.aws : `aws ${down.aws}, gcp ${down.gcp}`}`);
}

/** The connections and transports of link `id` the world holds (deleted ones too). */
export function heldBy(
  seen: Observation,
  id: string,
): { connections: HeldConnection[]; transports: HeldTransport[] } {
  return {
    connections: seen.connections.filter((c) => c.description === `crosslink ${id}`),
    transports: seen.transports.filter((t) => t.id === id),
  };
}

function billingOf(seen: Observation, id: string): string[] {
  const held = heldBy(seen, id);
  return [
    ...held.connections.filter(billing).map((c) => `connection ${c.id} ${c.state}`),
    ...held.transports.filter((t) => !t.deleting).map((t) => `transport ${t.name} ${t.state}`),
  ];
}

const ids = (ctx: ChaosContext) => ctx.linkIds.filter((id): id is string => id !== undefined);

/** The approvals people gave (their command exited 0), as `<plan index>:<side>`, per scenario. */
const approvalsGiven = new WeakMap<ChaosContext, Set<string>>();

/** Records that the approver of `side` approved plan `index`'s link: the intake took it. */
export function approvalGiven(ctx: ChaosContext, index: number, side: 'aws' | 'gcp'): void {
  let given = approvalsGiven.get(ctx);
  if (!given) {
    given = new Set();
    approvalsGiven.set(ctx, given);
  }
  given.add(`${index}:${side}`);
}

/** When each link's halves were first seen billing after it ended, by link id (per scenario). */
const orphanSince = new WeakMap<ChaosContext, Map<string, number>>();

export const linkInvariants = [
  {
    name: 'billed halves belong to live links',
    check(seen: Observation, ctx: ChaosContext, final: boolean): Violation[] {
      const out: Violation[] = [];
      let since = orphanSince.get(ctx);
      if (!since) {
        since = new Map();
        orphanSince.set(ctx, since);
      }
      for (const id of ids(ctx)) {
        const billed = billingOf(seen, id);
        const rec = seen.records.get(id);
        const said = [rec?.aws.link?.state, rec?.gcp.link?.state];
        const ended = said.every((s) => s === undefined || TERMINAL.has(s));
        if (billed.length === 0 || !ended) {
          since.delete(id);
          continue;
        }
        const first = since.get(id) ?? seen.at;
        since.set(id, first);
        if (final || seen.at - first > COMPENSATION_BOUND_MS)
          out.push({
            invariant: this.name,
            detail: `${id} is ${said.join('/')} and still bills ${billed.join(', ')} (${Math.round((seen.at - first) / 60_000)} min after it ended)`,
          });
      }
      return out;
    },
  },
  {
    name: 'at most one connection and one transport per link',
    check(seen: Observation, ctx: ChaosContext): Violation[] {
      const out: Violation[] = [];
      for (const id of ids(ctx)) {
        const held = heldBy(seen, id);
        if (held.connections.length > 1)
          out.push({
            invariant: this.name,
            detail: `${id} has connections ${held.connections.map((c) => `${c.id} ${c.state}`).join(', ')}`,
          });
        if (held.transports.length > 1)
          out.push({
            invariant: this.name,
            detail: `${id} has transports ${held.transports.map((t) => t.name).join(', ')}`,
          });
      }
      return out;
    },
  },
  {
    name: 'every peer event applied once, or dead-lettered with a reason',
    check(seen: Observation, ctx: ChaosContext, final: boolean): Violation[] {
      const out: Violation[] = [];
      const mine = new Set(ids(ctx));
      for (const id of mine) {
        const rec = seen.records.get(id);
        for (const side of ['aws', 'gcp'] as const) {
          const applied = (rec?.[side].audit ?? [])
            .filter((a) => a.actor.startsWith('peer:') && a.eventId && a.outcome === 'applied')
            .map((a) => a.eventId as string);
          const twice = applied.filter((e, i) => applied.indexOf(e) !== i);
          if (twice.length > 0)
            out.push({
              invariant: this.name,
              detail: `${side} applied ${[...new Set(twice)].join(', ')} of ${id} more than once`,
            });
        }
      }
      if (!final) return out;
      for (const [from, to] of [
        ['aws', 'gcp'],
        ['gcp', 'aws'],
      ] as const) {
        for (const event of seen.emitted[from].values()) {
          const linkId = (event.data as { linkId?: string } | undefined)?.linkId;
          if (!linkId || !mine.has(linkId)) continue;
          const audit = seen.records.get(linkId)?.[to].audit ?? [];
          if (audit.some((a) => a.eventId === event.id)) continue;
          const dead = seen.deadLetters.find((d) => d.body.includes(event.id));
          if (dead?.reason) continue;
          out.push({
            invariant: this.name,
            detail: `${event.type} ${event.id} of ${linkId} from ${from}: ${dead ? `dead-lettered in ${dead.where} with no reason` : `neither in ${to}'s audit nor dead-lettered`}`,
          });
        }
      }
      return out;
    },
  },
  {
    name: 'activation keys only in the secret stores',
    check(seen: Observation, ctx: ChaosContext): Violation[] {
      const keys = new Set<string>();
      for (const id of ids(ctx)) {
        const held = heldBy(seen, id);
        for (const c of held.connections) if (c.activationKey) keys.add(c.activationKey);
        for (const t of held.transports) for (const k of t.keys) keys.add(k);
      }
      if (keys.size === 0) return [];
      const places: [string, string][] = [['function output', seen.output]];
      for (const [id, rec] of seen.records) {
        places.push([`${id} record on aws`, JSON.stringify(rec.aws)]);
        places.push([`${id} record on gcp`, JSON.stringify(rec.gcp)]);
      }
      for (const side of ['aws', 'gcp'] as const)
        for (const e of seen.emitted[side].values())
          places.push([`${side} event ${e.type} ${e.id}`, JSON.stringify(e)]);
      const out: Violation[] = [];
      for (const [where, text] of places)
        for (const key of keys)
          if (text.includes(key)) out.push({ invariant: this.name, detail: `an activation key in ${where}` });
      return out;
    },
  },
];

/**
 * What a person would accept of one link once nothing is injected any more; undefined when it is.
 * `given(side)`: whether that side's approver approved it (the command exited 0).
 */
function unacceptable(
  seen: Observation,
  id: string,
  given: (side: 'aws' | 'gcp') => boolean,
): string | undefined {
  const rec = seen.records.get(id);
  const aws = rec?.aws.link;
  const gcp = rec?.gcp.link;
  if (!aws || !gcp)
    return aws || gcp
      ? `only ${aws ? 'aws' : 'gcp'} has a record (${whereRequestWent(seen, id, aws ? 'aws' : 'gcp')})`
      : 'neither side has a record';
  if (aws.state !== gcp.state) return `aws says ${aws.state}, gcp says ${gcp.state}`;
  const billed = billingOf(seen, id);
  const held = heldBy(seen, id);
  switch (aws.state) {
    case 'ACTIVE': {
      const conns = held.connections.filter(billing).map((c) => c.state);
      const trans = held.transports.filter((t) => !t.deleting).map((t) => t.state);
      if (conns.join() !== 'available' || trans.join() !== 'ACTIVE')
        return `ACTIVE with connections [${conns}] and transports [${trans}]`;
      // The plan's decommission counts once asked: a person who saw the link not up in time never asked.
      if ([aws, gcp].some((l) => l.decommission?.status === 'APPROVED'))
        return 'ACTIVE, but its decommission was asked and approved';
      return undefined;
    }
    case 'DECOMMISSIONED':
    case 'FAILED':
    case 'EXPIRED':
    case 'REJECTED':
      return billed.length === 0 ? undefined : `${aws.state} and still billing ${billed.join(', ')}`;
    case 'AWAITING_APPROVAL': {
      const missing = waitingOn(aws) ?? waitingOn(gcp);
      if (!missing) return 'AWAITING_APPROVAL with no approval missing';
      // Waiting is acceptable on an approval nobody gave, not on one the approver gave. The plan
      // does not say: an approver whose every try was refused (the link not there yet) gave none.
      return given(missing) ? `waiting on ${missing}'s approval, which was given` : undefined;
    }
    default:
      return `left ${aws.state}`;
  }
}

/**
 * Where the `LinkRequested` of a link only `from` knows went, from what the invariants read: the
 * peer's audit (its outcome and reason), a dead letter (where and why), or neither; so a report says
 * which hop lost the link without the run's logs.
 */
function whereRequestWent(seen: Observation, id: string, from: 'aws' | 'gcp'): string {
  const to = from === 'aws' ? 'gcp' : 'aws';
  const requests = [...seen.emitted[from].values()].filter(
    (e) => e.type.includes('.LinkRequested.') && (e.data as { linkId?: string } | undefined)?.linkId === id,
  );
  if (requests.length === 0) return `no LinkRequested of it seen on ${from}'s bus`;
  const audit = seen.records.get(id)?.[to].audit ?? [];
  return requests
    .map((e) => {
      const entry = audit.find((a) => a.eventId === e.id);
      if (entry) return `its LinkRequested ${e.id} ${entry.outcome} by ${to}: ${entry.reasons.join('; ')}`;
      const dead = seen.deadLetters.find((d) => d.body.includes(e.id));
      if (dead)
        return `its LinkRequested ${e.id} dead-lettered in ${dead.where}: ${dead.reason ?? 'no reason'}`;
      return `its LinkRequested ${e.id} neither in ${to}'s audit nor dead-lettered`;
    })
    .join('; ');
}

/** The side whose approval a waiting link lacks (the person would be told whose it is). */
function waitingOn(link: LinkRecord): 'aws' | 'gcp' | undefined {
  const approved = new Set(link.approvals.filter((a) => a.decision === 'approved').map((a) => a.side));
  return (['aws', 'gcp'] as const).find((s) => !approved.has(s));
}

export const linkWorkload = {
  name: 'links',
  async run(ctx: ChaosContext): Promise<void> {
    await Promise.all(ctx.scenario.links.map((plan, i) => driveLink(ctx, plan, i)));
  },
  settled(ctx: ChaosContext, seen: Observation): Violation[] {
    const out: Violation[] = [];
    ctx.scenario.links.forEach((_, i) => {
      const id = ctx.linkIds[i];
      if (!id) {
        out.push({
          invariant: 'links end in a state a person accepts',
          detail: `link ${i} was never requested`,
        });
        return;
      }
      const why = unacceptable(seen, id, (side) => approvalsGiven.get(ctx)?.has(`${i}:${side}`) ?? false);
      if (why)
        out.push({ invariant: 'links end in a state a person accepts', detail: `link ${i} (${id}): ${why}` });
    });
    return out;
  },
};
