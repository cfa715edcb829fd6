/**
 * The service modules of the Google edge. Add a module here to serve it (part B: compute,
 * monitoring). Routes must not clash: the edge refuses two modules with the same template.
 */
import type { AnyGcpService } from '../service.ts';
import compute from './compute.ts';
import monitoring from './monitoring.ts';
import oauth2 from './oauth2.ts';

export const gcpServices: readonly AnyGcpService[] = [oauth2, compute, monitoring];
