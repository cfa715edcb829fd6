/**
 * The policy rules a link request is judged by. Every rule runs (decisions are collected, not
 * short-circuited) and each gives a rule name, a verdict and a reason a person can act on.
 */
import type { Cloud } from '../envelope.ts';
import { type Cidr, isDefaultRoute, overlappingPairs, parseCidr } from '../net/cidr.ts';
import { parseBandwidth } from './bandwidth.ts';
import { identityOf, type KeyFlow, type Policy, type RegionPair } from './policy.ts';
import { canonicalAwsPrincipal, cloudOfPrincipal, matchesPrincipal } from './principals.ts';
import type { LinkRequest } from './request.ts';

export interface Decision {
  rule: string;
  ok: boolean;
  message: string;
}

export interface Evaluation {
  accepted: boolean;
  policyHash: string;
  decisions: Decision[];
  /** True when policy approves both sides without a person (never for prod). */
  autoApproved: boolean;
  regionPair?: RegionPair;
}

/** Routes already in use, to refuse overlaps: other links' and VPNs' prefixes. */
export interface RouteInventory {
  links?: Array<{ id: string; aws?: { routes: string[] }; gcp?: { routes: string[] } }>;
  vpns?: Array<{ name: string; prefixes: string[] }>;
}

export interface EvaluationContext {
  /** The verified caller and the cloud whose intake received the request. */
  requester?: { principal: string; side: Cloud };
  inventory?: RouteInventory;
  /** Live values, when known, override the policy's offline assumptions. */
  live?: {
    remoteProfileFlow?: KeyFlow;
    availableBandwidths?: string[];
    environmentState?: 'available' | 'limited' | 'unavailable';
  };
}

const EU_MEMBERS = new Set([
  'AT',
  'BE',
  'BG',
  'HR',
  'CY',
  'CZ',
  'DK',
  'EE',
  'FI',
  'FR',
  'DE',
  'GR',
  'HU',
  'IE',
  'IT',
  'LV',
  'LT',
  'LU',
  'MT',
  'NL',
  'PL',
  'PT',
  'RO',
  'SK',
  'SI',
  'ES',
  'SE',
]);

