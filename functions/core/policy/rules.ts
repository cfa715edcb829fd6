/**
 * The policy rules a link request is judged by. Every rule runs (decisions are collected, not
 * short-circuited) and each gives a rule name, a verdict and a reason a person can act on.
 */
import type { Cloud } from '../envelope.ts';
import { type Cidr, isDefaultRoute, overlappingPairs, parseCidr } from '../net/cidr.ts';
import { parseBandwidth } from './bandwidth.ts';
import { identityOf, type KeyFlow, type Policy, type PolicyDocument, type RegionPair } from './policy.ts';
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

/** What a rule says; the loop in evaluatePolicy stamps it with the rule's name. */
export interface Verdict {
  ok: boolean;
  message: string;
}

/**
 * One policy rule: none, one or several verdicts for a request. A rule that gives none (an empty
 * list) does not apply (e.g. `routes.inventory` without an inventory).
 */
export interface Rule {
  name: string;
  check: (doc: PolicyDocument, request: LinkRequest, ctx: EvaluationContext) => Verdict | Verdict[];
}

/** Every rule, in the order the README's policy table lists them and their decisions are reported. */
export const RULES: readonly Rule[] = [
  { name: 'region-pair', check: regionPair },
  { name: 'key-flow', check: keyFlow },
  { name: 'residency', check: residency },
  { name: 'routes.valid', check: routesValid },
  { name: 'routes.default-route', check: routesDefaultRoute },
  { name: 'routes.overlap', check: routesOverlap },
  { name: 'routes.inventory', check: routesInventory },
  { name: 'bandwidth', check: bandwidth },
  { name: 'capacity', check: capacity },
  { name: 'roles.requester', check: rolesRequester },
  { name: 'approval', check: approval },
];

export function evaluatePolicy(
  policy: Policy,
  request: LinkRequest,
  ctx: EvaluationContext = {},
): Evaluation {
  const doc = policy.document;
  const decisions: Decision[] = [];
  for (const rule of RULES) {
    const verdicts = rule.check(doc, request, ctx);
    for (const v of Array.isArray(verdicts) ? verdicts : [verdicts])
      decisions.push({ rule: rule.name, ok: v.ok, message: v.message });
  }
  const accepted = decisions.every((d) => d.ok);
  const evaluation: Evaluation = {
    accepted,
    policyHash: policy.hash,
    decisions,
    autoApproved: accepted && autoApproves(doc, request),
  };
  const pair = regionPairOf(doc, request);
  if (pair) evaluation.regionPair = pair;
  return evaluation;
}

const verdict = (ok: boolean, message: string): Verdict => ({ ok, message });

function regionPairOf(doc: PolicyDocument, request: LinkRequest): RegionPair | undefined {
  return doc.regionPairs.find((p) => p.aws === request.aws.region && p.gcp === request.gcp.region);
}

function regionPair(doc: PolicyDocument, request: LinkRequest): Verdict {
  const pair = regionPairOf(doc, request);
  if (pair) return verdict(true, `${pair.aws} pairs with ${pair.gcp}`);
  const awsMate = doc.regionPairs.find((p) => p.aws === request.aws.region);
  return verdict(
    false,
    awsMate
      ? `${request.aws.region} pairs only with ${awsMate.gcp}, not ${request.gcp.region}`
      : `no link can be made from AWS ${request.aws.region}; supported pairs: ${doc.regionPairs.map((p) => `${p.aws}/${p.gcp}`).join(', ')}`,
  );
}

/**
 * The initiator issues the key, so the Google profile must allow that direction. The flow is the
 * live profile's (discovered in the Google region); without it the request stage checks it before
 * anything is created.
 */
function keyFlow(doc: PolicyDocument, request: LinkRequest, ctx: EvaluationContext): Verdict {
  const pair = regionPairOf(doc, request);
  const flow = ctx.live?.remoteProfileFlow;
  if (!pair) return verdict(false, 'cannot check the key flow without a supported region pair');
  if (!flow)
    return verdict(
      true,
      `checked live at the request stage: the Google profile in ${pair.gcp} toward ${pair.aws} must let ${request.initiator === 'aws' ? 'Google accept a key issued by AWS' : 'Google issue the key for AWS'}`,
    );
  const [ok, message] = keyFlowDecision(flow, request.initiator);
  return verdict(ok, message);
}

function residency(doc: PolicyDocument, request: LinkRequest): Verdict {
  const ca = doc.regionCountries[request.aws.region];
  const cg = doc.regionCountries[request.gcp.region];
  if (request.residency === 'any') return verdict(true, 'no residency constraint');
  if (!ca || !cg)
    return verdict(false, `country unknown for ${!ca ? request.aws.region : request.gcp.region}`);
  if (request.residency === 'EU') {
    const ok = EU_MEMBERS.has(ca) && EU_MEMBERS.has(cg);
    return verdict(
      ok,
      ok
        ? `both endpoints are in EU member states (${ca}, ${cg})`
        : `EU requires every endpoint in an EU member state; ${[ca, cg].filter((c) => !EU_MEMBERS.has(c)).join(' and ')} is not`,
    );
  }
  const ok = ca === request.residency && cg === request.residency;
  return verdict(
    ok,
    ok
      ? `both endpoints are in ${request.residency}`
      : `${request.residency} requires both endpoints in ${request.residency}; they are in ${ca} and ${cg}`,
  );
}

/** Each side's routes that parse as CIDRs, and what is wrong with the others. */
function parsedRoutes(request: LinkRequest): { routes: Record<Cloud, Cidr[]>; syntax: string[] } {
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
  return { routes, syntax };
}

