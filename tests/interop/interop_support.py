"""Helpers shared by the interop suite: error reporting, deterministic data, CRC-64, raw HTTP.

Everything here is SDK-independent. The SDK-specific code lives in `adapters.py`.
"""
import hashlib
import http.client
import random
import ssl
import urllib.parse
import zlib

KIB = 1024
MIB = 1024 * 1024

# Credentials the server is started with (env TESSERA_ACCESS_KEY / TESSERA_SECRET_KEY). The
# secret deliberately contains '/', '+' and '=' (they trip naive encoders in several dialects).
ACCESS_KEY = "TESSERAINTEROPAK0001"
SECRET_KEY = "interop/Secret+Key=ForTesseraSuite0000000"
WRONG_SECRET = "interop/Secret+Key=ForTesseraSuite0000001"

# Region the server is started with (--region); every region-scoped signature (AWS SigV4,
# OSS V4) is made for it.
REGION = "us-east-1"

# The service domains the server is started with (--domain, one flag each).
DOMAINS = ("s3.local", "obs.local", "cos.local", "oss.local", "ks3.local")

# COS bucket names carry the account's APPID.
COS_APPID = "1250000000"
COS_REGION = "ap-guangzhou"


# ------------------------------------------------------------------ failure reporting
def _excerpt(value, limit=1500):
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    value = str(value)
    return value if len(value) <= limit else value[:limit] + "... (%d chars)" % len(value)


def describe_request(req):
    """`{'op': 'UploadPart', 'method': 'PUT', 'key': ..., ...}` -> one readable line."""
    req = dict(req)
    op = req.pop("op", "?")
    method = req.pop("method", "")
    rest = ", ".join("%s=%r" % (k, v) for k, v in req.items() if v is not None)
    return "%s %s (%s)" % (op, method, rest) if method else "%s (%s)" % (op, rest)


def describe_response(info):
    """Response details an SDK exposed: status, error code/message, request id, headers, body."""
    if not info:
        return "  (no response details)"
    lines = []
    for field in ("status", "code", "message", "request_id", "exception"):
        if info.get(field) not in (None, ""):
            lines.append("  %s: %s" % (field, _excerpt(info[field], 600)))
    headers = info.get("headers")
    if headers:
        if isinstance(headers, dict):
            headers = sorted(headers.items())
        lines.append("  response headers: %s" % _excerpt(", ".join("%s: %s" % (k, v) for k, v in headers), 1500))
    if info.get("body") not in (None, "", b""):
        lines.append("  response body: %s" % _excerpt(info["body"]))
    return "\n".join(lines) if lines else "  (no response details)"


class CallFailed(AssertionError):
    """An SDK call failed (raised, or returned an error result). Names the adapter, the request
    and whatever the SDK exposed of the response; `code`/`status` are the parsed error fields."""

    def __init__(self, adapter, request, info):
        self.adapter = adapter
        self.request = request
        self.info = info or {}
        self.code = self.info.get("code")
        self.status = self.info.get("status")
        super().__init__("[%s] %s failed:\n%s" % (adapter, describe_request(request), describe_response(self.info)))


def field_mismatch(adapter, request, field, expected, actual, response=None):
    """Assertion message for a successful call whose response field is wrong."""
    return "[%s] %s: response field %s is wrong\n  expected: %r\n  actual:   %r\n%s" % (
        adapter,
        describe_request(request),
        field,
        expected,
        actual,
        describe_response(response) if response else "",
    )


def check(adapter, request, field, expected, actual, response=None):
    assert actual == expected, field_mismatch(adapter, request, field, expected, actual, response)


# ------------------------------------------------------------------ data
def det_bytes(label, size):
    """Deterministic pseudo-random bytes: the same label always gives the same data."""
    return random.Random(zlib.crc32(label.encode("utf-8"))).randbytes(size)


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def multipart_etag(parts):
    """S3-style multipart ETag (hex MD5 of the concatenated binary part MD5s, `-<count>`)."""
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return '"%s-%d"' % (digest, len(parts))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------ CRC-64/ECMA-182 (XZ variant)
_CRC64_POLY = 0xC96C5795D7870F42  # reflected ECMA-182


def _crc64_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC64_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc64_table()


def crc64_ecma(data):
    """CRC-64/XZ: reflected, init and xorout all ones. Uses crcmod's C code when present."""
    try:
        import crcmod  # a dependency of oss2 / ks3sdk

        fn = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)
        return fn(data)
    except ImportError:
        crc = 0xFFFFFFFFFFFFFFFF
        table = _TABLE
        for b in data:
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
        return crc ^ 0xFFFFFFFFFFFFFFFF


assert crc64_ecma(b"123456789") == 0x995DC9BBDF1939FA, "CRC-64/XZ self-check"


# ------------------------------------------------------------------ plain HTTP client
def http_request(method, url, body=None, headers=None, timeout=120):
    """Sends exactly one request with http.client (no helper headers such as a default
    Content-Type, which would break V2-style presigned signatures). Host names resolve through
    the suite's in-process loopback resolver. Returns (status, headers dict lower-case, body)."""
    parts = urllib.parse.urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if parts.scheme == "https":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        hdrs = {"Host": parts.netloc}
        hdrs.update(headers or {})
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()
