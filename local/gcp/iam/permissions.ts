/**
 * The permission each REST method of the local Google edge checks, as the method's reference page
 * names it ("IAM Permissions" / "Authorization"), and the resource it is checked on: the resource
 * the path names (`self`), its parent collection's owner (`parent`: create and list check the
 * parent), or the project (`project`: aggregated lists). Methods that check their own policy
 * (iamcredentials: the service account's) are `service`. docs/local-gcp-iam.md lists them.
 */

export type PermissionScope = 'self' | 'parent' | 'project';

export interface MethodPermission {
  permission: string;
  on: PermissionScope;
}

/** `<service module>.<operation>` -> its permission, or 'service' when the module checks itself. */
export const METHOD_PERMISSIONS: Readonly<Record<string, MethodPermission | 'service'>> = {
  // TransportManager (networkconnectivity v1beta).
  'networkconnectivity.ListRemoteTransportProfiles': {
    permission: 'networkconnectivity.remoteTransportProfiles.list',
    on: 'parent',
  },
  'networkconnectivity.GetRemoteTransportProfile': {
    permission: 'networkconnectivity.remoteTransportProfiles.get',
    on: 'self',
  },
  'networkconnectivity.ListTransports': { permission: 'networkconnectivity.transports.list', on: 'parent' },
  'networkconnectivity.GetTransport': { permission: 'networkconnectivity.transports.get', on: 'self' },
  'networkconnectivity.CreateTransport': {
    permission: 'networkconnectivity.transports.create',
    on: 'parent',
  },
  'networkconnectivity.UpdateTransport': { permission: 'networkconnectivity.transports.update', on: 'self' },
  'networkconnectivity.DeleteTransport': { permission: 'networkconnectivity.transports.delete', on: 'self' },
  'networkconnectivity.GetOperation': { permission: 'networkconnectivity.operations.get', on: 'self' },
  // Cloud KMS (https://cloud.google.com/kms/docs/reference/permissions-and-roles).
  'cloudkms.CreateKeyRing': { permission: 'cloudkms.keyRings.create', on: 'parent' },
  'cloudkms.GetKeyRing': { permission: 'cloudkms.keyRings.get', on: 'self' },
  'cloudkms.CreateCryptoKey': { permission: 'cloudkms.cryptoKeys.create', on: 'parent' },
  'cloudkms.GetCryptoKey': { permission: 'cloudkms.cryptoKeys.get', on: 'self' },
  'cloudkms.GetCryptoKeyVersion': { permission: 'cloudkms.cryptoKeyVersions.get', on: 'self' },
  'cloudkms.UpdateCryptoKeyVersion': { permission: 'cloudkms.cryptoKeyVersions.update', on: 'self' },
  'cloudkms.GetPublicKey': { permission: 'cloudkms.cryptoKeyVersions.viewPublicKey', on: 'parent' },
  'cloudkms.AsymmetricDecrypt': { permission: 'cloudkms.cryptoKeyVersions.useToDecrypt', on: 'self' },
  // Service Usage (https://cloud.google.com/service-usage/docs/access-control).
  'serviceusage.ListServices': { permission: 'serviceusage.services.list', on: 'project' },
  'serviceusage.GetService': { permission: 'serviceusage.services.get', on: 'project' },
  'serviceusage.EnableService': { permission: 'serviceusage.services.enable', on: 'project' },
  'serviceusage.DisableService': { permission: 'serviceusage.services.disable', on: 'project' },
  // Secret Manager (https://cloud.google.com/secret-manager/docs/access-control).
  'secretmanager.CreateSecret': { permission: 'secretmanager.secrets.create', on: 'parent' },
  'secretmanager.ListSecrets': { permission: 'secretmanager.secrets.list', on: 'parent' },
  'secretmanager.GetSecret': { permission: 'secretmanager.secrets.get', on: 'self' },
  'secretmanager.DeleteSecret': { permission: 'secretmanager.secrets.delete', on: 'self' },
  'secretmanager.AddSecretVersion': { permission: 'secretmanager.versions.add', on: 'self' },
  'secretmanager.GetSecretVersion': { permission: 'secretmanager.versions.get', on: 'self' },
  'secretmanager.AccessSecretVersion': { permission: 'secretmanager.versions.access', on: 'self' },
  // Compute Engine (VPN and routers).
  'compute.compute.vpnTunnels.list': { permission: 'compute.vpnTunnels.list', on: 'parent' },
  'compute.compute.vpnTunnels.aggregatedList': { permission: 'compute.vpnTunnels.list', on: 'project' },
  'compute.compute.vpnTunnels.get': { permission: 'compute.vpnTunnels.get', on: 'self' },
  'compute.compute.vpnTunnels.delete': { permission: 'compute.vpnTunnels.delete', on: 'self' },
  'compute.compute.vpnGateways.list': { permission: 'compute.vpnGateways.list', on: 'parent' },
  'compute.compute.externalVpnGateways.list': {
    permission: 'compute.externalVpnGateways.list',
    on: 'parent',
  },
  'compute.compute.externalVpnGateways.get': { permission: 'compute.externalVpnGateways.get', on: 'self' },
  'compute.compute.externalVpnGateways.delete': {
    permission: 'compute.externalVpnGateways.delete',
    on: 'self',
  },
  'compute.compute.routers.list': { permission: 'compute.routers.list', on: 'parent' },
  'compute.compute.routers.aggregatedList': { permission: 'compute.routers.list', on: 'project' },
  'compute.compute.routers.get': { permission: 'compute.routers.get', on: 'self' },
  'compute.compute.routers.patch': { permission: 'compute.routers.update', on: 'self' },
  'compute.compute.routers.getRouterStatus': { permission: 'compute.routers.get', on: 'parent' },
  'compute.compute.routes.list': { permission: 'compute.routes.list', on: 'parent' },
  'compute.compute.networks.getEffectiveRoutes': {
    permission: 'compute.networks.getEffectiveRoutes',
    on: 'parent',
  },
  'compute.compute.regionOperations.get': { permission: 'compute.regionOperations.get', on: 'self' },
  'compute.compute.regionOperations.wait': { permission: 'compute.regionOperations.get', on: 'parent' },
  'compute.compute.globalOperations.get': { permission: 'compute.globalOperations.get', on: 'self' },
  'compute.compute.globalOperations.wait': { permission: 'compute.globalOperations.get', on: 'parent' },
  // Cloud DNS (https://cloud.google.com/dns/docs/access-control): on the project, or on the zone
  // for zone-level grants; changes.create also checks dns.resourceRecordSets.create / update /
  // delete on the zone for what the change adds, replaces or removes (local/gcp/services/dns.ts).
  'dns.dns.managedZones.create': { permission: 'dns.managedZones.create', on: 'parent' },
  'dns.dns.managedZones.list': { permission: 'dns.managedZones.list', on: 'parent' },
  'dns.dns.managedZones.get': { permission: 'dns.managedZones.get', on: 'self' },
  'dns.dns.managedZones.delete': { permission: 'dns.managedZones.delete', on: 'self' },
  'dns.dns.resourceRecordSets.list': { permission: 'dns.resourceRecordSets.list', on: 'parent' },
  'dns.dns.resourceRecordSets.get': { permission: 'dns.resourceRecordSets.get', on: 'self' },
  'dns.dns.resourceRecordSets.create': { permission: 'dns.resourceRecordSets.create', on: 'parent' },
  'dns.dns.resourceRecordSets.patch': { permission: 'dns.resourceRecordSets.update', on: 'self' },
  'dns.dns.resourceRecordSets.delete': { permission: 'dns.resourceRecordSets.delete', on: 'self' },
  'dns.dns.changes.create': { permission: 'dns.changes.create', on: 'parent' },
  'dns.dns.changes.list': { permission: 'dns.changes.list', on: 'parent' },
  'dns.dns.changes.get': { permission: 'dns.changes.get', on: 'self' },
  // Cloud Run Admin API v2 (https://cloud.google.com/run/docs/reference/iam/permissions).
  'run.GetService': { permission: 'run.services.get', on: 'self' },
  'run.UpdateService': { permission: 'run.services.update', on: 'self' },
  'run.GetOperation': { permission: 'run.operations.get', on: 'self' },
  // Cloud Monitoring.
  'monitoring.ListTimeSeries': { permission: 'monitoring.timeSeries.list', on: 'parent' },
  // IAM Service Account Credentials: the service account's own policy (the module checks it).
  'iamcredentials.GenerateAccessToken': 'service',
  'iamcredentials.GenerateIdToken': 'service',
};

/**
 * The resource name of a request path (`/v1beta/projects/p/locations/l/transports/t` ->
 * `projects/p/locations/l/transports/t`): without the API version prefix and the custom verb,
 * then narrowed to what `on` names.
 */
export function resourceOf(path: string, on: PermissionScope, project: string | undefined): string {
  const segments = path
    .replace(/:[A-Za-z]+$/, '')
    .split('/')
    .filter((s) => s.length > 0);
  const start = segments.indexOf('projects');
  const name = start < 0 ? segments : segments.slice(start);
  if (on === 'project') return `projects/${project ?? name[1] ?? '-'}`;
  if (on === 'parent') return name.slice(0, -1).join('/');
  return name.join('/');
}
