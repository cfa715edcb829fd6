/**
 * Direct Connect (AWS JSON 1.1, `X-Amz-Target: OvertureService.<Op>`, signing name
 * `directconnect`): Direct Connect gateways and their associations with virtual private gateways
 * and Transit Gateways, whose allowed prefixes are what the AWS side advertises over every link
 * attached to the gateway (docs/reference/aws-interconnect.md, "Routing": changing them has a blast radius
 * beyond one link).
 *
 * Associations move on the virtual clock (settings `directconnect.delays`, inferred defaults):
 * create `associating` -> `associated` (3m); update `updating` -> `associated` (2m); delete
 * `disassociating` -> `disassociated` (2m), then gone. During an update DescribeDirectConnect-
 * GatewayAssociations already lists the new prefixes (as AWS does); the routes advertised change
 * when the update completes: `allowedPrefixes()` below is what is advertised. A `stuck` fault on
 * the association id holds it in its state.
 *
 * Gateways are the shared ones of local/aws/common/dx-gateways.ts (Interconnect attaches to them);
 * associated VGWs / TGWs are those of the network model (local/world/network.ts), which learns each
 * association so that a VGW's routes include the links' (DisableVgwRoutePropagation then withdraws
 * both).
 *
 * For the link world: `allowedPrefixes(world, accountId, dxGatewayId)`,
 * `associatedGateways(world, dxGatewayId)` and `onAllowedPrefixesChange(world, listener)`.
 */
import { parseDuration } from '#core/clock.ts';
import { parseCidr } from '#core/net/cidr.ts';
import { bgpSessionsOf } from '#local/world/bgp-sessions.ts';
import { adminError } from '../common/admin-error.ts';
import { addDxGateway, type DxGateway, dxGateways } from '../common/dx-gateways.ts';
import { networkOf } from '../common/network.ts';
import { AwsError, errorClass } from '../errors.ts';
import { defineService, type RequestContext, type World } from '../service.ts';

const ClientError = errorClass('DirectConnectClientException', 400);

export type AssociationState = 'associating' | 'associated' | 'disassociating' | 'disassociated' | 'updating';

export interface DxAssociation {
  associationId: string;
  directConnectGatewayId: string;
  directConnectGatewayOwnerAccount: string;
  associationState: AssociationState;
  stateChangeError?: string;
  associatedGateway: {
    id: string;
    type: 'virtualPrivateGateway' | 'transitGateway';
    ownerAccount: string;
    region: string;
  };
  /** What DescribeDirectConnectGatewayAssociations lists (the requested set). */
  allowedPrefixes: string[];
  /** What the gateway advertises now (the requested set once the last change completed). */
  advertised: string[];
}

interface DxDelays {
  associate: string;
  update: string;
  disassociate: string;
}

const DEFAULT_DELAYS: DxDelays = { associate: '3m', update: '2m', disassociate: '2m' };

interface DxWorldState {
  associations: Map<string, DxAssociation>;
  listeners: Set<() => void>;
  /** `<account>|<gateway id>` of every gateway that ever had an association. */
  gateways: Set<string>;
}

const byWorld = new WeakMap<World, DxWorldState>();

function dxState(world: World): DxWorldState {
  let s = byWorld.get(world);
  if (!s) {
    s = { associations: new Map(), listeners: new Set(), gateways: new Set() };
    byWorld.set(world, s);
  }
  return s;
}

function delay(world: World, which: keyof DxDelays): number {
  const d = { ...DEFAULT_DELAYS, ...world.settings<{ delays: Partial<DxDelays> }>('directconnect').delays };
  return parseDuration(d[which]);
}

function changed(world: World): void {
  for (const l of dxState(world).listeners) l();
}

// ---------- the query API for the link world ----------

/**
 * The prefixes the AWS side advertises to links on `dxGatewayId` of `accountId`: the union of the
 * applied allowed prefixes of its live associations, sorted. Empty for an unknown gateway.
 */
