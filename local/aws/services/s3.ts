/**
 * S3 subset (restXml, path-style addressing): what `osls remove` does to a deployment bucket.
 * `HeadBucket`, `ListObjectsV2` and `ListObjectVersions` (an unversioned bucket: every object is
 * version `null`), `DeleteObjects`. Buckets are created from code: the wiring makes the stack's
 * ServerlessDeploymentBucket and puts the package in it as `osls deploy` uploads it
 * (`serverless/<service>/<stage>/<timestamp>/...`); a stack's deletion deletes the bucket, which
 * must then be empty (BucketNotEmpty otherwise, as in S3). Bucket names are global: a bucket of
 * another account answers 403.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { AwsError } from '../errors.ts';
import { RawResponse } from '../protocols.ts';
import { defineService, type RestInput, type World } from '../service.ts';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const MAX_KEYS = 1000;

interface S3Object {
  key: string;
  body: Buffer;
  etag: string;
  lastModified: Date;
}

export interface Bucket {
  name: string;
  accountId: string;
  region: string;
  creationDate: Date;
  objects: Map<string, S3Object>;
  policy?: string;
}

interface S3State {
  buckets: Map<string, Bucket>;
}

function stateOf(world: World, accountId: string, region: string): S3State {
  return world.stateOf<S3State>('s3', accountId, region);
}

/** The bucket of this name, in whichever (account, region) holds it. */
export function findBucket(world: World, name: string): Bucket | undefined {
  for (const { accountId, region } of world.scopes('s3')) {
    const b = stateOf(world, accountId, region).buckets.get(name);
    if (b) return b;
  }
  return undefined;
}

/** Creates a bucket (CreateBucket's rules for names); refused when the name is taken. */
export function createBucket(world: World, accountId: string, region: string, name: string): Bucket {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name))
    throw new RangeError(`bucket name ${name}: 3-63 lower-case letters, digits, dots and hyphens`);
  if (findBucket(world, name)) throw new RangeError(`bucket ${name} already exists`);
  const b: Bucket = {
    name,
    accountId,
    region,
    creationDate: new Date(world.clock.now()),
    objects: new Map(),
  };
  stateOf(world, accountId, region).buckets.set(name, b);
  return b;
}

export function putObject(world: World, bucket: Bucket, key: string, body: Buffer): void {
  bucket.objects.set(key, {
    key,
    body,
    etag: `"${createHash('md5').update(body).digest('hex')}"`,
    lastModified: new Date(world.clock.now()),
  });
}

