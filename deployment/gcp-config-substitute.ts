/**
 * The values of gcp.yml known only at deploy time, taken from the deploying environment
 * (`${env:NAME}`): functions' environment values and invokers, push endpoints, and AWS publisher
 * roles. Both the deploy (scripts/deploy-gcp.ts) and the local cloud apply them to a loaded file.
 */
import { type Issue, ValidationError } from '#core/errors.ts';
import type { FunctionSpec, GcpConfig, SchedulerJobSpec, SubscriptionSpec } from './gcp-config.ts';

/**
 * A value known only at deploy time, taken from the deploying environment: `${env:NAME}` as a push
 * endpoint (e.g. the AWS relay route) or as a function's environment value (e.g. the peer's public
 * key).
 */
export const ENDPOINT_VARIABLE_RE = /^\$\{env:([A-Z][A-Z0-9_]*)\}$/;

/**
 * A function's environment value the deploy may leave out, `${env:NAME, ''}` (serverless.yml's
 * form): the variable's value, and no such variable in the function when it is unset.
 */
export const OPTIONAL_VARIABLE_RE = /^\$\{env:([A-Z][A-Z0-9_]*), ''\}$/;

/**
 * Replaces every function `environment` value `${env:NAME}` with the variable's value, and every
 * `invokers` entry `${env:NAME}` with the members it lists. A variable that is not set (or is
 * empty) is one issue, naming the first field that needs it and the variable: a function cannot
 * start without a value its gcp.yml requires, and an intake nobody may call serves nobody. An
 * optional value (`${env:NAME, ''}`) is left out when unset. A scheduler job whose `when` names a
 * variable exists only when that variable is set (else it is among `omittedSchedulerJobs`).
 */
export function substituteFunctionVariables(
  config: GcpConfig,
  variables: Record<string, string | undefined>,
): GcpConfig {
  const missing = new Map<string, { path: string; functions: number }>();
  const issues: Issue[] = [];
  const functions = config.functions.map((f, i) => {
    const invoked = withInvokers(f, i, variables, missing, issues);
    return invoked.environment ? withEnvironment(invoked, i) : invoked;
  });
  function withEnvironment(f: FunctionSpec, i: number): FunctionSpec {
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(f.environment ?? {})) {
      const optional = OPTIONAL_VARIABLE_RE.exec(value)?.[1];
      if (optional) {
        const given = variables[optional];
        if (given) environment[key] = given;
        continue;
      }
      const name = ENDPOINT_VARIABLE_RE.exec(value)?.[1];
      if (!name) {
        environment[key] = value;
        continue;
      }
      const given = variables[name];
      if (given) environment[key] = given;
      else {
        const m = missing.get(name) ?? { path: `functions[${i}].environment.${key}`, functions: 0 };
        m.functions++;
        missing.set(name, m);
      }
    }
    return { ...f, environment };
  }
  if (missing.size > 0 || issues.length > 0)
    throw new ValidationError(
      [
        ...[...missing].map(([name, m]) => ({
          path: m.path,
          reason: `needs the environment variable ${name} (set it where the deploy runs${m.functions > 1 ? `; ${m.functions} functions use it` : ''})`,
        })),
        ...issues,
      ],
      config.file ?? 'gcp.yml',
    );
  const unset = (j: SchedulerJobSpec) => j.when?.variable !== undefined && !variables[j.when.variable];
  return {
    ...config,
    functions,
    schedulerJobs: config.schedulerJobs.filter((j) => !unset(j)),
    omittedSchedulerJobs: [
      ...config.omittedSchedulerJobs,
      ...config.schedulerJobs.filter(unset).map((j) => ({
        name: j.name,
        reason: `the deploying environment does not set ${j.when?.variable}, which the job runs only with`,
      })),
    ],
  };
}

// Named members only: allUsers and allAuthenticatedUsers would open the intake to callers Cloud Run does not
// verify, and the intake names its caller from the token Cloud Run verified (functions/gcp/intake.ts).
const MEMBER_RE = /^(user|serviceAccount|group|domain):[-a-zA-Z0-9_.+@]+$/;

/**
 * An HTTP function's `invokers` with each `${env:NAME}` entry replaced by the members the variable
 * lists (comma-separated): who may call the intake is the deployer's to say, not the file's. An
 * optional entry (`${env:NAME, ''}`) unset adds no member: a function nobody may call (the DR
 * controls where no plan's operators are named).
 */