export function allowedPrefixes(world: World, accountId: string, dxGatewayId: string): string[] {
  const out = new Set<string>();
  for (const a of dxState(world).associations.values()) {
    if (a.directConnectGatewayOwnerAccount !== accountId) continue;
    if (a.directConnectGatewayId.toUpperCase() !== dxGatewayId.toUpperCase()) continue;
    if (a.associationState === 'associating' || a.associationState === 'disassociated') continue;
    for (const p of a.advertised) out.add(p);
  }
  return [...out].sort();
}

/** The VGW / TGW ids associated (or associating) with a Direct Connect gateway. */
export function associatedGateways(world: World, dxGatewayId: string): string[] {
  return [...dxState(world).associations.values()]
    .filter(
      (a) =>
        a.directConnectGatewayId.toUpperCase() === dxGatewayId.toUpperCase() &&
        a.associationState !== 'disassociated',
    )
    .map((a) => a.associatedGateway.id);
}

/**
 * Every gateway that has had an association, with what it advertises now (empty once its last
 * association is gone): what the link world needs to mirror after a change.
 */
export function advertisedByGateway(
  world: World,
): { accountId: string; dxGatewayId: string; prefixes: string[] }[] {
  return [...dxState(world).gateways].map((key) => {
    const [accountId, dxGatewayId] = key.split('|') as [string, string];
    return { accountId, dxGatewayId, prefixes: allowedPrefixes(world, accountId, dxGatewayId) };
  });
}

/** Calls `listener` whenever advertised prefixes or associations change; returns an unsubscribe. */
export function onAllowedPrefixesChange(world: World, listener: () => void): () => void {
  const s = dxState(world);
  s.listeners.add(listener);
  return () => s.listeners.delete(listener);
}

// ---------- model ----------

function canonicalPrefix(cidr: unknown): string {
  if (typeof cidr !== 'string') throw ClientError('Allowed prefix cidr must be a string.');
  try {
    const c = parseCidr(cidr);
    if (c.family !== 4) throw new Error('v6');
    if (c.text !== cidr) throw new Error('host bits');
    return c.text;
  } catch {
    throw ClientError(`Invalid CIDR ${cidr}.`);
  }
}

function gateway(world: World, accountId: string, id: unknown): DxGateway {
  if (typeof id !== 'string') throw ClientError('directConnectGatewayId is required.');
  const gw = dxGateways(world, accountId).get(id.toUpperCase());
  if (!gw) throw ClientError(`Direct Connect Gateway ${id} does not exist.`);
  return gw;
}

/** The VGW / TGW in the network model, with its account and region. */
function associable(world: World, accountId: string, gatewayId: string) {
  const net = networkOf(world);
  if (gatewayId.startsWith('vgw-')) {
    const vgw = net.vpnGateways.get(gatewayId);
    if (!vgw || vgw.state === 'deleted' || vgw.accountId !== accountId) {
      throw ClientError(`Virtual private gateway ${gatewayId} does not exist.`);
    }
    const vpcId = vgw.vpcAttachments.find((a) => a.state === 'attached')?.vpcId;
    const vpc = vpcId ? net.vpcs.get(vpcId) : undefined;
    return { type: 'virtualPrivateGateway' as const, region: vgw.region, defaults: vpc?.cidrBlocks ?? [] };
  }
  if (gatewayId.startsWith('tgw-')) {
    const tgw = net.transitGateways.get(gatewayId);
    if (!tgw || tgw.state === 'deleted' || tgw.accountId !== accountId) {
      throw ClientError(`Transit gateway ${gatewayId} does not exist.`);
    }
    return { type: 'transitGateway' as const, region: tgw.region, defaults: undefined };
  }
  throw ClientError(`Gateway ${gatewayId} is neither a virtual private gateway nor a transit gateway.`);
}

function view(a: DxAssociation) {
  const vgw = a.associatedGateway.type === 'virtualPrivateGateway';
  return {
    directConnectGatewayId: a.directConnectGatewayId,
    directConnectGatewayOwnerAccount: a.directConnectGatewayOwnerAccount,
    associationState: a.associationState,
    stateChangeError: a.stateChangeError,
    associatedGateway: { ...a.associatedGateway },
    associationId: a.associationId,
    allowedPrefixesToDirectConnectGateway: a.allowedPrefixes.map((cidr) => ({ cidr })),
    virtualGatewayId: vgw ? a.associatedGateway.id : undefined,
    virtualGatewayRegion: vgw ? a.associatedGateway.region : undefined,
    virtualGatewayOwnerAccount: vgw ? a.associatedGateway.ownerAccount : undefined,
  };
}

