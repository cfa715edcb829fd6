/**
 * One Lambda execution environment: a worker thread with the function's own `process.env`. It
 * imports the handler module once (the cold start) and runs one invocation at a time, as a Lambda
 * sandbox does. Messages: `{id, event, context}` in, `{id, ok}` or `{id, error}` out. Its `Date`
 * follows the local cloud's virtual clock (virtual-date.ts) from before the handler module loads;
 * the invocation's deadline stays on wall time, as the handler's code really runs.
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { installVirtualDate, readShared } from '../../virtual-date.ts';

const { file, exportName, clock } = workerData as {
  file: string;
  exportName: string;
  clock: SharedArrayBuffer;
};
const wallNow = installVirtualDate(readShared(clock));
let handler: ((event: unknown, context: unknown) => unknown) | undefined;

interface Invocation {
  id: number;
  event: unknown;
  context: Record<string, unknown> & { deadlineWall: number };
}

parentPort?.on('message', async (msg: Invocation) => {
  try {
    if (!handler) {
      const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      const fn = mod[exportName] ?? (mod.default as Record<string, unknown> | undefined)?.[exportName];
      if (typeof fn !== 'function')
        throw Object.assign(new Error(`${file} does not export ${exportName}`), {
          name: 'Runtime.HandlerNotFound',
        });
      handler = fn as (event: unknown, context: unknown) => unknown;
    }
    const { deadlineWall, ...fields } = msg.context;
    const context = {
      ...fields,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadlineWall - wallNow()),
    };
    const result = await (handler as (e: unknown, c: unknown) => unknown)(msg.event, context);
    parentPort?.postMessage({ id: msg.id, ok: result === undefined ? null : result });
  } catch (err) {
    const e = err as Error;
    parentPort?.postMessage({
      id: msg.id,
      error: {
        errorType: e?.name ?? 'Error',
        errorMessage: e?.message ?? String(err),
        trace: String(e?.stack ?? '').split('\n'),
      },
    });
  }
});
