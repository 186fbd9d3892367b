// Runs s3rver (an S3-speaking server, npm `s3rver`) under Node for the
// backup tests; test/helpers/s3-server.ts starts it. Argument: a JSON object
// { directory, bucket, accessKeyId, secretAccessKey }. It listens on a free
// loopback port, prints {"port": N} on one line once it serves, and exits
// when its stdin closes, so a test runner that dies leaves no orphan.
import { createHash, createHmac } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const Account = require('s3rver/lib/models/account');
const S3Error = require('s3rver/lib/models/error');

const { directory, bucket, accessKeyId, secretAccessKey } = JSON.parse(process.argv[2]);
// s3rver checks the access key id against its one built-in account; give
// that account this run's keys instead of the well-known S3RVER/S3RVER pair.
Account.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
Account.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  vhostBuckets: false,
  configureBuckets: [{ name: bucket }],
});
// s3rver 3.7.1 does not check SigV4 signatures at all ("Signature version 4
// calculation is unimplemented": any secret passes), so a wrong secret would
// go unnoticed. This check runs first, as AWS does it: the canonical request
// rebuilt from what arrived, signed with the secret it knows.
server.middleware.unshift(async (ctx, next) => {
  const auth = ctx.get('authorization');
  if (auth.startsWith('AWS4-HMAC-SHA256 ')) checkSigV4(ctx, auth);
  await next();
});

function checkSigV4(ctx, auth) {
  const fields = Object.fromEntries(
    auth
      .slice('AWS4-HMAC-SHA256 '.length)
      .split(',')
      .map((part) => part.trim().split('=')),
  );
  const [keyId, ...scope] = fields.Credential.split('/');
  const secret = Account.DUMMY_ACCOUNT.accessKeys.get(keyId);
  if (secret === undefined) return; // s3rver answers InvalidAccessKeyId itself
  const signed = fields.SignedHeaders.split(';');
  const [path, query = ''] = ctx.req.url.split(/\?(.*)/s);
  const encode = (s) =>
    encodeURIComponent(s).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const [k, v = ''] = pair.split(/=(.*)/s);
      return [encode(decodeURIComponent(k)), encode(decodeURIComponent(v.replace(/\+/g, ' ')))];
    })
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = signed
    .map((h) => `${h}:${String(ctx.get(h)).trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonical = [
    ctx.method,
    path,
    canonicalQuery,
    headers,
    fields.SignedHeaders,
    ctx.get('x-amz-content-sha256') || 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const amzDate = ctx.get('x-amz-date');
  const toSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope.join('/'),
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  let key = `AWS4${secret}`;
  for (const part of scope) key = createHmac('sha256', key).update(part).digest();
  const expected = createHmac('sha256', key).update(toSign).digest('hex');
  if (expected !== fields.Signature) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      { AWSAccessKeyId: keyId, StringToSign: toSign },
    );
  }
}

const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
