"""Seeds a moto server (`seed`) or checks an import (`check`).

Usage: moto_seed.py seed|check MOTO_URL MINNOW_URL AK SK BUCKET...
`check` compares every object (bytes, content type, metadata) and the
policy, lifecycle and CORS of each bucket between moto and minnow.
"""
import json
import sys

import boto3
from botocore.config import Config

mode, moto_url, minnow_url, ak, sk, *buckets = sys.argv[1:]
cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2})
moto = boto3.client("s3", endpoint_url=moto_url, aws_access_key_id="x",
                    aws_secret_access_key="x", region_name="us-east-1", config=cfg)
minnow = boto3.client("s3", endpoint_url=minnow_url, aws_access_key_id=ak,
                      aws_secret_access_key=sk, region_name="us-east-1", config=cfg)

if mode == "seed":
    for i, bucket in enumerate(buckets):
        moto.create_bucket(Bucket=bucket)
        for n in range(25):
            moto.put_object(Bucket=bucket, Key=f"docs/file-{n}.txt",
                            Body=f"{bucket} {n} ".encode() * (n + 1),
                            ContentType="text/x-imported",
                            CacheControl="max-age=300",
                            Metadata={"origin": "moto", "n": str(n)},
                            Tagging="team=data&env=prod" if n % 5 == 0 else "")
        # A multipart object (ETag of the form md5-N).
        up = moto.create_multipart_upload(Bucket=bucket, Key="big/blob.bin",
                                          ContentType="application/x-blob",
                                          Metadata={"kind": "multipart"})
        part = bytes(range(256)) * (5 * 1024 * 1024 // 256)
        etags = []
        for number in (1, 2):
            r = moto.upload_part(Bucket=bucket, Key="big/blob.bin", PartNumber=number,
                                 UploadId=up["UploadId"], Body=part + bytes([number]))
            etags.append({"PartNumber": number, "ETag": r["ETag"]})
        moto.complete_multipart_upload(Bucket=bucket, Key="big/blob.bin",
                                       UploadId=up["UploadId"],
                                       MultipartUpload={"Parts": etags})
        if i == 0:
            policy = {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": ["*"]},
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/docs/*"]}]}
            moto.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
            moto.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={
                "Rules": [{"ID": "expire-tmp", "Status": "Enabled",
                           "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 7}}]})
            moto.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
                "AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["https://example.com"],
                "AllowedHeaders": ["*"], "MaxAgeSeconds": 600}]})
    print("seeded")
    sys.exit(0)

problems = []
for i, bucket in enumerate(buckets):
    keys = [o["Key"] for p in moto.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in p.get("Contents", [])]
    for key in keys:
        a = moto.get_object(Bucket=bucket, Key=key)
        b = minnow.get_object(Bucket=bucket, Key=key)
        if a["Body"].read() != b["Body"].read():
            problems.append(f"{bucket}/{key}: bytes differ")
        for field in ("ContentType", "Metadata", "CacheControl", "TagCount"):
            if a.get(field) != b.get(field):
                problems.append(f"{bucket}/{key}: {field} {a.get(field)!r} != {b.get(field)!r}")
    # minnow keeps tags (x-amz-tagging-count) but has no GetObjectTagging.
    tagged = minnow.head_object(Bucket=bucket, Key="docs/file-5.txt")
    if tagged["ResponseMetadata"]["HTTPHeaders"].get("x-amz-tagging-count") != "2":
        problems.append(f"{bucket}: the tags of docs/file-5.txt did not come along")
    if i == 0:
        pa = json.loads(moto.get_bucket_policy(Bucket=bucket)["Policy"])
        pb = json.loads(minnow.get_bucket_policy(Bucket=bucket)["Policy"])
        norm = lambda p: json.dumps(p, sort_keys=True)
        if norm(pa["Statement"]) != norm(pb["Statement"]):
            problems.append(f"policy differs: {pa} != {pb}")
        la = moto.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        lb = minnow.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        if la != lb:
            problems.append(f"lifecycle differs: {la} != {lb}")
        ca = moto.get_bucket_cors(Bucket=bucket)["CORSRules"]
        cb = minnow.get_bucket_cors(Bucket=bucket)["CORSRules"]
        if ca != cb:
            problems.append(f"CORS differs: {ca} != {cb}")
for p in problems:
    print(p)
print("checked", len(problems), "problems")
sys.exit(1 if problems else 0)
