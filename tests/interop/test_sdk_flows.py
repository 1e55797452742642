"""Every multipart flow, driven by every official SDK in every signing mode (issue 7).

Test ids are `<flow>[<server>-<adapter>]`: server "fs" (the --data server), "tls" (the --data
server with a certificate; boto3 over https) or "memory" (the --memory server, smoke subset).
A failure names the SDK operation, the request (key, upload id, part) and the response fields
the SDK exposed, followed by the server's log output during that test.
"""
import os
import re
from dataclasses import dataclass

import pytest

from adapters import ALL_ADAPTERS, Adapter
from interop_support import (
    KIB,
    MIB,
    WRONG_SECRET,
    CallFailed,
    check,
    crc64_ecma,
    describe_request,
    describe_response,
    det_bytes,
    field_mismatch,
    http_request,
    md5_hex,
    multipart_etag,
    sha256_file,
)

HIGH_LEVEL_SIZE = 24 * MIB

# One flow per SDK (and the CLI) that is also run against the --memory server.
SMOKE = {
    ("multipart", "boto3-sigv4"),
    ("high_level", "awscli"),
    ("multipart", "obs-native"),
    ("multipart", "cos-ip"),
    ("multipart", "oss2-v1"),
    ("multipart", "ossv2-v4"),
    ("multipart", "ks3-vhost"),
}

# Flows an SDK cannot perform (no API for it) are not generated, rather than skipped.
FLOW_SUPPORT = {
    "presigned_get": lambda cls: cls.can_presign_get,
    "presigned_upload_part": lambda cls: cls.can_presign_part,
}


@dataclass(frozen=True)
class Case:
    cls: type
    server: str  # "fs", "tls" or "memory"


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    flow = metafunc.function.__name__[len("test_"):]
    params = []
    for cls in ALL_ADAPTERS:
        if not FLOW_SUPPORT.get(flow, lambda c: True)(cls):
            continue
        marks = [pytest.mark.sdk(cls.sdk)]
        if cls.needs_tls:
            marks.append(pytest.mark.tls)
        smoke = (flow, cls.name) in SMOKE
        if smoke:
            marks.append(pytest.mark.smoke)
        kind = "tls" if cls.needs_tls else "fs"
        params.append(pytest.param(Case(cls, kind), id="%s-%s" % (kind, cls.name), marks=marks))
        if smoke:
            params.append(pytest.param(Case(cls, "memory"), id="memory-%s" % cls.name, marks=marks + [pytest.mark.memory]))
    metafunc.parametrize("case", params)


@pytest.fixture
def adapter(case, servers, request, tmp_path) -> Adapter:
    srv = servers.get(case.server)
    request.node._tessera_server = srv
    request.node._tessera_log_offset = srv.log_size()
    ad = case.cls(srv, workdir=str(tmp_path))
    if ad.name not in srv.buckets:
        try:
            ad.create_bucket()
        except CallFailed as e:
            if e.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        srv.buckets.add(ad.name)
    return ad


# ------------------------------------------------------------------------------ helpers
def _norm_etag(etag):
    return (etag or "").strip().strip('"').lower()


def check_etag(ad, request, field, data_or_etag, actual, response=None):
    expected = data_or_etag if isinstance(data_or_etag, str) else '"%s"' % md5_hex(data_or_etag)
    assert _norm_etag(actual) == _norm_etag(expected), field_mismatch(ad.name, request, field, expected, actual, response)


def check_bytes(ad, request, expected, actual, response=None):
    if actual == expected:
        return
    first = next((i for i, (a, b) in enumerate(zip(expected, actual)) if a != b), min(len(expected), len(actual)))
    pytest.fail(field_mismatch(ad.name, request, "body",
                               "%d bytes (md5 %s)" % (len(expected), md5_hex(expected)),
                               "%d bytes (md5 %s), first difference at offset %d" % (len(actual), md5_hex(actual), first),
                               response), pytrace=False)


def expect_error(ad, code, fn, request):
    """The SDK must report `code` (as an exception, or an error result for OBS)."""
    try:
        result = fn()
    except CallFailed as e:
        assert e.code == code, "[%s] %s: expected error code %s, the SDK reported %r\n%s" % (
            ad.name, describe_request(e.request), code, e.code, describe_response(e.info))
        return e
    pytest.fail("[%s] %s: expected the SDK to report %s, but the call succeeded (returned %r)" % (
        ad.name, describe_request(request), code, result), pytrace=False)


