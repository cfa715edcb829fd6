/**
 * The clouds and region names of the protected service's world, checked where a fault or a
 * service names them (the outages themselves are in region-outages.ts).
 */
import type { OutageCloud } from './region-outages.ts';

export type CloudName = OutageCloud;

const REGION_RE: Record<CloudName, RegExp> = {
  aws: /^[a-z]{2}(-gov)?-[a-z]+-\d$/,
  gcp: /^[a-z]+-[a-z]+\d+$/,
};

/** Throws a RangeError naming the field when `region` is not a region name of `cloud`. */
export function checkRegion(cloud: CloudName, region: unknown, field = 'region'): string {
  if (typeof region !== 'string' || !REGION_RE[cloud].test(region)) {
    const what = cloud === 'aws' ? 'an AWS' : 'a Google Cloud';
    throw new RangeError(`${field}: ${JSON.stringify(region)} is not ${what} region name`);
  }
  return region;
}

/** `aws` or `gcp`, or a RangeError naming the field. */
export function cloudOf(cloud: unknown, field = 'cloud'): CloudName {
  if (cloud === 'aws' || cloud === 'gcp') return cloud;
  throw new RangeError(`${field}: must be aws or gcp, not ${JSON.stringify(cloud)}`);
}
