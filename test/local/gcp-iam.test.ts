/**
 * IAM at the local Google edge for the people of config/local-identities.yaml: alice (requester)
 * and carol (approver) hold no Google role, so the APIs refuse them what only the functions'
 * accounts may do, with the 403 Google sends; admin (roles/owner) may. The calls go through the
 * real JWT-bearer flow of their key files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtClient } from '#gcp/google-credentials.ts';
import type { LocalCloud } from '#local/index.ts';
import { startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;

beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud?.stop();
});

/** `method url` as `who` (the key file's JWT-bearer flow); the status and the JSON body. */
async function as(who: string, method: string, url: string, data?: unknown) {
  const client = jwtClient(cloud.gcp.auth.keyFile(who));
  const res = await client
    .request<unknown>({
      url: `${cloud.gcp.endpoint}${url}`,
      method: method as 'GET',
      ...(data ? { data } : {}),
    })
    .catch((e: { response?: { status: number; data: unknown } }) => e.response);
  return { status: res?.status, body: res?.data as { error?: { message: string; details: unknown[] } } };
}

function denied(permission: string, resource: string, domain: string) {
  return {
    error: {
      code: 403,
      message: `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`,
      status: 'PERMISSION_DENIED',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'IAM_PERMISSION_DENIED',
          domain,
          metadata: { permission, resource },
        },
      ],
    },
  };
}

describe('IAM at the local Google edge for people', () => {
  it("refuses an approver's token deleting a transport, and lets the administrator", async () => {
    // Prepare
    const P = cloud.gcp.project;
    const transport = `projects/${P}/locations/us-east4/transports/t1`;
    // Act
    const carol = await as('carol', 'DELETE', `/v1beta/${transport}`);
    const adminList = await as('admin', 'GET', `/v1beta/projects/${P}/locations/us-east4/transports`);
    const adminDelete = await as('admin', 'DELETE', `/v1beta/${transport}`);
    // Assess: carol is refused before anything is looked up; admin reaches the API (no such transport)
    expect(carol.status).toBe(403);
    expect(carol.body).toEqual(
      denied('networkconnectivity.transports.delete', transport, 'networkconnectivity.googleapis.com'),
    );
    expect(adminList.status).toBe(200);
    expect(adminDelete.status).toBe(404);
  });

  it("refuses a requester's token reading or adding to a secret", async () => {
    // Prepare: admin makes a secret with one version
    const P = cloud.gcp.project;
    const made = await as('admin', 'POST', `/v1/projects/${P}/secrets?secretId=crosslink-lk-iam`, {
      replication: { automatic: {} },
    });
    expect(made.status).toBe(200);
    const added = await as('admin', 'POST', `/v1/projects/${P}/secrets/crosslink-lk-iam:addVersion`, {
      payload: { data: Buffer.from('key').toString('base64') },
    });
    expect(added.status).toBe(200);
    // Act
    const read = await as(
      'alice',
      'GET',
      `/v1/projects/${P}/secrets/crosslink-lk-iam/versions/latest:access`,
    );
    const add = await as('alice', 'POST', `/v1/projects/${P}/secrets/crosslink-lk-iam:addVersion`, {
      payload: { data: 'eA==' },
    });
    const adminRead = await as(
      'admin',
      'GET',
      `/v1/projects/${P}/secrets/crosslink-lk-iam/versions/latest:access`,
    );
    // Assess
    expect(read.status).toBe(403);
    expect(read.body).toEqual(
      denied(
        'secretmanager.versions.access',
        `projects/${P}/secrets/crosslink-lk-iam/versions/latest`,
        'secretmanager.googleapis.com',
      ),
    );
    expect(add.body).toEqual(
      denied(
        'secretmanager.versions.add',
        `projects/${P}/secrets/crosslink-lk-iam`,
        'secretmanager.googleapis.com',
      ),
    );
    expect(adminRead.status).toBe(200);
  });

  it('records what each principal was allowed to use, and each refusal', () => {
    const admin = `serviceAccount:${cloud.gcp.auth.accountByName('admin')?.email}`;
    expect([...(cloud.gcp.iam.used().get(admin)?.keys() ?? [])]).toEqual(
      expect.arrayContaining(['networkconnectivity.transports.list', 'secretmanager.versions.access']),
    );
    expect(cloud.gcp.iam.refused().map((r) => [r.principal, r.permission])).toEqual(
      expect.arrayContaining([
        ['user:carol@example.com', 'networkconnectivity.transports.delete'],
        ['user:alice@example.com', 'secretmanager.versions.access'],
      ]),
    );
  });
});
