/**
 * The dr-failover workflow (workflows/gcp/dr-failover.workflows.yaml) on the local Workflows
 * interpreter, without a cloud: its function played by the core steps (`drExecutorStep`) over the
 * store a test gives, the plan's hook functions on Google answered by the test, and AWS behind the
 * relay played by its commanded side's core: each `DrActionStarted` with `via: relay` the executor
 * publishes is delivered (or not) to a fence (`admit`), the action's outcome given by the test, and
 * the `DrActionFinished` it relays back kept for the executor (`keepRelayedResult`), each after the
 * delay the test says, on the virtual clock.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ActionCommand, ActionResult } from '#core/dr/executor.ts';
import {
  type DrExecutorDeps,
  type DrRunStore,
  drExecutorStep,
  keepRelayedResult,
} from '#core/dr/executor-steps.ts';
import { admit, type FenceState, initialFence, recordResult } from '#core/dr/fence.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import type { CloudEvent } from '#core/envelope.ts';
import { stepErrorAnswer } from '#gcp/steps.ts';
import { VirtualClock } from '#local/clock.ts';
import { loadWorkflow } from '#local/workflows/definition.ts';
import { Execution } from '#local/workflows/interpreter.ts';
import type { ExecutionOutcome } from '#local/workflows/outcome.ts';
import { defaultIsInternalUrl, type HttpPort, HttpTransportError } from '#local/workflows/ports.ts';

const ROOT = resolve(import.meta.dirname, '../..');
export const DR_FAILOVER_WORKFLOW = join(ROOT, 'workflows/gcp/dr-failover.workflows.yaml');
const STEP_URL = 'https://europe-west4-crosslink-hub.cloudfunctions.net/dr-signals';
const HOOK_BASE = 'https://europe-west4-crosslink-hub.cloudfunctions.net';

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const iso = (ms: number) => new Date(ms).toISOString();

/** A hook's answer: an HTTP status and body, or none at all (it hangs past the workflow's timeout). */
export type HookAnswer = { status: number; body?: unknown } | 'no-answer';

/**
 * What AWS's commanded side does with a command: receive it `afterMs` later and, once its fence
 * admits it, run `act` (its answer is the result's detail) and give `outcome`; or never see it.
 */
export type CommandFate =
  | {
      outcome: 'succeeded' | 'failed';
      afterMs: number;
      detail?: string;
      act?: () => Promise<string | undefined>;
    }
  | 'lost';

export interface DrWorld {
  clock: VirtualClock;
  deps: DrExecutorDeps;
  /** Every event the executor published, in order. */
  published: CloudEvent[];
  /** Each hook call: the hook's name and the command it was given. */
  hookCalls: { hook: string; command: ActionCommand }[];
  /** AWS's fence, as its commanded side keeps it. */
  fence: () => FenceState;
  /** The commands AWS ran, with the time. */
  ran: { command: ActionCommand; at: string }[];
  /** Calls of the executor's function, by step. */
  calls: Record<string, number>;
  run(argument: Record<string, unknown>, options?: { execution?: string }): Promise<ExecutionOutcome>;
}

