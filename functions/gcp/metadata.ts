/**
 * What the platform tells a Cloud Run function through the metadata server rather than its
 * environment: Cloud Run functions (2nd gen, Node.js) set neither GOOGLE_CLOUD_PROJECT nor
 * FUNCTION_REGION, so the project id and the region come from the metadata server's
 * `project/project-id` and `instance/region` (answered as `projects/<number>/regions/<region>`).
 * Read with gcp-metadata, Google's client for it (the one google-auth-library uses): it sends
 * `Metadata-Flavor: Google`, refuses an answer without it, and honours `GCE_METADATA_HOST` (the
 * local cloud's metadata server, locally).
 */
import { instance, project } from 'gcp-metadata';

/** Where a function runs: its project and region, from the metadata server. */
export interface Placement {
  project: string;
  region: string;
}

/** The project id and the region (the last part of `projects/<number>/regions/<region>`). */
export async function placementFromMetadata(): Promise<Placement> {
  let projectId: unknown;
  let regionPath: unknown;
  try {
    [projectId, regionPath] = await Promise.all([project('project-id'), instance('region')]);
  } catch (e) {
    throw new Error(`metadata server: ${(e as Error).message}`);
  }
  const region = /^projects\/[^/]+\/regions\/([a-z0-9-]+)$/.exec(String(regionPath))?.[1];
  if (typeof projectId !== 'string' || !projectId)
    throw new Error('metadata server: project/project-id is empty');
  if (!region)
    throw new Error(
      `metadata server: instance/region is "${String(regionPath)}", not projects/<number>/regions/<region>`,
    );
  return { project: projectId, region };
}

/** The email of the function's own service account (`instance/service-accounts/default/email`). */
export async function serviceAccountEmail(): Promise<string> {
  let email: unknown;
  try {
    email = await instance('service-accounts/default/email');
  } catch (e) {
    throw new Error(`metadata server: ${(e as Error).message}`);
  }
  if (typeof email !== 'string' || !email.includes('@'))
    throw new Error(`metadata server: service-accounts/default/email is "${String(email)}", not an email`);
  return email;
}
