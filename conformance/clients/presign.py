"""Presigned URLs and V2-signed requests from real Python clients against a
running minnow: boto3 with Signature Version 2 (`signature_version='s3'`),
boto3 with its default config (SigV4 query), and AWS CLI v1 `aws s3
presign`. Each URL is used with a plain HTTP client (urllib).

Usage: presign.py ENDPOINT ACCESS_KEY SECRET_KEY BUCKET
Prints one line per check and exits non-zero on the first failure.
"""

import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import boto3
from botocore.config import Config


def fetch(method, url, body=None):
    # urllib would add a form Content-Type, which V2 signs: send the one presigned.
    headers = {"Content-Type": "application/octet-stream"} if body is not None else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + (" " + str(detail) if detail else ""))
    if not condition:
        sys.exit(1)


def client(endpoint, access_key, secret_key, config):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=config,
    )


def main():
    endpoint, access_key, secret_key, bucket = sys.argv[1:5]
    path_style = {"addressing_style": "path"}

    # Signature Version 2, headers: every call below is V2-signed.
    v2 = client(endpoint, access_key, secret_key, Config(signature_version="s3", s3=path_style))
    v2.create_bucket(Bucket=bucket)
    v2.put_object(Bucket=bucket, Key="v2/header.txt", Body=b"signed with v2", ContentType="text/plain")
    body = v2.get_object(Bucket=bucket, Key="v2/header.txt")["Body"].read()
    check("boto3 v2 header put/get", body == b"signed with v2", body)
    keys = [o["Key"] for o in v2.list_objects_v2(Bucket=bucket, Prefix="v2/").get("Contents", [])]
    check("boto3 v2 header list", keys == ["v2/header.txt"], keys)

    # Signature Version 2, presigned GET and PUT.
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2/header.txt"}, ExpiresIn=300)
    check("boto3 v2 presign is V2", "AWSAccessKeyId=" in url and "Signature=" in url, url)
    status, body = fetch("GET", url)
    check("boto3 v2 presigned GET", status == 200 and body == b"signed with v2", (status, body[:200]))
    url = v2.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "v2/presigned.bin", "ContentType": "application/octet-stream"}, ExpiresIn=300)
    status, body = fetch("PUT", url, b"put through a v2 url")
    check("boto3 v2 presigned PUT", status == 200, (status, body[:300]))
    body = v2.get_object(Bucket=bucket, Key="v2/presigned.bin")["Body"].read()
    check("boto3 v2 presigned PUT stored", body == b"put through a v2 url", body)
    # A tampered signature is refused like a V4 one.
    parsed = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parsed.query)
    query["Expires"] = [str(int(query["Expires"][0]) + 1000)]
    tampered = parsed._replace(query=urllib.parse.urlencode(query, doseq=True)).geturl()
    status, body = fetch("PUT", tampered, b"x")
    check("boto3 v2 extended Expires refused", status == 403 and b"SignatureDoesNotMatch" in body, (status, body[:300]))

    # boto3 default config presigned GET and PUT.
    v4 = client(endpoint, access_key, secret_key, Config(s3=path_style))
    url = v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "v4/presigned.bin", "ContentType": "application/octet-stream"}, ExpiresIn=300)
    # botocore presigns with V2 by default for us-east-1 custom endpoints.
    print("info boto3 default presign uses", "V4" if "X-Amz-Signature=" in url else "V2")
    status, body = fetch("PUT", url, b"put through a v4 url")
    check("boto3 default presigned PUT", status == 200, (status, body[:300]))
    url = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v4/presigned.bin"}, ExpiresIn=300)
    status, body = fetch("GET", url)
    check("boto3 default presigned GET", status == 200 and body == b"put through a v4 url", (status, body[:300]))

    # AWS CLI v1 `aws s3 presign`, with whatever signature it picks.
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=access_key,
        AWS_SECRET_ACCESS_KEY=secret_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    url = subprocess.run(
        ["aws", "--endpoint-url", endpoint, "s3", "presign", f"s3://{bucket}/v2/header.txt", "--expires-in", "300"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()
    version = "V2" if "AWSAccessKeyId=" in url else "V4"
    status, body = fetch("GET", url)
    check(f"aws s3 presign ({version}) GET", status == 200 and body == b"signed with v2", (status, body[:300], url))


if __name__ == "__main__":
    main()
