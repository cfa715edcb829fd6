/**
 * `link show`: the text of one link, and the view of both sides merged. Each cloud keeps its own
 * record of a link (its own half authoritative, the peer's half a replica) and audits every peer
 * event it receives; asking both intakes and merging their answers shows the stages each side
 * recorded and the events that crossed between the clouds, in the order they were sent.
 */
import type { Cloud } from '#core/envelope.ts';
import type { LinkResource } from './intake-client.ts';
import { table } from './table.ts';

type Stage = LinkResource['stages'][number];
type AuditItem = NonNullable<LinkResource['audit']>[number];

/** A stage as one side recorded it. */
export type SidedStage = Stage & { side: Cloud };

/** One peer event a side received: who sent it, when it was emitted and received, what it did there. */
export interface CrossedEvent {
  /** The CloudEvent id (null for an entry written before ids were audited). */
  id: string | null;
  /** The event's name, e.g. `LinkApproved`. */
  type: string;
  from: Cloud;
  to: Cloud;
  /** The CloudEvent's `time`; null for an entry written before it was audited. */
  emittedAt: string | null;
  receivedAt: string;
  outcome: string;
  /** Why, when the receiver ignored or refused it. */
  reason?: string;
}

/**
 * `link show --json` with both sides: the link resource of the initiator's side (the other side's
 * when the initiator's did not answer) whose `halves` are each as its own side records it and whose
 * `stages` are both sides' merged, plus each side's own resource and the events that crossed.
 */
export type BothSidesLink = Omit<LinkResource, 'stages'> & {
  stages: SidedStage[];
  sides: Partial<Record<Cloud, LinkResource>>;
  crossed: CrossedEvent[];
};

const CLOUDS: readonly Cloud[] = ['aws', 'gcp'];

