"""minio-py's MinioAdmin against minnow's MinIO admin API (/minio/admin/v3/).

Usage: madmin.py ENDPOINT ROOT_ACCESS_KEY ROOT_SECRET_KEY BUCKET

Each step prints "ok   <step>" once it has asserted what it checks; the
first failure raises (non-zero exit). The Rust test looks for every line.
"""

import json
import sys

import boto3
from botocore.config import Config
from minio import MinioAdmin
from minio.credentials import StaticProvider
from minio.crypto import decrypt, encrypt
from minio.error import MinioAdminException
from minio.minioadmin import _COMMAND

endpoint, root_ak, root_sk, bucket = sys.argv[1:5]
host = endpoint.split("://", 1)[-1]


def admin(access_key, secret_key):
    return MinioAdmin(
        endpoint=host,
        credentials=StaticProvider(access_key, secret_key),
        secure=False,
    )


def s3(access_key, secret_key):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}),
    )


def ok(step):
    print("ok   " + step, flush=True)


def status_of(call):
    """The HTTP status a refused admin call answered with (None: it worked)."""
    try:
        call()
    except MinioAdminException as error:
        return int(error._code)  # pylint: disable=protected-access
    return None


root = admin(root_ak, root_sk)

# Init-container steps (add user, attach readwrite), run twice: the second
# run must succeed and change nothing.
for attempt in range(2):
    root.user_add("app-user", "app-user-secret-1")
    answer = root.attach_policy(["readwrite"], user="app-user")
    if attempt == 0:
        assert json.loads(answer)["policiesAttached"] == ["readwrite"], answer
    info = json.loads(root.user_info("app-user"))
    assert info["status"] == "enabled", info
    assert info["policyName"] == "readwrite", info
ok("init steps twice")

users = json.loads(root.user_list())
assert users["app-user"] == {"policyName": "readwrite", "status": "enabled"}, users
ok("list users (encrypted)")

# The added user works with boto3.
app = s3("app-user", "app-user-secret-1")
app.create_bucket(Bucket=bucket)
app.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello from app-user")
body = app.get_object(Bucket=bucket, Key="hello.txt")["Body"].read()
assert body == b"hello from app-user", body
ok("boto3 put/get as the added user")

root.user_disable("app-user")
assert json.loads(root.user_info("app-user"))["status"] == "disabled"
try:
    app.get_object(Bucket=bucket, Key="hello.txt")
    raise AssertionError("a disabled user could still read")
except app.exceptions.ClientError as error:
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403, error
root.user_enable("app-user")
assert json.loads(root.user_info("app-user"))["status"] == "enabled"
assert app.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == body
ok("disable and enable")

answer = json.loads(root.detach_policy(["readwrite"], user="app-user"))
assert answer["policiesDetached"] == ["readwrite"], answer
assert "policyName" not in json.loads(root.user_info("app-user"))
try:
    app.put_object(Bucket=bucket, Key="denied.txt", Body=b"x")
    raise AssertionError("a user without policies could still write")
except app.exceptions.ClientError as error:
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403, error
root.attach_policy(["readwrite"], user="app-user")
ok("detach and attach")

policies = json.loads(root.policy_list())
assert "readwrite" in policies and "consoleAdmin" in policies, policies
doc = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
                   "Resource": [f"arn:aws:s3:::{bucket}/*"]}],
}
root.policy_add("read-app-bucket", policy=doc)
assert json.loads(root.policy_info("read-app-bucket"))["Statement"][0]["Action"] == ["s3:GetObject"]
root.policy_remove("read-app-bucket")
assert status_of(lambda: root.policy_info("read-app-bucket")) == 404
ok("canned policies")

info = json.loads(root.info())
assert info["mode"] == "online", info
assert info["backend"]["onlineDisks"] == len(info["servers"][0]["drives"]) > 0, info
assert info["backend"]["offlineDisks"] == 0, info
assert info["servers"][0]["version"], info
assert info["buckets"]["count"] >= 1, info
ok("server info")

# A readonly user is refused every admin call (403), before any change.
root.user_add("ro-user", "ro-user-secret-1")
root.attach_policy(["readonly"], user="ro-user")
ro = admin("ro-user", "ro-user-secret-1")
calls = {
    "info": ro.info,
    "user_add": lambda: ro.user_add("sneaky", "sneaky-secret-1"),
    "user_remove": lambda: ro.user_remove("app-user"),
    "user_list": ro.user_list,
    "user_info": lambda: ro.user_info("app-user"),
    "user_disable": lambda: ro.user_disable("app-user"),
    "user_enable": lambda: ro.user_enable("app-user"),
    "attach_policy": lambda: ro.attach_policy(["consoleAdmin"], user="ro-user"),
    "detach_policy": lambda: ro.detach_policy(["readwrite"], user="app-user"),
    "policy_set": lambda: ro.policy_set("consoleAdmin", user="ro-user"),
    "policy_list": ro.policy_list,
    "policy_info": lambda: ro.policy_info("readwrite"),
    "policy_add": lambda: ro.policy_add("mine", policy=doc),
    "policy_remove": lambda: ro.policy_remove("readonly"),
}
for name, call in calls.items():
    assert status_of(call) == 403, name
assert "sneaky" not in json.loads(root.user_list())
assert json.loads(root.user_info("ro-user"))["policyName"] == "readonly"
assert json.loads(root.user_info("app-user"))["status"] == "enabled"
ok("readonly user refused")

# Encryption both ways beyond the calls above (where the server decrypted
# minio.crypto.encrypt's add-user bodies and the client decrypted the
# server's user lists): a body sealed under another secret is refused, and
# the server's answer does not open under another secret.
try:
    root._url_open(  # pylint: disable=protected-access
        method="PUT",
        command=_COMMAND.ADD_USER,
        query_params={"accessKey": "wrong-key-user"},
        body=encrypt(b'{"secretKey":"wrong-key-user-1","status":"enabled"}',
                     "not-the-root-secret"),
    )
    raise AssertionError("a body sealed under another secret was accepted")
except MinioAdminException as error:
    assert error._code == "400", error  # pylint: disable=protected-access
assert "wrong-key-user" not in json.loads(root.user_list())
response = root._url_open(  # pylint: disable=protected-access
    method="GET", command=_COMMAND.LIST_USERS, preload_content=False,
)
try:
    decrypt(response, "not-the-root-secret")
    raise AssertionError("the user list opened under another secret")
except ValueError:
    pass
ok("encryption under the wrong secret refused")

root.user_remove("app-user")
root.user_remove("ro-user")
assert status_of(lambda: root.user_info("app-user")) == 404
assert "app-user" not in json.loads(root.user_list())
ok("remove users")
