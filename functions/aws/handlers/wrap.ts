/**
 * What every Lambda entry of the AWS half shares (one entry module per function, beside this one,
 * each exporting `handler`; serverless.yml names `functions/aws/handlers/<entry>.handler`): middy
 * with the structured log (lambda-logger.ts, Powertools Logger's format), the link id appended to
 * every line, whole events and keys never logged, the input checked before the work runs. Each
 * entry imports only what its function uses, so its bundle holds only that.
 */
import middy from '@middy/core';
import { type InputCheck, parseInput } from '../input-parser.ts';
import { LambdaLogger, logInvocation } from '../lambda-logger.ts';

export const logger = new LambdaLogger('crosslink-aws');

/** What a handler reads of Lambda's context: the time left before the function's timeout. */
export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

export interface WrapOptions {
  /** What the event is checked against before `fn` runs (../input-parser.ts). */
  input: InputCheck;
  /** Middlewares after the input's (the approval metrics' flush, where a function publishes them). */
  use?: middy.MiddlewareObj[];
}

export function wrap<E, R>(
  name: string,
  fn: (event: E, context: LambdaContext) => Promise<R>,
  options: WrapOptions,
  // biome-ignore lint/suspicious/noExplicitAny: middy's handler type is generic over any event.
): any {
  let base = middy().use(logInvocation(logger)).use(parseInput(options.input));
  for (const m of options.use ?? []) base = base.use(m);
  return base.handler(async (raw: unknown, context: LambdaContext) => {
    const event = raw as E;
    const linkId =
      (event as { linkId?: unknown; pathParameters?: { id?: string } })?.linkId ??
      (event as { pathParameters?: { id?: string } })?.pathParameters?.id;
    if (typeof linkId === 'string') logger.appendKeys({ linkId });
    try {
      const out = await fn(event, context);
      logger.info(`${name} done`);
      return out;
    } catch (e) {
      // The name and message only: a Lambda error's cause lands in the execution history.
      logger.error(`${name} failed`, { error: { name: (e as Error).name, message: (e as Error).message } });
      throw e;
    }
  });
}
