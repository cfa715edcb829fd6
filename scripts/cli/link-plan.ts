/**
 * `crosslink link plan <file>`: what each side would create for a link request, the live capacity
 * both providers report for its region pair, an estimated hourly cost from config/pricing.yaml,
 * and the policy's verdict with those live values (the same `evaluatePolicy` as `link validate`).
 * It only reads: it creates nothing on either cloud.
 *
 * Live capacity, discovered as the halves discover it: AWS `ListEnvironments` in the request's AWS
 * region (the environment toward its Google region: state, `bandwidths.available` / `supported`),
 * Google `ListRemoteTransportProfiles` in the request's Google region (the profile toward its AWS
 * region: `orderState`, `supportedBandwidths`, `flow`). A side that cannot be read is reported as
 * such (and not judged), never guessed.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GoogleAuth } from 'google-auth-library';
import { InterconnectClient } from '#aws/interconnect-client.ts';
import { InterconnectEnvironments } from '#aws/offerings.ts';
import { type Bandwidth, parseBandwidth } from '#core/policy/bandwidth.ts';
import type { Policy } from '#core/policy/policy.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import { type Decision, type EvaluationContext, evaluatePolicy } from '#core/policy/rules.ts';
import { assertSchema } from '#core/schema.ts';
import { CLOUD_PLATFORM, jwtClient, readKeyFile } from '#gcp/google-credentials.ts';
import { RemoteProfiles } from '#gcp/offerings.ts';
import { TransportClient } from '#gcp/transport-client.ts';
import pricingSchema from '../../config/pricing.schema.json' with { type: 'json' };
import type { CommandContext } from './command.ts';
import { UsageError } from './errors.ts';
import { identity } from './identities.ts';
import { defaultChainCredentials } from './intake-client.ts';
import { readStructuredFile } from './io.ts';

export interface PricingSide {
  source: string;
  retrieved: string;
  note?: string;
  hourly: Record<string, number | null>;
}
export interface Pricing {
  currency: string;
  aws: PricingSide;
  gcp: PricingSide;
}

/** `--pricing`, else ./config/pricing.yaml, else the shipped one. */
export function pricingPath(home: string, override: string | undefined): string {
  if (override) return resolve(home, override);
  const local = join(home, 'config', 'pricing.yaml');
  return existsSync(local) ? local : resolve(import.meta.dirname, '..', '..', 'config', 'pricing.yaml');
}

export async function readPricing(path: string): Promise<Pricing> {
  return assertSchema<Pricing>(pricingSchema, await readStructuredFile(path), path);
}

export interface AwsLive {
  /** The environment discovered in the AWS region; null when it could not be. */
  environmentId: string | null;
  state?: string;
  available?: string[];
  supported?: string[];
  error?: string;
}
export interface GcpLive {
  /** The profile discovered in the Google region (its resource name); null when it could not be. */
  remoteProfile: string | null;
  orderState?: string;
  supportedBandwidths?: string[];
  flow?: string;
  error?: string;
}

/** The clients plan reads with. */
export interface PlanReaders {
  interconnect: InterconnectClient;
  transports: TransportClient;
}

const firstLine = (e: unknown) => ((e as Error).message ?? String(e)).split('\n')[0] as string;

export async function readLive(
  readers: PlanReaders,
  request: LinkRequest,
): Promise<{ aws: AwsLive; gcp: GcpLive }> {
  const awsRegion = request.aws.region;
  const gcpRegion = request.gcp.region;
  let aws: AwsLive;
  try {
    const env = await new InterconnectEnvironments({ clientFor: () => readers.interconnect }).find(
      awsRegion,
      gcpRegion,
    );
    aws = {
      environmentId: env.environmentId,
      state: env.state,
      available: env.bandwidths.available ?? [],
      supported: env.bandwidths.supported ?? [],
    };
  } catch (e) {
    aws = { environmentId: null, error: `ListEnvironments in ${awsRegion}: ${firstLine(e)}` };
  }
  let gcp: GcpLive;
  try {
    const found = await new RemoteProfiles({ clientFor: () => readers.transports }).find(
      gcpRegion,
      awsRegion,
    );
    gcp = { remoteProfile: found.name, supportedBandwidths: found.supportedBandwidths ?? [] };
    if (found.orderState) gcp.orderState = found.orderState;
    if (found.flow) gcp.flow = found.flow;
  } catch (e) {
    gcp = { remoteProfile: null, error: `ListRemoteTransportProfiles in ${gcpRegion}: ${firstLine(e)}` };
  }
  return { aws, gcp };
}

