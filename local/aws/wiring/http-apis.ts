/**
 * The HTTP APIs (API Gateway v2) of a template: one local listener per API, routes to Lambda proxy
 * integrations with IAM or JWT authorization; integrations, authorizers and stages hold nothing of
 * their own locally.
 */

import { HttpApi, type RouteAuth } from '../http-api.ts';
import type { Json, Wiring } from './template.ts';

/** Routes -> integrations -> functions, with IAM or JWT authorizers. */
export function wireHttpApis(w: Wiring): void {
  const { world, options, accountId, region, loaded, removers, physical, resolve, byType } = w;
  const integrations = new Map<string, Json>();
  for (const [logical, r] of byType('AWS::ApiGatewayV2::Integration'))
    integrations.set(physical[logical] as string, { logical, ...resolve(r.Properties) });
  const authorizers = new Map<string, Json>();
  for (const [logical, r] of byType('AWS::ApiGatewayV2::Authorizer'))
    authorizers.set(physical[logical] as string, resolve(r.Properties));
  for (const [logical] of byType('AWS::ApiGatewayV2::Api')) {
    const api = new HttpApi(world, { accountId, region, apiId: physical[logical] as string });
    loaded.httpApis[logical] = api;
    // Deleting the API stops its endpoint: nothing answers there any more.
    removers[logical] = () => api.close();
  }
  // Integrations, authorizers and stages hold nothing locally of their own: the routes carry their
  // settings (and go first, as they refer to them), the API's listener is its one stage.
  for (const type of [
    'AWS::ApiGatewayV2::Integration',
    'AWS::ApiGatewayV2::Authorizer',
    'AWS::ApiGatewayV2::Stage',
  ])
    for (const [logical] of byType(type)) removers[logical] = () => {};
  for (const [logical, r] of byType('AWS::ApiGatewayV2::Route')) {
    const p = resolve(r.Properties);
    const api = Object.entries(loaded.httpApis).find(([id]) => physical[id] === p.ApiId)?.[1];
    const integration = integrations.get(String(p.Target ?? '').replace(/^integrations\//, ''));
    if (!api || !integration) throw new Error(`template: route ${logical}: no API or integration`);
    if (integration.IntegrationType !== 'AWS_PROXY')
      throw new Error(`template: route ${logical}: only Lambda proxy integrations are supported locally`);
    let auth: RouteAuth = { type: 'NONE' };
    if (p.AuthorizationType === 'AWS_IAM') auth = { type: 'AWS_IAM' };
    else if (p.AuthorizationType === 'JWT') {
      const a = authorizers.get(String(p.AuthorizerId));
      const issuer = String(a?.JwtConfiguration?.Issuer ?? '');
      const keys = options.jwks?.[issuer];
      auth = { type: 'JWT', issuer, audience: (a?.JwtConfiguration?.Audience ?? []).map(String) };
      if (typeof keys === 'string') auth.jwksUri = keys;
      else if (keys) auth.jwks = keys;
    } else if (p.AuthorizationType !== undefined && p.AuthorizationType !== 'NONE') {
      throw new Error(
        `template: route ${logical}: authorization ${p.AuthorizationType} is not supported locally (AWS_IAM, JWT)`,
      );
    }
    api.addRoute({ routeKey: p.RouteKey, functionName: String(integration.IntegrationUri), auth });
    removers[logical] = () => api.removeRoute(p.RouteKey);
  }
}
