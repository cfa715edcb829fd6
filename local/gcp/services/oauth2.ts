/**
 * The OAuth 2.0 endpoints of the local Google edge (oauth2.googleapis.com / www.googleapis.com):
 * the JWT-bearer token grant that google-auth-library runs with a service-account key file, the
 * JWKS of the edge's ID-token key, OpenID discovery, and tokeninfo. Errors here are OAuth's
 * (`{error, error_description}`), not google.rpc, as on the real endpoint.
 */
import { isAuthFailure } from '../auth.ts';
import { defineGcpService, type GcpRequestContext, Reply } from '../service.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function token(ctx: GcpRequestContext): Reply {
  const body = ctx.body as Record<string, unknown>;
  if (body.grant_type !== JWT_BEARER) {
    return new Reply(400, {
      error: 'unsupported_grant_type',
      error_description: `Invalid grant_type: ${String(body.grant_type ?? '')}`,
    });
  }
  if (typeof body.assertion !== 'string') {
    return new Reply(400, {
      error: 'invalid_request',
      error_description: 'Missing required parameter: assertion',
    });
  }
  const result = ctx.world.auth.exchangeAssertion(body.assertion);
  return new Reply(result.ok ? 200 : 400, result.body, { 'cache-control': 'no-store' });
}

export default defineGcpService({
  name: 'oauth2',
  host: 'oauth2.googleapis.com',
  routes: [
    { method: 'POST', path: '/token', operation: 'Token', auth: false, handler: token },
    { method: 'POST', path: '/oauth2/v4/token', operation: 'Token', auth: false, handler: token },
    {
      method: 'GET',
      path: '/oauth2/v3/certs',
      operation: 'Certs',
      auth: false,
      handler: (ctx) => new Reply(200, ctx.world.auth.jwks(), { 'cache-control': 'public, max-age=300' }),
    },
    {
      method: 'GET',
      path: '/.well-known/openid-configuration',
      operation: 'Discovery',
      auth: false,
      handler: (ctx) => {
        const base = ctx.world.endpoint();
        return {
          issuer: ctx.world.auth.issuer,
          token_endpoint: ctx.world.auth.tokenUri,
          jwks_uri: ctx.world.auth.jwksUri,
          userinfo_endpoint: `${base}/v1/userinfo`,
          response_types_supported: ['id_token'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          claims_supported: ['aud', 'email', 'email_verified', 'exp', 'iat', 'iss', 'sub', 'azp'],
          grant_types_supported: [JWT_BEARER, 'urn:ietf:params:oauth:grant-type:token-exchange'],
        };
      },
    },
    {
      method: 'GET',
      path: '/tokeninfo',
      operation: 'TokenInfo',
      auth: false,
      handler: (ctx) => {
        const access = ctx.query.get('access_token');
        if (!access)
          return new Reply(400, { error: 'invalid_request', error_description: 'access_token required' });
        const caller = ctx.world.auth.authenticate(`Bearer ${access}`);
        if (isAuthFailure(caller)) {
          return new Reply(400, { error: 'invalid_token', error_description: 'Invalid Value' });
        }
        return {
          email: caller.email,
          email_verified: 'true',
          scope: caller.scopes.join(' '),
          access_type: 'online',
        };
      },
    },
  ],
});
