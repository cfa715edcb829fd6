/**
 * Authentication of the local Google edge, as Google does it:
 * - every Google identity of config/local-identities.yaml gets a service-account key file (a real
 *   RSA key, `type: service_account`) whose `token_uri` is this edge's token endpoint;
 * - the token endpoint runs the OAuth 2.0 JWT-bearer grant: it verifies the assertion's RS256
 *   signature against the identity's public key and issues an opaque access token, or an ID token
 *   when the assertion asks for a `target_audience`;
 * - API calls carry `Authorization: Bearer <token>`: an access token issued here, or a self-signed JWT
 *   (google-auth-library's JWTAccess) verified like Google does;
 * - ID tokens are RS256 JWTs signed by the edge's own key, published as a JWKS; `mintIdToken` is
 *   exported for the rest of the local cloud (the Pub/Sub push proxy signs its OIDC tokens with it).
 *
 * Assertion times (`iat`, `exp`) are checked against the wall clock, because clients sign with the
 * machine's time whatever the simulation says. Access tokens expire on the wall clock too: a client
 * is told `expires_in` (or `expireTime`) and caches the token against its own clock
 * (google-auth-library: `expiry_date = Date.now() + expires_in`, refreshed 5 min before), and Google
 * judges the token on that same real time. Judging it on the virtual clock would refuse, after a
 * clock jump, tokens every client still trusts (the library does not refresh a JWT client's token on
 * a 401 while its `expiry_date` is ahead). ID tokens minted here are checked by the local cloud
 * itself, on the virtual clock.
 */
import {
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  generateKeyPair,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Clock } from '#core/clock.ts';
import type { LocalIdentity } from '#local/identities.ts';
import type { Caller } from './service.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

/** The audience google-auth-library puts in every JWT-bearer assertion, whatever `token_uri` says. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** Allowed skew between a client's clock and ours for assertion times (Google allows minutes). */
const SKEW_SECONDS = 300;

/** A service-account key file, as the IAM API returns it. */
export interface ServiceAccountKeyFile {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
  auth_provider_x509_cert_url: string;
  client_x509_cert_url: string;
  universe_domain: string;
}

export interface ServiceAccount {
  /** Local identity name. */
  name: string;
  email: string;
  clientId: string;
  keyId: string;
  privateKeyPem: string;
  publicKey: KeyObject;
}

interface IssuedToken {
  email: string;
  kind: Caller['kind'];
  identity: string | undefined;
  scopes: string[];
  attributes?: Record<string, string>;
  expiresAt: number;
}

export interface GcpAuthOptions {
  clock: Clock;
  project: string;
  identities: readonly LocalIdentity[];
  /** `iss` of ID tokens (default https://accounts.google.com). */
  issuer?: string;
  /** Lifetime of access tokens, wall ms (default 1 h, as Google's). */
  accessTokenLifetimeMs?: number;
  /** Lifetime of ID tokens, virtual ms (default 1 h). */
  idTokenLifetimeMs?: number;
  /** Wall clock for assertion checks and access-token lifetimes (injectable for tests). */
  wall?: () => number;
}

export type JwtClaims = Record<string, unknown>;

export interface AuthFailure {
  reason: 'missing' | 'invalid' | 'expired';
  message: string;
}

function b64url(buf: Buffer | string): string {
  return Buffer.from(buf).toString('base64url');
}

/** Signs `claims` as an RS256 JWT with `privateKey` (PEM or KeyObject) and `kid`. */
export function signJwt(claims: JwtClaims, privateKey: string | KeyObject, kid: string): string {
  const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
  const body = b64url(JSON.stringify(claims));
  const signer = createSign('RSA-SHA256');
  signer.update(`${head}.${body}`);
  return `${head}.${body}.${signer.sign(privateKey).toString('base64url')}`;
}

/** Splits a compact JWS without trusting it; undefined when it is not one. */
export function decodeJwt(
  token: string,
): { header: JwtClaims; claims: JwtClaims; signingInput: string; signature: Buffer } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString('utf8')) as unknown;
    const claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as unknown;
    if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null) {
      return undefined;
    }
    return {
      header: header as JwtClaims,
      claims: claims as JwtClaims,
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2] as string, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

function verifyRs256(signingInput: string, signature: Buffer, key: KeyObject): boolean {
  const v = createVerify('RSA-SHA256');
  v.update(signingInput);
  try {
    return v.verify(key, signature);
  } catch {
    return false;
  }
}