export function evaluatePolicy(
  policy: Policy,
  request: LinkRequest,
  ctx: EvaluationContext = {},
): Evaluation {
  const doc = policy.document;
  const decisions: Decision[] = [];
  const add = (rule: string, ok: boolean, message: string) => decisions.push({ rule, ok, message });

  // region pair
  const pair = doc.regionPairs.find((p) => p.aws === request.aws.region && p.gcp === request.gcp.region);
  if (pair) {
    add('region-pair', true, `${pair.aws} pairs with ${pair.gcp}`);
  } else {
    const awsMate = doc.regionPairs.find((p) => p.aws === request.aws.region);
    add(
      'region-pair',
      false,
      awsMate
        ? `${request.aws.region} pairs only with ${awsMate.gcp}, not ${request.gcp.region}`
        : `no link can be made from AWS ${request.aws.region}; supported pairs: ${doc.regionPairs.map((p) => `${p.aws}/${p.gcp}`).join(', ')}`,
    );
  }

  // key flow: the initiator issues the key, so the Google profile must allow that direction. The
  // flow is the live profile's (discovered in the Google region); without it the request stage
  // checks it before anything is created.
  const flow = ctx.live?.remoteProfileFlow;
  if (!pair) {
    add('key-flow', false, 'cannot check the key flow without a supported region pair');
  } else if (!flow) {
    add(
      'key-flow',
      true,
      `checked live at the request stage: the Google profile in ${pair.gcp} toward ${pair.aws} must let ${request.initiator === 'aws' ? 'Google accept a key issued by AWS' : 'Google issue the key for AWS'}`,
    );
  } else {
    add('key-flow', ...keyFlowDecision(flow, request.initiator));
  }

  // residency
  const ca = doc.regionCountries[request.aws.region];
  const cg = doc.regionCountries[request.gcp.region];
  if (request.residency === 'any') add('residency', true, 'no residency constraint');
  else if (!ca || !cg)
    add('residency', false, `country unknown for ${!ca ? request.aws.region : request.gcp.region}`);
  else if (request.residency === 'EU') {
    const ok = EU_MEMBERS.has(ca) && EU_MEMBERS.has(cg);
    add(
      'residency',
      ok,
      ok
        ? `both endpoints are in EU member states (${ca}, ${cg})`
        : `EU requires every endpoint in an EU member state; ${[ca, cg].filter((c) => !EU_MEMBERS.has(c)).join(' and ')} is not`,
    );
  } else {
    const ok = ca === request.residency && cg === request.residency;
    add(
      'residency',
      ok,
      ok
        ? `both endpoints are in ${request.residency}`
        : `${request.residency} requires both endpoints in ${request.residency}; they are in ${ca} and ${cg}`,
    );
  }

  // routes
  const routes: Record<Cloud, Cidr[]> = { aws: [], gcp: [] };
  const syntax: string[] = [];
  for (const side of ['aws', 'gcp'] as const) {
    request[side].routes.forEach((r, i) => {
      try {
        routes[side].push(parseCidr(r));
      } catch (e) {
        syntax.push(`${side}.routes[${i}]: ${(e as Error).message}`);
      }
    });
  }
  const max = doc.routes.maxPrefixesPerSide ?? 100;
  for (const side of ['aws', 'gcp'] as const) {
    if (request[side].routes.length > max)
      syntax.push(`${side}.routes has ${request[side].routes.length} prefixes; at most ${max}`);
    const seen = new Set<string>();
    for (const c of routes[side]) {
      if (seen.has(c.text)) syntax.push(`${side}.routes lists ${c.text} twice`);
      seen.add(c.text);
    }
  }
  add(
    'routes.valid',
    syntax.length === 0,
    syntax.length === 0
      ? `${routes.aws.length} AWS and ${routes.gcp.length} Google prefixes, all valid`
      : syntax.join('; '),
  );

  const defaults = [...routes.aws, ...routes.gcp].filter(isDefaultRoute);
  if (defaults.length > 0 && !doc.routes.allowDefaultRoute) {
    add(
      'routes.default-route',
      false,
      `${defaults.map((c) => c.text).join(', ')} is a default route; policy does not allow advertising one over a link`,
    );
  } else {
    add(
      'routes.default-route',
      true,
      defaults.length > 0 ? 'default route allowed by policy' : 'no default route',
    );
  }

  const cross = overlappingPairs(routes.aws, routes.gcp);
  add(
    'routes.overlap',
    cross.length === 0,
    cross.length === 0
      ? 'AWS and Google prefixes do not overlap'
      : `AWS and Google prefixes overlap: ${cross.map(([a, g]) => `${a.text} (aws) with ${g.text} (gcp)`).join(', ')}`,
  );

  if (ctx.inventory) {
    const taken: Cidr[] = [];
    const owner = new Map<Cidr, string>();
    for (const l of ctx.inventory.links ?? []) {
      for (const side of ['aws', 'gcp'] as const) {
        for (const r of l[side]?.routes ?? []) {
          const c = safeCidr(r);
          if (c) {
            taken.push(c);
            owner.set(c, `link ${l.id}`);
          }
        }
      }
    }
    for (const v of ctx.inventory.vpns ?? []) {
      for (const r of v.prefixes) {
        const c = safeCidr(r);
        if (c) {
          taken.push(c);
          owner.set(c, `VPN ${v.name}`);
        }
      }
    }
    const clash = overlappingPairs([...routes.aws, ...routes.gcp], taken);
    add(
      'routes.inventory',
      clash.length === 0,
      clash.length === 0
        ? `no overlap with ${ctx.inventory.links?.length ?? 0} existing links and ${ctx.inventory.vpns?.length ?? 0} VPNs`
        : `overlaps existing routes: ${clash.map(([mine, theirs]) => `${mine.text} with ${theirs.text} of ${owner.get(theirs)}`).join(', ')}`,
    );
  }

  // bandwidth
  const bw = parseBandwidth(request.bandwidth);
  if (!bw) add('bandwidth', false, `"${request.bandwidth}" is not a bandwidth`);
  else {
    const supported = doc.bandwidths.map((b) => parseBandwidth(b)?.mbps);
    if (!supported.includes(bw.mbps))
      add(
        'bandwidth',
        false,
        `${bw.aws} (${bw.gcp}) is not supported by both providers; choose one of ${doc.bandwidths.join(', ')}`,
      );
    else if (
      ctx.live?.availableBandwidths &&
      !ctx.live.availableBandwidths.map((b) => parseBandwidth(b)?.mbps).includes(bw.mbps)
    ) {
      add(
        'bandwidth',
        false,
        `${bw.aws} is supported but not available now in this environment (available: ${ctx.live.availableBandwidths.join(', ') || 'none'})`,
      );
    } else add('bandwidth', true, `${bw.aws} (Google ${bw.gcp}) is supported by both providers`);
  }
  if (ctx.live?.environmentState && ctx.live.environmentState !== 'available') {
    add(
      'capacity',
      ctx.live.environmentState === 'limited',
      `the AWS environment is ${ctx.live.environmentState}`,
    );
  }

  // roles
  const env = doc.environments[request.environment];
  if (ctx.requester) {
    const { principal, side } = ctx.requester;
    const patterns = env.requesters[side];
    const p = side === 'aws' ? canonicalAwsPrincipal(principal) : principal;
    const ok = cloudOfPrincipal(principal) === side && patterns.some((pat) => matchesPrincipal(pat, p));
    add(
      'roles.requester',
      ok,
      ok
        ? `${principal} may request ${request.environment} links on ${side}`
        : `${principal} may not request ${request.environment} links on ${side}`,
    );
  }

  // auto-approval (information, never a refusal)
  let autoApproved = false;
  if (env.autoApprove && bw) {
    const cap = parseBandwidth(env.autoApprove.maxBandwidth);
    autoApproved = cap !== undefined && bw.mbps <= cap.mbps;
  }
  add(
    'approval',
    true,
    autoApproved
      ? `${request.environment} link at ${bw?.aws} is within ${env.autoApprove?.maxBandwidth}: approved by policy on both sides`
      : `needs an approver on each side (aws: ${env.approvers.aws.join(', ') || 'none'}; gcp: ${env.approvers.gcp.join(', ') || 'none'})`,
  );

  const accepted = decisions.every((d) => d.ok);
  const evaluation: Evaluation = {
    accepted,
    policyHash: policy.hash,
    decisions,
    autoApproved: accepted && autoApproved,
  };
  if (pair) evaluation.regionPair = pair;
  return evaluation;
}

