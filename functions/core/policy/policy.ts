/**
 * The policy document (config/policy.yaml): loading with every problem named, and its hash.
 * The hash is the sha256 of the RFC 8785 canonical JSON of the parsed document, so the same policy
 * hashes the same on both clouds whatever its YAML formatting.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import type { Cloud } from '../envelope.ts';
import { type Issue, ValidationError } from '../errors.ts';
import { issuesOf } from '../validation.ts';
import { policy as policyValidator } from '../validators.gen.ts';
import { parseBandwidth } from './bandwidth.ts';

const canonicalize = canonicalizeModule as unknown as (v: unknown) => string | undefined;

export type KeyFlow = 'INPUT_ONLY' | 'OUTPUT_ONLY' | 'INPUT_OR_OUTPUT';

/**
 * An AWS region and the Google region AWS Interconnect multicloud pairs it with. The providers'
 * resources for the pair (the AWS environment, the Google remote transport profile) are discovered
 * live in those regions, never named here.
 */
export interface RegionPair {
  aws: string;
  gcp: string;
}

export interface EnvironmentPolicy {
  requesters: Record<Cloud, string[]>;
  approvers: Record<Cloud, string[]>;
  autoApprove?: { maxBandwidth: string };
}

export interface PolicyDocument {
  version: 1;
  regionPairs: RegionPair[];
  regionCountries: Record<string, string>;
  bandwidths: string[];
  routes: { allowDefaultRoute?: boolean; maxPrefixesPerSide?: number };
  people?: Record<string, string[]>;
  environments: { prod: EnvironmentPolicy; nonprod: EnvironmentPolicy };
  /**
   * The VPN decommission runs: the schema checks coordinator and modes; functions/core/vpn/run-policy.ts
   * reads it whole (the planner's keys too) where runs are made, and at packaging
   * (config/policy-document.cjs), so the other functions carry no planner code.
   */
  vpn?: { coordinator?: Cloud; mode?: { prod?: string; nonprod?: string }; planner?: unknown };
}

/**
 * The AWS regions of the policy's pairs in the policy's order, each once: where a link's AWS half may live and
 * where the VPN runs read and act (stacks/policy-regions.cjs scopes the IAM grants to the same list).
 */
export function awsRegionsOf(doc: Pick<PolicyDocument, 'regionPairs'>): string[] {
  return [...new Set(doc.regionPairs.map((p) => p.aws))];
}

export interface Policy {
  document: PolicyDocument;
  hash: string;
}

/** sha256 (hex) of the RFC 8785 canonical JSON of `value`. */
export function canonicalHash(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalized');
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Validates a parsed policy document; throws ValidationError listing every problem. */
export function loadPolicy(raw: unknown): Policy {
  const issues = issuesOf(policyValidator, raw);
  if (issues.length === 0) issues.push(...semanticIssues(raw as PolicyDocument));
  if (issues.length > 0) throw new ValidationError(issues, 'policy');
  return { document: raw as PolicyDocument, hash: canonicalHash(raw) };
}

/**
 * The policy of a document validated by `loadPolicy` where it was made: a function package embeds
 * the policy `loadPolicy` accepted at packaging (config/policy-document.cjs, which stops the
 * packaging on any problem), a constant of its code, so validating it again at every cold start
 * could not fail, and would put the policy's validator (about 10 KB) in every bundle.
 */
export function packagedPolicy(document: PolicyDocument): Policy {
  return { document, hash: canonicalHash(document) };
}

function semanticIssues(doc: PolicyDocument): Issue[] {
  const issues: Issue[] = [];
  doc.bandwidths.forEach((b, i) => {
    if (!parseBandwidth(b)) issues.push({ path: `bandwidths[${i}]`, reason: `"${b}" is not a bandwidth` });
  });
  doc.regionPairs.forEach((p, i) => {
    for (const side of ['aws', 'gcp'] as const) {
      if (!(p[side] in doc.regionCountries)) {
        issues.push({
          path: `regionPairs[${i}].${side}`,
          reason: `region ${p[side]} has no country in regionCountries`,
        });
      }
    }
    const twin = doc.regionPairs.findIndex((q) => q.aws === p.aws && q.gcp === p.gcp);
    if (twin < i) issues.push({ path: `regionPairs[${i}]`, reason: `${p.aws}/${p.gcp} is listed twice` });
  });
  const owner = new Map<string, string>();
  for (const [person, principals] of Object.entries(doc.people ?? {})) {
    for (const p of principals) {
      const prev = owner.get(p);
      if (prev) issues.push({ path: `people.${person}`, reason: `${p} already belongs to ${prev}` });
      owner.set(p, person);
    }
  }
  for (const env of ['prod', 'nonprod'] as const) {
    const auto = doc.environments[env].autoApprove;
    if (auto && env === 'prod')
      issues.push({
        path: 'environments.prod.autoApprove',
        reason: 'production links are never approved by policy alone',
      });
    if (auto && !parseBandwidth(auto.maxBandwidth))
      issues.push({ path: `environments.${env}.autoApprove.maxBandwidth`, reason: 'is not a bandwidth' });
  }
  return issues;
}

/** The person behind a principal when policy names one, else the principal itself. */
export function identityOf(policy: Policy, principal: string): string {
  for (const [person, principals] of Object.entries(policy.document.people ?? {})) {
    if (principals.includes(principal)) return `person:${person}`;
  }
  return principal;
}
