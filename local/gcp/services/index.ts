/**
 * The service modules of the Google edge. Add a module here to serve it (part B: compute,
 * monitoring). Routes must not clash: the edge refuses two modules with the same template.
 */
import type { AnyGcpService } from '../service.ts';
import cloudkms from './cloudkms.ts';
import compute from './compute.ts';
import dns from './dns.ts';
import iamcredentials from './iamcredentials.ts';
import monitoring from './monitoring.ts';
import networkconnectivity from './networkconnectivity.ts';
import oauth2 from './oauth2.ts';
import run from './run.ts';
import secretmanager from './secretmanager.ts';
import serviceusage from './serviceusage.ts';
import sts from './sts.ts';

export const gcpServices: readonly AnyGcpService[] = [
  oauth2,
  sts,
  iamcredentials,
  networkconnectivity,
  compute,
  monitoring,
  cloudkms,
  secretmanager,
  serviceusage,
  dns,
  run,
];