function withInvokers(
  f: FunctionSpec,
  i: number,
  variables: Record<string, string | undefined>,
  missing: Map<string, { path: string; functions: number }>,
  issues: Issue[],
): FunctionSpec {
  const http = f.trigger.http;
  if (!http?.invokers.some((m) => ENDPOINT_VARIABLE_RE.test(m) || OPTIONAL_VARIABLE_RE.test(m))) return f;
  const invokers = http.invokers.flatMap((m, j) => {
    const optional = OPTIONAL_VARIABLE_RE.exec(m)?.[1];
    const name = optional ?? ENDPOINT_VARIABLE_RE.exec(m)?.[1];
    if (!name) return [m];
    const path = `functions[${i}].trigger.http.invokers[${j}]`;
    const members = (variables[name] ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    if (members.length === 0 && optional) return [];
    if (members.length === 0) {
      const had = missing.get(name);
      if (had) had.functions++;
      else missing.set(name, { path, functions: 1 });
      return [];
    }
    for (const bad of members.filter((x) => !MEMBER_RE.test(x)))
      issues.push({
        path,
        reason: `${name} lists "${bad.slice(0, 80)}", which is not an IAM member (user:<email>, group:<email>, serviceAccount:<email>, domain:<domain>)`,
      });
    return members;
  });
  return { ...f, trigger: { ...f.trigger, http: { ...http, invokers } } };
}

/**
 * Replaces every `push.endpoint: ${env:NAME}` with the variable's value. A variable that is not
 * set is an issue naming the field and the variable (`missing: 'error'`, the deploy script), or
 * leaves that subscription out (`missing: 'drop'`, the local cloud without the peer half: nothing
 * to push to); a value that is not an http(s) URL is an issue either way.
 */
export function substituteEndpoints(
  config: GcpConfig,
  variables: Record<string, string | undefined>,
  missing: 'error' | 'drop' = 'error',
): { config: GcpConfig; dropped: { subscription: string; variable: string }[] } {
  const issues: Issue[] = [];
  const dropped: { subscription: string; variable: string }[] = [];
  const subscriptions: SubscriptionSpec[] = [];
  config.subscriptions.forEach((s, i) => {
    const name = s.push?.endpoint ? ENDPOINT_VARIABLE_RE.exec(s.push.endpoint)?.[1] : undefined;
    if (!s.push || !name) {
      subscriptions.push(s);
      return;
    }
    const value = variables[name];
    const path = `subscriptions[${i}].push.endpoint`;
    if (!value) {
      if (missing === 'drop') dropped.push({ subscription: s.name, variable: name });
      else issues.push({ path, reason: `needs the environment variable ${name} (the push endpoint URL)` });
      return;
    }
    if (!/^https?:\/\/\S+$/.test(value)) {
      issues.push({ path, reason: `${name} must be an http(s) URL, got "${value.slice(0, 80)}"` });
      return;
    }
    subscriptions.push({ ...s, push: { ...s.push, endpoint: value } });
  });
  if (issues.length > 0) throw new ValidationError(issues, config.file ?? 'gcp.yml');
  return { config: { ...config, subscriptions }, dropped };
}

/** An AWS IAM role ARN (what `awsPublishers[].role` resolves to). */
export const AWS_ROLE_ARN_RE = /^arn:aws:iam::(\d{12}):role\/([\w+=,.@-]{1,64})$/;

/**
 * Replaces every `awsPublishers[].role: ${env:NAME}` with the variable's value: a variable that is
 * not set, or a value that is not an IAM role ARN, is an issue naming the field and the variable.
 */
export function substituteAwsPublishers(
  config: GcpConfig,
  variables: Record<string, string | undefined>,
): GcpConfig {
  const issues: Issue[] = [];
  const topics = config.topics.map((t, i) =>
    t.awsPublishers
      ? {
          ...t,
          awsPublishers: t.awsPublishers.map((p, j) => {
            const name = ENDPOINT_VARIABLE_RE.exec(p.role)?.[1];
            if (!name) return p;
            const value = variables[name];
            const path = `topics[${i}].awsPublishers[${j}].role`;
            if (!value)
              issues.push({ path, reason: `needs the environment variable ${name} (the AWS role ARN)` });
            else if (!AWS_ROLE_ARN_RE.test(value))
              issues.push({
                path,
                reason: `${name} must be an AWS IAM role ARN (arn:aws:iam::<account>:role/<name>), got "${value.slice(0, 80)}"`,
              });
            return { ...p, role: value ?? p.role };
          }),
        }
      : t,
  );
  if (issues.length > 0) throw new ValidationError(issues, config.file ?? 'gcp.yml');
  return { ...config, topics };
}