def make_object(ad, key, data):
    """An object made with the multipart calls only (one part, which is also the last)."""
    uid = ad.initiate(key)
    part = ad.upload_part(key, uid, 1, data)
    return ad.complete(key, uid, [(1, part.etag)])


def abort_quietly(ad, key, upload_id):
    try:
        ad.abort(key, upload_id)
    except CallFailed:
        pass


# ------------------------------------------------------------------------------ flows
def test_multipart(adapter):
    """initiate (metadata, content type, storage class, ACL, tagging); parts 3, 1, 2 at the
    dialect's minimum size, part 2 uploaded twice; ListParts paging; ListMultipartUploads with a
    prefix; Complete; GET whole and across a part boundary; HEAD; `-3` ETag; CRC-64."""
    ad = adapter
    key = "flow/obj ü+1.bin"
    decoy = "elsewhere/flow-decoy.bin"
    m = ad.min_part
    p1 = det_bytes(ad.name + "/p1", m)
    p2_first = det_bytes(ad.name + "/p2-first", m)
    p2 = det_bytes(ad.name + "/p2-second", m)
    p3 = det_bytes(ad.name + "/p3", m // 2 + 7)
    data = p1 + p2 + p3

    init_req = {"op": "initiate", "key": key}
    uid = ad.initiate(key, metadata=ad.metadata, content_type=ad.content_type, storage_class=ad.storage_class,
                      acl=ad.acl, tagging=ad.tagging if ad.can_tag else None)
    assert uid, field_mismatch(ad.name, init_req, "UploadId", "a non-empty upload id", uid)
    decoy_uid = ad.initiate(decoy)
    try:
        etags = {}
        for number, body in ((3, p3), (1, p1), (2, p2_first), (2, p2)):
            req = {"op": "UploadPart", "key": key, "upload_id": uid, "part": number, "size": len(body)}
            r = ad.upload_part(key, uid, number, body)
            check_etag(ad, req, "ETag (MD5 of the part)", body, r.etag, r.raw)
            if r.crc64 is not None or ad.dialect == "ks3":
                check(ad.name, req, "CRC-64/ECMA of the part", crc64_ecma(body), r.crc64, r.raw)
            etags[number] = r.etag
        assert _norm_etag(etags[2]) != md5_hex(p2_first), "re-uploaded part 2 kept the first upload's ETag"
        problem = ad.signing_mode_problem()
        assert not problem, "[%s] the SDK did not use the signing mode under test: %s" % (ad.name, problem)

        req = {"op": "ListParts", "key": key, "upload_id": uid, "max_parts": 2}
        page = ad.list_parts(key, uid, max_parts=2)
        check(ad.name, req, "parts (number, size)", [(1, m), (2, m)], [(n, s) for n, _, s in page.parts], page.raw)
        for n, etag, _ in page.parts:
            check_etag(ad, req, "ETag of part %d" % n, etags[n], etag, page.raw)
        if page.truncated is not None:  # ks3sdk does not expose IsTruncated / NextPartNumberMarker
            check(ad.name, req, "IsTruncated", True, page.truncated, page.raw)
            check(ad.name, req, "NextPartNumberMarker", 2, page.next_marker, page.raw)
        req = {"op": "ListParts", "key": key, "upload_id": uid, "max_parts": 2, "marker": 2}
        page = ad.list_parts(key, uid, max_parts=2, marker=2)
        check(ad.name, req, "parts (number, size)", [(3, len(p3))], [(n, s) for n, _, s in page.parts], page.raw)
        check_etag(ad, req, "ETag of part 3", etags[3], page.parts[0][1], page.raw)
        if page.truncated is not None:
            check(ad.name, req, "IsTruncated", False, page.truncated, page.raw)

        req = {"op": "ListMultipartUploads", "prefix": "flow/"}
        uploads = ad.list_uploads("flow/")
        assert (key, uid) in uploads, field_mismatch(ad.name, req, "Upload list", "contains %r" % ((key, uid),), uploads)
        assert all(k.startswith("flow/") for k, _ in uploads), field_mismatch(
            ad.name, req, "Upload list", "only keys under the prefix (not %r)" % decoy, uploads)
        ad.abort(decoy, decoy_uid)
        decoy_uid = None

        req = {"op": "CompleteMultipartUpload", "key": key, "upload_id": uid, "parts": [1, 2, 3]}
        done = ad.complete(key, uid, [(1, etags[1]), (2, etags[2]), (3, etags[3])])
        assert re.fullmatch(r'"?[0-9a-f]{32}-3"?', (done.etag or "").lower()), field_mismatch(
            ad.name, req, "ETag", '"<32 hex>-3"', done.etag, done.raw)
        check_etag(ad, req, "ETag (MD5 of the part MD5s)", multipart_etag([p1, p2, p3]), done.etag, done.raw)
        if ad.dialect in ("oss", "ks3") or done.crc64 is not None:
            check(ad.name, req, "CRC-64/ECMA of the object", crc64_ecma(data), done.crc64, done.raw)

        got = ad.get(key)
        check_bytes(ad, {"op": "GetObject", "key": key}, data, got.data, got.raw)
        first, last = m - 100, m + 99  # crosses the part 1 / part 2 boundary
        got = ad.get(key, (first, last))
        check_bytes(ad, {"op": "GetObject", "key": key, "range": "bytes=%d-%d" % (first, last)}, data[first:last + 1], got.data, got.raw)

        req = {"op": "HeadObject", "key": key}
        h = ad.head(key)
        check(ad.name, req, "metadata", ad.expected_metadata(),
              {k: v for k, v in h.metadata.items() if k in ad.expected_metadata()}, h.raw)
        check(ad.name, req, "Content-Type", ad.content_type, h.content_type, h.raw)
        check(ad.name, req, "storage class", ad.expected_storage_class, h.storage_class, h.raw)
        check(ad.name, req, "Content-Length", len(data), h.size, h.raw)
        check_etag(ad, req, "ETag (same as Complete)", done.etag, h.etag, h.raw)
        if h.crc64 is not None:
            check(ad.name, req, "CRC-64/ECMA", crc64_ecma(data), h.crc64, h.raw)
    finally:
        if decoy_uid:
            abort_quietly(ad, decoy, decoy_uid)


def test_invalid_part(adapter):
    """Complete with a wrong part ETag -> InvalidPart."""
    ad = adapter
    key = "errors/invalid-part.bin"
    uid = ad.initiate(key)
    try:
        ad.upload_part(key, uid, 1, det_bytes(ad.name + "/invalid-part", 4 * KIB))
        wrong = '"%s"' % ("0" * 32)
        req = {"op": "CompleteMultipartUpload", "key": key, "upload_id": uid, "parts": [(1, wrong)]}
        expect_error(ad, "InvalidPart", lambda: ad.complete(key, uid, [(1, wrong)]), req)
    finally:
        abort_quietly(ad, key, uid)


def test_entity_too_small(adapter):
    """Complete with a non-last part below the dialect's minimum -> EntityTooSmall."""
    ad = adapter
    key = "errors/entity-too-small.bin"
    uid = ad.initiate(key)
    try:
        e1 = ad.upload_part(key, uid, 1, det_bytes(ad.name + "/small-1", 4 * KIB)).etag
        e2 = ad.upload_part(key, uid, 2, det_bytes(ad.name + "/small-2", 4 * KIB)).etag
        req = {"op": "CompleteMultipartUpload", "key": key, "upload_id": uid, "parts": [1, 2], "part 1 size": 4 * KIB}
        expect_error(ad, "EntityTooSmall", lambda: ad.complete(key, uid, [(1, e1), (2, e2)]), req)
    finally:
        abort_quietly(ad, key, uid)


def test_no_such_upload(adapter):
    """UploadPart to an upload id the server never issued -> NoSuchUpload."""
    ad = adapter
    key = "errors/no-such-upload.bin"
    uid = "InteropUnknownUploadId0123456789abcdef"  # unreserved characters only (KS3 does not encode it)
    req = {"op": "UploadPart", "key": key, "upload_id": uid, "part": 1}
    expect_error(ad, "NoSuchUpload", lambda: ad.upload_part(key, uid, 1, det_bytes(ad.name + "/nsu", 4 * KIB)), req)


def test_abort_then_list_parts(adapter):
    """Abort, then ListParts on that upload -> NoSuchUpload."""
    ad = adapter
    key = "errors/aborted.bin"
    uid = ad.initiate(key)
    ad.upload_part(key, uid, 1, det_bytes(ad.name + "/aborted", 4 * KIB))
    ad.abort(key, uid)
    req = {"op": "ListParts", "key": key, "upload_id": uid, "after": "AbortMultipartUpload"}
    expect_error(ad, "NoSuchUpload", lambda: ad.list_parts(key, uid), req)


def test_wrong_secret(adapter):
    """The right access key with a wrong secret -> SignatureDoesNotMatch."""
    ad = adapter
    bad = ad.with_secret(WRONG_SECRET)
    key = "errors/wrong-secret.bin"
    req = {"op": "initiate", "key": key, "secret": "wrong"}
    expect_error(bad, "SignatureDoesNotMatch", lambda: bad.initiate(key), req)


def test_presigned_get(adapter):
    """The SDK's presigned GET URL, fetched with a plain HTTP client."""
    ad = adapter
    key = "presign/get me ü.bin"
    data = det_bytes(ad.name + "/presigned-get", 300 * KIB + 11)
    make_object(ad, key, data)
    url, headers = ad.presign_get(key)
    req = {"op": "GET presigned URL", "url": url}
    status, rh, body = http_request("GET", url, headers=headers)
    check(ad.name, req, "HTTP status", 200, status, {"status": status, "headers": rh, "body": body if status != 200 else None})
    check_bytes(ad, req, data, body, {"headers": rh})


def test_presigned_upload_part(adapter):
    """The SDK's presigned UploadPart URL, PUT with a plain HTTP client, then Complete and GET
    through the SDK."""
    ad = adapter
    key = "presign/part ü.bin"
    data = det_bytes(ad.name + "/presigned-part", 300 * KIB + 13)
    uid = ad.initiate(key)
    try:
        url, headers = ad.presign_upload_part(key, uid, 1)
        req = {"op": "PUT presigned UploadPart URL", "url": url, "size": len(data)}
        status, rh, body = http_request("PUT", url, body=data, headers=headers)
        check(ad.name, req, "HTTP status", 200, status, {"status": status, "headers": rh, "body": body})
        check_etag(ad, req, "ETag header", data, rh.get("etag"), {"status": status, "headers": rh})
        ad.complete(key, uid, [(1, rh.get("etag"))])
        uid = None
    finally:
        if uid:
            abort_quietly(ad, key, uid)
    got = ad.get(key)
    check_bytes(ad, {"op": "GetObject", "key": key}, data, got.data, got.raw)


def test_high_level(adapter, tmp_path):
    """The SDK's high-level upload helper on a 24 MiB file (multipart, 8 MiB parts), then the
    SDK's download helper; compared by SHA-256."""
    ad = adapter
    key = "helpers/upload 24MiB.bin"
    src, dst = str(tmp_path / "upload-src.bin"), str(tmp_path / "download-dst.bin")
    with open(src, "wb") as f:
        f.write(det_bytes(ad.name + "/high-level", HIGH_LEVEL_SIZE))
    try:
        ad.high_level_upload(src, key)
        req = {"op": "HeadObject after high-level upload", "key": key}
        h = ad.head(key)
        check(ad.name, req, "Content-Length", HIGH_LEVEL_SIZE, h.size, h.raw)
        assert re.fullmatch(r'"?[0-9a-f]{32}-\d+"?', (h.etag or "").lower()), field_mismatch(
            ad.name, req, "ETag", "a multipart ETag \"<32 hex>-<parts>\" (the helper must have used multipart)", h.etag, h.raw)
        ad.download(key, dst)
        req = {"op": "download helper", "key": key}
        check(ad.name, req, "downloaded file SHA-256", sha256_file(src), sha256_file(dst),
              {"message": "downloaded %d bytes" % os.path.getsize(dst)})
    finally:
        for path in (src, dst):  # 24 MiB each, deterministic: nothing worth keeping
            if os.path.exists(path):
                os.remove(path)
