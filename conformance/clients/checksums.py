"""boto3 with its default configuration (CRC32 checksums "when supported"):
put_object and a multipart upload_file, each read back with ChecksumMode
ENABLED and compared with a CRC32 computed here.

Usage: checksums.py ENDPOINT ACCESS_KEY SECRET_KEY BUCKET
Prints one "ok   <step>" line per passed step; exits non-zero on a failure.
"""

import base64
import os
import sys
import tempfile
import zlib

import boto3
from boto3.s3.transfer import TransferConfig

MIB = 1024 * 1024


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def main():
    endpoint, access_key, secret_key, bucket = sys.argv[1:5]
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket=bucket)

    small = os.urandom(200 * 1024)
    s3.put_object(Bucket=bucket, Key="small", Body=small)
    head = s3.head_object(Bucket=bucket, Key="small", ChecksumMode="ENABLED")
    assert head.get("ChecksumCRC32") == crc32_b64(small), head
    assert head.get("ChecksumType") == "FULL_OBJECT", head
    assert s3.get_object(Bucket=bucket, Key="small")["Body"].read() == small
    print("ok   boto3 put_object CRC32", head["ChecksumCRC32"])

    big = os.urandom(12 * MIB + 5)
    with tempfile.NamedTemporaryFile() as f:
        f.write(big)
        f.flush()
        config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
        s3.upload_file(f.name, bucket, "big", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert head["ETag"].strip('"').endswith("-3"), head
    value = head.get("ChecksumCRC32")
    kind = head.get("ChecksumType")
    if kind == "FULL_OBJECT":
        assert value == crc32_b64(big), head
    else:
        assert kind == "COMPOSITE" and value and value.endswith("-3"), head
    got = s3.get_object(Bucket=bucket, Key="big")["Body"].read()
    assert got == big, "multipart object differs"
    print("ok   boto3 upload_file multipart CRC32", kind, value)


if __name__ == "__main__":
    main()
