/**
 * The modules the Lambda bundles take in place of the SDK's (stacks/lambda-shims/, wired by
 * stacks/esbuild-plugins.cjs): each answers as the module it replaces does where Lambda runs it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SignatureV4MultiRegion as RealSigner } from '@aws-sdk/signature-v4-multi-region';
import { Sha256 } from '@smithy/core/checksum';
import { CONFIG_PREFIX_SEPARATOR, loadConfig, loadSharedConfigFiles } from '@smithy/core/config';
import { NODE_RETRY_MODE_CONFIG_OPTIONS, resolveRetryConfig } from '@smithy/core/retry';
import { HttpRequest } from '@smithy/core/transport';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Lru = Record<'get' | 'peek' | 'has' | 'set' | 'clear', (...args: number[]) => unknown> & {
  size: number;
  peek(key: number): unknown;
};
type LruClass = new (capacity: number) => Lru;

/** A shim module by file name (plain JavaScript: the bundles take it as written). */
const shim = (file: string) =>
  import(pathToFileURL(join(import.meta.dirname, '../../stacks/lambda-shims', file)).href);
// The module the shim replaces, as the DynamoDB client's endpoint cache loads it.
const MnemonistLru = createRequire(import.meta.url)('mnemonist/lru-cache') as LruClass;
const ShimLru = (await shim('lru-cache.mjs')).default as LruClass;
const { defaultProvider } = (await shim('credential-provider-node.mjs')) as {
  defaultProvider: () => () => Promise<Record<string, string>>;
};
const { getInstanceMetadataRegion } = (await shim('instance-metadata-region.mjs')) as {
  getInstanceMetadataRegion: () => Promise<string | undefined>;
};
const { Sha256Js } = (await shim('sha256-js.mjs')) as { Sha256Js: new () => unknown };
const shared = (await shim('shared-config-files.mjs')) as {
  loadSharedConfigFiles: () => Promise<unknown>;
  CONFIG_PREFIX_SEPARATOR: string;
};
const { resolveParamsForS3 } = (await shim('s3-endpoint-params.mjs')) as {
  resolveParamsForS3: () => Promise<unknown>;
};
const { AdaptiveRetryStrategy } = (await shim('adaptive-retry-strategy.mjs')) as {
  AdaptiveRetryStrategy: new () => unknown;
};
type Signer = {
  sign(request: HttpRequest, options?: object): Promise<HttpRequest>;
  presign(request: HttpRequest, options?: object): Promise<HttpRequest>;
};
const { SignatureV4MultiRegion: ShimSigner } = (await shim('signature-v4-multi-region.mjs')) as {
  SignatureV4MultiRegion: (new (options: object) => Signer) & { sigv4aDependency(): string };
};

type Op = { op: 'get' | 'peek' | 'has' | 'set' | 'clear'; key: number; value: number };
const op = fc.record({
  op: fc.constantFrom('get', 'peek', 'has', 'set', 'clear') as fc.Arbitrary<Op['op']>,
  key: fc.integer({ min: 0, max: 6 }),
  value: fc.integer(),
});

describe('the LRU cache of the endpoint cache', () => {
  it("answers every sequence of EndpointCache's calls as mnemonist's LRUCache does", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 40 }), (capacity, ops) => {
        const real = new MnemonistLru(capacity);
        const cache = new ShimLru(capacity);
        for (const o of ops) {
          const args = o.op === 'set' ? [o.key, o.value] : [o.key];
          const a = real[o.op](...args);
          const b = cache[o.op](...args);
          if (o.op !== 'set') expect(b).toEqual(a);
          expect(cache.size).toBe(real.size);
        }
        for (let k = 0; k <= 6; k++) expect(cache.peek(k)).toEqual(real.peek(k));
      }),
    );
  });
});

describe('the default credential chain', () => {
  it('gives the credentials of the Lambda environment, as its first link (fromEnv) does', async () => {
    const names = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;
    const saved = names.map((n) => process.env[n]);
    try {
      process.env.AWS_ACCESS_KEY_ID = 'ASIAEXAMPLE000000001';
      process.env.AWS_SECRET_ACCESS_KEY = 'secret';
      process.env.AWS_SESSION_TOKEN = 'session';
      await expect(defaultProvider()()).resolves.toMatchObject({
        accessKeyId: 'ASIAEXAMPLE000000001',
        secretAccessKey: 'secret',
        sessionToken: 'session',
      });
      delete process.env.AWS_ACCESS_KEY_ID;
      await expect(defaultProvider()()).rejects.toThrow('Unable to find environment variable credentials.');
    } finally {
      names.forEach((n, i) => {
        if (saved[i] === undefined) delete process.env[n];
        else process.env[n] = saved[i];
      });
    }
  });
});

