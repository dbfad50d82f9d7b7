// minio-js (npm `minio`) against a server, driven by
// conformance/tests/dropin/minio_js.rs. Usage:
//   node minio_js.js MODULES_DIR ENDPOINT ACCESS_KEY SECRET_KEY BUCKET
// MODULES_DIR holds node_modules/minio. Prints one "ok   <step>" line per
// step that passed; exits 1 at the first failure.
'use strict';
const path = require('path');

const [modulesDir, endpoint, accessKey, secretKey, bucket] = process.argv.slice(2);
const Minio = require(path.join(modulesDir, 'node_modules', 'minio'));
const url = new URL(endpoint);
const client = new Minio.Client({
  endPoint: url.hostname,
  port: Number(url.port),
  useSSL: false,
  accessKey,
  secretKey,
  region: 'us-east-1',
});

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

function collect(stream) {
  return new Promise((resolve, reject) => {
    const items = [];
    stream.on('data', (item) => items.push(item));
    stream.on('error', reject);
    stream.on('end', () => resolve(items));
  });
}

async function keys() {
  const objects = await collect(client.listObjectsV2(bucket, '', true));
  return objects.map((o) => o.name).sort();
}

// The first event the poller emits, or a timeout.
function firstEvent(poller, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ kind: 'timeout' }), ms);
    poller.on('error', (error) => {
      clearTimeout(timer);
      resolve({ kind: 'error', error });
    });
    poller.on('notification', (record) => {
      clearTimeout(timer);
      resolve({ kind: 'notification', record });
    });
  });
}

async function main() {
  await client.makeBucket(bucket);
  const meta = { 'Content-Type': 'text/plain', 'X-Amz-Meta-Color': 'blue' };
  for (const key of ['dir/a', 'dir/sub/b', 'dir/sub/c', 'dirt', 'other/d']) {
    await client.putObject(bucket, key, Buffer.from('x'), 1, meta);
  }

  // MinIO's force-delete: every object under the prefix goes.
  await client.removeObject(bucket, 'dir/', { forceDelete: true });
  const left = await keys();
  check(JSON.stringify(left) === JSON.stringify(['dirt', 'other/d']), `left after forceDelete: ${left}`);
  console.log('ok   removeObject forceDelete of a prefix');

  const listed = await collect(client.extensions.listObjectsV2WithMetadata(bucket, '', true));
  check(listed.length === 2, `listed ${listed.length} objects`);
  for (const object of listed) {
    const text = JSON.stringify(object.metadata);
    check(/color/i.test(text) && text.includes('blue'), `${object.name} metadata: ${text}`);
  }
  console.log('ok   listObjectsV2WithMetadata carries user metadata');

  // Bucket notifications are not served: the poller must report an error
  // (a 501), not receive another operation's body or hang.
  const poller = client.listenBucketNotification(bucket, '', '', ['s3:ObjectCreated:*']);
  const event = await firstEvent(poller, 20000);
  poller.stop();
  check(event.kind === 'error', `listenBucketNotification gave ${event.kind}`);
  const code = event.error.code || event.error.name;
  check(code === 'NotImplemented', `listenBucketNotification error: ${code} ${event.error.message}`);
  console.log(`ok   listenBucketNotification fails cleanly (${code})`);

  check(await client.bucketExists(bucket), 'bucket gone after listen');
  console.log('ok   server still answers after the listen request');
}

main().then(
  () => process.exit(0),
  (error) => {
    console.log(`FAIL ${error.stack || error}`);
    process.exit(1);
  },
);
