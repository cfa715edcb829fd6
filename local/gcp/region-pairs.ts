/**
 * The AWS <-> Google region pairs and remote-profile facts the Google simulators serve, read from
 * config/policy.yaml (regionPairs, remoteProfileFlows, bandwidths): the same data the policy uses,
 * so a new pair there is a new remote transport profile here.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { parseBandwidth } from '#core/policy/bandwidth.ts';
import { type KeyFlow, loadPolicy, type RegionPair } from '#core/policy/policy.ts';

export const DEFAULT_POLICY_FILE = resolve(import.meta.dirname, '..', '..', 'config', 'policy.yaml');

export interface PairFacts {
  pairs: RegionPair[];
  flows: Record<string, KeyFlow>;
  /** Google bandwidth enums both providers support (BPS_1G ...), ascending. */
  bandwidths: string[];
}

const cache = new Map<string, PairFacts>();

export function regionPairs(file = DEFAULT_POLICY_FILE): PairFacts {
  const hit = cache.get(file);
  if (hit) return hit;
  const doc = loadPolicy(parse(readFileSync(file, 'utf8'))).document;
  const facts: PairFacts = {
    pairs: doc.regionPairs.map((p) => ({ ...p })),
    flows: { ...(doc.remoteProfileFlows ?? {}) },
    bandwidths: doc.bandwidths
      .map((b) => parseBandwidth(b))
      .filter((b) => b !== undefined)
      .sort((a, b) => a.mbps - b.mbps)
      .map((b) => b.gcp),
  };
  cache.set(file, facts);
  return facts;
}
