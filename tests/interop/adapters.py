"""One small adapter per SDK and signing mode, all with the same interface.

Every method drives the vendor's official SDK (never a hand-made request) and normalises the
answer; a failed call raises `CallFailed`, which names the operation, the request and what the
SDK exposed of the response (status, error code, message, request id, headers, body). SDKs that
return error *results* instead of raising (esdk-obs-python) are turned into the same exception,
so a test can `expect_error(...)` the same way for every dialect.

Interface (keys are str, data bytes):
  create_bucket()
  initiate(key, metadata=None, content_type=None, storage_class=None, acl=None, tagging=None) -> upload_id
  upload_part(key, upload_id, number, data)            -> PartResult
  list_parts(key, upload_id, max_parts=None, marker=None) -> PartsPage
  list_uploads(prefix)                                  -> [(key, upload_id)]
  complete(key, upload_id, [(number, etag)])            -> Completed
  abort(key, upload_id)
  get(key, byte_range=None)  (inclusive (first, last)) -> GetResult
  head(key)                                             -> HeadResult
  presign_get(key)                                      -> (url, headers)
  presign_upload_part(key, upload_id, number)           -> (url, headers)
  high_level_upload(path, key) / download(key, path)
  with_secret(secret)                                   -> same adapter, other secret
  error_code(exc_or_result)                             -> the dialect's error code string
"""
import datetime
import io
import json
import logging
import os
import re
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass, field
from typing import Optional

from interop_support import (
    ACCESS_KEY,
    COS_APPID,
    COS_REGION,
    KIB,
    MIB,
    REGION,
    SECRET_KEY,
    CallFailed,
)

# The SDKs log request details (and some of them the signature) at INFO; keep pytest's captured
# log readable and let only warnings through.
for _name in ("botocore", "boto3", "s3transfer", "urllib3", "qcloud_cos", "oss2", "alibabacloud_oss_v2", "ks3", "obs"):
    logging.getLogger(_name).setLevel(logging.WARNING)

HIGH_LEVEL_PART = 8 * MIB  # a 24 MiB file becomes three parts in every helper


@dataclass
class PartResult:
    etag: Optional[str]
    crc64: Optional[int] = None  # the server's CRC-64/ECMA if the SDK exposes it
    raw: dict = field(default_factory=dict)


@dataclass
class PartsPage:
    parts: list  # [(number, etag, size)]
    truncated: Optional[bool]  # None: the SDK does not expose it
    next_marker: Optional[int]
    raw: dict = field(default_factory=dict)


@dataclass
class Completed:
    etag: Optional[str]
    crc64: Optional[int] = None
    raw: dict = field(default_factory=dict)


@dataclass
class GetResult:
    data: bytes
    raw: dict = field(default_factory=dict)


@dataclass
class HeadResult:
    metadata: dict  # lower-case names without the vendor prefix
    content_type: Optional[str]
    storage_class: Optional[str]
    etag: Optional[str]
    size: Optional[int]
    crc64: Optional[int] = None
    raw: dict = field(default_factory=dict)