/** Sorts by a timestamp, keeping the given order for equal times (Array.prototype.sort is stable). */
function byTime<T>(items: T[], time: (t: T) => string): T[] {
  return items
    .map((item, i) => ({ item, i, t: Date.parse(time(item)) }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map((x) => x.item);
}

/** The sides that answered, the link's initiator first: the order kept for equal times. */
function answered(sides: Partial<Record<Cloud, LinkResource>>): { side: Cloud; link: LinkResource }[] {
  const present = CLOUDS.flatMap((side) => {
    const link = sides[side];
    return link ? [{ side, link }] : [];
  });
  const initiator = present[0]?.link.initiator;
  return [...present.filter((p) => p.side === initiator), ...present.filter((p) => p.side !== initiator)];
}

const PEER_ACTOR = /^peer:(aws|gcp)$/;

/** The peer events a side's audit records, as crossings into that side. */
function crossingsInto(side: Cloud, audit: AuditItem[]): CrossedEvent[] {
  return audit.flatMap((a) => {
    const from = PEER_ACTOR.exec(a.actor)?.[1] as Cloud | undefined;
    if (!from) return [];
    const quiet = a.outcome === 'applied' || a.reasons.length === 0;
    return [
      {
        id: a.eventId ?? null,
        type: a.action,
        from,
        to: side,
        emittedAt: a.eventTime ?? null,
        receivedAt: a.at,
        outcome: a.outcome,
        ...(quiet ? {} : { reason: a.reasons.join('; ') }),
      },
    ];
  });
}

/**
 * Merges what each side's intake answered (at least one). Each half is as its own side records it
 * (that side observes it; the other learns of it through the relay, later), the other side's view
 * when its own did not answer. Stages are ordered by their time, events by the time they were
 * emitted (their receipt when that is unknown); equal times keep the initiator's side first, and
 * each side's own order.
 */
export function mergeSides(sides: Partial<Record<Cloud, LinkResource>>): BothSidesLink {
  const views = answered(sides);
  const primary = views[0]?.link;
  if (!primary) throw new Error('mergeSides needs at least one side');
  const own = (side: Cloud) => (sides[side] ?? primary).halves[side];
  return {
    ...primary,
    halves: { aws: own('aws'), gcp: own('gcp') },
    stages: byTime(
      views.flatMap(({ side, link }) => link.stages.map((s) => ({ ...s, side }))),
      (s) => s.at,
    ),
    sides: Object.fromEntries(views.map(({ side, link }) => [side, link])),
    crossed: byTime(
      views.flatMap(({ side, link }) => crossingsInto(side, link.audit ?? [])),
      (e) => e.emittedAt ?? e.receivedAt,
    ),
  };
}

/** Both sides' audit in one list, by time, each entry labelled with the side that wrote it. */
export function mergedAudit(link: BothSidesLink): (AuditItem & { side: Cloud })[] {
  return byTime(
    answered(link.sides).flatMap(({ side, link: l }) => (l.audit ?? []).map((a) => ({ ...a, side }))),
    (a) => a.at,
  );
}

// ---- text ------------------------------------------------------------------------------------------

/** One line: what the command did and where the link is now. */
export function summary(link: Pick<LinkResource, 'id' | 'name' | 'state'>): string {
  return `${link.id}  "${link.name}"  ${link.state}`;
}

export function stageLine(s: Stage): string {
  return `${s.at}  ${s.state}${s.reason ? `  ${s.reason}` : ''}`;
}

/** The header, the halves table and the approvals: the same for one side and for both. */
function headLines(link: LinkResource): string[] {
  const out = [
    summary(link),
    `  initiator ${link.initiator}${link.environment ? `, ${link.environment}` : ''}${link.requester ? `, requested by ${link.requester}` : ''}`,
    '',
    'halves:',
  ];
  const half = (side: Cloud) => {
    const h = link.halves[side];
    return [
      side,
      h.state,
      h.nativeState ?? '-',
      String(h.sequence),
      h.connectionId ?? h.transportName ?? '-',
    ];
  };
  for (const l of table(['SIDE', 'STATE', 'NATIVE', 'SEQ', 'RESOURCE'], [half('aws'), half('gcp')]))
    out.push(`  ${l}`);
  out.push('', 'approvals:');
  if (link.approvals.length === 0) out.push('  none yet');
  for (const a of link.approvals)
    out.push(`  ${a.at}  ${a.side}  ${a.decision} by ${a.by}${a.reason ? ` (${a.reason})` : ''}`);
  return out;
}

/** `link show --side <cloud>`: one intake's record. */
export function showLines(link: LinkResource): string[] {
  const out = [...headLines(link), '', 'stages:'];
  for (const s of link.stages) out.push(`  ${stageLine(s)}`);
  out.push('', 'audit:');
  const audit = link.audit ?? [];
  if (audit.length === 0) out.push('  none');
  for (const l of table(
    ['AT', 'ACTOR', 'ACTION', 'OUTCOME', 'REASONS'],
    audit.map((a) => [a.at, a.actor, a.action, a.outcome, a.reasons.join('; ')]),
  ))
    out.push(`  ${l}`);
  return out;
}

/** `link show` of both sides: stages and audit labelled by side, and the events between the clouds. */
export function bothSidesLines(link: BothSidesLink): string[] {
  const out = [...headLines(link), '', 'stages:'];
  for (const s of link.stages) out.push(`  ${s.at}  ${s.side}  ${s.state}${s.reason ? `  ${s.reason}` : ''}`);
  out.push('', 'events between the clouds:');
  if (link.crossed.length === 0) out.push('  none');
  else
    for (const l of table(
      ['EMITTED', 'DIRECTION', 'TYPE', 'EVENT', 'RECEIVED', 'OUTCOME'],
      link.crossed.map((e) => [
        e.emittedAt ?? '?',
        `${e.from} -> ${e.to}`,
        e.type,
        e.id ?? '?',
        e.receivedAt,
        e.reason ? `${e.outcome}: ${e.reason}` : e.outcome,
      ]),
    ))
      out.push(`  ${l}`);
  out.push('', 'audit:');
  const audit = mergedAudit(link);
  if (audit.length === 0) out.push('  none');
  else
    for (const l of table(
      ['AT', 'SIDE', 'ACTOR', 'ACTION', 'OUTCOME', 'REASONS'],
      audit.map((a) => [a.at, a.side, a.actor, a.action, a.outcome, a.reasons.join('; ')]),
    ))
      out.push(`  ${l}`);
  return out;
}
