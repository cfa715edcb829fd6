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
import { GoogleAuth, Impersonated, JWT } from 'google-auth-library';
import { fromHttp } from './google-errors.ts';

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

/** The token source of the TransportManager client (the part of an auth client it calls). */
export interface TokenSource {
  getAccessToken(): Promise<{ token?: string | null }>;
  readonly credentials?: object;
  setCredentials?(credentials: { expiry_date?: number | null }): void;
}

/**
 * Access tokens of `targetPrincipal`, impersonated with `source`'s credentials through iamcredentials
 * `generateAccessToken` (google-auth-library's `Impersonated`, which caches and refreshes them).
 * `endpoint` overrides https://iamcredentials.googleapis.com (the local edge in tests). The caller
 * needs roles/iam.serviceAccountTokenCreator on the target; without it every call fails with the
 * 403 the API answers.
 */
export function impersonatedSource(
  source: GoogleAuth,
  targetPrincipal: string,
  endpoint?: string,
  lifetimeSeconds = 3600,
): TokenSource {
  let client: Promise<Impersonated> | undefined;
  let ready: Impersonated | undefined;
  const get = () => {
    client ??= source.getClient().then((sourceClient) => {
      ready = new Impersonated({
        sourceClient,
        targetPrincipal,
        targetScopes: [CLOUD_PLATFORM],
        delegates: [],
        lifetime: lifetimeSeconds,
        ...(endpoint ? { endpoint } : {}),
      });
      return ready;
    });
    return client;
  };
  return {
    getAccessToken: async () => {
      try {
        return await (await get()).getAccessToken();
      } catch (e) {
        // The API's refusal as our typed error (a 403 is PermissionDenied), naming whom we impersonated.
        const res = (e as { response?: { status?: number; data?: unknown } }).response;
        if (res?.status === undefined) throw e;
        const err = fromHttp(res.status, res.data);
        err.message = `impersonating ${targetPrincipal}: ${err.message}`;
        throw err;
      }
    },
    get credentials() {
      return ready?.credentials;
    },
    setCredentials: (c) => ready?.setCredentials(c),
  };
}