/** Moves `a` to `to` after `ms` of virtual time, unless it is stuck or changed meanwhile. */
function settle(
  world: World,
  a: DxAssociation,
  from: AssociationState,
  to: AssociationState,
  ms: number,
  then?: () => void,
) {
  const attempt = () => {
    if (a.associationState !== from) return;
    if (world.faults.isStuck('directconnect', a.associationId, from)) {
      world.clock.after(ms, attempt);
      return;
    }
    a.associationState = to;
    then?.();
    changed(world);
  };
  world.clock.after(ms, attempt);
}

export function associate(
  world: World,
  opts: {
    accountId: string;
    dxGatewayId: string;
    gatewayId: string;
    allowedPrefixes?: string[];
    immediate?: boolean;
  },
): DxAssociation {
  const gw = gateway(world, opts.accountId, opts.dxGatewayId);
  const target = associable(world, opts.accountId, opts.gatewayId);
  const state = dxState(world);
  for (const a of state.associations.values()) {
    if (a.associatedGateway.id === opts.gatewayId && a.associationState !== 'disassociated') {
      throw ClientError(
        `Gateway ${opts.gatewayId} is already associated with Direct Connect Gateway ${a.directConnectGatewayId}.`,
      );
    }
  }
  const requested = opts.allowedPrefixes?.map(canonicalPrefix) ?? target.defaults;
  if (requested === undefined) {
    throw ClientError('Allowed prefixes must be specified when associating a transit gateway.');
  }
  const prefixes = [...new Set(requested)];
  const a: DxAssociation = {
    associationId: world.random.uuid(),
    directConnectGatewayId: gw.directConnectGatewayId,
    directConnectGatewayOwnerAccount: opts.accountId,
    associationState: opts.immediate ? 'associated' : 'associating',
    associatedGateway: {
      id: opts.gatewayId,
      type: target.type,
      ownerAccount: opts.accountId,
      region: target.region,
    },
    allowedPrefixes: prefixes,
    advertised: [...prefixes],
  };
  state.associations.set(a.associationId, a);
  state.gateways.add(`${opts.accountId}|${gw.directConnectGatewayId}`);
  networkOf(world).associateDxGateway(gw.directConnectGatewayId, opts.gatewayId);
  if (!opts.immediate) settle(world, a, 'associating', 'associated', delay(world, 'associate'));
  changed(world);
  return a;
}

function ownAssociation(ctx: RequestContext<unknown>, associationId: unknown): DxAssociation {
  const a =
    typeof associationId === 'string' ? dxState(ctx.world).associations.get(associationId) : undefined;
  if (!a || a.directConnectGatewayOwnerAccount !== ctx.accountId) {
    throw ClientError(`Direct Connect Gateway Association ${String(associationId)} does not exist.`);
  }
  return a;
}

function page<T>(items: T[], maxResults: unknown, nextToken: unknown, filterKey: string) {
  const max = maxResults === undefined ? 100 : Number(maxResults);
  if (!Number.isInteger(max) || max < 1) throw ClientError('maxResults must be a positive integer.');
  let start = 0;
  if (nextToken !== undefined) {
    try {
      const t = JSON.parse(Buffer.from(String(nextToken), 'base64').toString()) as { i: number; f: string };
      if (t.f !== filterKey || !Number.isInteger(t.i)) throw new Error('other filter');
      start = t.i;
    } catch {
      throw ClientError('The nextToken is invalid.');
    }
  }
  const end = start + Math.min(max, 100);
  return {
    items: items.slice(start, end),
    nextToken:
      end < items.length
        ? Buffer.from(JSON.stringify({ i: end, f: filterKey })).toString('base64')
        : undefined,
  };
}

/** What Direct Connect reads of an Interconnect multicloud connection (structurally). */
interface MulticloudConnection {
  connection: {
    id: string;
    state: string;
    sharedId: string;
    ownerAccount: string;
    location: string;
    attachPoint: { directConnectGateway?: string };
  };
}

