/**
 * Whether a Direct Connect gateway's allowed prefixes cover a link's AWS-side routes. The allowed
 * prefixes of a gateway's associations are what AWS advertises over every link on it
 * (docs/reference/aws-interconnect.md section 2), so a route the request names but no association allows never
 * reaches the peer. A route is covered when an applied (`associated`) association lists a prefix that
 * contains it; listed only by an association still `updating` / `associating`, it is pending.
 */
import { contains, parseCidr } from '../net/cidr.ts';

export interface AssociationPrefixes {
  associationId: string;
  state: string;
  allowedPrefixes: string[];
}

export interface PrefixCoverage {
  /** Routes no association lists. */
  missing: string[];
  /** Routes listed only by an association whose change has not been applied yet. */
  pending: string[];
}

export function prefixCoverage(
  routes: readonly string[],
  associations: readonly AssociationPrefixes[],
): PrefixCoverage {
  const covers = (a: AssociationPrefixes, route: string) =>
    a.allowedPrefixes.some((p) => contains(parseCidr(p), parseCidr(route)));
  const missing: string[] = [];
  const pending: string[] = [];
  for (const route of routes) {
    const listing = associations.filter(
      (a) => a.state !== 'disassociating' && a.state !== 'disassociated' && covers(a, route),
    );
    if (listing.length === 0) missing.push(route);
    else if (!listing.some((a) => a.state === 'associated')) pending.push(route);
  }
  return { missing, pending };
}

/** The association crosslink adds missing prefixes to when it manages them: the first applied one by id. */
export function associationToExtend(
  associations: readonly AssociationPrefixes[],
): AssociationPrefixes | undefined {
  return [...associations]
    .filter((a) => a.state === 'associated')
    .sort((a, b) => (a.associationId < b.associationId ? -1 : 1))[0];
}