export interface LinkPlan {
  name: string;
  initiator: LinkRequest['initiator'];
  accepted: boolean;
  policyHash: string;
  aws: { operation: string; create: Record<string, unknown>; live?: AwsLive };
  gcp: { operation: string; create: Record<string, unknown>; live?: GcpLive };
  cost: {
    currency: string;
    estimate: true;
    aws: number | null;
    gcp: number | null;
    hourly: number | null;
    sources: { aws: string; gcp: string };
    retrieved: { aws: string; gcp: string };
  };
  decisions: Decision[];
}

/** The plan: creations per side, live capacity, cost, and the decisions with live values. */
export function buildPlan(
  policy: Policy,
  request: LinkRequest,
  pricing: Pricing,
  live: { aws: AwsLive; gcp: GcpLive } | undefined,
  requester?: EvaluationContext['requester'],
): LinkPlan {
  const bw: Bandwidth | undefined = parseBandwidth(request.bandwidth);
  const liveCtx: NonNullable<EvaluationContext['live']> = {};
  if (live && !live.aws.error) {
    liveCtx.availableBandwidths = live.aws.available ?? [];
    liveCtx.environmentState = live.aws.state as 'available' | 'limited' | 'unavailable';
  }
  if (live?.gcp.flow)
    liveCtx.remoteProfileFlow = live.gcp.flow as NonNullable<typeof liveCtx.remoteProfileFlow>;
  const evaluation = evaluatePolicy(policy, request, {
    ...(requester ? { requester } : {}),
    ...(Object.keys(liveCtx).length ? { live: liveCtx } : {}),
  });
  const decisions = [...evaluation.decisions];
  const profileName = live?.gcp.remoteProfile ?? undefined;
  if (live && !live.gcp.error && bw) {
    decisions.push({
      rule: 'capacity.gcp',
      ok: live.gcp.orderState !== 'CLOSED',
      message:
        live.gcp.orderState === 'CLOSED'
          ? `Google profile ${profileName} takes no new orders (orderState CLOSED)`
          : `Google profile ${profileName} takes orders (orderState ${live.gcp.orderState ?? 'OPEN'})`,
    });
    const offered = (live.gcp.supportedBandwidths ?? []).includes(bw.gcp);
    decisions.push({
      rule: 'bandwidth.gcp',
      ok: offered,
      message: offered
        ? `Google offers ${bw.gcp} on ${profileName}`
        : `Google does not offer ${bw.gcp} on ${profileName} (supported: ${(live.gcp.supportedBandwidths ?? []).join(', ') || 'none'})`,
    });
  }
  const attachPoint = { directConnectGateway: request.aws.directConnectGateway };
  const network = `projects/${request.gcp.project}/global/networks/${request.gcp.network}`;
  const remoteProfile =
    profileName ?? `(discovered: the profile in ${request.gcp.region} toward AWS ${request.aws.region})`;
  const environmentId =
    live?.aws.environmentId ??
    `(discovered: the environment in ${request.aws.region} toward Google ${request.gcp.region})`;
  const awsPlan =
    request.initiator === 'aws'
      ? {
          operation: 'CreateConnection',
          create: {
            environmentId,
            bandwidth: bw?.aws ?? request.bandwidth,
            attachPoint,
            remoteAccount: request.gcp.project,
          },
        }
      : {
          operation: 'AcceptConnectionProposal',
          create: { attachPoint, activationKey: '(from Google)' },
        };
  const gcpPlan =
    request.initiator === 'gcp'
      ? {
          operation: 'CreateTransport',
          create: {
            remoteProfile,
            bandwidth: bw?.gcp ?? request.bandwidth,
            network,
            advertisedRoutes: request.gcp.routes,
            remoteAccountId: request.aws.accountId,
          },
        }
      : {
          operation: 'CreateTransport',
          // The key names the profile and the bandwidth: neither is sent beside it.
          create: {
            network,
            advertisedRoutes: request.gcp.routes,
            providedActivationKey: '(from AWS)',
          },
        };
  const price = (side: PricingSide, key: string | undefined) =>
    key === undefined ? null : (side.hourly[key] ?? null);
  const awsCost = price(pricing.aws, bw?.aws);
  const gcpCost = price(pricing.gcp, bw?.gcp);
  return {
    name: request.name,
    initiator: request.initiator,
    accepted: decisions.every((d) => d.ok),
    policyHash: evaluation.policyHash,
    aws: { ...awsPlan, ...(live ? { live: live.aws } : {}) },
    gcp: { ...gcpPlan, ...(live ? { live: live.gcp } : {}) },
    cost: {
      currency: pricing.currency,
      estimate: true,
      aws: awsCost,
      gcp: gcpCost,
      hourly: awsCost !== null && gcpCost !== null ? Math.round((awsCost + gcpCost) * 10_000) / 10_000 : null,
      sources: { aws: pricing.aws.source, gcp: pricing.gcp.source },
      retrieved: { aws: pricing.aws.retrieved, gcp: pricing.gcp.retrieved },
    },
    decisions,
  };
}