/** The virtual interface's state for each connection state that has one. */
const VIF_STATE: Record<string, string | undefined> = {
  pending: 'pending',
  available: 'available',
  updating: 'available',
  down: 'down',
};

/** A stable id of the form Direct Connect uses (`dxvif-` and 8 characters) from the connection id. */
function shortId(prefix: string, seed: string): string {
  let h = 2166136261;
  for (const ch of seed) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return `${prefix}-${h.toString(36).padStart(8, '0').slice(-8)}`;
}

function virtualInterfaceOf(c: MulticloudConnection['connection'], ctx: RequestContext<{ world: World }>) {
  const sessions = bgpSessionsOf(ctx.world.clock, c.sharedId) ?? [];
  const vif = shortId('dxvif', c.id);
  return {
    ownerAccount: c.ownerAccount,
    virtualInterfaceId: vif,
    location: c.location,
    connectionId: c.id,
    virtualInterfaceType: 'transit',
    virtualInterfaceName: c.id,
    virtualInterfaceState: VIF_STATE[c.state] as string,
    addressFamily: 'ipv4',
    directConnectGatewayId: c.attachPoint.directConnectGateway ?? '',
    region: ctx.region,
    bgpPeers: sessions.map((s) => ({
      bgpPeerId: shortId('dxpeer', `${c.id}/${s.index}`),
      addressFamily: 'ipv4',
      bgpPeerState: 'available',
      bgpStatus: s.up ? 'up' : 'down',
    })),
  };
}

