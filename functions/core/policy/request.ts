/** A link request as the requester writes it (YAML or JSON), validated field by field. */
import type { Cloud } from '../envelope.ts';
import { type Issue, ValidationError } from '../errors.ts';
import { parseCidr } from '../net/cidr.ts';
import { issuesOf } from '../validation.ts';
import { linkRequest } from '../validators.gen.ts';
import { parseBandwidth } from './bandwidth.ts';

export type Residency = 'EU' | 'US' | 'GB' | 'SG' | 'any';

export interface LinkRequest {
  name: string;
  initiator: Cloud;
  bandwidth: string;
  environment: 'prod' | 'nonprod';
  residency: Residency;
  aws: { accountId: string; region: string; directConnectGateway: string; routes: string[] };
  gcp: { project: string; region: string; network: string; routes: string[] };
}

/**
 * Checks the shape of a request and that every route is a CIDR; throws ValidationError naming every
 * bad field by path. Returns it with the bandwidth in one spelling (`BPS_1G` -> `1Gbps`). Policy (pairs, overlaps, roles...) is judged separately by `evaluatePolicy`.
 */
export function parseLinkRequest(raw: unknown): LinkRequest {
  const issues: Issue[] = issuesOf(linkRequest, raw);
  if (typeof raw === 'object' && raw !== null) {
    const r = raw as Partial<Record<string, unknown>>;
    if (
      typeof r.bandwidth === 'string' &&
      /^(\d+[MG]bps|BPS_\d+[MG])$/.test(r.bandwidth) &&
      !parseBandwidth(r.bandwidth)
    ) {
      issues.push({ path: 'bandwidth', reason: 'must be greater than zero' });
    }
    for (const side of ['aws', 'gcp'] as const) {
      const routes = (r[side] as { routes?: unknown } | undefined)?.routes;
      if (!Array.isArray(routes)) continue;
      routes.forEach((route, i) => {
        if (typeof route !== 'string') return; // the schema already said so
        try {
          parseCidr(route);
        } catch (e) {
          issues.push({ path: `${side}.routes[${i}]`, reason: (e as Error).message });
        }
      });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues, 'link request');
  // One spelling from here on (AWS's, `1Gbps`): each half converts to its provider's
  // (`parseBandwidth(..).gcp` on Google), and the request hashes the same whichever was written.
  const request = raw as LinkRequest;
  const bandwidth = parseBandwidth(request.bandwidth);
  return bandwidth ? { ...request, bandwidth: bandwidth.aws } : request;
}