const money = (n: number | null, currency: string) =>
  n === null ? 'unknown' : `${n.toFixed(4)} ${currency}/h`;

export function planLines(plan: LinkPlan): string[] {
  const out: string[] = [`plan for link "${plan.name}" (initiator ${plan.initiator})`, ''];
  const fields = (o: Record<string, unknown>) =>
    Object.entries(o).map(([k, v]) => `    ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  out.push(`AWS: ${plan.aws.operation}`, ...fields(plan.aws.create));
  const a = plan.aws.live;
  if (a)
    out.push(
      a.error
        ? `  live: could not read (${a.error})`
        : `  live: environment ${a.environmentId} ${a.state}; available ${a.available?.join(', ') || 'none'}; supported ${a.supported?.join(', ') || 'none'}`,
    );
  out.push(`Google: ${plan.gcp.operation}`, ...fields(plan.gcp.create));
  const g = plan.gcp.live;
  if (g)
    out.push(
      g.error
        ? `  live: could not read (${g.error})`
        : `  live: profile ${g.remoteProfile?.split('/').at(-1)} orderState ${g.orderState ?? '?'}; flow ${g.flow ?? '?'}; bandwidths ${g.supportedBandwidths?.join(', ') || 'none'}`,
    );
  const c = plan.cost;
  out.push(
    '',
    `estimated cost: ${money(c.hourly, c.currency)} (AWS ${money(c.aws, c.currency)}, Google ${money(c.gcp, c.currency)})`,
    `  an estimate from the pricing table (AWS: ${c.sources.aws}, read ${c.retrieved.aws}; Google: ${c.sources.gcp}, read ${c.retrieved.gcp})`,
    '',
  );
  for (const d of plan.decisions) out.push(`${d.ok ? 'ok     ' : 'REFUSED'}  ${d.rule}: ${d.message}`);
  out.push('', `${plan.accepted ? 'accepted' : 'refused'}  (policy ${plan.policyHash.slice(0, 12)})`);
  return out;
}

/** The readers for the command's target: the local cloud signed as `--as`, or real accounts. */
export async function planReaders(ctx: CommandContext, request: LinkRequest): Promise<PlanReaders> {
  const target = await ctx.resolveTarget();
  const gcpConfig = { project: request.gcp.project, location: request.gcp.region, maxRetries: 1 };
  if (target.kind === 'local') {
    const local = target.local;
    if (!local.aws || !local.gcp) throw new UsageError('the local cloud runs without its AWS or Google edge');
    const who = await identity(ctx.home, ctx.global.as ?? 'admin');
    if (!who.aws) throw new UsageError(`--as ${who.name}: this identity has no AWS keys`);
    const keyPath = join(target.home, '.crosslink', 'keys', `${who.name}.json`);
    const key = await readKeyFile(keyPath).catch((e) => {
      throw new UsageError(`--as ${who.name}: no Google key file (${firstLine(e)})`);
    });
    return {
      interconnect: new InterconnectClient({
        region: request.aws.region,
        endpoint: local.aws.endpoint,
        credentials: { accessKeyId: who.aws.accessKeyId, secretAccessKey: who.aws.secretAccessKey },
        maxAttempts: 2,
      }),
      transports: new TransportClient({ ...gcpConfig, endpoint: local.gcp.endpoint, auth: jwtClient(key) }),
    };
  }
  if (ctx.global.as) throw new UsageError('--as is for the local cloud only');
  const google = new GoogleAuth({ scopes: [CLOUD_PLATFORM] });
  return {
    interconnect: new InterconnectClient({
      region: request.aws.region,
      credentials: defaultChainCredentials(request.aws.region),
    }),
    transports: new TransportClient({
      ...gcpConfig,
      auth: { getAccessToken: async () => (await google.getClient()).getAccessToken() },
    }),
  };
}
