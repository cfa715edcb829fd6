/**
 * Network references in crosslink's own records (a link's networks, a backup rule's networks), in
 * every form the clouds print, resolved to the one form the importers give the exports' networks:
 *
 * - Google: `https://www.googleapis.com/compute/v1/projects/p/global/networks/n` (gcloud's `network`
 *   fields), `projects/p/global/networks/n`, or the name `n` alone -> `projects/p/global/networks/n`.
 *   A name resolves against the networks of the exports and the links; a name that matches none, or
 *   networks of two projects, is refused.
 * - AWS: a gateway id (`vgw-...`, `tgw-...`) or its ARN (`arn:aws:ec2:<region>:<account>:vpn-gateway/vgw-...`,
 *   `...:transit-gateway/tgw-...`) -> the id.
 *
 * A backup rule's network that matches no network of the exports or the links is refused: a rule for
 * nothing is a mistake in the rule, never silently ignored.
 */
import { type Issue, ValidationError } from '../errors.ts';
import type { LinksFile } from './import-state.ts';
import type { Link } from './model.ts';
import type { BackupRule } from './policy.ts';
import { gcpResourcePath } from './read.ts';

const GCP_PATH = /^projects\/[a-z0-9][-a-z0-9.:]*[a-z0-9]\/global\/networks\/[a-z]([-a-z0-9]*[a-z0-9])?$/;
const GCP_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const AWS_ID = /^(vgw|tgw)-[0-9a-f]{8,17}$/;
const AWS_ARN =
  /^arn:aws[a-z-]*:ec2:[a-z0-9-]+:\d{12}:(vpn-gateway|transit-gateway)\/((vgw|tgw)-[0-9a-f]{8,17})$/;

/** The networks the exports hold: VPN gateways on AWS, the routers' VPC networks on Google. */
export interface KnownNetworks {
  readonly aws: Iterable<string>;
  readonly gcp: Iterable<string>;
}

type Resolved = { ok: string } | { error: string };

/** A Google network reference to `projects/p/global/networks/n`, or why it cannot be. */
export function resolveGcpNetwork(ref: string, known: ReadonlySet<string>): Resolved {
  const path = gcpResourcePath(ref);
  if (GCP_PATH.test(path)) return { ok: path };
  if (!GCP_NAME.test(ref))
    return {
      error: `"${ref}" is not a Google network: expected a name, projects/<project>/global/networks/<name> or its https://www.googleapis.com/compute/v1/ URL`,
    };
  const matches = [...known].filter((n) => n.endsWith(`/networks/${ref}`)).sort();
  if (matches.length === 1) return { ok: matches[0] as string };
  if (matches.length === 0)
    return {
      error: `network "${ref}" matches no Google network in the exports or the links; give projects/<project>/global/networks/${ref}`,
    };
  return { error: `network "${ref}" is ambiguous: ${matches.join(', ')}; give the full path` };
}

/** An AWS gateway reference (id or ARN) to its id, or why it cannot be. */
export function resolveAwsGateway(ref: string): Resolved {
  if (AWS_ID.test(ref)) return { ok: ref };
  const arn = AWS_ARN.exec(ref);
  if (arn) return { ok: arn[2] as string };
  return {
    error: `"${ref}" is not a virtual private or transit gateway: expected vgw-..., tgw-... or its arn:aws:ec2:... ARN`,
  };
}

/**
 * The links file with every network reference in canonical form. Throws one ValidationError naming
 * each reference that is malformed, ambiguous, or (for a backup rule) matches no known network.
 */
export function resolveNetworkRefs(file: LinksFile, exports: KnownNetworks): LinksFile {
  const issues: Issue[] = [];
  const gcpKnown = new Set(exports.gcp);
  for (const l of file.links) if (GCP_PATH.test(l.gcp.network)) gcpKnown.add(l.gcp.network);
  const gcp = (ref: string, path: string): string | undefined => {
    const r = resolveGcpNetwork(ref, gcpKnown);
    if ('ok' in r) return r.ok;
    issues.push({ path, reason: r.error });
    return undefined;
  };
  const aws = (ref: string, path: string): string | undefined => {
    const r = resolveAwsGateway(ref);
    if ('ok' in r) return r.ok;
    issues.push({ path, reason: r.error });
    return undefined;
  };

  const links: Link[] = file.links.map((l, i) => ({
    ...l,
    aws: { ...l.aws, gateway: aws(l.aws.gateway, `links[${i}].aws.gatewayId`) ?? l.aws.gateway },
    gcp: { ...l.gcp, network: gcp(l.gcp.network, `links[${i}].gcp.network`) ?? l.gcp.network },
  }));
  const awsKnown = new Set([...exports.aws, ...links.map((l) => l.aws.gateway)]);
  const gcpInUse = new Set([...exports.gcp, ...links.map((l) => l.gcp.network)]);
  const backup: BackupRule[] = file.policy.backup.map((b, i) => {
    const p = `policy.backup[${i}]`;
    const a = b.aws === undefined ? undefined : aws(b.aws, `${p}.aws`);
    if (a !== undefined && !awsKnown.has(a))
      issues.push({
        path: `${p}.aws`,
        reason: `gateway ${a} matches no VPN's gateway in the AWS export nor any link's gatewayId`,
      });
    const g = b.gcp === undefined ? undefined : gcp(b.gcp, `${p}.gcp`);
    if (g !== undefined && !gcpInUse.has(g))
      issues.push({
        path: `${p}.gcp`,
        reason: `network ${g} matches no router network in the Google export nor any link's network`,
      });
    return { ...b, aws: a ?? b.aws, gcp: g ?? b.gcp };
  });
  if (issues.length > 0) throw new ValidationError(issues, 'links file');
  return { ...file, links, policy: { ...file.policy, backup } };
}