describe('the shared config files', () => {
  it('read as the SDK reads them where there are none, as in a Lambda sandbox: two empty files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crosslink-no-aws-config-'));
    try {
      const real = await loadSharedConfigFiles({
        filepath: join(dir, 'credentials'),
        configFilepath: join(dir, 'config'),
      });
      expect(await shared.loadSharedConfigFiles()).toEqual(real);
      expect(real).toEqual({ configFile: {}, credentialsFile: {} });
      expect(shared.CONFIG_PREFIX_SEPARATOR).toBe(CONFIG_PREFIX_SEPARATOR);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the fallbacks Lambda never reaches', () => {
  it('name no region from instance metadata, build no JavaScript SHA-256, resolve no S3 endpoint', async () => {
    await expect(getInstanceMetadataRegion()).resolves.toBeUndefined();
    expect(() => new Sha256Js()).toThrow('SHA-256 without node:crypto is not in the Lambda bundles');
    await expect(resolveParamsForS3()).rejects.toThrow('the S3 client is not in the Lambda bundles');
  });

  it('build no adaptive retry strategy: a client without a retry mode takes the standard one', async () => {
    const saved = process.env.AWS_RETRY_MODE;
    try {
      delete process.env.AWS_RETRY_MODE;
      const config = resolveRetryConfig({ retryMode: loadConfig(NODE_RETRY_MODE_CONFIG_OPTIONS) });
      expect(((await config.retryStrategy()) as { mode?: string }).mode).toBe('standard');
    } finally {
      if (saved !== undefined) process.env.AWS_RETRY_MODE = saved;
    }
    expect(() => new AdaptiveRetryStrategy()).toThrow(
      'The adaptive retry mode (AWS_RETRY_MODE=adaptive) is not in the Lambda bundles',
    );
  });
});

describe("EventBridge's multi-region signer", () => {
  const options = {
    service: 'events',
    region: 'eu-west-1',
    sha256: Sha256,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' },
    runtime: 'node',
  };
  const request = () =>
    new HttpRequest({
      method: 'POST',
      protocol: 'https:',
      hostname: 'events.eu-west-1.amazonaws.com',
      path: '/',
      headers: { host: 'events.eu-west-1.amazonaws.com', 'x-amz-target': 'AWSEvents.PutEvents' },
      body: '{"Entries":[]}',
    });
  const at = { signingDate: new Date('2026-06-01T00:00:00Z') };

  it('signs and presigns a regional request as the SDK signer does, and has no SigV4a either', async () => {
    const real = new RealSigner(options) as unknown as Signer;
    const shim = new ShimSigner(options);
    expect((await shim.sign(request(), at)).headers).toEqual((await real.sign(request(), at)).headers);
    expect((await shim.presign(request(), at)).query).toEqual((await real.presign(request(), at)).query);
    expect(ShimSigner.sigv4aDependency()).toBe(RealSigner.sigv4aDependency());
    expect(RealSigner.sigv4aDependency()).toBe('none');
  });

  it('refuses a SigV4a request (signingRegion "*"), as the SDK signer without a SigV4a package does', async () => {
    const global = { ...at, signingRegion: '*' };
    await expect((new RealSigner(options) as unknown as Signer).sign(request(), global)).rejects.toThrow(
      'Neither CRT nor JS SigV4a implementation is available',
    );
    await expect(new ShimSigner(options).sign(request(), global)).rejects.toThrow(
      'SigV4a (signingRegion "*", an EventBridge global endpoint) is not in the Lambda bundles',
    );
    await expect(new ShimSigner(options).presign(request(), global)).rejects.toThrow(
      'is not in the Lambda bundles',
    );
  });
});

describe("the Lambda client's event-stream codec", () => {
  it('resolves the client configuration as the codec does, its marshaller refusing any use', async () => {
    // Arrange
    const real = await import('@smithy/core/event-streams');
    const fake = (await shim('lambda-event-streams.mjs')) as {
      resolveEventStreamSerdeConfig: typeof real.resolveEventStreamSerdeConfig;
      eventStreamSerdeProvider: (options: unknown) => {
        serialize: () => unknown;
        deserialize: () => unknown;
      };
    };
    const provider = () => ({ marker: 'given' });
    // Act
    const resolved = fake.resolveEventStreamSerdeConfig({ eventStreamSerdeProvider: provider } as never);
    const expected = real.resolveEventStreamSerdeConfig({ eventStreamSerdeProvider: provider } as never);
    const marshaller = fake.eventStreamSerdeProvider({});
    // Assess: the configuration the client is built with is the same; using a stream is refused
    expect(resolved).toEqual(expected);
    expect(() => marshaller.serialize()).toThrow('event streams are not in the Lambda bundles');
    expect(() => marshaller.deserialize()).toThrow('event streams are not in the Lambda bundles');
  });
});
