/**
 * The paginators and waiters of our AWS Interconnect client, shaped like the SDK v3 ones they stand
 * in for (`paginateListConnections`, `waitUntilConnectionAvailable`...). They only call `send`, so they
 * sit beside the client rather than in it; the waiters follow the Smithy waiter spec (interconnect-
 * client.ts's module comment says how errors end a wait).
 */
import { sleep as letTimePass } from '#core/clock.ts';
import {
  type ConnectionState,
  GetConnectionCommand,
  type InputOf,
  type InterconnectClient,
  type InterconnectCommand,
  ListConnectionsCommand,
  ListEnvironmentsCommand,
  type OutputOf,
} from './interconnect-client.ts';

// ---------- paginator ----------

/** Iterates the pages of a list operation that takes `nextToken` / `maxResults`. */
async function* pages<O extends 'ListConnections' | 'ListEnvironments'>(
  command: (input: InputOf<O>) => InterconnectCommand<O>,
  config: { client: InterconnectClient; pageSize?: number },
  input: InputOf<O>,
): AsyncGenerator<OutputOf<O>> {
  let nextToken = input.nextToken;
  do {
    const page = (await config.client.send(
      command({ ...input, nextToken, maxResults: config.pageSize ?? input.maxResults }),
    )) as OutputOf<O>;
    yield page;
    nextToken = page.nextToken;
  } while (nextToken);
}

/** Iterates ListConnections pages (SDK: `paginateListConnections`). */
export function paginateListConnections(
  config: { client: InterconnectClient; pageSize?: number },
  input: InputOf<'ListConnections'> = {},
): AsyncGenerator<OutputOf<'ListConnections'>> {
  return pages((i) => new ListConnectionsCommand(i), config, input);
}

/** Iterates ListEnvironments pages (SDK: `paginateListEnvironments`). */
export function paginateListEnvironments(
  config: { client: InterconnectClient; pageSize?: number },
  input: InputOf<'ListEnvironments'> = {},
): AsyncGenerator<OutputOf<'ListEnvironments'>> {
  return pages((i) => new ListEnvironmentsCommand(i), config, input);
}

// ---------- waiters (model: GetConnection waitable) ----------

export type WaiterState = 'SUCCESS' | 'FAILURE' | 'RETRY' | 'TIMEOUT' | 'ABORTED';

export interface WaiterResult {
  state: WaiterState;
  reason?: unknown;
}

