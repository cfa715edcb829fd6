/**
 * The compute resources of a template: Lambda functions, each from the zip its Code names
 * (extracted once into a directory named by its SHA-256, so no process deletes code another runs),
 * with async invoke configs and permissions; state machines, their definitions substituted and
 * validated as the API validates them; event source mappings.
 */

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addPermission, lambdaRuntime } from '../services/lambda.ts';
import { statesOf } from '../services/states.ts';
import { validateDefinition } from '../sfn/definition.ts';
import { unzip } from '../zip.ts';
import type { Json, Wiring } from './template.ts';

const CODE_ROOT = join(tmpdir(), 'crosslink-lambda-code');
/** Extracted code unused this long is removed (a running cloud touches what it uses at each load). */
const CODE_KEPT_MS = 7 * 86_400_000;
/**
 * At most this many extractions are kept, the most recently used: every package of a test that
 * writes its own inputs into the code (a plan naming that run's ports) is a new one, so time alone
 * does not bound the directory. Far above what the clouds of one machine load at once.
 */
const CODE_KEPT_COUNT = 256;

/**
 * Extracts a zip once per content (SHA-256) under the OS temp dir; returns the directory. Marks it
 * used, and removes the extractions nothing has used for CODE_KEPT_MS, and the least recently used
 * beyond CODE_KEPT_COUNT.
 */
function extractOnce(zipFile: string): string {
  const sha = createHash('sha256').update(readFileSync(zipFile)).digest('hex').slice(0, 32);
  const dir = join(CODE_ROOT, sha);
  const kept: { path: string; used: number }[] = [];
  for (const name of existsSync(CODE_ROOT) ? readdirSync(CODE_ROOT) : []) {
    const p = join(CODE_ROOT, name);
    try {
      const used = statSync(p).mtimeMs;
      if (p !== dir && Date.now() - used > CODE_KEPT_MS) rmSync(p, { recursive: true, force: true });
      else if (p !== dir && !name.endsWith('.tmp')) kept.push({ path: p, used });
    } catch {
      // Removed by another process meanwhile.
    }
  }
  kept.sort((a, b) => b.used - a.used);
  for (const { path } of kept.slice(CODE_KEPT_COUNT - 1)) rmSync(path, { recursive: true, force: true });
  if (existsSync(dir)) {
    const now = new Date();
    utimesSync(dir, now, now);
    return dir;
  }
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  unzip(zipFile, tmp);
  try {
    renameSync(tmp, dir);
  } catch (err) {
    // Another process extracted the same zip meanwhile: use theirs.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw err;
  }
  return dir;
}
/** Functions (with their async invoke configs and permissions), state machines, event source mappings. */
export function wireCompute(w: Wiring): void {
  const {
    world,
    options,
    accountId,
    region,
    loaded,
    removers,
    outDir,
    stackName,
    physical,
    attrs,
    resolve,
    byType,
  } = w;
  const overrides = options.environmentOverrides ?? {};
  const variables = (declared: Record<string, string>): Record<string, string> =>
    Object.fromEntries(
      Object.entries(declared).map(([k, v]) => [k, k in overrides ? (overrides[k] as string) : v]),
    );

  // Functions, each from the zip its Code names (one per function when packaged individually).
  const extracted = new Map<string, string>();
  const runtime = lambdaRuntime(world, accountId, region);
  const asyncConfig = new Map<string, Json>();
  for (const [logical, r] of byType('AWS::Lambda::EventInvokeConfig')) {
    const p = resolve(r.Properties);
    asyncConfig.set(String(p.FunctionName), p);
    removers[logical] = () => {
      const fn = runtime.functions.get(String(p.FunctionName));
      if (!fn) return;
      delete fn.onFailure;
      delete fn.maximumRetryAttempts;
      delete fn.maximumEventAgeInSeconds;
    };
  }
  for (const [logical, r] of byType('AWS::Lambda::Function')) {
    const p = resolve(r.Properties);
    const key = String(p.Code?.S3Key ?? '');
    const zipName = key.split('/').pop() as string;
    let dir = extracted.get(zipName);
    if (!dir) {
      dir = extractOnce(join(outDir, zipName));
      extracted.set(zipName, dir);
    }
    const n = physical[logical] as string;
    const invokeConfig = asyncConfig.get(n);
    // A handler whose module is not in the zip deploys, and fails at invocation (ImportModuleError).
    runtime.register({
      name: n,
      handler: { taskRoot: dir, handler: String(p.Handler) },
      runtime: p.Runtime,
      timeout: p.Timeout,
      memorySize: p.MemorySize,
      environment: variables(p.Environment?.Variables ?? {}),
      onFailure: invokeConfig?.DestinationConfig?.OnFailure?.Destination,
      maximumRetryAttempts: invokeConfig?.MaximumRetryAttempts,
      maximumEventAgeInSeconds: invokeConfig?.MaximumEventAgeInSeconds,
      reservedConcurrency: p.ReservedConcurrentExecutions,
      ...(typeof p.Role === 'string' && { role: p.Role }),
    });
    loaded.functions.push(n);
    removers[logical] = () => runtime.remove(n);
  }
  for (const [logical, r] of byType('AWS::Lambda::Permission')) {
    const p = resolve(r.Properties);
    try {
      addPermission(runtime.get(String(p.FunctionName)), { ...p, StatementId: logical });
    } catch (err) {
      throw new Error(`template: ${logical}: ${(err as Error).message}`);
    }
    removers[logical] = () => {
      runtime.functions.get(String(p.FunctionName).split(':').pop() as string)?.permissions?.delete(logical);
    };
  }

  // State machines: the definition after substitutions, through the same validation as the API.
  const sfn = statesOf(world, accountId, region);
  for (const [logical, r] of byType('AWS::StepFunctions::StateMachine')) {
    const p = resolve(r.Properties);
    const text = typeof p.DefinitionString === 'string' ? p.DefinitionString : JSON.stringify(p.Definition);
    let definition: ReturnType<typeof validateDefinition>;
    try {
      definition = validateDefinition(text);
    } catch (err) {
      throw new Error(`template: state machine ${logical}: ${(err as Error).message}`);
    }
    const arn = attrs[logical]?.Arn as string;
    const n = attrs[logical]?.Name as string;
    sfn.machines.set(arn, {
      arn,
      name: n,
      definition,
      definitionText: text,
      roleArn: typeof p.RoleArn === 'string' ? p.RoleArn : `arn:aws:iam::${accountId}:role/${stackName}-sfn`,
      type: 'STANDARD',
      creationDate: new Date(world.clock.now()),
    });
    loaded.stateMachines.push(n);
    removers[logical] = () => {
      sfn.machines.delete(arn);
    };
  }

  for (const [logical, r] of byType('AWS::Lambda::EventSourceMapping')) {
    const p = resolve(r.Properties);
    if (!String(p.EventSourceArn).startsWith('arn:aws:sqs:'))
      throw new Error(`template: event source ${p.EventSourceArn} is not supported locally (SQS only)`);
    const mapping = runtime.addEventSourceMapping({
      eventSourceArn: p.EventSourceArn,
      functionName: p.FunctionName,
      batchSize: p.BatchSize,
      functionResponseTypes: p.FunctionResponseTypes,
      enabled: p.Enabled !== false,
    });
    loaded.eventSourceMappings++;
    removers[logical] = () => runtime.removeEventSourceMapping(mapping.uuid);
  }
}