function routesValid(doc: PolicyDocument, request: LinkRequest): Verdict {
  const { routes, syntax } = parsedRoutes(request);
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
  return verdict(
    syntax.length === 0,
    syntax.length === 0
      ? `${routes.aws.length} AWS and ${routes.gcp.length} Google prefixes, all valid`
      : syntax.join('; '),
  );
}

function routesDefaultRoute(doc: PolicyDocument, request: LinkRequest): Verdict {
  const { routes } = parsedRoutes(request);
  const defaults = [...routes.aws, ...routes.gcp].filter(isDefaultRoute);
  if (defaults.length > 0 && !doc.routes.allowDefaultRoute)
    return verdict(
      false,
      `${defaults.map((c) => c.text).join(', ')} is a default route; policy does not allow advertising one over a link`,
    );
  return verdict(true, defaults.length > 0 ? 'default route allowed by policy' : 'no default route');
}

function routesOverlap(_doc: PolicyDocument, request: LinkRequest): Verdict {
  const { routes } = parsedRoutes(request);
  const cross = overlappingPairs(routes.aws, routes.gcp);
  return verdict(
    cross.length === 0,
    cross.length === 0
      ? 'AWS and Google prefixes do not overlap'
      : `AWS and Google prefixes overlap: ${cross.map(([a, g]) => `${a.text} (aws) with ${g.text} (gcp)`).join(', ')}`,
  );
}

/** Only with an inventory: the request's prefixes against other links' and VPNs' routes. */
function routesInventory(_doc: PolicyDocument, request: LinkRequest, ctx: EvaluationContext): Verdict[] {
  const inventory = ctx.inventory;
  if (!inventory) return [];
  const taken: Cidr[] = [];
  const owner = new Map<Cidr, string>();
  const take = (text: string, who: string) => {
    const c = safeCidr(text);
    if (!c) return;
    taken.push(c);
    owner.set(c, who);
  };
  for (const l of inventory.links ?? [])
    for (const side of ['aws', 'gcp'] as const)
      for (const r of l[side]?.routes ?? []) take(r, `link ${l.id}`);
  for (const v of inventory.vpns ?? []) for (const r of v.prefixes) take(r, `VPN ${v.name}`);
  const { routes } = parsedRoutes(request);
  const clash = overlappingPairs([...routes.aws, ...routes.gcp], taken);
  return [
    verdict(
      clash.length === 0,
      clash.length === 0
        ? `no overlap with ${inventory.links?.length ?? 0} existing links and ${inventory.vpns?.length ?? 0} VPNs`
        : `overlaps existing routes: ${clash.map(([mine, theirs]) => `${mine.text} with ${theirs.text} of ${owner.get(theirs)}`).join(', ')}`,
    ),
  ];
}

function bandwidth(doc: PolicyDocument, request: LinkRequest, ctx: EvaluationContext): Verdict {
  const bw = parseBandwidth(request.bandwidth);
  if (!bw) return verdict(false, `"${request.bandwidth}" is not a bandwidth`);
  const supported = doc.bandwidths.map((b) => parseBandwidth(b)?.mbps);
  if (!supported.includes(bw.mbps))
    return verdict(
      false,
      `${bw.aws} (${bw.gcp}) is not supported by both providers; choose one of ${doc.bandwidths.join(', ')}`,
    );
  const available = ctx.live?.availableBandwidths;
  if (available && !available.map((b) => parseBandwidth(b)?.mbps).includes(bw.mbps))
    return verdict(
      false,
      `${bw.aws} is supported but not available now in this environment (available: ${available.join(', ') || 'none'})`,
    );
  return verdict(true, `${bw.aws} (Google ${bw.gcp}) is supported by both providers`);
}

/** Only when the AWS environment's live state is known and not `available`: `limited` passes. */
function capacity(_doc: PolicyDocument, _request: LinkRequest, ctx: EvaluationContext): Verdict[] {
  const state = ctx.live?.environmentState;
  if (!state || state === 'available') return [];
  return [verdict(state === 'limited', `the AWS environment is ${state}`)];
}

/** Only with a verified caller. */
function rolesRequester(doc: PolicyDocument, request: LinkRequest, ctx: EvaluationContext): Verdict[] {
  if (!ctx.requester) return [];
  const { principal, side } = ctx.requester;
  const patterns = doc.environments[request.environment].requesters[side];
  const p = side === 'aws' ? canonicalAwsPrincipal(principal) : principal;
  const ok = cloudOfPrincipal(principal) === side && patterns.some((pat) => matchesPrincipal(pat, p));
  return [
    verdict(
      ok,
      ok
        ? `${principal} may request ${request.environment} links on ${side}`
        : `${principal} may not request ${request.environment} links on ${side}`,
    ),
  ];
}

/** Whether the environment's policy approves a link of this bandwidth without a person. */
function autoApproves(doc: PolicyDocument, request: LinkRequest): boolean {
  const env = doc.environments[request.environment];
  const bw = parseBandwidth(request.bandwidth);
  if (!env.autoApprove || !bw) return false;
  const cap = parseBandwidth(env.autoApprove.maxBandwidth);
  return cap !== undefined && bw.mbps <= cap.mbps;
}

/** Information, never a refusal: approved by policy, or who must approve on each side. */
function approval(doc: PolicyDocument, request: LinkRequest): Verdict {
  const env = doc.environments[request.environment];
  return verdict(
    true,
    autoApproves(doc, request)
      ? `${request.environment} link at ${parseBandwidth(request.bandwidth)?.aws} is within ${env.autoApprove?.maxBandwidth}: approved by policy on both sides`
      : `needs an approver on each side (aws: ${env.approvers.aws.join(', ') || 'none'}; gcp: ${env.approvers.gcp.join(', ') || 'none'})`,
  );
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
