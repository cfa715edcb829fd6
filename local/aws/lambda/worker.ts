/**
 * One Lambda execution environment: a worker thread with the function's own `process.env`. It
 * imports the handler module once (the cold start) and runs one invocation at a time, as a Lambda
 * sandbox does. Messages: `{id, event, context}` in, `{id, ok}` or `{id, error}` out. Its `Date`
 * and `scheduler.wait` follow the local cloud's virtual clock (virtual-date.ts) from before the
 * handler module loads;
 * the invocation's deadline stays on wall time, as the handler's code really runs.
 *
 * Code from an artifact (`{taskRoot, handler}`) is found as Lambda's Node.js runtime finds it: the
 * handler setting `<module>.<export>` names `<module>.js`, `.mjs` or `.cjs` under the task root and
 * nothing elsewhere. A module that is missing, or that cannot import what it needs (a file or
 * package left out of the zip), fails the invocation with `Runtime.ImportModuleError`; an export
 * that is not a function with `Runtime.HandlerNotFound`. A failed cold start is tried again at the
 * next invocation, as Lambda re-initialises a sandbox whose init failed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { installVirtualDate, installVirtualWait, readShared } from '../../virtual-date.ts';

type Spec = ({ file: string; exportName: string } | { taskRoot: string; handler: string }) & {
  clock: SharedArrayBuffer;
};
type Handler = (event: unknown, context: unknown) => unknown;

const spec = workerData as Spec;
const wallNow = installVirtualDate(readShared(spec.clock));
installVirtualWait();
let handler: Handler | undefined;

interface Invocation {
  id: number;
  event: unknown;
  context: Record<string, unknown> & { deadlineWall: number };
}

const failure = (name: string, message: string) => Object.assign(new Error(message), { name });

/** The module to import and the export to call, or the runtime's error when the module is not there. */
function locate(s: Spec): { file: string; exportName: string } {
  if ('file' in s) return s;
  const dot = s.handler.lastIndexOf('.');
  if (dot <= 0 || dot === s.handler.length - 1)
    throw failure('Runtime.MalformedHandlerName', `Bad handler ${s.handler}: expected <module>.<export>`);
  const module = s.handler.slice(0, dot);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => join(s.taskRoot, module + ext)).find(existsSync);
  if (!file) throw failure('Runtime.ImportModuleError', `Error: Cannot find module '${module}'`);
  return { file, exportName: s.handler.slice(dot + 1) };
}

async function load(): Promise<Handler> {
  const { file, exportName } = locate(spec);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ('taskRoot' in spec && (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'))
      throw failure('Runtime.ImportModuleError', `Error: ${(err as Error).message}`);
    throw err;
  }
  const fn = mod[exportName] ?? (mod.default as Record<string, unknown> | undefined)?.[exportName];
  if (typeof fn !== 'function')
    throw failure(
      'Runtime.HandlerNotFound',
      'taskRoot' in spec
        ? `${spec.handler} is undefined or not exported`
        : `${file} does not export ${exportName}`,
    );
  return fn as Handler;
}

parentPort?.on('message', async (msg: Invocation) => {
  try {
    handler ??= await load();
    const { deadlineWall, ...fields } = msg.context;
    const context = {
      ...fields,
      // The sandbox's stream, as its AWS_LAMBDA_LOG_STREAM_NAME says.
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? fields.logStreamName,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadlineWall - wallNow()),
    };
    const result = await handler(msg.event, context);
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
