/**
 * Runs one state machine definition in-process, without the local cloud: the interpreter on its
 * own virtual clock that jumps to the next timer whenever nothing else is running (so a Wait of a
 * day or a retry backoff takes no wall time), with chosen Task states answered by local modules.
 * `crosslink sim sfn run` uses it.
 */
import { VirtualClock } from '../../clock.ts';
import type { InlineHandler } from '../lambda/functions.ts';
import { LambdaRuntime } from '../lambda/runtime.ts';
import { type MachineDef, type StateDef, taskKind, validateDefinition } from './definition.ts';
import type { Execution } from './execution.ts';
import { StepFunctionsEngine } from './interpreter.ts';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

export interface OfflineRunOptions {
  /** Task state name -> the handler that plays its Lambda function. */
  tasks?: Record<string, InlineHandler>;
  /** Virtual start time (default now). */
  start?: number;
  /** Told about every task token handed out (nothing in-process can answer it). */
  onToken?: (state: string) => void;
}

/** Points every Task state that has a local handler at a function named after the state. */
function rewrite(
  def: { States: Record<string, StateDef> },
  tasks: Record<string, unknown>,
  names: Map<string, string>,
): void {
  for (const [name, s] of Object.entries(def.States)) {
    if (s.Type === 'Parallel') for (const b of s.Branches as MachineDef[]) rewrite(b, tasks, names);
    if (s.Type === 'Map') rewrite((s.ItemProcessor ?? s.Iterator) as MachineDef, tasks, names);
    if (s.Type !== 'Task' || !(name in tasks)) continue;
    const fn = `local-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`.slice(0, 64);
    names.set(name, fn);
    const arn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${fn}`;
    if (taskKind(s.Resource as string) === 'lambda-arn') s.Resource = arn;
    else {
      const params = { ...(s.Parameters as Record<string, unknown>) };
      delete params['FunctionName.$'];
      params.FunctionName = arn;
      s.Parameters = params;
    }
  }
}

export async function runOffline(
  definitionText: string,
  input: string,
  options: OfflineRunOptions = {},
): Promise<Execution> {
  const definition = validateDefinition(definitionText);
  const tasks = options.tasks ?? {};
  const names = new Map<string, string>();
  rewrite(definition, tasks, names);
  for (const state of Object.keys(tasks)) {
    if (!names.has(state)) throw new Error(`--task ${state}: there is no Task state named '${state}'`);
  }
  // Manual: time moves only when the loop below jumps it to the next timer.
  const clock = new VirtualClock({ mode: 'manual', start: options.start ?? Date.now() });
  const runtime = new LambdaRuntime({ clock, accountId: ACCOUNT, region: REGION });
  for (const [state, handler] of Object.entries(tasks))
    runtime.register({ name: names.get(state) as string, handler, timeout: 900 });
  let inFlight = 0;
  const engine = new StepFunctionsEngine({
    clock,
    region: REGION,
    invokeLambda: async (req) => {
      inFlight++;
      try {
        return await runtime.invoke(req.functionName, req.payload);
      } finally {
        inFlight--;
      }
    },
  });
  const machine = {
    arn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:local`,
    name: 'local',
    definition,
    roleArn: `arn:aws:iam::${ACCOUNT}:role/local`,
  };
  const exec = engine.start(
    machine,
    'local-run',
    input,
    `arn:aws:states:${REGION}:${ACCOUNT}:execution:local:local-run`,
  );
  let done = false;
  void exec.done.then(() => {
    done = true;
  });
  const reported = new Set<number>();
  for (;;) {
    await new Promise<void>((r) => setImmediate(r));
    if (done) break;
    if (inFlight > 0) {
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    for (const ev of exec.history) {
      if (ev.type === 'TaskSubmitted' && !reported.has(ev.id)) {
        reported.add(ev.id);
        const entered = [...exec.history]
          .reverse()
          .find((h) => h.type === 'TaskStateEntered' && h.id < ev.id);
        options.onToken?.(
          String((entered?.stateEnteredEventDetails as { name?: string } | undefined)?.name ?? '?'),
        );
      }
    }
    if (!(await clock.fireNext())) break;
  }
  await runtime.close();
  clock.stop();
  return exec;
}
