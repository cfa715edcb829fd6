/**
 * Network projects: Google projects other than the hub (where crosslink runs) that hold links'
 * transports. `CROSSLINK_NETWORK_PROJECTS` is a JSON object mapping each network project id to the
 * service account crosslink impersonates there (iamcredentials `generateAccessToken`; the function's
 * own account needs roles/iam.serviceAccountTokenCreator on it, the network account the project's
 * TransportManager roles). A link's half lives in the project its request names (`gcp.project`):
 * the hub, or one listed here; any other project is refused at the intake.
 */

import type { GoogleAuth } from 'google-auth-library';
import { ValidationError } from '#core/errors.ts';
import type { SecretStore } from '#core/link/ports.ts';
import type { LinkRequest } from '#core/policy/request.ts';
import { RouterSessions } from './bgp-sessions.ts';
import { impersonatedSource } from './google-credentials.ts';
import { TransportHalves } from './halves.ts';
import { ProjectRoutedHalves } from './network-halves.ts';
import { type AccessTokenSource, TransportClient, type TransportClientConfig } from './transport-client.ts';

export const NETWORK_PROJECTS_VARIABLE = 'CROSSLINK_NETWORK_PROJECTS';

/** Google's project id syntax: 6 to 30 of `[a-z0-9-]`, starting with a letter, not ending with `-`. */
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const SA_EMAIL = /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$/;

/**
 * Parses the variable (unset or empty = none): project id -> service account email. Every problem
 * is one issue naming `CROSSLINK_NETWORK_PROJECTS.<project>` and the reason.
 */
export function parseNetworkProjects(raw: string | undefined, hub: string): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === undefined || raw.trim() === '') return out;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ValidationError(
      [
        {
          path: NETWORK_PROJECTS_VARIABLE,
          reason: 'is not JSON: expected an object {"<project id>": "<service account email>"}',
        },
      ],
      'environment',
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(
      [
        {
          path: NETWORK_PROJECTS_VARIABLE,
          reason: 'must be an object {"<project id>": "<service account email>"}',
        },
      ],
      'environment',
    );
  const issues: { path: string; reason: string }[] = [];
  for (const [project, sa] of Object.entries(value)) {
    const path = `${NETWORK_PROJECTS_VARIABLE}.${project}`;
    if (!PROJECT_ID.test(project)) issues.push({ path, reason: 'is not a Google project id' });
    else if (project === hub)
      issues.push({ path, reason: 'is the hub project: its transports use the function’s own identity' });
    if (typeof sa !== 'string' || !SA_EMAIL.test(sa))
      issues.push({
        path,
        reason: 'must be the email of a service account (name@project.iam.gserviceaccount.com)',
      });
    else out.set(project, sa);
  }
  if (issues.length > 0) throw new ValidationError(issues, 'environment');
  return out;
}

/** The intake's check: the request's Google project must be the hub or a configured network project. */
export function projectPlacement(hub: string, networks: ReadonlyMap<string, string>) {
  return (request: LinkRequest): { path: string; reason: string }[] => {
    const p = request.gcp.project;
    if (p === hub || networks.has(p)) return [];
    const known = [hub, ...networks.keys()].join(', ');
    return [
      {
        path: 'gcp.project',
        reason: `${p} is neither the hub project nor a configured network project (${known})`,
      },
    ];
  };
}

export interface ProjectClientsOptions {
  /** The hub project (where crosslink runs) and the function's own credentials. */
  hub: string;
  hubAuth: AccessTokenSource;
  /** The credentials impersonation starts from (the function's own, as a GoogleAuth). */
  sourceAuth: GoogleAuth;
  /** Network project id -> the service account impersonated there. */
  networks: ReadonlyMap<string, string>;
  /** The local edge (every API, iamcredentials under `/iamcredentials.googleapis.com`). */
  endpoint?: string;
  /** Further TransportClient settings (tests: the virtual clock's sleep, no retries). */
  client?: Partial<TransportClientConfig>;
}

/**
 * The TransportManager clients of every project this side owns: the hub's with the function's own
 * credentials, each network project's with its service account's impersonated tokens. `halves`
 * routes a link's calls among them (ProjectRoutedHalves); the watcher lists `projects`.
 */
export function projectClients(o: ProjectClientsOptions) {
  const local = o.endpoint?.replace(/\/+$/, '');
  const iamEndpoint = local ? `${local}/iamcredentials.googleapis.com` : undefined;
  const authOf = new Map<string, AccessTokenSource>([[o.hub, o.hubAuth]]);
  for (const [p, sa] of o.networks) authOf.set(p, impersonatedSource(o.sourceAuth, sa, iamEndpoint));
  const transports = (project: string, location: string): TransportClient => {
    const auth = authOf.get(project);
    if (!auth) throw new Error(`project ${project} is neither the hub nor a configured network project`);
    return new TransportClient({
      ...o.client,
      project,
      location,
      auth,
      ...(local ? { endpoint: local } : {}),
    });
  };
  const authFor = (project: string): AccessTokenSource => {
    const auth = authOf.get(project);
    if (!auth) throw new Error(`project ${project} is neither the hub nor a configured network project`);
    return auth;
  };
  return {
    projects: [...authOf.keys()],
    transports,
    /** The credentials of a project's calls: the hub's own, a network project's impersonated. */
    authFor,
    bgp: new RouterSessions({ authFor, ...(local ? { endpoint: local } : {}) }),
    halves: (defaultLocation: string, secrets: SecretStore) =>
      new ProjectRoutedHalves(
        o.hub,
        new Map(
          [...authOf.keys()].map((p) => [
            p,
            new TransportHalves({ clientFor: (l) => transports(p, l), defaultLocation, secrets }),
          ]),
        ),
      ),
  };
}