/** Deletes an empty bucket (DeleteBucket); a bucket with objects is refused, as in S3. */
export function deleteBucket(world: World, name: string): void {
  const b = findBucket(world, name);
  if (!b) return;
  if (b.objects.size > 0)
    throw new AwsError('BucketNotEmpty', 'The bucket you tried to delete is not empty', { status: 409 });
  stateOf(world, b.accountId, b.region).buckets.delete(name);
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const unesc = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

function xml(body: string): RawResponse {
  return new RawResponse(
    200,
    { 'content-type': 'application/xml' },
    `<?xml version="1.0" encoding="UTF-8"?>\n${body}`,
  );
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function header(input: RestInput, name: string): string | undefined {
  const v = input.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The caller's bucket: NoSuchBucket when absent, AccessDenied when another account's. */
function ownBucket(input: RestInput, world: World, accountId: string): Bucket {
  const name = input.path.Bucket as string;
  const b = findBucket(world, name);
  if (!b)
    throw new AwsError('NoSuchBucket', 'The specified bucket does not exist', {
      status: 404,
      fields: { BucketName: name },
    });
  if (b.accountId !== accountId) throw new AwsError('AccessDenied', 'Access Denied', { status: 403 });
  return b;
}

function maxKeys(input: RestInput): number {
  const raw = one(input.query['max-keys']);
  if (raw === undefined) return MAX_KEYS;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 2_147_483_647)
    throw new AwsError('InvalidArgument', 'Provided max-keys not an integer or within integer range', {
      status: 400,
      fields: { ArgumentName: 'max-keys', ArgumentValue: raw },
    });
  return Math.min(n, MAX_KEYS);
}

/** Keys of `bucket` under `prefix`, in UTF-8 binary order (S3's listing order), after `after`. */
function keysAfter(bucket: Bucket, prefix: string, after: string | undefined): S3Object[] {
  return [...bucket.objects.values()]
    .filter(
      (o) =>
        o.key.startsWith(prefix) &&
        (after === undefined || Buffer.compare(Buffer.from(o.key), Buffer.from(after)) > 0),
    )
    .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
}

/** One page of keys under `prefix` after `after`, at most the request's max-keys. */
function pageOf(input: RestInput, bucket: Bucket, prefix: string, after: string | undefined) {
  const max = maxKeys(input);
  const all = keysAfter(bucket, prefix, after);
  const page = all.slice(0, max);
  return { max, page, truncated: all.length > page.length, last: page.at(-1) };
}

const objectXml = (o: S3Object) =>
  `<Key>${esc(o.key)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified>` +
  `<ETag>${esc(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass>`;

export default defineService<S3State>({
  name: 's3',
  signingName: 's3',
  protocol: 'rest-xml',
  unsignedPayload: true,
  errors: {
    throttling: { code: 'SlowDown', status: 503 },
    server: { code: 'InternalError', status: 500 },
  },
  // Path-style: the SDK sends `/<bucket>/` for an IP endpoint; `/<bucket>` is the same bucket.
  routes: ['/{Bucket}/', '/{Bucket}'].flatMap((path) => [
    { method: 'HEAD', path, operation: 'HeadBucket' },
    { method: 'GET', path, query: 'list-type', operation: 'ListObjectsV2' },
    { method: 'GET', path, query: 'versions', operation: 'ListObjectVersions' },
    { method: 'POST', path, query: 'delete', operation: 'DeleteObjects' },
  ]),
  createState: () => ({ buckets: new Map() }),
  status: (s) =>
    s.buckets.size > 0
      ? Object.fromEntries([...s.buckets.values()].map((b) => [b.name, { objects: b.objects.size }]))
      : undefined,
  operations: {
    HeadBucket(input: RestInput, ctx) {
      const b = ownBucket(input, ctx.world, ctx.accountId);
      return new RawResponse(200, { 'x-amz-bucket-region': b.region }, '');
    },
    ListObjectsV2(input: RestInput, ctx) {
      const b = ownBucket(input, ctx.world, ctx.accountId);
      if (one(input.query['list-type']) !== '2')
        throw new AwsError('InvalidArgument', 'Invalid List Type specified', { status: 400 });
      const prefix = one(input.query.prefix) ?? '';
      const token = one(input.query['continuation-token']);
      let after = one(input.query['start-after']);
      if (token !== undefined) {
        after = Buffer.from(token, 'base64').toString('utf8');
        if (Buffer.from(after).toString('base64') !== token)
          throw new AwsError('InvalidArgument', 'The continuation token provided is incorrect', {
            status: 400,
            fields: { ArgumentName: 'continuation-token' },
          });
      }
      const { max, page, truncated, last } = pageOf(input, b, prefix, after);
      return xml(
        `<ListBucketResult xmlns="${NS}"><Name>${esc(b.name)}</Name><Prefix>${esc(prefix)}</Prefix>` +
          `<KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
          (token !== undefined ? `<ContinuationToken>${esc(token)}</ContinuationToken>` : '') +
          (truncated && last
            ? `<NextContinuationToken>${Buffer.from(last.key).toString('base64')}</NextContinuationToken>`
            : '') +
          page.map((o) => `<Contents>${objectXml(o)}</Contents>`).join('') +
          '</ListBucketResult>',
      );
    },
    ListObjectVersions(input: RestInput, ctx) {
      const b = ownBucket(input, ctx.world, ctx.accountId);
      const prefix = one(input.query.prefix) ?? '';
      const marker = one(input.query['key-marker']);
      const { max, page, truncated, last } = pageOf(input, b, prefix, marker);
      return xml(
        `<ListVersionsResult xmlns="${NS}"><Name>${esc(b.name)}</Name><Prefix>${esc(prefix)}</Prefix>` +
          `<KeyMarker>${esc(marker ?? '')}</KeyMarker><VersionIdMarker></VersionIdMarker>` +
          `<MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
          (truncated && last
            ? `<NextKeyMarker>${esc(last.key)}</NextKeyMarker><NextVersionIdMarker>null</NextVersionIdMarker>`
            : '') +
          page
            .map(
              (o) =>
                `<Version>${objectXml(o).replace('</Key>', '</Key><VersionId>null</VersionId><IsLatest>true</IsLatest>')}</Version>`,
            )
            .join('') +
          '</ListVersionsResult>',
      );
    },
    DeleteObjects(input: RestInput, ctx) {
      const b = ownBucket(input, ctx.world, ctx.accountId);
      const md5 = header(input, 'content-md5');
      const crc = header(input, 'x-amz-checksum-crc32');
      const checksums = Object.keys(input.headers).filter((h) => h.startsWith('x-amz-checksum-'));
      const body = ctx.rawBody;
      if (md5 === undefined && checksums.length === 0)
        throw new AwsError('InvalidRequest', 'Missing required header for this request: Content-MD5', {
          status: 400,
        });
      if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5)
        throw new AwsError('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
          status: 400,
        });
      if (crc !== undefined) {
        const got = Buffer.alloc(4);
        got.writeUInt32BE(crc32(body));
        if (got.toString('base64') !== crc)
          throw new AwsError('BadDigest', 'The CRC32 you specified did not match the calculated checksum.', {
            status: 400,
          });
      }
      const text = body.toString('utf8');
      if (!/^\s*(<\?xml[^>]*\?>)?\s*<Delete[\s>]/.test(text))
        throw new AwsError(
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema',
          { status: 400 },
        );
      const objects = [...text.matchAll(/<Object>([\s\S]*?)<\/Object>/g)].map((m) => {
        const key = /<Key>([\s\S]*?)<\/Key>/.exec(m[1] as string)?.[1];
        const version = /<VersionId>([\s\S]*?)<\/VersionId>/.exec(m[1] as string)?.[1];
        return { key: key === undefined ? undefined : unesc(key), version };
      });
      if (objects.length === 0 || objects.length > 1000 || objects.some((o) => !o.key))
        throw new AwsError(
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema',
          { status: 400 },
        );
      const quiet = /<Quiet>\s*true\s*<\/Quiet>/.test(text);
      const deleted: string[] = [];
      const errors: string[] = [];
      for (const o of objects) {
        const key = o.key as string;
        if (o.version !== undefined && o.version !== 'null' && b.objects.has(key)) {
          errors.push(
            `<Error><Key>${esc(key)}</Key><VersionId>${esc(o.version)}</VersionId><Code>NoSuchVersion</Code>` +
              '<Message>The specified version does not exist.</Message></Error>',
          );
          continue;
        }
        // Deleting a key that does not exist succeeds, as in S3.
        b.objects.delete(key);
        if (!quiet)
          deleted.push(
            `<Deleted><Key>${esc(key)}</Key>${o.version ? `<VersionId>${esc(o.version)}</VersionId>` : ''}</Deleted>`,
          );
      }
      return xml(`<DeleteResult xmlns="${NS}">${deleted.join('')}${errors.join('')}</DeleteResult>`);
    },
  },
});