export default defineService<{ world: World }>({
  name: 'directconnect',
  signingName: 'directconnect',
  protocol: 'json1.1',
  targetPrefix: 'OvertureService',
  errors: {
    throttling: { code: 'ThrottlingException', status: 400 },
    server: { code: 'DirectConnectServerException', status: 500 },
  },
  operations: {
    /**
     * The virtual interface of each Interconnect multicloud connection of the account and region that
     * has one (`pending`, `available`, `down`, `updating`), with one BGP peer per session of the link
     * (`bgpSessionsOf`, local/world/bgp-sessions.ts). That a multicloud connection shows here as a
     * transit virtual interface on its Direct Connect gateway, `connectionId` its Interconnect id, is
     * inferred (docs/link-health.md): the Interconnect references name no virtual interface.
     * `connectionId` or `virtualInterfaceId` that names nothing is refused.
     */
    DescribeVirtualInterfaces(
      input: { connectionId?: string; virtualInterfaceId?: string; maxResults?: number; nextToken?: string },
      ctx,
    ) {
      const st = ctx.world.stateOf<{ connections: Map<string, MulticloudConnection> }>(
        'interconnect',
        ctx.accountId,
        ctx.region,
      );
      const all = [...st.connections.values()]
        .map((r) => r.connection)
        .filter((c) => VIF_STATE[c.state] !== undefined)
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((c) => virtualInterfaceOf(c, ctx));
      if (input.connectionId !== undefined && !st.connections.has(input.connectionId))
        throw ClientError(`Connection ${input.connectionId} does not exist.`);
      const selected = all.filter(
        (v) =>
          (input.connectionId === undefined || v.connectionId === input.connectionId) &&
          (input.virtualInterfaceId === undefined || v.virtualInterfaceId === input.virtualInterfaceId),
      );
      if (input.virtualInterfaceId !== undefined && selected.length === 0)
        throw ClientError(`Virtual interface ${input.virtualInterfaceId} does not exist.`);
      const p = page(
        selected,
        input.maxResults,
        input.nextToken,
        `vif|${input.connectionId ?? ''}|${input.virtualInterfaceId ?? ''}`,
      );
      return { virtualInterfaces: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    },

    DescribeDirectConnectGateways(
      input: { directConnectGatewayId?: string; maxResults?: number; nextToken?: string },
      ctx,
    ) {
      const all = [...dxGateways(ctx.world, ctx.accountId).values()]
        .filter(
          (g) =>
            input.directConnectGatewayId === undefined ||
            g.directConnectGatewayId.toUpperCase() === input.directConnectGatewayId.toUpperCase(),
        )
        .sort((a, b) => (a.directConnectGatewayId < b.directConnectGatewayId ? -1 : 1));
      if (input.directConnectGatewayId !== undefined && all.length === 0) {
        throw ClientError(`Direct Connect Gateway ${input.directConnectGatewayId} does not exist.`);
      }
      const p = page(all, input.maxResults, input.nextToken, `gw|${input.directConnectGatewayId ?? ''}`);
      return { directConnectGateways: p.items.map((g) => ({ ...g })), nextToken: p.nextToken };
    },

    CreateDirectConnectGateway(input: { directConnectGatewayName?: string; amazonSideAsn?: number }, ctx) {
      if (!input.directConnectGatewayName) throw ClientError('directConnectGatewayName is required.');
      const asn = input.amazonSideAsn ?? 64512;
      if (!((asn >= 64512 && asn <= 65534) || (asn >= 4200000000 && asn <= 4294967294))) {
        throw ClientError(`The ASN ${asn} is not in the private ASN ranges.`);
      }
      const gw = addDxGateway(ctx.world, ctx.accountId, {
        name: input.directConnectGatewayName,
        amazonSideAsn: asn,
      });
      return { directConnectGateway: { ...gw } };
    },

    DescribeDirectConnectGatewayAssociations(
      input: {
        associationId?: string;
        associatedGatewayId?: string;
        directConnectGatewayId?: string;
        virtualGatewayId?: string;
        maxResults?: number;
        nextToken?: string;
      },
      ctx,
    ) {
      const all = [...dxState(ctx.world).associations.values()]
        .filter(
          (a) =>
            a.directConnectGatewayOwnerAccount === ctx.accountId &&
            (input.associationId === undefined || a.associationId === input.associationId) &&
            (input.directConnectGatewayId === undefined ||
              a.directConnectGatewayId.toUpperCase() === input.directConnectGatewayId.toUpperCase()) &&
            (input.associatedGatewayId === undefined ||
              a.associatedGateway.id === input.associatedGatewayId) &&
            (input.virtualGatewayId === undefined || a.associatedGateway.id === input.virtualGatewayId),
        )
        .sort((a, b) => (a.associationId < b.associationId ? -1 : 1));
      const filterKey = JSON.stringify([
        input.associationId,
        input.associatedGatewayId,
        input.directConnectGatewayId,
        input.virtualGatewayId,
      ]);
      const p = page(all, input.maxResults, input.nextToken, filterKey);
      return { directConnectGatewayAssociations: p.items.map(view), nextToken: p.nextToken };
    },

    CreateDirectConnectGatewayAssociation(
      input: {
        directConnectGatewayId?: string;
        gatewayId?: string;
        virtualGatewayId?: string;
        addAllowedPrefixesToDirectConnectGateway?: { cidr?: string }[];
      },
      ctx,
    ) {
      const gatewayId = input.gatewayId ?? input.virtualGatewayId;
      if (!gatewayId) throw ClientError('gatewayId is required.');
      const a = associate(ctx.world, {
        accountId: ctx.accountId,
        dxGatewayId: String(input.directConnectGatewayId ?? ''),
        gatewayId,
        ...(input.addAllowedPrefixesToDirectConnectGateway
          ? { allowedPrefixes: input.addAllowedPrefixesToDirectConnectGateway.map((p) => String(p.cidr)) }
          : {}),
      });
      return { directConnectGatewayAssociation: view(a) };
    },

    UpdateDirectConnectGatewayAssociation(
      input: {
        associationId?: string;
        addAllowedPrefixesToDirectConnectGateway?: { cidr?: string }[];
        removeAllowedPrefixesToDirectConnectGateway?: { cidr?: string }[];
      },
      ctx,
    ) {
      const a = ownAssociation(ctx, input.associationId);
      if (a.associationState !== 'associated') {
        throw ClientError(
          `Direct Connect Gateway Association ${a.associationId} is in the ${a.associationState} state and cannot be updated.`,
        );
      }
      const add = (input.addAllowedPrefixesToDirectConnectGateway ?? []).map((p) => canonicalPrefix(p.cidr));
      const remove = new Set(
        (input.removeAllowedPrefixesToDirectConnectGateway ?? []).map((p) => canonicalPrefix(p.cidr)),
      );
      for (const p of add) {
        if (remove.has(p)) throw ClientError(`Prefix ${p} cannot be both added and removed.`);
      }
      // Adding a listed prefix or removing an absent one changes nothing (inferred).
      const next = [...new Set([...a.allowedPrefixes.filter((p) => !remove.has(p)), ...add])];
      a.allowedPrefixes = next;
      a.associationState = 'updating';
      const world = ctx.world;
      settle(world, a, 'updating', 'associated', delay(world, 'update'), () => {
        a.advertised = [...a.allowedPrefixes];
      });
      return { directConnectGatewayAssociation: view(a) };
    },

    DeleteDirectConnectGatewayAssociation(input: { associationId?: string }, ctx) {
      const a = ownAssociation(ctx, input.associationId);
      if (a.associationState === 'disassociating' || a.associationState === 'disassociated') {
        throw ClientError(
          `Direct Connect Gateway Association ${a.associationId} is already ${a.associationState}.`,
        );
      }
      a.associationState = 'disassociating';
      const world = ctx.world;
      settle(world, a, 'disassociating', 'disassociated', delay(world, 'disassociate'), () => {
        a.advertised = [];
        networkOf(world).disassociateDxGateway(a.directConnectGatewayId, a.associatedGateway.id);
        world.clock.after(delay(world, 'disassociate'), () => {
          dxState(world).associations.delete(a.associationId);
        });
      });
      changed(world);
      return { directConnectGatewayAssociation: view(a) };
    },
  },
  // Associations are global: each (account, region) scope shows its account's.
  createState: (_scope, world) => ({ world }),
  status: (state: { world: World }, scope) => {
    const mine = [...dxState(state.world).associations.values()].filter(
      (a) => a.directConnectGatewayOwnerAccount === scope.accountId,
    );
    return mine.length === 0
      ? undefined
      : {
          associations: mine.map((a) => ({
            associationId: a.associationId,
            dxGatewayId: a.directConnectGatewayId,
            gatewayId: a.associatedGateway.id,
            state: a.associationState,
            allowedPrefixes: a.allowedPrefixes,
          })),
        };
  },
  admin: {
    /** Seeds a Direct Connect gateway: `{accountId, name, id?, amazonSideAsn?}`. */
    'add-gateway'(body: { accountId?: string; name?: string; id?: string; amazonSideAsn?: number }, world) {
      if (!body.accountId || !/^\d{12}$/.test(body.accountId))
        throw adminError(400, 'Invalid', 'accountId must be 12 digits');
      return {
        gateway: addDxGateway(world, body.accountId, {
          name: body.name ?? 'dxgw',
          ...(body.id ? { id: body.id } : {}),
          ...(body.amazonSideAsn ? { amazonSideAsn: body.amazonSideAsn } : {}),
        }),
      };
    },
    /** Seeds an association, already `associated`: `{accountId, dxGatewayId?, gatewayId, allowedPrefixes?}`. */
    associate(
      body: { accountId?: string; dxGatewayId?: string; gatewayId?: string; allowedPrefixes?: string[] },
      world,
    ) {
      const accountId = body.accountId ?? '000000000000';
      const dxGatewayId =
        body.dxGatewayId ?? [...dxGateways(world, accountId).values()][0]?.directConnectGatewayId;
      if (!dxGatewayId || !body.gatewayId)
        throw adminError(400, 'Invalid', 'gatewayId (and a gateway) are required');
      try {
        const a = associate(world, {
          accountId,
          dxGatewayId,
          gatewayId: body.gatewayId,
          ...(body.allowedPrefixes ? { allowedPrefixes: body.allowedPrefixes } : {}),
          immediate: true,
        });
        return { association: view(a) };
      } catch (err) {
        if (err instanceof AwsError) throw adminError(400, err.code, err.message);
        throw err;
      }
    },
    associations(body: { accountId?: string }, world) {
      return {
        associations: [...dxState(world).associations.values()]
          .filter(
            (a) => body.accountId === undefined || a.directConnectGatewayOwnerAccount === body.accountId,
          )
          .map((a) => ({ ...view(a), advertised: a.advertised })),
      };
    },
  },
});
