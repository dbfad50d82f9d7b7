// A browser-form upload presigned by minio-js (`presignedPostPolicy`) and
// posted with fetch + FormData, as a web page would; the object is read
// back with minio-js. Also a form whose file breaks the policy's size range.
//
// Usage: node presigned_post.mjs NODE_MODULES_DIR ENDPOINT ACCESS_KEY SECRET_KEY BUCKET
// Prints one line per check and exits non-zero on the first failure.

import { createRequire } from 'node:module'
import path from 'node:path'

const [modules, endpoint, accessKey, secretKey, bucket] = process.argv.slice(2)
const require = createRequire(path.join(modules, 'package.json'))
const Minio = require('minio')

function check(name, condition, detail) {
  console.log((condition ? 'ok   ' : 'FAIL ') + name + (!condition && detail !== undefined ? ' ' + JSON.stringify(detail) : ''))
  if (!condition) process.exit(1)
}

async function readAll(stream) {
  const chunks = []
  for await (const chunk of stream) chunks.push(chunk)
  return Buffer.concat(chunks)
}

const url = new URL(endpoint)
const client = new Minio.Client({
  endPoint: url.hostname,
  port: Number(url.port),
  useSSL: false,
  accessKey,
  secretKey,
  pathStyle: true,
})

await client.makeBucket(bucket, 'us-east-1')

async function presignedForm(key) {
  const policy = client.newPostPolicy()
  policy.setBucket(bucket)
  policy.setKey(key)
  policy.setExpires(new Date(Date.now() + 10 * 60 * 1000))
  policy.setContentType('text/plain')
  policy.setContentLengthRange(1, 1024)
  policy.setUserMetaData({ owner: 'minio-js' })
  return client.presignedPostPolicy(policy)
}

async function post(postURL, formData, body) {
  const form = new FormData()
  for (const [name, value] of Object.entries(formData)) form.append(name, value)
  form.append('file', new Blob([body], { type: 'text/plain' }), 'upload.txt')
  const response = await fetch(postURL, { method: 'POST', body: form })
  return { status: response.status, text: await response.text(), etag: response.headers.get('etag') }
}

const { postURL, formData } = await presignedForm('js/object.txt')
check('minio-js presignedPostPolicy is SigV4', 'x-amz-signature' in formData, formData)
const body = 'posted by minio-js through fetch'
const answer = await post(postURL, formData, body)
check('minio-js presigned post answers 204', answer.status === 204, answer)
const stored = await readAll(await client.getObject(bucket, 'js/object.txt'))
check('minio-js presigned post stored', stored.toString() === body, stored.toString())
const stat = await client.statObject(bucket, 'js/object.txt')
check('minio-js presigned post content type', stat.metaData['content-type'] === 'text/plain', stat.metaData)
check('minio-js presigned post metadata', stat.metaData.owner === 'minio-js', stat.metaData)
check('minio-js presigned post ETag', answer.etag === `"${stat.etag}"`, [answer.etag, stat.etag])

const big = await presignedForm('js/big.txt')
const refused = await post(big.postURL, big.formData, 'x'.repeat(4096))
check('minio-js presigned post over the size range refused',
  refused.status === 400 && refused.text.includes('<Code>EntityTooLarge</Code>'), refused)
let absent = false
try {
  await client.statObject(bucket, 'js/big.txt')
} catch (error) {
  absent = error.code === 'NotFound' || error.code === 'NoSuchKey'
}
check('minio-js presigned post over the size range left nothing', absent)
