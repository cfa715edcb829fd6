/**
 * EventBridge's PutEvents: each entry checked as the API checks it (a per-entry failure, not a
 * refused request), stamped as an event, kept among the recent ones and dispatched to the rules of
 * its bus. The API operation, other services' destinations and CloudTrail events all put through it.
 */
import { randomUUID } from 'node:crypto';
import { errorClass } from '../errors.ts';
import type { World } from '../service.ts';
import type { Bus, EventsState } from '../services/events.ts';
import { dispatch } from './targets.ts';

const ResourceNotFound = errorClass('ResourceNotFoundException', 400);

export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  Time?: Date | number | string;
  EventBusName?: string;
}

const MAX_ENTRY_BYTES = 256 * 1024;
/** The bus named by name or ARN (`default` when none is named); ResourceNotFoundException if absent. */
export function busOf(state: EventsState, nameOrArn: unknown): Bus {
  const raw = typeof nameOrArn === 'string' && nameOrArn.length > 0 ? nameOrArn : 'default';
  const name = raw.startsWith('arn:') ? (raw.split('/').pop() as string) : raw;
  const bus = state.buses.get(name);
  if (!bus) throw ResourceNotFound(`Event bus ${name} does not exist.`);
  return bus;
}

/**
 * PutEvents from code (other services, destinations): same validation and partial-failure report
 * as the API.
 */
export async function putEventsFor(
  world: World,
  accountId: string,
  region: string,
  entries: PutEventsEntry[],
) {
  const state = world.stateOf<EventsState>('events', accountId, region);
  const results: ({ EventId: string } | { ErrorCode: string; ErrorMessage: string })[] = [];
  for (const e of entries) {
    const problem = entryProblem(e);
    if (problem) {
      results.push(problem);
      continue;
    }
    let bus: Bus;
    try {
      bus = busOf(state, e.EventBusName);
    } catch (err) {
      results.push({ ErrorCode: 'ResourceNotFoundException', ErrorMessage: (err as Error).message });
      continue;
    }
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': e.DetailType,
      source: e.Source,
      account: accountId,
      time: new Date(e.Time === undefined ? world.clock.now() : toMillis(e.Time))
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: e.Resources ?? [],
      detail: JSON.parse(e.Detail as string),
    };
    state.recent.push(event);
    if (state.recent.length > 1000) state.recent.shift();
    dispatch(world, state, bus, event);
    results.push({ EventId: event.id });
  }
  return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
}

function toMillis(t: Date | number | string): number {
  if (t instanceof Date) return t.getTime();
  if (typeof t === 'number') return t < 1e12 ? t * 1000 : t;
  return Date.parse(t);
}

function entryProblem(e: PutEventsEntry): { ErrorCode: string; ErrorMessage: string } | undefined {
  for (const field of ['Source', 'DetailType', 'Detail'] as const) {
    if (typeof e[field] !== 'string' || (e[field] as string).length === 0) {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
      };
    }
  }
  let detail: unknown;
  try {
    detail = JSON.parse(e.Detail as string);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  const size = Buffer.byteLength(JSON.stringify(e));
  if (size > MAX_ENTRY_BYTES)
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: `Total size of the entries in the request is over the limit (${size} > ${MAX_ENTRY_BYTES} bytes).`,
    };
  return undefined;
}
