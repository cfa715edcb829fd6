/**
 * The AWS half's dependencies built from the Lambda environment: `wiredDeps` gives a function's
 * handler `BASE` and the ports its entry (functions/aws/handlers/) names, each by its factory
 * (functions/aws/ports/, one module per port with its SDK client), each built on first use and kept
 * for the process (one cold start). A function bundles, and initialises, only the SDK clients of
 * the ports it names: the step that decrypts a key holds the KMS client, the others do not.
 * Handlers take their dependencies as a parameter, so a test passes its own without mocking modules.
 */
import { parseDuration, systemClock } from '#core/clock.ts';
import { need, stepSettings } from '#core/link/settings.ts';
import { type PolicyDocument, packagedPolicy } from '#core/policy/policy.ts';
import type { AccountRoles } from './assume-role.ts';
import type { IntakeDeps } from './intake.ts';
import { accountPlacement } from './network-halves.ts';

export type Env = NodeJS.ProcessEnv;

/** Builds one port from the environment; `deps` gives the other ports it needs (built on use too). */
export type PortFactory<K extends keyof IntakeDeps> = (env: Env, deps: IntakeDeps) => IntakeDeps[K];

/** The ports a function's entry wires beyond `BASE`, each by its factory. */
export type Wiring = { [K in keyof IntakeDeps]?: PortFactory<K> };

/** The ports the AWS half builds; any other key of the dependencies is left unset (its default applies). */
export const PORTS = [
  'store',
  'events',
  'policy',
  'clock',
  'origin',
  'placement',
  'halves',
  'prefixes',
  'bgp',
  'secrets',
  'tokens',
  'metrics',
  'ownKeyId',
  'unwrap',
  'settings',
  'executions',
  'stateMachines',
  'vpnApprovals',
] as const satisfies readonly (keyof IntakeDeps)[];

/**
 * Optional ports: unwired, they are absent (the approval metrics are published only where flushed;
 * the BGP sessions are read only by the watcher; the VPN deletes' approvals only by the intake).
 */
export const OPTIONAL = new Set<keyof IntakeDeps>(['metrics', 'bgp', 'vpnApprovals']);

export const accountRoles = (env: Env) => JSON.parse(env.CROSSLINK_ACCOUNT_ROLES ?? '{}') as AccountRoles;
export const region = (env: Env) => need(env, 'AWS_REGION');

/** Where this side may place a half (network-halves.ts `accountPlacement`). */
const placement: PortFactory<'placement'> = (env) =>
  accountPlacement(need(env, 'CROSSLINK_ACCOUNT_ID'), accountRoles(env));

/**
 * The policy document (config/policy.yaml as JSON) the packaging embeds in each bundle (esbuild
 * `define` in serverless.yml, from config/policy-document.cjs, which validates it): no YAML parser
 * and no file in the zip; absent when running from source.
 */
declare const CROSSLINK_POLICY_DOCUMENT: unknown;

/**
 * The embedded policy (validated at packaging, config/policy-document.cjs); an Error when this
 * module was not bundled with one.
 */
export function embeddedPolicy() {
  if (typeof CROSSLINK_POLICY_DOCUMENT === 'undefined')
    throw new Error('no policy embedded: the Lambda functions run from the packages osls package makes');
  return packagedPolicy(CROSSLINK_POLICY_DOCUMENT as PolicyDocument);
}

/** What every function's handler reads, none of it an SDK client. */
export const BASE = {
  policy: () => embeddedPolicy(),
  clock: () => systemClock,
  origin: (env) => ({ cloud: 'aws', accountId: need(env, 'CROSSLINK_ACCOUNT_ID'), region: region(env) }),
  placement,
  ownKeyId: (env) => need(env, 'CROSSLINK_KMS_KEY_ID'),
  settings: (env) => ({
    ...stepSettings(env),
    manageAllowedPrefixes: env.CROSSLINK_MANAGE_ALLOWED_PREFIXES === 'true',
    prefixWaitMs: parseDuration(env.CROSSLINK_PREFIX_WAIT ?? '30m'),
  }),
  stateMachines: (env) => ({
    provisioning: need(env, 'CROSSLINK_PROVISIONING_ARN'),
    decommissioning: need(env, 'CROSSLINK_DECOMMISSIONING_ARN'),
  }),
} satisfies Wiring;

/**
 * A function's dependencies: `BASE` and the ports `wiring` names, each built on its first use and
 * kept. A required port the wiring leaves out throws on use, naming itself: its client is not in
 * the function's bundle (and its role has no grant for it).
 */
export function wiredDeps(wiring: Wiring, env: Env = process.env): IntakeDeps {
  const factories: Wiring = { ...BASE, ...wiring };
  const deps = {} as IntakeDeps;
  for (const port of PORTS) {
    const make = factories[port] as PortFactory<typeof port> | undefined;
    let built = false;
    let value: unknown;
    Object.defineProperty(deps, port, {
      enumerable: true,
      get() {
        if (!built) {
          if (!make) {
            if (OPTIONAL.has(port)) return undefined;
            throw new Error(
              `the ${port} port is not wired into this function (its entry in functions/aws/handlers/ names its ports)`,
            );
          }
          value = make(env, deps);
          built = true;
        }
        return value;
      },
    });
  }
  return deps;
}

/** One client per region, made on first use. */
export function perRegion<C>(make: (region: string) => C): (region: string) => C {
  const clients = new Map<string, C>();
  return (region) => {
    let c = clients.get(region);
    if (!c) {
      c = make(region);
      clients.set(region, c);
    }
    return c;
  };
}