/**
 * Whether a Google profile's key flow lets the initiator issue the key: AWS first needs an INPUT
 * flow (Google accepts AWS's key), Google first an OUTPUT flow (Google issues it).
 */
export function keyFlowDecision(flow: KeyFlow, initiator: Cloud): [ok: boolean, message: string] {
  const needs: KeyFlow = initiator === 'aws' ? 'INPUT_ONLY' : 'OUTPUT_ONLY';
  const ok = flow === needs || flow === 'INPUT_OR_OUTPUT';
  const direction =
    initiator === 'aws' ? 'accept a key issued by AWS (input)' : 'issue the key for AWS (output)';
  return [
    ok,
    `the Google profile is ${flow}: Google ${ok ? 'can' : 'cannot'} ${direction}${ok ? '' : `; choose initiator ${initiator === 'aws' ? 'gcp' : 'aws'}`}`,
  ];
}

/** May `principal` approve or reject for `side` in this environment? Never the requester. */
export function approverDecision(
  policy: Policy,
  environment: 'prod' | 'nonprod',
  side: Cloud,
  principal: string,
  requester: string,
): Decision {
  const patterns = policy.document.environments[environment].approvers[side];
  const p = side === 'aws' ? canonicalAwsPrincipal(principal) : principal;
  // Sessions of one assumed role are one principal: the session name is the caller's to choose.
  const same =
    principal === requester ||
    canonicalAwsPrincipal(principal) === canonicalAwsPrincipal(requester) ||
    identityOf(policy, canonicalAwsPrincipal(principal)) ===
      identityOf(policy, canonicalAwsPrincipal(requester));
  if (same) {
    return {
      rule: 'roles.approver',
      ok: false,
      message: `${principal} requested this link and cannot approve it`,
    };
  }
  if (cloudOfPrincipal(principal) !== side || !patterns.some((pat) => matchesPrincipal(pat, p))) {
    return {
      rule: 'roles.approver',
      ok: false,
      message: `${principal} is not an approver for ${side} in ${environment}`,
    };
  }
  return { rule: 'roles.approver', ok: true, message: `${principal} approves for ${side} in ${environment}` };
}

function safeCidr(text: string): Cidr | undefined {
  try {
    return parseCidr(text);
  } catch {
    return undefined;
  }
}