export class GcpAuth {
  readonly project: string;
  readonly issuer: string;
  readonly #clock: Clock;
  readonly #wall: () => number;
  readonly #identities: readonly LocalIdentity[];
  readonly #accessLifetime: number;
  readonly #idLifetime: number;
  #accounts = new Map<string, ServiceAccount>();
  #tokens = new Map<string, IssuedToken>();
  #signingKey: { kid: string; privateKey: KeyObject; publicKey: KeyObject } | undefined;
  #endpoint = 'http://127.0.0.1:0';

  constructor(options: GcpAuthOptions) {
    this.#clock = options.clock;
    this.project = options.project;
    this.#identities = options.identities;
    this.issuer = options.issuer ?? 'https://accounts.google.com';
    this.#accessLifetime = options.accessTokenLifetimeMs ?? 3_600_000;
    this.#idLifetime = options.idTokenLifetimeMs ?? 3_600_000;
    this.#wall = options.wall ?? Date.now;
  }

  /** Generates the edge's signing key and one key per Google identity (real RSA-2048). */
  async init(): Promise<void> {
    const gen = () =>
      generateKeyPairAsync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
    const withGcp = this.#identities.filter((i) => i.gcp?.email);
    const [signing, ...keys] = await Promise.all([gen(), ...withGcp.map(() => gen())]);
    this.#signingKey = {
      kid: randomBytes(20).toString('hex'),
      privateKey: createPrivateKey(signing!.privateKey),
      publicKey: createPublicKey(signing!.publicKey),
    };
    withGcp.forEach((identity, i) => {
      const pair = keys[i]!;
      const email = identity.gcp!.email;
      this.#accounts.set(email, {
        name: identity.name,
        email,
        clientId: String(100_000_000_000_000_000_000n + BigInt(`0x${randomBytes(8).toString('hex')}`)),
        keyId: randomBytes(20).toString('hex'),
        privateKeyPem: pair.privateKey,
        publicKey: createPublicKey(pair.publicKey),
      });
    });
  }

  /**
   * A service account of gcp.yml that is not a local identity (a function's runtime identity):
   * gets a key like the identities, so the function's Google clients authenticate as it. Idempotent.
   */
  async addServiceAccount(email: string): Promise<ServiceAccount> {
    const known = this.#accounts.get(email);
    if (known) return known;
    const pair = await generateKeyPairAsync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const again = this.#accounts.get(email);
    if (again) return again;
    const sa: ServiceAccount = {
      name: email,
      email,
      clientId: String(100_000_000_000_000_000_000n + BigInt(`0x${randomBytes(8).toString('hex')}`)),
      keyId: randomBytes(20).toString('hex'),
      privateKeyPem: pair.privateKey,
      publicKey: createPublicKey(pair.publicKey),
    };
    this.#accounts.set(email, sa);
    return sa;
  }

  /** The edge's base URL, once it listens (key files and discovery point at it). */
  setEndpoint(endpoint: string): void {
    this.#endpoint = endpoint;
  }

  get tokenUri(): string {
    return `${this.#endpoint}/token`;
  }

  get jwksUri(): string {
    return `${this.#endpoint}/oauth2/v3/certs`;
  }

  /** The local identities this auth was made from. */
  get identities(): readonly LocalIdentity[] {
    return this.#identities;
  }

  /** Service accounts by email. */
  get accounts(): ReadonlyMap<string, ServiceAccount> {
    return this.#accounts;
  }

  accountByName(name: string): ServiceAccount | undefined {
    return [...this.#accounts.values()].find((a) => a.name === name);
  }

  /** The key file of a local identity (by name or email). */
  keyFile(nameOrEmail: string): ServiceAccountKeyFile {
    const sa = this.#accounts.get(nameOrEmail) ?? this.accountByName(nameOrEmail);
    if (!sa) throw new Error(`no Google identity ${nameOrEmail} in the local identities`);
    const base = this.#endpoint;
    return {
      type: 'service_account',
      project_id: this.project,
      private_key_id: sa.keyId,
      private_key: sa.privateKeyPem,
      client_email: sa.email,
      client_id: sa.clientId,
      auth_uri: `${base}/o/oauth2/auth`,
      token_uri: this.tokenUri,
      auth_provider_x509_cert_url: `${base}/oauth2/v1/certs`,
      client_x509_cert_url: `${base}/robot/v1/metadata/x509/${encodeURIComponent(sa.email)}`,
      universe_domain: 'googleapis.com',
    };
  }

  /** Writes `<dir>/<name>.json` for every Google identity (mode 0600); returns name -> path. */
  async writeKeyFiles(dir: string): Promise<Map<string, string>> {
    await mkdir(dir, { recursive: true });
    const out = new Map<string, string>();
    for (const sa of this.#accounts.values()) {
      const path = join(dir, `${sa.name}.json`);
      await writeFile(path, `${JSON.stringify(this.keyFile(sa.name), null, 2)}\n`, { mode: 0o600 });
      out.set(sa.name, path);
    }
    return out;
  }

  /** Issues an opaque access token expiring on the wall clock (the clock its holder caches it by). */
  issueAccessToken(grant: {
    email: string;
    kind: Caller['kind'];
    scopes?: string[];
    lifetimeMs?: number;
    attributes?: Record<string, string>;
  }): {
    token: string;
    expiresAt: number;
    expiresInSeconds: number;
  } {
    const lifetime = grant.lifetimeMs ?? this.#accessLifetime;
    const token = `ya29.local.${randomBytes(32).toString('base64url')}`;
    const expiresAt = this.#wall() + lifetime;
    this.#tokens.set(token, {
      email: grant.email,
      kind: grant.kind,
      identity: this.#accounts.get(grant.email)?.name,
      scopes: grant.scopes ?? [CLOUD_PLATFORM_SCOPE],
      ...(grant.attributes ? { attributes: grant.attributes } : {}),
      expiresAt,
    });
    return { token, expiresAt, expiresInSeconds: Math.floor(lifetime / 1000) };
  }

  /** The caller behind a bearer token, or why it is refused. */
  authenticate(authorization: string | undefined): Caller | AuthFailure {
    if (!authorization) {
      return {
        reason: 'missing',
        message:
          'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      };
    }
    const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    const invalid: AuthFailure = {
      reason: 'invalid',
      message:
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
    };
    if (!m) return invalid;
    const token = m[1] as string;
    const issued = this.#tokens.get(token);
    if (issued) {
      if (this.#wall() >= issued.expiresAt) {
        this.#tokens.delete(token);
        return { reason: 'expired', message: `${invalid.message} (the access token expired)` };
      }
      return {
        email: issued.email,
        kind: issued.kind,
        identity: issued.identity,
        scopes: issued.scopes,
        ...(issued.attributes ? { attributes: issued.attributes } : {}),
      };
    }
    // A self-signed JWT (no token endpoint round trip), as Google accepts from service accounts.
    const jwt = decodeJwt(token);
    if (!jwt) return invalid;
    const verified = this.#verifyServiceAccountJwt(jwt);
    if ('reason' in verified) return verified.reason === 'expired' ? verified : invalid;
    const scope = typeof jwt.claims.scope === 'string' ? jwt.claims.scope.split(' ') : [];
    return { email: verified.email, kind: 'self-signed-jwt', identity: verified.name, scopes: scope };
  }

  /**
   * The JWT-bearer grant of the token endpoint. Returns the OAuth 2.0 token response, or an OAuth
   * error (`invalid_grant` with Google's descriptions).
   */
  exchangeAssertion(
    assertion: string,
  ):
    | { ok: true; body: Record<string, unknown> }
    | { ok: false; body: { error: string; error_description: string } } {
    const jwt = decodeJwt(assertion);
    if (!jwt) return { ok: false, body: { error: 'invalid_grant', error_description: 'Invalid JWT.' } };
    const verified = this.#verifyServiceAccountJwt(jwt);
    if ('reason' in verified) {
      return { ok: false, body: { error: 'invalid_grant', error_description: verified.message } };
    }
    const aud = jwt.claims.aud;
    if (aud !== GOOGLE_TOKEN_URL && aud !== this.tokenUri && aud !== `${this.#endpoint}/oauth2/v4/token`) {
      return { ok: false, body: { error: 'invalid_grant', error_description: 'Invalid JWT audience.' } };
    }
    const targetAudience = jwt.claims.target_audience;
    if (typeof targetAudience === 'string' && targetAudience.length > 0) {
      return {
        ok: true,
        body: { id_token: this.mintIdToken({ email: verified.email, audience: targetAudience }) },
      };
    }
    if (typeof jwt.claims.scope !== 'string' || jwt.claims.scope.length === 0) {
      return {
        ok: false,
        body: {
          error: 'invalid_scope',
          error_description: 'Invalid OAuth scope or ID token audience provided.',
        },
      };
    }
    const issued = this.issueAccessToken({
      email: verified.email,
      kind: 'service-account',
      scopes: jwt.claims.scope.split(' '),
    });
    return {
      ok: true,
      body: { access_token: issued.token, expires_in: issued.expiresInSeconds, token_type: 'Bearer' },
    };
  }

  /**
   * Mints a Google-style ID token (RS256, signed by the edge's key, verifiable with `jwks()`):
   * `iss`, `aud`, `azp`, `sub`, `email`, `email_verified`, `iat`, `exp`. Times are virtual by
   * default (the local cloud's verifiers use the virtual clock); pass `now` to stamp another time.
   * The Pub/Sub push proxy calls this to sign push requests.
   */
  mintIdToken(request: {
    email: string;
    audience: string;
    lifetimeMs?: number;
    now?: number;
    extraClaims?: JwtClaims;
  }): string {
    const key = this.#requireSigningKey();
    const now = request.now ?? this.#clock.now();
    const iat = Math.floor(now / 1000);
    const sa = this.#accounts.get(request.email);
    const sub = sa?.clientId ?? request.email;
    return signJwt(
      {
        iss: this.issuer,
        aud: request.audience,
        azp: sub,
        sub,
        email: request.email,
        email_verified: true,
        iat,
        exp: iat + Math.floor((request.lifetimeMs ?? this.#idLifetime) / 1000),
        ...request.extraClaims,
      },
      key.privateKey,
      key.kid,
    );
  }

  /** The edge's public signing keys as a JWKS (what `jwksUri` serves). */
  jwks(): { keys: Record<string, unknown>[] } {
    const key = this.#requireSigningKey();
    const jwk = key.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    return { keys: [{ ...jwk, kid: key.kid, alg: 'RS256', use: 'sig' }] };
  }

  /** Verifies an ID token minted here (signature, issuer, audience, expiry on `now`). */
  verifyIdToken(token: string, audience: string, now = this.#clock.now()): JwtClaims | AuthFailure {
    const key = this.#requireSigningKey();
    const jwt = decodeJwt(token);
    if (jwt?.header.alg !== 'RS256' || jwt.header.kid !== key.kid) {
      return { reason: 'invalid', message: 'not an ID token of this edge' };
    }
    if (!verifyRs256(jwt.signingInput, jwt.signature, key.publicKey)) {
      return { reason: 'invalid', message: 'invalid ID token signature' };
    }
    if (jwt.claims.iss !== this.issuer) return { reason: 'invalid', message: 'wrong issuer' };
    if (jwt.claims.aud !== audience) return { reason: 'invalid', message: 'wrong audience' };
    if (typeof jwt.claims.exp !== 'number' || jwt.claims.exp * 1000 <= now) {
      return { reason: 'expired', message: 'ID token expired' };
    }
    return jwt.claims;
  }

  #requireSigningKey() {
    if (!this.#signingKey) throw new Error('GcpAuth.init() has not run');
    return this.#signingKey;
  }

  /** A JWT signed by a service account's key: iss = email, RS256, kid matching, not expired (wall). */
  #verifyServiceAccountJwt(jwt: NonNullable<ReturnType<typeof decodeJwt>>): ServiceAccount | AuthFailure {
    if (jwt.header.alg !== 'RS256') return { reason: 'invalid', message: 'Invalid JWT: alg must be RS256.' };
    const iss = jwt.claims.iss;
    const sa = typeof iss === 'string' ? this.#accounts.get(iss) : undefined;
    if (!sa) return { reason: 'invalid', message: 'Invalid JWT: unknown issuer (no such service account).' };
    if (jwt.header.kid !== undefined && jwt.header.kid !== sa.keyId) {
      return { reason: 'invalid', message: 'Invalid JWT Signature.' };
    }
    if (!verifyRs256(jwt.signingInput, jwt.signature, sa.publicKey)) {
      return { reason: 'invalid', message: 'Invalid JWT Signature.' };
    }
    const nowS = Math.floor(this.#wall() / 1000);
    const { iat, exp } = jwt.claims;
    if (typeof exp !== 'number' || typeof iat !== 'number') {
      return { reason: 'invalid', message: 'Invalid JWT: iat and exp are required.' };
    }
    if (exp - iat > 3600)
      return { reason: 'invalid', message: 'Invalid JWT: Token must be a short-lived token (60 minutes).' };
    if (exp + SKEW_SECONDS < nowS || iat - SKEW_SECONDS > nowS) {
      return {
        reason: 'expired',
        message:
          'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      };
    }
    return sa;
  }
}

export function isAuthFailure(x: Caller | AuthFailure | JwtClaims): x is AuthFailure {
  return (
    typeof (x as AuthFailure).reason === 'string' &&
    typeof (x as AuthFailure).message === 'string' &&
    !('email' in x)
  );
}