export function drWorld(o: {
  plan: DrPlan;
  store: DrRunStore;
  /** The start of a clock of its own, or the clock of a local cloud the world lives in. */
  start: string | VirtualClock;
  hook: (name: string, command: ActionCommand) => HookAnswer | Promise<HookAnswer>;
  aws: (command: ActionCommand) => CommandFate;
  /** Called after every step of the executor has answered (to check the world between steps). */
  afterStep?: () => Promise<void>;
}): DrWorld {
  const clock =
    typeof o.start === 'string' ? new VirtualClock({ mode: 'manual', start: Date.parse(o.start) }) : o.start;
  const published: CloudEvent[] = [];
  const hookCalls: DrWorld['hookCalls'] = [];
  const ran: DrWorld['ran'] = [];
  const calls: Record<string, number> = {};
  let fence = initialFence(o.plan.service);
  const deps: DrExecutorDeps = {
    plan: o.plan,
    runs: o.store,
    clock,
    origin: { cloud: 'gcp', project: 'crosslink-hub', region: 'europe-west4' },
    hookUrl: (name) => `${HOOK_BASE}/${name}`,
    bus: {
      put: async (events) => {
        published.push(...events);
        for (const e of events) if (e.type === 'crosslink.DrActionStarted.v1') commandAws(e);
      },
    },
  };

  /** AWS's commanded side: admits the relayed command through its fence, runs it, relays the result. */
  function commandAws(e: CloudEvent): void {
    const d = e.data as {
      via: string;
      decision: 'failover' | 'failback';
      epoch: number;
      index: number;
      deadline: string;
    };
    if (d.via !== 'relay') return;
    const command: ActionCommand = {
      service: o.plan.service,
      decision: d.decision,
      epoch: d.epoch,
      index: d.index,
      action: o.plan.actions[d.decision][d.index] as ActionCommand['action'],
      deadline: d.deadline,
    };
    const fate = o.aws(command);
    if (fate === 'lost') return;
    clock.after(fate.afterMs, () => clock.track(commanded(command, fate), 'AWS commanded side'));
  }

  async function commanded(command: ActionCommand, fate: Exclude<CommandFate, 'lost'>): Promise<void> {
    const at = iso(clock.now());
    const admission = admit(fence, command, at);
    fence = admission.state;
    let result: ActionResult;
    if (admission.verdict === 'run') {
      ran.push({ command, at });
      const detail = (await fate.act?.()) ?? fate.detail;
      result = {
        service: command.service,
        epoch: command.epoch,
        index: command.index,
        outcome: fate.outcome,
        time: iso(clock.now()),
        ...(detail && { detail }),
      };
      fence = recordResult(fence, result);
    } else result = admission.result;
    await keepRelayedResult(deps, {
      service: result.service,
      epoch: result.epoch,
      index: result.index,
      outcome: result.outcome,
      finishedAt: result.time,
      ...(result.detail && { detail: result.detail }),
    });
  }

  const http: HttpPort = async (req) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const body = JSON.parse(new TextDecoder().decode(req.body)) as Record<string, unknown>;
    if (req.url === STEP_URL) {
      const step = String(body.step);
      calls[step] = (calls[step] ?? 0) + 1;
      try {
        return {
          status: 200,
          headers,
          body: json(
            await clock.track(
              drExecutorStep(deps, body).then(async (next) => {
                await o.afterStep?.();
                return next;
              }),
              'executor step',
            ),
          ),
        };
      } catch (e) {
        const answer = stepErrorAnswer(e);
        return { status: answer.status, headers, body: json(answer.body) };
      }
    }
    if (req.url.startsWith(`${HOOK_BASE}/`)) {
      const hook = req.url.slice(HOOK_BASE.length + 1);
      hookCalls.push({ hook, command: body as unknown as ActionCommand });
      const answer = await clock.track(
        Promise.resolve(o.hook(hook, body as unknown as ActionCommand)),
        'hook',
      );
      if (answer === 'no-answer') {
        await clock.sleep(req.timeoutMs);
        throw new HttpTransportError('timeout', `HTTP request to ${req.url} timed out`);
      }
      return { status: answer.status, headers, body: json(answer.body ?? {}) };
    }
    return { status: 404, headers, body: json({ error: 'not found' }) };
  };

  const wf = loadWorkflow(readFileSync(DR_FAILOVER_WORKFLOW, 'utf8'));
  return {
    clock,
    deps,
    published,
    hookCalls,
    ran,
    calls,
    fence: () => fence,
    async run(argument, options = {}) {
      const exec = new Execution(
        wf,
        {
          clock,
          http,
          tokens: { accessToken: async () => 'token', idToken: async () => 'token' },
          isInternalUrl: defaultIsInternalUrl,
          env: { CROSSLINK_DR_EXECUTOR_REGION: 'europe-west4' },
        },
        {
          identity: {
            project: 'crosslink-hub',
            location: 'europe-west4',
            workflow: 'dr-failover',
            execution: options.execution ?? 'exec-1',
          },
        },
      );
      const done = exec.run(argument as never);
      let finished = false;
      void done.finally(() => {
        finished = true;
      });
      // Time moves only when nothing runs (no step, hook or command in flight): a sleep of 10 s
      // takes no wall time, and a call takes none of the virtual clock's.
      while (!finished) {
        await new Promise((r) => setImmediate(r));
        if (finished) break;
        if (clock.activity.inFlight > 0) await new Promise((r) => setTimeout(r, 1));
        else await clock.fireNext();
      }
      return done;
    },
  };
}

/** The catalog events' names with their action index and epoch, for reading a run's order. */
export const eventLine = (e: CloudEvent): string => {
  const name = e.type.split('.')[1];
  const d = e.data as { index?: number; epoch: number; via?: string; outcome?: string };
  return [name, d.index !== undefined ? `#${d.index}` : '', d.via ?? d.outcome ?? '', `e${d.epoch}`]
    .filter(Boolean)
    .join(' ');
};
