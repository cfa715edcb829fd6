/**
 * What the platform tells a Cloud Run function through the metadata server rather than its
 * environment: Cloud Run functions (2nd gen, Node.js) set neither GOOGLE_CLOUD_PROJECT nor
 * FUNCTION_REGION, so the project id and the region come from
 * `http://metadata.google.internal/computeMetadata/v1/project/project-id` and `.../instance/region`
 * (answered as `projects/<number>/regions/<region>`), each asked with `Metadata-Flavor: Google`.
 * `GCE_METADATA_HOST` names another metadata server, as it does for google-auth-library and
 * gcp-metadata (the local cloud's, locally).
 */

export const METADATA_HOST = 'metadata.google.internal';

/** Where a function runs: its project and region, from the metadata server. */
export interface Placement {
  project: string;
  region: string;
}

export type MetadataFetch = (url: string, init: RequestInit) => Promise<Response>;

/** One value of the metadata server (text); an Error naming the path when it does not answer 200. */
export async function metadataValue(
  path: string,
  env: Record<string, string | undefined> = process.env,
  doFetch: MetadataFetch = fetch,
): Promise<string> {
  const host = env.GCE_METADATA_HOST || METADATA_HOST;
  const base = /^https?:\/\//.test(host) ? host : `http://${host}`;
  const url = `${base}/computeMetadata/v1/${path}`;
  let res: Response;
  try {
    res = await doFetch(url, {
      headers: { 'Metadata-Flavor': 'Google' },
      signal: AbortSignal.timeout(5_000),
    });
  } catch (e) {
    throw new Error(`metadata server: ${url}: ${(e as Error).message}`);
  }
  const text = await res.text();
  if (res.status !== 200) throw new Error(`metadata server: ${url}: ${res.status} ${text.slice(0, 200)}`);
  if (res.headers.get('metadata-flavor') !== 'Google')
    throw new Error(`metadata server: ${url}: the answer lacks Metadata-Flavor: Google`);
  return text.trim();
}

/** The project id and the region (the last part of `projects/<number>/regions/<region>`). */
export async function placementFromMetadata(
  env: Record<string, string | undefined> = process.env,
  doFetch: MetadataFetch = fetch,
): Promise<Placement> {
  const [project, regionPath] = await Promise.all([
    metadataValue('project/project-id', env, doFetch),
    metadataValue('instance/region', env, doFetch),
  ]);
  const region = /^projects\/[^/]+\/regions\/([a-z0-9-]+)$/.exec(regionPath)?.[1];
  if (!project) throw new Error('metadata server: project/project-id is empty');
  if (!region)
    throw new Error(
      `metadata server: instance/region is "${regionPath}", not projects/<number>/regions/<region>`,
    );
  return { project, region };
}