export interface WaiterConfiguration {
  client: InterconnectClient;
  /** Seconds before giving up with TIMEOUT. */
  maxWaitTime: number;
  /** Seconds (model: 30 and 120). */
  minDelay?: number;
  maxDelay?: number;
  abortSignal?: AbortSignal;
  /** Injectable so tests run the waiter on the virtual clock: how to wait, and what time it is. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

/** Thrown by `waitUntil*` when the waiter does not end in SUCCESS (SDK: checkExceptions). */
export class WaiterError extends Error {
  readonly state: WaiterState;
  readonly reason: unknown;
  constructor(result: WaiterResult) {
    const why =
      result.state === 'TIMEOUT'
        ? 'Waiter has timed out'
        : result.state === 'ABORTED'
          ? 'Request was aborted'
          : 'Waiter reached a failure state';
    super(`${why}: ${describeReason(result.reason)}`);
    this.name =
      result.state === 'TIMEOUT'
        ? 'TimeoutError'
        : result.state === 'ABORTED'
          ? 'AbortError'
          : 'WaiterFailure';
    this.state = result.state;
    this.reason = result.reason;
  }
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  const state = (reason as { connection?: { state?: string } } | undefined)?.connection?.state;
  return state ? `connection state ${state}` : 'no response';
}

type Acceptor =
  | { state: 'success' | 'failure' | 'retry'; expected: ConnectionState; errorType?: never }
  | { state: 'success' | 'failure' | 'retry'; errorType: string; expected?: never };

/** Acceptors of the model, in order: path `connection.state`, comparator stringEquals. */
const CONNECTION_AVAILABLE: readonly Acceptor[] = [
  { state: 'success', expected: 'available' },
  { state: 'failure', expected: 'deleted' },
  { state: 'failure', expected: 'down' },
];
const CONNECTION_DELETED: readonly Acceptor[] = [{ state: 'success', expected: 'deleted' }];
/**
 * Ours, not the model's: ConnectionDeleted has no error acceptor, so a connection already purged
 * (404 once `deleted` is past its retention) would fail it. docs/architecture.md confirms a deletion by a 404
 * from GetConnection (not by absence from a list), so ResourceNotFoundException is success here.
 */
const CONNECTION_DELETED_OR_GONE: readonly Acceptor[] = [
  ...CONNECTION_DELETED,
  { state: 'success', errorType: 'ResourceNotFoundException' },
];

async function runWaiter(
  config: WaiterConfiguration,
  input: InputOf<'GetConnection'>,
  acceptors: readonly Acceptor[],
): Promise<WaiterResult> {
  const minDelay = config.minDelay ?? 30;
  const maxDelay = config.maxDelay ?? 120;
  if (minDelay <= 0 || maxDelay < minDelay) throw new RangeError('waiter needs 0 < minDelay <= maxDelay');
  const sleep = config.sleep ?? letTimePass;
  const now = config.now ?? Date.now;
  const random = config.random ?? Math.random;
  const deadline = now() + config.maxWaitTime * 1000;
  // As @smithy/util-waiter: delay = uniform(minDelay, minDelay * 2^(attempt-1)), capped at maxDelay.
  const ceiling = Math.log(maxDelay / minDelay) / Math.log(2) + 1;
  for (let attempt = 1; ; attempt++) {
    if (config.abortSignal?.aborted) return { state: 'ABORTED' };
    let reason: unknown;
    try {
      const out = await config.client.send(new GetConnectionCommand(input));
      reason = out;
      const state = out.connection?.state;
      const hit = acceptors.find((a) => a.expected !== undefined && a.expected === state);
      if (hit?.state === 'success') return { state: 'SUCCESS', reason };
      if (hit?.state === 'failure') return { state: 'FAILURE', reason };
    } catch (err) {
      reason = err;
      const name = (err as Error)?.name;
      const hit = acceptors.find((a) => a.errorType !== undefined && a.errorType === name);
      if (hit?.state === 'success') return { state: 'SUCCESS', reason };
      if (hit?.state === 'failure') return { state: 'FAILURE', reason };
      // Smithy waiter spec: an error no acceptor matches ends the wait in failure. (`send` has
      // already retried throttling, 5xx and network errors.)
      if (hit?.state !== 'retry') return { state: 'FAILURE', reason };
    }
    const high = attempt > ceiling ? maxDelay : Math.min(maxDelay, minDelay * 2 ** (attempt - 1));
    const delay = (minDelay + random() * (high - minDelay)) * 1000;
    if (now() + delay > deadline) return { state: 'TIMEOUT', reason };
    await sleep(delay);
  }
}

async function checked(result: Promise<WaiterResult>): Promise<WaiterResult> {
  const r = await result;
  if (r.state !== 'SUCCESS') throw new WaiterError(r);
  return r;
}

/** Waits until `connection.state` is `available`; fails on `deleted` or `down`. */
export function waitForConnectionAvailable(config: WaiterConfiguration, input: InputOf<'GetConnection'>) {
  return runWaiter(config, input, CONNECTION_AVAILABLE);
}
export function waitUntilConnectionAvailable(config: WaiterConfiguration, input: InputOf<'GetConnection'>) {
  return checked(waitForConnectionAvailable(config, input));
}
/** Waits until `connection.state` is `deleted`. */
export function waitForConnectionDeleted(config: WaiterConfiguration, input: InputOf<'GetConnection'>) {
  return runWaiter(config, input, CONNECTION_DELETED);
}
export function waitUntilConnectionDeleted(config: WaiterConfiguration, input: InputOf<'GetConnection'>) {
  return checked(waitForConnectionDeleted(config, input));
}
/**
 * Waits until `connection.state` is `deleted` or GetConnection answers ResourceNotFoundException
 * (purged): the confirmation of a deletion that docs/architecture.md ("Decommission, to DECOMMISSIONED") asks for. Not a model waiter.
 */
export function waitForConnectionDeletedOrGone(config: WaiterConfiguration, input: InputOf<'GetConnection'>) {
  return runWaiter(config, input, CONNECTION_DELETED_OR_GONE);
}
export function waitUntilConnectionDeletedOrGone(
  config: WaiterConfiguration,
  input: InputOf<'GetConnection'>,
) {
  return checked(waitForConnectionDeletedOrGone(config, input));
}
