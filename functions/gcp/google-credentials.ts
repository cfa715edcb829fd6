/**
 * Google credentials for our adapters, from a service-account key file.
 *
 * google-auth-library's JWT client ignores the key file's `token_uri` and always posts its
 * assertion to https://oauth2.googleapis.com/token. Against the real cloud that is the same place;
 * against the local cloud (whose key files name the local edge as `token_uri`) the token request
 * must go to the edge, so the transporter rewrites Google's token URL to the key file's. Nothing
 * else changes: the library still signs its own assertion and caches / refreshes its tokens.
 */
import { readFile } from 'node:fs/promises';
import { GoogleAuth, JWT } from 'google-auth-library';

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

/** The fields of a service-account key file we use. */
export interface ServiceAccountKey {
  type?: string;
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
  project_id?: string;
}

export async function readKeyFile(path: string): Promise<ServiceAccountKey> {
  const key = JSON.parse(await readFile(path, 'utf8')) as ServiceAccountKey;
  if (key.type !== 'service_account' || !key.client_email || !key.private_key) {
    throw new Error(`${path} is not a service-account key file`);
  }
  return key;
}

/** Makes `client` send Google's token requests to `tokenUri` instead (a no-op for Google's own). */
export function redirectTokenRequests(client: JWT, tokenUri: string | undefined): JWT {
  if (!tokenUri || tokenUri === GOOGLE_TOKEN_URL) return client;
  client.transporter.interceptors.request.add({
    resolved: async (config) => {
      if (config.url.href === GOOGLE_TOKEN_URL) config.url = new URL(tokenUri);
      return config;
    },
  });
  return client;
}

/** A JWT client for the key (real JWT-bearer flow), honouring its `token_uri`. */
export function jwtClient(key: ServiceAccountKey, scopes: string[] = [CLOUD_PLATFORM]): JWT {
  const client = new JWT({
    email: key.client_email,
    key: key.private_key,
    ...(key.private_key_id ? { keyId: key.private_key_id } : {}),
    scopes,
  });
  return redirectTokenRequests(client, key.token_uri);
}

/** A GoogleAuth wrapping `jwtClient(key)`: what the @google-cloud/* clients take as `auth`. */
export function googleAuth(key: ServiceAccountKey, scopes: string[] = [CLOUD_PLATFORM]): GoogleAuth {
  return new GoogleAuth({
    authClient: jwtClient(key, scopes),
    ...(key.project_id ? { projectId: key.project_id } : {}),
  });
}