def _int_or_none(v):
    try:
        return int(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _lower_keys(d):
    return {str(k).lower(): v for k, v in (d or {}).items()}


def _latin1_to_utf8(value):
    """http.client/requests decode header bytes as latin-1; undo that for UTF-8 values."""
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class Adapter:
    """Base: one SDK in one signing mode against one running server, using one bucket."""

    name = "?"  # test id part, e.g. "boto3-sigv4"
    sdk = "?"  # package name, for the report
    dialect = "?"
    min_part = 5 * MIB  # minimum size of a non-last part in this dialect
    storage_class = None  # the vendor's name for an infrequent-access class
    needs_tls = False
    can_presign_get = True
    can_presign_part = True
    can_tag = True  # the SDK can send a tagging header on initiate
    # metadata sent on initiate; values with double spaces; non-ASCII only where the SDK allows it
    metadata = {"author": "Alice  Smith", "note": "a=1; b,c"}
    content_type = "application/x-tessera-interop"
    acl = "public-read"
    tagging = "k1=v1&k2=v2"
    bucket_suffix = ""

    def __init__(self, server, secret=SECRET_KEY, workdir=None):
        self.server = server
        self.secret = secret
        self.workdir = workdir
        self.bucket = ("interop-" + self.name)[:63 - len(self.bucket_suffix)] + self.bucket_suffix
        self._setup()

    def _setup(self):
        pass

    def with_secret(self, secret):
        return type(self)(self.server, secret=secret, workdir=self.workdir)

    def __repr__(self):
        return "<%s on %s>" % (self.name, self.server)

    # -- error plumbing
    def error_info(self, exc):
        """Normalise an SDK exception (or error result) to a dict for CallFailed."""
        return {"exception": "%s: %s" % (type(exc).__name__, exc)}

    def error_code(self, exc_or_result):
        if isinstance(exc_or_result, CallFailed):
            return exc_or_result.code
        return self.error_info(exc_or_result).get("code")

    def call(self, request, fn):
        try:
            return fn()
        except CallFailed:
            raise
        except Exception as e:  # noqa: BLE001 - every SDK error becomes CallFailed
            raise CallFailed(self.name, request, self.error_info(e)) from e

    # -- helpers for tests
    def signing_mode_problem(self):
        """None if the requests so far were signed the way this adapter claims, else why not
        (an SDK that silently falls back to another scheme must not pass as this mode)."""
        return None

    def expected_metadata(self):
        return {k.lower(): v for k, v in self.metadata.items()}

    @property
    def expected_storage_class(self):
        """The storage class HEAD reports for `storage_class`."""
        return self.storage_class


# =====================================================================================  boto3
class Boto3Adapter(Adapter):
    sdk = "boto3"
    dialect = "aws"
    min_part = 5 * MIB
    storage_class = "STANDARD_IA"
    tagging = "k1=v1&k2=v 2"
    signature_version = "s3v4"
    addressing = "path"
    host = "ip"  # "ip": 127.0.0.1, "domain": s3.local
    s3_extra = {}

    def endpoint(self):
        host = "127.0.0.1" if self.host == "ip" else "s3.local"
        return "%s://%s:%d" % (self.server.scheme, host, self.server.port)

    def _setup(self):
        import boto3
        from botocore.config import Config

        cfg = Config(
            signature_version=self.signature_version,
            s3=dict({"addressing_style": self.addressing}, **self.s3_extra),
            retries={"total_max_attempts": 1},
            connect_timeout=10,
            read_timeout=120,
        )
        self.c = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint(),
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=self.secret,
            verify=False if self.server.scheme == "https" else None,
            config=cfg,
        )
        self.sent_part_headers = []  # headers of every UploadPart as sent (after signing)
        self.c.meta.events.register("before-send.s3.UploadPart", self._record_part)

    def _record_part(self, request, **kwargs):
        self.sent_part_headers.append({k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()})

    # what UploadPart must look like on the wire in this mode: header -> regex
    wire = {"authorization": r"AWS4-HMAC-SHA256 .*", "x-amz-content-sha256": r"[0-9a-f]{64}", "x-amz-checksum-crc32": r".+"}

    def signing_mode_problem(self):
        if not self.sent_part_headers:
            return "no UploadPart request was recorded"
        for h in self.sent_part_headers:
            for name, pattern in self.wire.items():
                if not re.fullmatch(pattern, h.get(name) or ""):
                    return "UploadPart header %s is %r, expected /%s/ in this mode (all headers: %s)" % (name, h.get(name), pattern, h)
        return None

    def error_info(self, exc):
        info = {"exception": "%s: %s" % (type(exc).__name__, exc)}
        resp = getattr(exc, "response", None)
        if isinstance(resp, dict):
            err = resp.get("Error", {})
            meta = resp.get("ResponseMetadata", {})
            info.update(
                status=meta.get("HTTPStatusCode"),
                code=err.get("Code"),
                message=err.get("Message"),
                request_id=meta.get("RequestId"),
                headers=meta.get("HTTPHeaders"),
            )
        return info

    @staticmethod
    def _raw(resp):
        meta = resp.get("ResponseMetadata", {})
        return {"status": meta.get("HTTPStatusCode"), "headers": meta.get("HTTPHeaders")}

    def create_bucket(self):
        return self.call({"op": "CreateBucket", "method": "PUT", "bucket": self.bucket},
                         lambda: self.c.create_bucket(Bucket=self.bucket))

    def initiate(self, key, metadata=None, content_type=None, storage_class=None, acl=None, tagging=None):
        kw = {"Bucket": self.bucket, "Key": key}
        if metadata:
            kw["Metadata"] = metadata
        if content_type:
            kw["ContentType"] = content_type
        if storage_class:
            kw["StorageClass"] = storage_class
        if acl:
            kw["ACL"] = acl
        if tagging:
            kw["Tagging"] = tagging
        req = {"op": "CreateMultipartUpload", "method": "POST", "key": key, "headers": {k: v for k, v in kw.items() if k not in ("Bucket", "Key")}}
        r = self.call(req, lambda: self.c.create_multipart_upload(**kw))
        return r.get("UploadId")

    def upload_part(self, key, upload_id, number, data):
        req = {"op": "UploadPart", "method": "PUT", "key": key, "upload_id": upload_id, "part": number, "size": len(data)}
        r = self.call(req, lambda: self.c.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data))
        return PartResult(r.get("ETag"), None, self._raw(r))

    def list_parts(self, key, upload_id, max_parts=None, marker=None):
        kw = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id}
        if max_parts:
            kw["MaxParts"] = max_parts
        if marker:
            kw["PartNumberMarker"] = marker
        req = {"op": "ListParts", "method": "GET", "key": key, "upload_id": upload_id, "max_parts": max_parts, "marker": marker}
        r = self.call(req, lambda: self.c.list_parts(**kw))
        parts = [(p["PartNumber"], p["ETag"], p["Size"]) for p in r.get("Parts", [])]
        return PartsPage(parts, r.get("IsTruncated"), _int_or_none(r.get("NextPartNumberMarker")), self._raw(r))

    def list_uploads(self, prefix):
        req = {"op": "ListMultipartUploads", "method": "GET", "prefix": prefix}
        r = self.call(req, lambda: self.c.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix))
        return [(u["Key"], u["UploadId"]) for u in r.get("Uploads", [])]

    def complete(self, key, upload_id, parts):
        req = {"op": "CompleteMultipartUpload", "method": "POST", "key": key, "upload_id": upload_id, "parts": parts}
        body = {"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]}
        r = self.call(req, lambda: self.c.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload=body))
        return Completed(r.get("ETag"), None, self._raw(r))

    def abort(self, key, upload_id):
        req = {"op": "AbortMultipartUpload", "method": "DELETE", "key": key, "upload_id": upload_id}
        self.call(req, lambda: self.c.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id))

    def get(self, key, byte_range=None):
        kw = {"Bucket": self.bucket, "Key": key}
        if byte_range:
            kw["Range"] = "bytes=%d-%d" % byte_range
        req = {"op": "GetObject", "method": "GET", "key": key, "range": kw.get("Range")}

        def go():
            r = self.c.get_object(**kw)
            return r, r["Body"].read()

        r, data = self.call(req, go)
        return GetResult(data, self._raw(r))

    def head(self, key):
        req = {"op": "HeadObject", "method": "HEAD", "key": key}
        r = self.call(req, lambda: self.c.head_object(Bucket=self.bucket, Key=key))
        return HeadResult(_lower_keys(r.get("Metadata")), r.get("ContentType"), r.get("StorageClass"), r.get("ETag"),
                          r.get("ContentLength"), None, self._raw(r))

    def presign_get(self, key):
        url = self.c.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=900)
        return url, {}

    def presign_upload_part(self, key, upload_id, number):
        url = self.c.generate_presigned_url("upload_part", Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": number}, ExpiresIn=900)
        return url, {}

    def _transfer_config(self):
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(multipart_threshold=HIGH_LEVEL_PART, multipart_chunksize=HIGH_LEVEL_PART, max_concurrency=2)

    def high_level_upload(self, path, key):
        req = {"op": "upload_file (s3transfer)", "key": key, "path": os.path.basename(path)}
        self.call(req, lambda: self.c.upload_file(path, self.bucket, key, Config=self._transfer_config()))

    def download(self, key, path):
        req = {"op": "download_file (s3transfer)", "key": key}
        self.call(req, lambda: self.c.download_file(self.bucket, key, path, Config=self._transfer_config()))


class Boto3SigV4(Boto3Adapter):
    """SigV4 over http: botocore signs the payload SHA-256 and sends x-amz-checksum-crc32."""
    name = "boto3-sigv4"


class Boto3Unsigned(Boto3Adapter):
    """SigV4 with UNSIGNED-PAYLOAD, virtual-host addressing on s3.local."""
    name = "boto3-unsigned-vhost"
    addressing = "virtual"
    host = "domain"
    s3_extra = {"payload_signing_enabled": False}
    wire = {"authorization": r"AWS4-HMAC-SHA256 .*", "x-amz-content-sha256": r"UNSIGNED-PAYLOAD", "host": r"interop-[^.]+\.s3\.local:\d+"}

    def _record_part(self, request, **kwargs):
        super()._record_part(request, **kwargs)
        self.sent_part_headers[-1].setdefault("host", urllib.parse.urlsplit(request.url).netloc)


class Boto3Https(Boto3Adapter):
    """SigV4 over https: aws-chunked bodies with STREAMING-UNSIGNED-PAYLOAD-TRAILER."""
    name = "boto3-https"
    needs_tls = True
    wire = {"authorization": r"AWS4-HMAC-SHA256 .*", "x-amz-content-sha256": r"STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "content-encoding": r"aws-chunked", "x-amz-trailer": r"x-amz-checksum-crc32"}


class Boto3SigV2(Boto3Adapter):
    """AWS signature version 2 (HmacV1), signature_version="s3"."""
    name = "boto3-sigv2"
    signature_version = "s3"
    wire = {"authorization": r"AWS [^:]+:.+"}


# =====================================================================================  aws CLI
_CLI_ERROR = re.compile(r"An error occurred \(([^)]+)\)(?: when calling the (\w+) operation)?(?:[^:]*): ?(.*)", re.S)


class AwsCliAdapter(Adapter):
    """The aws CLI (`python -m awscli`), run as a subprocess against http://127.0.0.1:PORT."""
    name = "awscli"
    sdk = "awscli"
    dialect = "aws"
    min_part = 5 * MIB
    storage_class = "STANDARD_IA"
    can_presign_part = False  # `aws s3 presign` makes GET URLs only

    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AWS_")}
        for k in list(env):
            if k.lower() in ("http_proxy", "https_proxy", "all_proxy"):
                del env[k]
        nowhere = os.path.join(self.workdir or ".", "no-aws-config")
        env.update(
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=self.secret,
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE=nowhere,
            AWS_SHARED_CREDENTIALS_FILE=nowhere,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_MAX_ATTEMPTS="1",
            AWS_RETRY_MODE="standard",
            AWS_PAGER="",
            NO_PROXY="*",
            PYTHONWARNINGS="ignore",
        )
        return env

    def endpoint(self):
        return "http://127.0.0.1:%d" % self.server.port

    def aws(self, request, args, parse_json=True):
        cmd = [sys.executable, "-m", "awscli"] + list(args) + ["--endpoint-url", self.endpoint(), "--output", "json"]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=self._env(), cwd=self.workdir)
        except subprocess.TimeoutExpired as e:
            raise CallFailed(self.name, request, {"exception": "timeout: %s" % e}) from e
        if p.returncode != 0:
            raise CallFailed(self.name, request, self._cli_error(p))
        if parse_json:
            return json.loads(p.stdout) if p.stdout.strip() else {}
        return p.stdout

    @staticmethod
    def _cli_error(p):
        info = {"exception": "exit status %d; stderr: %s" % (p.returncode, p.stderr.strip()[-2000:])}
        m = _CLI_ERROR.search(p.stderr)
        if m:
            info["code"] = m.group(1)
            info["message"] = m.group(3).strip()
        return info

    def _file(self, name, data):
        path = os.path.join(self.workdir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def create_bucket(self):
        self.aws({"op": "s3api create-bucket", "bucket": self.bucket}, ["s3api", "create-bucket", "--bucket", self.bucket])

    def initiate(self, key, metadata=None, content_type=None, storage_class=None, acl=None, tagging=None):
        args = ["s3api", "create-multipart-upload", "--bucket", self.bucket, "--key", key]
        if metadata:
            args += ["--metadata", json.dumps(metadata)]
        if content_type:
            args += ["--content-type", content_type]
        if storage_class:
            args += ["--storage-class", storage_class]
        if acl:
            args += ["--acl", acl]
        if tagging:
            args += ["--tagging", tagging]
        r = self.aws({"op": "s3api create-multipart-upload", "key": key, "args": args[5:]}, args)
        return r.get("UploadId")

    def upload_part(self, key, upload_id, number, data):
        path = self._file("cli-part-%d.bin" % number, data)
        req = {"op": "s3api upload-part", "key": key, "upload_id": upload_id, "part": number, "size": len(data)}
        r = self.aws(req, ["s3api", "upload-part", "--bucket", self.bucket, "--key", key, "--upload-id", upload_id,
                           "--part-number", str(number), "--body", path])
        return PartResult(r.get("ETag"), None, {"output": r})

    def list_parts(self, key, upload_id, max_parts=None, marker=None):
        args = ["s3api", "list-parts", "--no-paginate", "--bucket", self.bucket, "--key", key, "--upload-id", upload_id]
        if max_parts:
            args += ["--max-parts", str(max_parts)]
        if marker:
            args += ["--part-number-marker", str(marker)]
        req = {"op": "s3api list-parts", "key": key, "upload_id": upload_id, "max_parts": max_parts, "marker": marker}
        r = self.aws(req, args)
        parts = [(p["PartNumber"], p["ETag"], p["Size"]) for p in r.get("Parts", [])]
        return PartsPage(parts, r.get("IsTruncated"), _int_or_none(r.get("NextPartNumberMarker")), {"output": r})

    def list_uploads(self, prefix):
        r = self.aws({"op": "s3api list-multipart-uploads", "prefix": prefix},
                     ["s3api", "list-multipart-uploads", "--no-paginate", "--bucket", self.bucket, "--prefix", prefix])
        return [(u["Key"], u["UploadId"]) for u in r.get("Uploads", []) or []]

    def complete(self, key, upload_id, parts):
        body = json.dumps({"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
        req = {"op": "s3api complete-multipart-upload", "key": key, "upload_id": upload_id, "parts": parts}
        r = self.aws(req, ["s3api", "complete-multipart-upload", "--bucket", self.bucket, "--key", key,
                           "--upload-id", upload_id, "--multipart-upload", body])
        return Completed(r.get("ETag"), None, {"output": r})

    def abort(self, key, upload_id):
        self.aws({"op": "s3api abort-multipart-upload", "key": key, "upload_id": upload_id},
                 ["s3api", "abort-multipart-upload", "--bucket", self.bucket, "--key", key, "--upload-id", upload_id])

    def get(self, key, byte_range=None):
        out = os.path.join(self.workdir, "cli-get.bin")
        args = ["s3api", "get-object", "--bucket", self.bucket, "--key", key]
        rng = None
        if byte_range:
            rng = "bytes=%d-%d" % byte_range
            args += ["--range", rng]
        r = self.aws({"op": "s3api get-object", "key": key, "range": rng}, args + [out])
        with open(out, "rb") as f:
            return GetResult(f.read(), {"output": r})

    def head(self, key):
        r = self.aws({"op": "s3api head-object", "key": key}, ["s3api", "head-object", "--bucket", self.bucket, "--key", key])
        return HeadResult(_lower_keys(r.get("Metadata")), r.get("ContentType"), r.get("StorageClass"), r.get("ETag"),
                          r.get("ContentLength"), None, {"output": r})

    def presign_get(self, key):
        url = self.aws({"op": "s3 presign", "key": key},
                       ["s3", "presign", "s3://%s/%s" % (self.bucket, key), "--expires-in", "900"], parse_json=False)
        return url.strip(), {}

    def high_level_upload(self, path, key):
        self.aws({"op": "s3 cp (upload)", "key": key}, ["s3", "cp", "--only-show-errors", path, "s3://%s/%s" % (self.bucket, key)],
                 parse_json=False)

    def download(self, key, path):
        self.aws({"op": "s3 cp (download)", "key": key}, ["s3", "cp", "--only-show-errors", "s3://%s/%s" % (self.bucket, key), path],
                 parse_json=False)


# =====================================================================================  Huawei OBS
_OBS_NON_META = {
    "etag", "date", "last-modified", "connection", "server", "accept-ranges", "cache-control", "expires",
    "request-id", "id-2", "storage-class", "checksum-crc64ecma", "version-id", "server-side-encryption",
    "server-side-encryption-kms-key-id", "expiration", "object-type", "next-append-position", "restore",
    "website-redirect-location", "api", "hash-crc64ecma", "keep-alive", "vary",
}


class ObsAdapter(Adapter):
    sdk = "esdk-obs-python"
    dialect = "obs"
    min_part = 100 * KIB
    storage_class = "WARM"
    can_tag = False  # the SDK has no tagging header on upload
    metadata = {"author": "Alice  Smith", "note": "a=1; b,c", "uni": "Grüße 世界"}  # the SDK URL-encodes values
    server_host = "obs.local"

    def _setup(self):
        from obs import ObsClient

        self.c = ObsClient(
            access_key_id=ACCESS_KEY,
            secret_access_key=self.secret,
            server="http://%s:%d" % (self.server_host, self.server.port),
            max_retry_count=0,
            timeout=120,
        )

    def error_info(self, exc):
        if hasattr(exc, "status") and hasattr(exc, "errorCode"):  # a GetResult with an error
            return {
                "status": exc.status,
                "code": exc.errorCode,
                "message": exc.errorMessage,
                "request_id": getattr(exc, "requestId", None),
                "headers": getattr(exc, "header", None),
                "body": getattr(exc, "body", None) and repr(exc.body),
            }
        return {"exception": "%s: %s" % (type(exc).__name__, exc)}

    def ok(self, request, fn):
        """OBS returns result objects (status, errorCode...) instead of raising on 4xx/5xx."""
        r = self.call(request, fn)
        if r.status >= 300:
            raise CallFailed(self.name, request, self.error_info(r))
        return r

    @staticmethod
    def _raw(r):
        return {"status": r.status, "headers": r.header, "request_id": r.requestId}

    def signing_mode_problem(self):
        c = self.c
        if self.server_host[0].isdigit():  # IP server: path style, negotiation off, AWS V2
            if c.is_signature_negotiation or c.signature.lower() != "v2":
                return "expected the SDK to switch to AWS V2 (negotiation off), got signature=%r negotiation=%r" % (
                    c.signature, c.is_signature_negotiation)
            return None
        entry = c.cache.get(self.bucket)
        if not c.is_signature_negotiation or not entry or entry.get("signature") != "obs":
            return ("expected HEAD /?apiversion negotiation to select the OBS signature for bucket %s (the server must answer "
                    "200 with x-obs-api: 3.0), the SDK's negotiation cache says %r" % (self.bucket, entry))
        return None

    def create_bucket(self):
        return self.ok({"op": "createBucket", "method": "PUT", "bucket": self.bucket}, lambda: self.c.createBucket(self.bucket))

    def initiate(self, key, metadata=None, content_type=None, storage_class=None, acl=None, tagging=None):
        req = {"op": "initiateMultipartUpload", "method": "POST", "key": key, "metadata": metadata,
               "content_type": content_type, "storage_class": storage_class, "acl": acl}
        r = self.ok(req, lambda: self.c.initiateMultipartUpload(self.bucket, key, acl=acl, storageClass=storage_class,
                                                                 metadata=metadata, contentType=content_type))
        return r.body.uploadId

    def upload_part(self, key, upload_id, number, data):
        req = {"op": "uploadPart", "method": "PUT", "key": key, "upload_id": upload_id, "part": number, "size": len(data)}
        r = self.ok(req, lambda: self.c.uploadPart(self.bucket, key, number, upload_id, content=data))
        return PartResult(r.body.etag, None, self._raw(r))

    def list_parts(self, key, upload_id, max_parts=None, marker=None):
        req = {"op": "listParts", "method": "GET", "key": key, "upload_id": upload_id, "max_parts": max_parts, "marker": marker}
        r = self.ok(req, lambda: self.c.listParts(self.bucket, key, upload_id, maxParts=max_parts, partNumberMarker=marker))
        parts = [(p.partNumber, p.etag, p.size) for p in (r.body.parts or [])]
        return PartsPage(parts, r.body.isTruncated, _int_or_none(r.body.nextPartNumberMarker), self._raw(r))

    def list_uploads(self, prefix):
        from obs import ListMultipartUploadsRequest

        req = {"op": "listMultipartUploads", "method": "GET", "prefix": prefix}
        r = self.ok(req, lambda: self.c.listMultipartUploads(self.bucket, ListMultipartUploadsRequest(prefix=prefix)))
        return [(u.key, u.uploadId) for u in (r.body.upload or [])]

    def complete(self, key, upload_id, parts):
        from obs import CompleteMultipartUploadRequest, CompletePart

        req = {"op": "completeMultipartUpload", "method": "POST", "key": key, "upload_id": upload_id, "parts": parts}
        body = CompleteMultipartUploadRequest(parts=[CompletePart(n, e) for n, e in parts])
        r = self.ok(req, lambda: self.c.completeMultipartUpload(self.bucket, key, upload_id, body))
        return Completed(r.body.etag, None, self._raw(r))

    def abort(self, key, upload_id):
        req = {"op": "abortMultipartUpload", "method": "DELETE", "key": key, "upload_id": upload_id}
        self.ok(req, lambda: self.c.abortMultipartUpload(self.bucket, key, upload_id))

    def get(self, key, byte_range=None):
        from obs import GetObjectHeader

        headers = GetObjectHeader(range="%d-%d" % byte_range) if byte_range else None
        req = {"op": "getObject", "method": "GET", "key": key, "range": byte_range}
        r = self.ok(req, lambda: self.c.getObject(self.bucket, key, loadStreamInMemory=True, headers=headers))
        return GetResult(r.body.buffer, self._raw(r))

    def head(self, key):
        req = {"op": "getObjectMetadata", "method": "HEAD", "key": key}
        r = self.ok(req, lambda: self.c.getObjectMetadata(self.bucket, key))
        # result.header lists every response header with the x-obs-/x-amz- (and -meta-) prefix
        # stripped and metadata values already URL-decoded: user metadata is what is left
        # after the known response headers.
        meta = {}
        for k, v in r.header or []:
            lk = k.lower()
            if lk not in _OBS_NON_META and not lk.startswith(("x-", "access-control-", "content-")):
                meta[lk] = v
        b = r.body
        return HeadResult(meta, b.contentType, b.storageClass, b.etag, b.contentLength, _int_or_none(b.crc64), self._raw(r))

    def presign_get(self, key):
        r = self.c.createSignedUrl("GET", self.bucket, key, expires=900)
        return r.signedUrl, {k: v for k, v in (r.actualSignedRequestHeaders or {}).items() if k.lower() != "host"}

    def presign_upload_part(self, key, upload_id, number):
        r = self.c.createSignedUrl("PUT", self.bucket, key, expires=900,
                                   queryParams={"partNumber": str(number), "uploadId": upload_id})
        return r.signedUrl, {k: v for k, v in (r.actualSignedRequestHeaders or {}).items() if k.lower() != "host"}

    def high_level_upload(self, path, key):
        cp = os.path.join(self.workdir, "obs-upload.checkpoint")
        req = {"op": "uploadFile (enableCheckpoint)", "key": key}
        self.ok(req, lambda: self.c.uploadFile(self.bucket, key, path, partSize=HIGH_LEVEL_PART, taskNum=2,
                                               enableCheckpoint=True, checkpointFile=cp))

    def download(self, key, path):
        cp = os.path.join(self.workdir, "obs-download.checkpoint")
        req = {"op": "downloadFile (enableCheckpoint)", "key": key}
        self.ok(req, lambda: self.c.downloadFile(self.bucket, key, downloadFile=path, partSize=HIGH_LEVEL_PART, taskNum=2,
                                                 enableCheckpoint=True, checkpointFile=cp))


class ObsNative(ObsAdapter):
    """server=http://obs.local:PORT: virtual host, HEAD /?apiversion negotiation, OBS signature."""
    name = "obs-native"


class ObsV2Fallback(ObsAdapter):
    """server=http://127.0.0.1:PORT: path style, no negotiation, the SDK speaks AWS V2.

    On the wire this is the AWS dialect (nothing tells the server it is the OBS SDK): AWS part
    size minimum, and the SDK maps WARM to x-amz-storage-class: STANDARD_IA."""
    name = "obs-v2-pathstyle"
    server_host = "127.0.0.1"
    min_part = 5 * MIB
    expected_storage_class = "STANDARD_IA"


# =====================================================================================  Tencent COS
class CosAdapter(Adapter):
    sdk = "cos-python-sdk-v5"
    dialect = "cos"
    min_part = 1 * MIB
    storage_class = "STANDARD_IA"
    metadata = {"author": "Alice  Smith", "note": "a=1; b,c", "uni": "Grüße 世界"}  # sent as raw UTF-8
    bucket_suffix = "-" + COS_APPID
    mode = "ip"

    def _config(self, mode):
        from qcloud_cos import CosConfig

        if mode == "ip":
            return CosConfig(Region=COS_REGION, SecretId=ACCESS_KEY, SecretKey=self.secret, Scheme="http",
                             IP="127.0.0.1", Port=self.server.port, Timeout=120)
        return CosConfig(SecretId=ACCESS_KEY, SecretKey=self.secret, Scheme="http",
                         Endpoint="cos.local:%d" % self.server.port, Timeout=120)

    def _setup(self):
        from qcloud_cos import CosS3Client

        self.c = CosS3Client(self._config(self.mode), retry=0)
        # presigned URLs made in IP mode carry no bucket: presign with the Endpoint form
        self.presigner = CosS3Client(self._config("endpoint"), retry=0)

    def error_info(self, exc):
        info = {"exception": "%s: %s" % (type(exc).__name__, exc)}
        if hasattr(exc, "get_error_code"):
            info.update(status=exc.get_status_code(), code=exc.get_error_code(), message=exc.get_error_msg(),
                        request_id=exc.get_request_id(), body=getattr(exc, "_origin_msg", None))
        return info

    def create_bucket(self):
        return self.call({"op": "create_bucket", "method": "PUT", "bucket": self.bucket},
                         lambda: self.c.create_bucket(Bucket=self.bucket))

    def initiate(self, key, metadata=None, content_type=None, storage_class=None, acl=None, tagging=None):
        kw = {}
        if metadata:
            kw["Metadata"] = {"x-cos-meta-" + k: v for k, v in metadata.items()}
        if content_type:
            kw["ContentType"] = content_type
        if storage_class:
            kw["StorageClass"] = storage_class
        if acl:
            kw["ACL"] = acl
        if tagging:
            kw["Tagging"] = tagging
        req = {"op": "create_multipart_upload", "method": "POST", "key": key, "headers": kw}
        r = self.call(req, lambda: self.c.create_multipart_upload(Bucket=self.bucket, Key=key, **kw))
        return r.get("UploadId")

    def upload_part(self, key, upload_id, number, data):
        req = {"op": "upload_part", "method": "PUT", "key": key, "upload_id": upload_id, "part": number, "size": len(data)}
        r = self.call(req, lambda: self.c.upload_part(Bucket=self.bucket, Key=key, Body=data, PartNumber=number, UploadId=upload_id))
        h = _lower_keys(r)
        return PartResult(h.get("etag"), _int_or_none(h.get("x-cos-hash-crc64ecma")), {"headers": r})

    @staticmethod
    def _listify(v):
        if v is None:
            return []
        return v if isinstance(v, list) else [v]

    def list_parts(self, key, upload_id, max_parts=None, marker=None):
        kw = {}
        if max_parts:
            kw["MaxParts"] = max_parts
        if marker:
            kw["PartNumberMarker"] = marker
        req = {"op": "list_parts", "method": "GET", "key": key, "upload_id": upload_id, "max_parts": max_parts, "marker": marker}
        r = self.call(req, lambda: self.c.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id, **kw))
        parts = [(int(p["PartNumber"]), p["ETag"], int(p["Size"])) for p in self._listify(r.get("Part"))]
        truncated = str(r.get("IsTruncated", "")).lower() == "true"
        return PartsPage(parts, truncated, _int_or_none(r.get("NextPartNumberMarker")), {"body": r})

    def list_uploads(self, prefix):
        req = {"op": "list_multipart_uploads", "method": "GET", "prefix": prefix}
        r = self.call(req, lambda: self.c.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix))
        return [(u["Key"], u["UploadId"]) for u in self._listify(r.get("Upload"))]

    def complete(self, key, upload_id, parts):
        req = {"op": "complete_multipart_upload", "method": "POST", "key": key, "upload_id": upload_id, "parts": parts}
        body = {"Part": [{"PartNumber": n, "ETag": e} for n, e in parts]}
        r = self.call(req, lambda: self.c.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload=body))
        h = _lower_keys(r)
        return Completed(r.get("ETag"), _int_or_none(h.get("x-cos-hash-crc64ecma")), {"body": r})

    def abort(self, key, upload_id):
        req = {"op": "abort_multipart_upload", "method": "DELETE", "key": key, "upload_id": upload_id}
        self.call(req, lambda: self.c.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id))

    def get(self, key, byte_range=None):
        kw = {"Range": "bytes=%d-%d" % byte_range} if byte_range else {}
        req = {"op": "get_object", "method": "GET", "key": key, "range": kw.get("Range")}

        def go():
            r = self.c.get_object(Bucket=self.bucket, Key=key, **kw)
            return r, r["Body"].get_raw_stream().read()

        r, data = self.call(req, go)
        return GetResult(data, {"headers": {k: v for k, v in r.items() if k != "Body"}})

    def head(self, key):
        req = {"op": "head_object", "method": "HEAD", "key": key}
        r = self.call(req, lambda: self.c.head_object(Bucket=self.bucket, Key=key))
        h = _lower_keys(r)
        meta = {k[len("x-cos-meta-"):]: _latin1_to_utf8(v) for k, v in h.items() if k.startswith("x-cos-meta-")}
        return HeadResult(meta, h.get("content-type"), h.get("x-cos-storage-class"), h.get("etag"),
                          _int_or_none(h.get("content-length")), _int_or_none(h.get("x-cos-hash-crc64ecma")), {"headers": r})

    def presign_get(self, key):
        return self.presigner.get_presigned_url(Bucket=self.bucket, Key=key, Method="GET", Expired=900), {}

    def presign_upload_part(self, key, upload_id, number):
        url = self.presigner.get_presigned_url(Bucket=self.bucket, Key=key, Method="PUT", Expired=900,
                                               Params={"partNumber": str(number), "uploadId": upload_id})
        return url, {}

    def high_level_upload(self, path, key):
        req = {"op": "upload_file", "key": key}
        self.call(req, lambda: self.c.upload_file(Bucket=self.bucket, Key=key, LocalFilePath=path,
                                                  PartSize=HIGH_LEVEL_PART // MIB, MAXThread=2))

    def download(self, key, path):
        req = {"op": "download_file", "key": key}
        self.call(req, lambda: self.c.download_file(Bucket=self.bucket, Key=key, DestFilePath=path,
                                                    PartSize=HIGH_LEVEL_PART // MIB, MAXThread=2))


class CosIp(CosAdapter):
    """IP=127.0.0.1 + Port: bucket only in Host `<bucket>.cos.<region>.myqcloud.com`."""
    name = "cos-ip"


class CosEndpoint(CosAdapter):
    """Endpoint=cos.local:PORT: URL host `<bucket>.cos.local:PORT`."""
    name = "cos-endpoint"
    mode = "endpoint"


# =====================================================================================  Aliyun OSS (oss2)
class Oss2Adapter(Adapter):
    sdk = "oss2"
    dialect = "oss"
    min_part = 100 * KIB
    storage_class = "IA"
    endpoint_host = "127.0.0.1"
    auth_version = 1

    def _setup(self):
        import oss2

        endpoint = "http://%s:%d" % (self.endpoint_host, self.server.port)
        if self.auth_version == 1:
            self.b = oss2.Bucket(oss2.Auth(ACCESS_KEY, self.secret), endpoint, self.bucket, connect_timeout=120)
        else:
            self.b = oss2.Bucket(oss2.AuthV4(ACCESS_KEY, self.secret), endpoint, self.bucket, region=REGION, connect_timeout=120)

    def error_info(self, exc):
        info = {"exception": "%s: %s" % (type(exc).__name__, exc)}
        if hasattr(exc, "status") and hasattr(exc, "code"):
            info.update(status=exc.status, code=exc.code, message=getattr(exc, "message", None),
                        request_id=getattr(exc, "request_id", None), headers=dict(getattr(exc, "headers", {}) or {}),
                        body=getattr(exc, "body", None))
        return info

    @staticmethod
    def _raw(r):
        return {"status": getattr(r, "status", None), "headers": dict(getattr(r, "headers", {}) or {})}

    def create_bucket(self):
        return self.call({"op": "create_bucket", "method": "PUT", "bucket": self.bucket}, lambda: self.b.create_bucket())

    def initiate(self, key, metadata=None, content_type=None, storage_class=None, acl=None, tagging=None):
        headers = {}
        for k, v in (metadata or {}).items():
            headers["x-oss-meta-" + k] = v
        if content_type:
            headers["Content-Type"] = content_type
        if storage_class:
            headers["x-oss-storage-class"] = storage_class
        if acl:
            headers["x-oss-object-acl"] = acl
        if tagging:
            headers["x-oss-tagging"] = tagging
        req = {"op": "init_multipart_upload", "method": "POST", "key": key, "headers": headers}
        return self.call(req, lambda: self.b.init_multipart_upload(key, headers=headers)).upload_id

    def upload_part(self, key, upload_id, number, data):
        req = {"op": "upload_part", "method": "PUT", "key": key, "upload_id": upload_id, "part": number, "size": len(data)}
        r = self.call(req, lambda: self.b.upload_part(key, upload_id, number, data))
        return PartResult(r.etag, _int_or_none(r.headers.get("x-oss-hash-crc64ecma")), self._raw(r))

    def list_parts(self, key, upload_id, max_parts=None, marker=None):
        req = {"op": "list_parts", "method": "GET", "key": key, "upload_id": upload_id, "max_parts": max_parts, "marker": marker}
        r = self.call(req, lambda: self.b.list_parts(key, upload_id, marker=str(marker or ""), max_parts=max_parts or 1000))
        parts = [(p.part_number, p.etag, p.size) for p in r.parts]
        return PartsPage(parts, r.is_truncated, _int_or_none(r.next_marker), self._raw(r))

    def list_uploads(self, prefix):
        req = {"op": "list_multipart_uploads", "method": "GET", "prefix": prefix}
        r = self.call(req, lambda: self.b.list_multipart_uploads(prefix=prefix))
        return [(u.key, u.upload_id) for u in r.upload_list]

    def complete(self, key, upload_id, parts):
        import oss2

        req = {"op": "complete_multipart_upload", "method": "POST", "key": key, "upload_id": upload_id, "parts": parts}
        r = self.call(req, lambda: self.b.complete_multipart_upload(key, upload_id, [oss2.models.PartInfo(n, e) for n, e in parts]))
        return Completed(r.etag, _int_or_none(r.headers.get("x-oss-hash-crc64ecma")), self._raw(r))

    def abort(self, key, upload_id):
        req = {"op": "abort_multipart_upload", "method": "DELETE", "key": key, "upload_id": upload_id}
        self.call(req, lambda: self.b.abort_multipart_upload(key, upload_id))

    def get(self, key, byte_range=None):
        req = {"op": "get_object", "method": "GET", "key": key, "range": byte_range}

        def go():
            r = self.b.get_object(key, byte_range=byte_range)
            return r, r.read()

        r, data = self.call(req, go)
        return GetResult(data, self._raw(r))

    def head(self, key):
        req = {"op": "head_object", "method": "HEAD", "key": key}
        r = self.call(req, lambda: self.b.head_object(key))
        h = _lower_keys(r.headers)
        meta = {k[len("x-oss-meta-"):]: v for k, v in h.items() if k.startswith("x-oss-meta-")}
        return HeadResult(meta, r.content_type, h.get("x-oss-storage-class"), r.etag and '"%s"' % r.etag.strip('"'),
                          r.content_length, _int_or_none(h.get("x-oss-hash-crc64ecma")), self._raw(r))

    def presign_get(self, key):
        return self.b.sign_url("GET", key, 900), {}

    def presign_upload_part(self, key, upload_id, number):
        return self.b.sign_url("PUT", key, 900, params={"partNumber": str(number), "uploadId": upload_id}), {}

    def high_level_upload(self, path, key):
        import oss2

        store = oss2.ResumableStore(root=self.workdir)
        req = {"op": "oss2.resumable_upload", "key": key}
        self.call(req, lambda: oss2.resumable_upload(self.b, key, path, store=store, multipart_threshold=HIGH_LEVEL_PART,
                                                     part_size=HIGH_LEVEL_PART, num_threads=2))

    def download(self, key, path):
        import oss2

        store = oss2.ResumableDownloadStore(root=self.workdir)
        req = {"op": "oss2.resumable_download", "key": key}
        self.call(req, lambda: oss2.resumable_download(self.b, key, path, store=store, multiget_threshold=HIGH_LEVEL_PART,
                                                       part_size=HIGH_LEVEL_PART, num_threads=2))


class Oss2V1(Oss2Adapter):
    """oss2.Auth (OSS V1) on an IP endpoint: path style."""
    name = "oss2-v1"


class Oss2V4(Oss2Adapter):
    """oss2.AuthV4 on the vendor's default host: virtual host `<bucket>.oss-cn-hangzhou.aliyuncs.com`."""
    name = "oss2-v4"
    endpoint_host = "oss-cn-hangzhou.aliyuncs.com"
    auth_version = 4


# =====================================================================================  Aliyun OSS (v2 SDK)
class OssV2Adapter(Adapter):
    """alibabacloud-oss-v2, default signer (V4), virtual host on oss.local."""
    name = "ossv2-v4"
    sdk = "alibabacloud-oss-v2"
    dialect = "oss"
    min_part = 100 * KIB
    storage_class = "IA"

    def _setup(self):
        import alibabacloud_oss_v2 as oss

        cfg = oss.config.load_default()
        cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(ACCESS_KEY, self.secret)
        cfg.region = REGION
        cfg.endpoint = "oss.local:%d" % self.server.port
        cfg.disable_ssl = True
        cfg.retry_max_attempts = 1
        cfg.readwrite_timeout = 120
        self.oss = oss
        self.c = oss.Client(cfg)

    def error_info(self, exc):
        info = {"exception": "%s: %s" % (type(exc).__name__, exc)}
        inner = exc
        for _ in range(5):
            if hasattr(inner, "code") and hasattr(inner, "status_code"):
                break
            nxt = inner.unwrap() if hasattr(inner, "unwrap") else None
            if nxt is None or nxt is inner:
                break
            inner = nxt
        if hasattr(inner, "code") and hasattr(inner, "status_code"):
            info.update(status=inner.status_code, code=inner.code, message=getattr(inner, "message", None),
                        request_id=getattr(inner, "request_id", None), headers=dict(getattr(inner, "headers", None) or {}),
                        body=getattr(inner, "snapshot", None))
        return info

    @staticmethod
    def _raw(r):
        return {"status": getattr(r, "status_code", None), "headers": dict(getattr(r, "headers", None) or {})}

    def create_bucket(self):
        return self.call({"op": "put_bucket", "method": "PUT", "bucket": self.bucket},
                         lambda: self.c.put_bucket(self.oss.PutBucketRequest(bucket=self.bucket)))

    def initiate(self, key, metadata=None, content_type=None, storage_class=None, acl=None, tagging=None):
        kw = {"bucket": self.bucket, "key": key}
        if metadata:
            kw["metadata"] = metadata
        if content_type:
            kw["content_type"] = content_type
        if storage_class:
            kw["storage_class"] = storage_class
        if tagging:
            kw["tagging"] = tagging
        if acl:  # the request model has no field for the object ACL header
            kw["headers"] = {"x-oss-object-acl": acl}
        req = {"op": "initiate_multipart_upload", "method": "POST", "key": key, "fields": {k: v for k, v in kw.items() if k not in ("bucket", "key")}}
        r = self.call(req, lambda: self.c.initiate_multipart_upload(self.oss.InitiateMultipartUploadRequest(**kw)))
        return r.upload_id

    def upload_part(self, key, upload_id, number, data):
        req = {"op": "upload_part", "method": "PUT", "key": key, "upload_id": upload_id, "part": number, "size": len(data)}
        r = self.call(req, lambda: self.c.upload_part(self.oss.UploadPartRequest(bucket=self.bucket, key=key, upload_id=upload_id,
                                                                               part_number=number, body=data)))
        return PartResult(r.etag, _int_or_none(r.hash_crc64), self._raw(r))

    def list_parts(self, key, upload_id, max_parts=None, marker=None):
        req = {"op": "list_parts", "method": "GET", "key": key, "upload_id": upload_id, "max_parts": max_parts, "marker": marker}
        kw = {"bucket": self.bucket, "key": key, "upload_id": upload_id}
        if max_parts:
            kw["max_parts"] = max_parts
        if marker:
            kw["part_number_marker"] = marker
        r = self.call(req, lambda: self.c.list_parts(self.oss.ListPartsRequest(**kw)))
        parts = [(p.part_number, p.etag, p.size) for p in (r.parts or [])]
        return PartsPage(parts, r.is_truncated, _int_or_none(r.next_part_number_marker), self._raw(r))

    def list_uploads(self, prefix):
        req = {"op": "list_multipart_uploads", "method": "GET", "prefix": prefix}
        r = self.call(req, lambda: self.c.list_multipart_uploads(self.oss.ListMultipartUploadsRequest(bucket=self.bucket, prefix=prefix)))
        return [(u.key, u.upload_id) for u in (r.uploads or [])]

    def complete(self, key, upload_id, parts):
        oss = self.oss
        req = {"op": "complete_multipart_upload", "method": "POST", "key": key, "upload_id": upload_id, "parts": parts}
        body = oss.CompleteMultipartUpload(parts=[oss.UploadPart(part_number=n, etag=e) for n, e in parts])
        r = self.call(req, lambda: self.c.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
            bucket=self.bucket, key=key, upload_id=upload_id, complete_multipart_upload=body)))
        return Completed(r.etag, _int_or_none(r.hash_crc64), self._raw(r))

    def abort(self, key, upload_id):
        req = {"op": "abort_multipart_upload", "method": "DELETE", "key": key, "upload_id": upload_id}
        self.call(req, lambda: self.c.abort_multipart_upload(self.oss.AbortMultipartUploadRequest(bucket=self.bucket, key=key,
                                                                                                 upload_id=upload_id)))

    def get(self, key, byte_range=None):
        kw = {"bucket": self.bucket, "key": key}
        if byte_range:
            kw["range_header"] = "bytes=%d-%d" % byte_range
        req = {"op": "get_object", "method": "GET", "key": key, "range": kw.get("range_header")}

        def go():
            r = self.c.get_object(self.oss.GetObjectRequest(**kw))
            with r.body as body:
                return r, body.read()

        r, data = self.call(req, go)
        return GetResult(data, self._raw(r))

    def head(self, key):
        req = {"op": "head_object", "method": "HEAD", "key": key}
        r = self.call(req, lambda: self.c.head_object(self.oss.HeadObjectRequest(bucket=self.bucket, key=key)))
        return HeadResult(_lower_keys(r.metadata), r.content_type, r.storage_class, r.etag, r.content_length,
                          _int_or_none(r.hash_crc64), self._raw(r))

    def _presign(self, request):
        r = self.c.presign(request, expires=datetime.timedelta(seconds=900))
        return r.url, {k: v for k, v in (r.signed_headers or {}).items() if k.lower() != "host"}

    def presign_get(self, key):
        return self._presign(self.oss.GetObjectRequest(bucket=self.bucket, key=key))

    def presign_upload_part(self, key, upload_id, number):
        return self._presign(self.oss.UploadPartRequest(bucket=self.bucket, key=key, upload_id=upload_id, part_number=number))

    def high_level_upload(self, path, key):
        req = {"op": "uploader().upload_file", "key": key}
        up = self.c.uploader(part_size=HIGH_LEVEL_PART, parallel_num=2)
        self.call(req, lambda: up.upload_file(self.oss.PutObjectRequest(bucket=self.bucket, key=key), filepath=path))

    def download(self, key, path):
        req = {"op": "downloader().download_file", "key": key}
        down = self.c.downloader(part_size=HIGH_LEVEL_PART, parallel_num=2)
        self.call(req, lambda: down.download_file(self.oss.GetObjectRequest(bucket=self.bucket, key=key), filepath=path))


# =====================================================================================  Kingsoft KS3
class Ks3Adapter(Adapter):
    sdk = "ks3sdk"
    dialect = "ks3"
    min_part = 100 * KIB
    storage_class = "STANDARD_IA"
    path_style = False

    def _setup(self):
        from ks3.connection import Connection
        from ks3.utils import RetryPolicy, StopAfterAttempt

        kw = dict(port=self.server.port, is_secure=False, timeout=120,
                  retry_policy=RetryPolicy(stop_strategy=StopAfterAttempt(1), retry_status_codes=[]))
        if self.path_style:
            from ks3.connection import PathCallingFormat

            self.conn = Connection(ACCESS_KEY, self.secret, host="127.0.0.1", calling_format=PathCallingFormat(), **kw)
        else:
            self.conn = Connection(ACCESS_KEY, self.secret, host="ks3.local", **kw)
        assert self.conn.enable_crc, "ks3sdk's default enable_crc=True is part of what is tested"
        self.b = self.conn.get_bucket(self.bucket)
        self._uploads = {}  # upload id -> MultiPartUpload (keeps the SDK's per-part CRCs)

    def error_info(self, exc):
        info = {"exception": "%s: %s" % (type(exc).__name__, exc)}
        if hasattr(exc, "status") and hasattr(exc, "error_code"):
            info.update(status=exc.status, code=exc.error_code, message=getattr(exc, "message", None) or getattr(exc, "reason", None),
                        request_id=getattr(exc, "request_id", None), body=getattr(exc, "body", None))
        return info

    @staticmethod
    def _headers(resp):
        try:
            return dict(resp.getheaders())
        except Exception:  # noqa: BLE001
            return dict(getattr(resp, "headers", None) or {})

    def create_bucket(self):
        return self.call({"op": "create_bucket", "method": "PUT", "bucket": self.bucket}, lambda: self.conn.create_bucket(self.bucket))

    def _mp(self, key, upload_id):
        mp = self._uploads.get(upload_id)
        if mp is None:
            from ks3.multipart import MultiPartUpload

            mp = MultiPartUpload(self.b)
            mp.key_name = key
            mp.id = upload_id
            self._uploads[upload_id] = mp
        return mp

    def initiate(self, key, metadata=None, content_type=None, storage_class=None, acl=None, tagging=None):
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if storage_class:
            headers["x-kss-storage-class"] = storage_class
        if acl:
            headers["x-kss-acl"] = acl
        if tagging:
            headers["x-kss-tagging"] = tagging
        req = {"op": "initiate_multipart_upload", "method": "POST", "key": key, "headers": headers, "metadata": metadata}
        mp = self.call(req, lambda: self.b.initiate_multipart_upload(key, headers=headers, metadata=metadata or {}))
        self._uploads[mp.id] = mp
        return mp.id

    def upload_part(self, key, upload_id, number, data):
        req = {"op": "upload_part_from_file", "method": "PUT", "key": key, "upload_id": upload_id, "part": number, "size": len(data)}
        mp = self._mp(key, upload_id)
        resp = self.call(req, lambda: mp.upload_part_from_file(io.BytesIO(data), number))
        h = _lower_keys(self._headers(resp))
        mp.tessera_etags = dict(getattr(mp, "tessera_etags", {}))
        mp.tessera_etags[number] = h.get("etag")  # parts as uploaded through this adapter
        return PartResult(h.get("etag"), _int_or_none(h.get("x-kss-checksum-crc64ecma")), {"status": getattr(resp, "status", None), "headers": h})

    def list_parts(self, key, upload_id, max_parts=None, marker=None):
        req = {"op": "list_parts", "method": "GET", "key": key, "upload_id": upload_id, "max_parts": max_parts, "marker": marker}
        r = self.call(req, lambda: self.b.list_parts(self.bucket, key, upload_id, max_parts=max_parts, part_number_marker=marker))
        parts = [(p.part_number, p.etag, p.size) for p in r]
        # ks3sdk 1.18 parses IsTruncated/NextPartNumberMarker into an object it does not return
        return PartsPage(parts, None, None, {"headers": dict(getattr(r, "headers", None) or {})})

    def list_uploads(self, prefix):
        req = {"op": "get_all_multipart_uploads", "method": "GET", "prefix": prefix}
        r = self.call(req, lambda: self.b.get_all_multipart_uploads(prefix=prefix))
        return [(u.key_name, u.id) for u in r if hasattr(u, "id")]

    def complete(self, key, upload_id, parts):
        req = {"op": "complete_multipart_upload", "method": "POST", "key": key, "upload_id": upload_id, "parts": parts}
        mp = self._uploads.get(upload_id)
        if mp is not None and mp.part_crc_infos and getattr(mp, "tessera_etags", None) == dict(parts):
            # the SDK's own path: ETags from ListParts, CRC-64 of every part combined and compared
            # with <ChecksumCRC64ECMA> of the result
            r = self.call(dict(req, via="MultiPartUpload.complete_upload"), mp.complete_upload)
        else:
            xml = "<CompleteMultipartUpload>" + "".join(
                "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % (n, e) for n, e in parts) + "</CompleteMultipartUpload>"
            r = self.call(req, lambda: self.b.complete_multipart_upload(key, upload_id, xml_body=xml))
        crc = _int_or_none(getattr(r, "ChecksumCRC64ECMA", None))
        return Completed(r.etag, crc, {"status": getattr(r, "status", None), "body": vars(r).get("ChecksumCRC64ECMA")})

    def abort(self, key, upload_id):
        req = {"op": "cancel_multipart_upload", "method": "DELETE", "key": key, "upload_id": upload_id}
        self.call(req, lambda: self.b.cancel_multipart_upload(key, upload_id))

    def get(self, key, byte_range=None):
        req = {"op": "Key.get_contents_as_string", "method": "GET", "key": key, "range": byte_range}
        data = self.call(req, lambda: self.b.new_key(key).get_contents_as_string(byte_range=byte_range))
        return GetResult(data if isinstance(data, bytes) else data.encode("latin-1"), {})

    def head(self, key):
        req = {"op": "get_key (HEAD)", "method": "HEAD", "key": key}
        k = self.call(req, lambda: self.b.get_key(key, validate=True))
        if k is None:
            raise CallFailed(self.name, req, {"status": 404, "message": "get_key returned None (HEAD answered 404)"})
        meta = _lower_keys(getattr(k, "user_meta", None) or getattr(k, "metadata", None) or {})
        meta = {m[len("x-kss-meta-"):] if m.startswith("x-kss-meta-") else m: v for m, v in meta.items()}
        headers = _lower_keys(dict(getattr(getattr(k, "response_metadata", None), "headers", None) or {}))
        return HeadResult(meta, k.content_type, getattr(k, "storage_class", None), k.etag, k.size,
                          _int_or_none(headers.get("x-kss-checksum-crc64ecma")), {"headers": headers})

    def presign_get(self, key):
        return self.conn.generate_url(900, "GET", self.bucket, key), {}

    def presign_upload_part(self, key, upload_id, number):
        return self.conn.generate_url(900, "PUT", self.bucket, key, params={"partNumber": str(number), "uploadId": upload_id}), {}

    def high_level_upload(self, path, key):
        req = {"op": "Key.upload_file", "key": key}
        self.call(req, lambda: self.b.new_key(key).upload_file(path, part_size=HIGH_LEVEL_PART, threads_num=2))

    def download(self, key, path):
        req = {"op": "Key.get_contents_to_filename", "key": key}
        self.call(req, lambda: self.b.new_key(key).get_contents_to_filename(path))


class Ks3VirtualHost(Ks3Adapter):
    """Connection(host="ks3.local") with the default VirtualHostCallingFormat."""
    name = "ks3-vhost"


class Ks3PathStyle(Ks3Adapter):
    """Connection(host="127.0.0.1", calling_format=PathCallingFormat())."""
    name = "ks3-path"
    path_style = True


ALL_ADAPTERS = [
    Boto3SigV4,
    Boto3Unsigned,
    Boto3Https,
    Boto3SigV2,
    AwsCliAdapter,
    ObsNative,
    ObsV2Fallback,
    CosIp,
    CosEndpoint,
    Oss2V1,
    Oss2V4,
    OssV2Adapter,
    Ks3VirtualHost,
    Ks3PathStyle,
]
