/**
 * Enabled APIs at the local Google edge (local/gcp/services/serviceusage.ts): the hub project starts
 * as a new Google project, its boot enables crosslink's APIs (the root gcp.yml's bootstrap list), a
 * call to an API the project has disabled gets Google's 403 SERVICE_DISABLED through the real client,
 * and `services.list` pages.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { googleAuth } from '#gcp/google-credentials.ts';
import { CROSSLINK_APIS, GOOGLE_DEFAULT_APIS } from '#local/gcp/services/serviceusage.ts';
import type { LocalCloud } from '#local/index.ts';
import { startTestCloud } from '../support/local-cloud.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let cloud: LocalCloud;
let kms: KeyManagementServiceClient;

beforeAll(async () => {
  cloud = await startTestCloud();
  kms = new KeyManagementServiceClient({
    apiEndpoint: '127.0.0.1',
    port: cloud.gcp.port,
    protocol: 'http',
    fallback: true,
    auth: googleAuth(cloud.gcp.auth.keyFile('admin')),
  });
});
afterAll(async () => {
  await kms?.close();
  await cloud?.stop();
});

/** A Service Usage call as the admin identity: status and body. */
async function usage(method: string, path: string) {
  const account = cloud.gcp.auth.accountByName('admin');
  const { token } = cloud.gcp.auth.issueAccessToken({
    email: account?.email as string,
    kind: 'service-account',
  });
  const res = await fetch(
    `${cloud.gcp.endpoint}/serviceusage.googleapis.com/v1/projects/${cloud.gcp.project}${path}`,
    {
      method,
      headers: { authorization: `Bearer ${token}` },
    },
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const enabled = async (query = '') =>
  (
    (await usage('GET', `/services?filter=state:ENABLED${query}`)).body.services as {
      config: { name: string };
    }[]
  ).map((s) => s.config.name);

describe('enabled APIs at the local Google edge', () => {
  it("the hub holds Google's defaults and, from its boot, the root gcp.yml's bootstrap APIs", async () => {
    const gcpYml = parse(readFileSync(join(ROOT, 'gcp.yml'), 'utf8')) as { bootstrap: { apis: string[] } };
    expect([...CROSSLINK_APIS].sort()).toEqual([...gcpYml.bootstrap.apis].sort());
    const all = [];
    let token = '';
    do {
      const page = await usage(
        'GET',
        `/services?filter=state:ENABLED&pageSize=200${token ? `&pageToken=${token}` : ''}`,
      );
      all.push(...(page.body.services as { config: { name: string } }[]).map((s) => s.config.name));
      token = (page.body.nextPageToken as string | undefined) ?? '';
    } while (token);
    expect(all).toEqual([...new Set([...GOOGLE_DEFAULT_APIS, ...CROSSLINK_APIS])].sort());
  });

  it('a call to a disabled API is refused with 403 SERVICE_DISABLED through the real client, and served once enabled', async () => {
    const name = kms.keyRingPath(cloud.gcp.project, 'us-east4', 'none');
    expect((await usage('POST', '/services/cloudkms.googleapis.com:disable')).status).toBe(200);
    const err = (await kms.getKeyRing({ name }).catch((e: unknown) => e)) as {
      code?: number;
      message?: string;
      statusDetails?: { reason?: string; domain?: string; metadata?: Record<string, string> }[];
    };
    const number = cloud.gcp.iam.projectNumber(cloud.gcp.project);
    expect(err.code).toBe(7); // PERMISSION_DENIED
    expect(err.message).toContain(
      `Cloud Key Management Service (KMS) API has not been used in project ${number} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/cloudkms.googleapis.com/overview?project=${number} then retry.`,
    );
    const info = err.statusDetails?.find((d) => d.reason !== undefined);
    expect(info).toMatchObject({
      reason: 'SERVICE_DISABLED',
      domain: 'googleapis.com',
      metadata: {
        service: 'cloudkms.googleapis.com',
        consumer: `projects/${number}`,
        activationUrl: `https://console.developers.google.com/apis/api/cloudkms.googleapis.com/overview?project=${number}`,
      },
    });
    expect((await usage('POST', '/services/cloudkms.googleapis.com:enable')).status).toBe(200);
    // Enabled again: KMS itself answers (there is no such ring).
    expect(await kms.getKeyRing({ name }).catch((e: { code?: number }) => e.code)).toBe(5);
  });

  it("a project its owners set up holds crosslink's APIs: no SERVICE_DISABLED there", async () => {
    const name = kms.keyRingPath('someone-elses', 'us-east4', 'none');
    const err = (await kms.getKeyRing({ name }).catch((e: unknown) => e)) as {
      code?: number;
      message?: string;
    };
    expect(err.message).not.toContain('SERVICE_DISABLED');
    expect(err.message).not.toContain('has not been used');
  });

  it('services.list pages: 50 by default, pageSize up to 200, each name once across the pages', async () => {
    const names = await enabled();
    expect(names).toHaveLength(Math.min(50, new Set([...GOOGLE_DEFAULT_APIS, ...CROSSLINK_APIS]).size));
    const first = await usage('GET', '/services?filter=state:ENABLED&pageSize=7');
    expect(first.body.services).toHaveLength(7);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await usage(
        'GET',
        `/services?filter=state:ENABLED&pageSize=7${token ? `&pageToken=${token}` : ''}`,
      );
      seen.push(...(page.body.services as { config: { name: string } }[]).map((s) => s.config.name));
      token = page.body.nextPageToken as string | undefined;
    } while (token);
    expect(seen).toEqual(await enabled('&pageSize=200'));
    const bad = await usage('GET', '/services?pageSize=-1');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('pageSize');
  });
});
