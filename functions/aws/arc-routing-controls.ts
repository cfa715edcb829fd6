/**
 * Route 53 ARC routing control states read through a cluster's regional endpoints with the SDK client
 * (`GetRoutingControlState`), one client per endpoint, each signed for the endpoint's region. An
 * endpoint that cannot answer (no connection, `EndpointTemporarilyUnavailableException`, throttled or
 * a server error) is reported as unreachable so the caller tries the next one, as the ARC guide says a
 * client should; a refusal (access denied, an unknown routing control, a bad ARN) is thrown.
 */
import {
  GetRoutingControlStateCommand,
  Route53RecoveryClusterClient,
} from '@aws-sdk/client-route53-recovery-cluster';
import type { ClusterEndpoint, ControlRead, RoutingControlReader } from '#core/dr/serving.ts';

export class ArcRoutingControlReader implements RoutingControlReader {
  private readonly clients = new Map<string, Route53RecoveryClusterClient>();

  private readonly credentials?: { accessKeyId: string; secretAccessKey: string };

  /** `credentials` absent: the SDK's default chain. */
  constructor(credentials?: { accessKeyId: string; secretAccessKey: string }) {
    this.credentials = credentials;
  }

  private client(endpoint: ClusterEndpoint): Route53RecoveryClusterClient {
    let c = this.clients.get(endpoint.url);
    if (!c) {
      c = new Route53RecoveryClusterClient({
        region: endpoint.region,
        endpoint: endpoint.url,
        maxAttempts: 1,
        ...(this.credentials && { credentials: this.credentials }),
      });
      this.clients.set(endpoint.url, c);
    }
    return c;
  }

  async state(endpoint: ClusterEndpoint, routingControlArn: string): Promise<ControlRead> {
    try {
      const r = await this.client(endpoint).send(
        new GetRoutingControlStateCommand({ RoutingControlArn: routingControlArn }),
      );
      if (r.RoutingControlState !== 'On' && r.RoutingControlState !== 'Off')
        return { unreachable: `answered no routing control state for ${routingControlArn}` };
      return { state: r.RoutingControlState };
    } catch (err) {
      const e = err as Error & { $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      if (status === undefined) return { unreachable: `no connection (${e.name}: ${e.message})` };
      if (status >= 500 || status === 429) return { unreachable: `${e.name} (${status})` };
      throw err;
    }
  }

  destroy(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }
}
