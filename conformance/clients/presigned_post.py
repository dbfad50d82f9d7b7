"""Browser-form uploads presigned by boto3 (`generate_presigned_post`) with
SigV4 (`signature_version='s3v4'`) and with its default config, which for
a custom endpoint signs the policy with Signature Version 2
(`AWSAccessKeyId` + `signature` fields), each form posted with `requests` as a web
page's JavaScript would, and each object read back through boto3.

Usage: presigned_post.py ENDPOINT ACCESS_KEY SECRET_KEY BUCKET
Prints one line per check and exits non-zero on the first failure.
"""

import sys

import boto3
import requests
from botocore.config import Config


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + (" " + str(detail) if detail and not condition else ""))
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
    s3 = client(endpoint, access_key, secret_key, Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket=bucket)

    # SigV4 policy, key chosen by the file name.
    post = s3.generate_presigned_post(
        bucket,
        "uploads/${filename}",
        Fields={"success_action_status": "201", "Content-Type": "text/plain"},
        Conditions=[
            ["starts-with", "$key", "uploads/"],
            {"success_action_status": "201"},
            {"Content-Type": "text/plain"},
            ["content-length-range", 1, 1024],
        ],
        ExpiresIn=600,
    )
    check("boto3 s3v4 presigned post is SigV4", "x-amz-signature" in post["fields"], post["fields"])
    body = b"posted by boto3"
    response = requests.post(post["url"], data=post["fields"], files={"file": ("report.txt", body)})
    check("boto3 s3v4 presigned post answers 201", response.status_code == 201, response.text)
    check("boto3 s3v4 presigned post XML names the key", "<Key>uploads/report.txt</Key>" in response.text, response.text)
    stored = s3.get_object(Bucket=bucket, Key="uploads/report.txt")
    check("boto3 s3v4 presigned post stored", stored["Body"].read() == body)
    check("boto3 s3v4 presigned post content type", stored["ContentType"] == "text/plain", stored["ContentType"])

    too_big = requests.post(post["url"], data=post["fields"], files={"file": ("big.txt", b"x" * 2048)})
    check(
        "boto3 presigned post over content-length-range refused",
        too_big.status_code == 400 and "<Code>EntityTooLarge</Code>" in too_big.text,
        (too_big.status_code, too_big.text),
    )
    try:
        s3.head_object(Bucket=bucket, Key="uploads/big.txt")
        check("boto3 presigned post over range left nothing", False)
    except s3.exceptions.ClientError as error:
        check("boto3 presigned post over range left nothing", error.response["Error"]["Code"] == "404")

    # The default config: Signature Version 2 fields.
    v2 = client(endpoint, access_key, secret_key, Config(s3={"addressing_style": "path"}))
    post = v2.generate_presigned_post(bucket, "v2/object.bin", ExpiresIn=600)
    check("boto3 default (v2) presigned post is V2", "signature" in post["fields"] and "AWSAccessKeyId" in post["fields"], post["fields"])
    response = requests.post(post["url"], data=post["fields"], files={"file": ("object.bin", b"v2 form")})
    check("boto3 default (v2) presigned post answers 204", response.status_code == 204, (response.status_code, response.text))
    check("boto3 default (v2) presigned post stored", s3.get_object(Bucket=bucket, Key="v2/object.bin")["Body"].read() == b"v2 form")

    fields = dict(post["fields"], key="v2/elsewhere.bin")
    response = requests.post(post["url"], data=fields, files={"file": ("x", b"x")})
    check(
        "boto3 default (v2) presigned post with another key refused",
        response.status_code == 403 and "<Code>AccessDenied</Code>" in response.text,
        (response.status_code, response.text),
    )


if __name__ == "__main__":
    main()
