#!/usr/bin/python3
"""s3_proxy.py: a verifying HTTP/1.1 proxy in front of s3rver, for tests.

    s3_proxy.py --upstream http://127.0.0.1:PORT --access-key KEY
                --secret-key SECRET [--session-token TOKEN]
                [--region us-east-1] [--service s3] [--port 0]
                [--spool-dir DIR] [--max-seconds N]

Listens on 127.0.0.1 (--port, 0 for any), prints its port as the first line
on stdout, and serves until its standard input closes or --max-seconds pass
(see serverutil.py). Python's standard library and botocore only.

Every request is authenticated as S3 does it before it goes upstream: the
AWS Signature Version 4 is recomputed with botocore's own signer from what
arrived (method, the path and the query decoded and encoded again as SigV4
wants it, once, "/" kept, nothing else normalized: that is how S3 reads
them, so a client that signs "%3D" but sends "=" passes, and one that signs
"=" fails; the log's "canonical_path" shows a path not sent in that form),
the headers named in SignedHeaders with their values as received, and the
x-amz-content-sha256 value as the payload hash; UNSIGNED-PAYLOAD for a
presigned URL) and compared. What fails is answered as S3 answers, with its
XML error body:
    403 AccessDenied                 no Authorization header and no
                                     X-Amz-Signature query; x-amz-* headers
                                     that are not signed; host not signed;
                                     a presigned URL past X-Amz-Expires
    400 AuthorizationHeaderMalformed an Authorization header that does not
                                     parse, a credential scope with another
                                     region or service, or whose date is not
                                     X-Amz-Date's
    403 InvalidAccessKeyId           an access key other than --access-key
    400 InvalidToken                 --session-token given and
                                     x-amz-security-token missing or other
    403 SignatureDoesNotMatch        the signature differs (the body carries
                                     the CanonicalRequest and StringToSign the
                                     proxy computed, as S3 does)
    403 RequestTimeTooSkewed         X-Amz-Date over 15 minutes from the
                                     proxy's clock
    400 InvalidRequest               header auth without x-amz-content-sha256
    501 NotImplemented               a request body sent with
                                     Transfer-Encoding (S3 wants
                                     Content-Length), or aws-chunked
                                     STREAMING-* payloads
Then the body's digests:
    400 XAmzContentSHA256Mismatch    x-amz-content-sha256 is a hex digest
                                     that is not the body's SHA-256
    400 BadDigest                    Content-MD5 or x-amz-checksum-sha256
                                     (base64) is not the body's
    400 IncompleteBody               fewer bytes than Content-Length came
s3rver itself checks none of these, so the proxy does, and it does so before
anything goes upstream: a body that has a digest to check is spooled while
it is hashed (in memory up to 8 MiB, then in a temporary file under
--spool-dir), checked, and only then forwarded; a bad body is never stored,
as with S3. A body without any digest (UNSIGNED-PAYLOAD, no Content-MD5, no
x-amz-checksum-sha256) streams straight through. Memory stays bounded for
bodies of any size (1 MiB buffers). "Expect: 100-continue" is answered only
once the request passed authentication, so a rejected client never sends its
body.

s3rver 3.7.1 has no AbortMultipartUpload (it answers 405): the proxy answers
DELETE /BUCKET/KEY?uploadId=ID itself, 204 as S3 does, without going
upstream (the log says "emulated"; the parts stay in s3rver's folder).

Upstream, the request goes path-style, without its authentication
(Authorization header, X-Amz-* query parameters of a presigned URL): s3rver
serves anonymous requests and would not accept these credentials anyway.
Responses stream back (Content-Length kept; bodies of unknown length are
re-chunked); connections to the client are kept alive.

Host forms (the signature is checked over the Host as sent; port optional):
    path style:    127.0.0.1, any IP literal, localhost, s3.localhost,
                   s3.amazonaws.com, s3.REGION.amazonaws.com
    virtual host:  BUCKET.localhost, BUCKET.s3.localhost,
                   BUCKET.s3.amazonaws.com, BUCKET.s3.REGION.amazonaws.com
                   (curl --connect-to / CURLOPT_RESOLVE send them to
                   127.0.0.1; the bucket becomes the first path segment)

Control endpoints under /__proxy/ (JSON; never authenticated nor logged):
    GET  /__proxy/log     the requests seen, oldest first: [{"id", "time",
                          "method", "path" (as sent), "query", "host",
                          "bucket", "upstream_path", "auth" ("header",
                          "query" or "none"), "access_key", "signature"
                          ("ok", "mismatch", "unknown-key", "missing",
                          "malformed", "unsigned-headers", "bad-token",
                          "expired"), "time_check" ("ok", "skewed" or
                          null), "body_check" ("ok", "unchecked",
                          "sha256-mismatch", "md5-mismatch",
                          "checksum-sha256-mismatch", "incomplete" or null),
                          "headers" (x-amz-meta-*, content-length,
                          content-md5, content-type, x-amz-content-sha256,
                          x-amz-checksum-sha256, x-amz-date, expect, range,
                          x-amz-security-token as "present"), "bytes_in",
                          "bytes_out", "fault", "status", "error" (S3 code),
                          "emulated" (what the proxy answered itself),
                          "canonical_path" (when the path as sent is not),
                          "canonical_request" (on a mismatch)}]
    POST /__proxy/reset   forget faults and log
    POST /__proxy/fault   queue a fault, or a list of them:
        {"action": "error"     answer 500 InternalError (or "status" and
                               "code" given), body read and dropped
                   "slowdown"  answer 503 SlowDown
                   "drop"      read "after_bytes" of the body (default: half
                               its Content-Length), then close the
                               connection without an answer
                   "truncate"  forward; send the answer's headers and
                               "after_bytes" (default half) of its body,
                               then close
                   "drop_response"  forward, then close without answering
                   "corrupt_etag"  forward; the answer's <ETag> (in its XML
                               body, as CompleteMultipartUpload gives it)
                               is replaced by one that matches nothing
                               (the object is stored)
                   "skew"      the proxy's clock is "seconds" off for the
                               request (RequestTimeTooSkewed when over 900)
                   "delay"     wait "seconds", then go on as usual,
         "method": "PUT", "path": "/models/x", "query": "partNumber=2"
                               (all optional: method exact, path and query
                               substrings of what was sent),
         "count": 1}           how many matching requests it acts on
    GET  /__proxy/faults  the faults still queued
    GET  /__proxy/health  "ok"
A request takes the first queued fault it matches, whatever its
authentication; a fault with "count" 0 left goes.
"""
import argparse
import base64
import binascii
import datetime
import hashlib
import http.client
import http.server
import ipaddress
import json
import os
import re
import socket
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverutil  # noqa: E402

BUF = 1 << 20
SPOOL_MEMORY = 8 << 20
MAX_SKEW = 15 * 60
SIGV4_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te",
              "trailer", "transfer-encoding", "upgrade", "expect"}
AUTH_QUERY = {"x-amz-algorithm", "x-amz-credential", "x-amz-date",
              "x-amz-expires", "x-amz-signedheaders", "x-amz-signature",
              "x-amz-security-token"}
LOGGED_HEADERS = ("content-length", "content-md5", "content-type",
                  "x-amz-content-sha256", "x-amz-checksum-sha256",
                  "x-amz-date", "expect", "range")
HOST_PATH_STYLE = re.compile(
    r"^(?:localhost|s3\.localhost|s3\.amazonaws\.com"
    r"|s3\.[a-z0-9-]+\.amazonaws\.com)$")
HOST_VIRTUAL = re.compile(
    r"^(?P<bucket>[a-z0-9][a-z0-9.-]*?)\.(?:s3\.localhost|localhost"
    r"|s3\.amazonaws\.com|s3\.[a-z0-9-]+\.amazonaws\.com)$")


class S3Error(Exception):
    """An answer in S3's error format: STATUS, CODE, MESSAGE and extra
    elements for the XML body."""

    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.extra = extra


class Config:
    """What the proxy knows: credentials, upstream, faults and the log."""

    def __init__(self, args):
        self.access_key = args.access_key
        self.secret_key = args.secret_key
        self.token = args.session_token
        self.region = args.region
        self.service = args.service
        up = urllib.parse.urlsplit(args.upstream)
        self.upstream = (up.hostname, up.port or 80)
        self.spool_dir = args.spool_dir
        self.lock = threading.Lock()
        self.faults = []
        self.log = []
        self.next_id = 1

    def take_fault(self, method, path, query):
        with self.lock:
            for f in self.faults:
                if f.get("method") and f["method"].upper() != method:
                    continue
                if f.get("path") and f["path"] not in path:
                    continue
                if f.get("query") and f["query"] not in query:
                    continue
                f["count"] = f.get("count", 1) - 1
                if f["count"] <= 0:
                    self.faults.remove(f)
                return dict(f)
        return None

    def record(self, entry):
        with self.lock:
            entry["id"] = self.next_id
            self.next_id += 1
            self.log.append(entry)


def hosted_bucket(host):
    """(bucket or None) for HOST (port stripped), or raise S3Error when the
    Host is none of the accepted forms."""
    name = host.lower()
    if name.startswith("["):
        name = name.split("]")[0] + "]"
    elif name.count(":") == 1:
        name = name.split(":")[0]
    try:
        ipaddress.ip_address(name.strip("[]"))
        return None
    except ValueError:
        pass
    if HOST_PATH_STYLE.match(name):
        return None
    m = HOST_VIRTUAL.match(name)
    if m:
        return m.group("bucket")
    raise S3Error(400, "InvalidArgument",
                  "Host %r is none of the forms this proxy accepts" % host)


def canonical_path(raw):
    """RAW decoded and encoded once more, as S3 canonicalizes it."""
    return urllib.parse.quote(urllib.parse.unquote_to_bytes(raw), safe="/~")


def split_query(query):
    """[(name, value)] of a raw query string, each decoded once (S3 takes
    '+' as itself, not a space); a name without '=' has value ''."""
    pairs = []
    for item in query.split("&") if query else []:
        name, _, value = item.partition("=")
        pairs.append((urllib.parse.unquote(name), urllib.parse.unquote(value)))
    return pairs


class ExactHeaders:
    """Mixin: sign exactly the headers the client named in SignedHeaders
    (botocore would leave out some, such as user-agent and expect)."""

    def headers_to_sign(self, request):
        signed = HTTPHeaders()
        for name in request.context["signed_headers"]:
            for value in request.context["received"].get_all(name) or []:
                signed[name] = value
        return signed


class HeaderVerifier(ExactHeaders, S3SigV4Auth):
    pass


class QueryVerifier(ExactHeaders, S3SigV4QueryAuth):
    pass


def expected_signature(cfg, verifier_class, method, raw_path, pairs,
                       received, signed_headers, amz_date, region, service,
                       payload_hash):
    """(signature, canonical request, string to sign) botocore computes for
    the request as received."""
    creds = Credentials(cfg.access_key, cfg.secret_key, cfg.token)
    signer = verifier_class(creds, service, region)
    headers = {}
    if payload_hash is not None:
        headers["X-Amz-Content-SHA256"] = payload_hash
    req = AWSRequest(method=method, url="http://proxy" + canonical_path(raw_path),
                     headers=headers, params=pairs)
    req.context["timestamp"] = amz_date
    req.context["signed_headers"] = signed_headers
    req.context["received"] = received
    canonical = signer.canonical_request(req)
    sts = signer.string_to_sign(req, canonical)
    return signer.signature(sts, req), canonical, sts


def parse_authorization(value):
    """(access key, date, region, service, signed header list, signature)
    from an AWS4-HMAC-SHA256 Authorization header, or raise S3Error."""
    bad = S3Error(400, "AuthorizationHeaderMalformed",
                  "The authorization header is malformed; it must be "
                  "'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., "
                  "Signature=...'")
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise bad
    fields = {}
    for part in rest.split(","):
        name, eq, val = part.strip().partition("=")
        if not eq or name in fields:
            raise bad
        fields[name] = val
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        raise bad
    return parse_credential(fields["Credential"], bad) + (
        fields["SignedHeaders"].split(";"), fields["Signature"])


def parse_credential(value, bad):
    scope = value.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise bad
    return tuple(scope[:4])


def parse_amz_date(value):
    try:
        return datetime.datetime.strptime(value, SIGV4_FORMAT).replace(
            tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "s3_proxy"
    cfg = None  # set in main

    def log_message(self, format, *args):
        pass

    def handle_expect_100(self):
        # answered in authenticate's caller, once the request is accepted
        self.continue_pending = True
        return True

    def do_any(self):
        self.continue_pending = getattr(self, "continue_pending", False)
        raw = self.path
        if raw.startswith("/__proxy/"):
            return self.control(raw)
        path, _, query = raw.partition("?")
        entry = {"time": time.time(), "method": self.command, "path": path,
                 "query": query, "host": self.headers.get("Host", ""),
                 "bucket": None, "upstream_path": None, "auth": "none",
                 "access_key": None, "signature": None, "time_check": None,
                 "body_check": None, "headers": self.logged_headers(),
                 "bytes_in": 0, "bytes_out": 0, "fault": None,
                 "status": None, "error": None, "emulated": None}
        self.entry = entry
        self.body_read = False
        try:
            self.proxy(path, query, entry)
        except S3Error as e:
            self.send_s3_error(e)
        except (ConnectionError, socket.timeout, BrokenPipeError) as e:
            entry["error"] = entry["error"] or "connection: %s" % e
            self.close_connection = True
        except Exception as e:  # a bug here: in the log, not a hang
            entry["error"] = "s3_proxy failed: %r" % e
            traceback.print_exc()
            self.close_connection = True
        finally:
            self.cfg.record(entry)
            self.continue_pending = False

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_any

    def logged_headers(self):
        out = {}
        for name, value in self.headers.items():
            low = name.lower()
            if low.startswith("x-amz-meta-") or low in LOGGED_HEADERS:
                out[low] = value
            elif low == "x-amz-security-token":
                out[low] = "present"
        return out

    # ---- the request's way through ----
    def proxy(self, path, query, entry):
        cfg = self.cfg
        fault = cfg.take_fault(self.command, path, query)
        if fault:
            entry["fault"] = fault.get("action")
            if fault.get("action") == "delay":
                time.sleep(float(fault.get("seconds", 1)))
        skew = float(fault.get("seconds", 0)) if fault and \
            fault.get("action") == "skew" else 0.0

        self.authenticate(path, split_query(query), skew, entry)
        if "transfer-encoding" in self.headers:
            raise S3Error(501, "NotImplemented",
                          "A header you provided implies functionality "
                          "that is not implemented", Header="Transfer-Encoding")
        bucket = hosted_bucket(self.headers.get("Host", ""))
        entry["bucket"] = bucket

        length = self.content_length()
        action = fault.get("action") if fault else None
        if action in ("error", "slowdown"):
            self.send_continue()
            self.drain(length)
            if action == "slowdown":
                raise S3Error(503, "SlowDown", "Please reduce your request "
                              "rate. (injected by s3_proxy)")
            raise S3Error(int(fault.get("status", 500)),
                          fault.get("code", "InternalError"),
                          "We encountered an internal error. Please try "
                          "again. (injected by s3_proxy)")
        if action == "drop":
            self.send_continue()
            after = int(fault.get("after_bytes", length // 2))
            self.drain(min(after, length))
            self.abort_connection("dropped by fault after %d bytes" % after)
            return

        upstream_path = path if bucket is None else "/" + bucket + (
            path if path != "/" else "")
        upstream_query = "&".join(
            item for item in query.split("&")
            if item and urllib.parse.unquote(item.partition("=")[0]).lower()
            not in AUTH_QUERY) if entry["auth"] == "query" else query
        entry["upstream_path"] = upstream_path
        target = upstream_path + ("?" + upstream_query if upstream_query
                                  else "")
        body = self.take_body(length, entry)
        if self.command == "DELETE" and "uploadId" in dict(split_query(query)):
            return self.emulate_abort(body, entry)
        self.forward(target, length, body, fault, entry)

    def content_length(self):
        value = self.headers.get("Content-Length")
        if value is None:
            return 0
        if not value.isdigit():
            raise S3Error(400, "InvalidArgument",
                          "Content-Length is not a number")
        return int(value)

    def authenticate(self, path, pairs, skew, entry):
        """Check the request's SigV4 (header or query) or raise S3Error;
        the verdict goes in ENTRY."""
        cfg = self.cfg
        authz = self.headers.get("Authorization")
        qnames = {name.lower(): value for name, value in pairs}
        if authz is not None and "x-amz-signature" in qnames:
            entry["signature"] = "malformed"
            raise S3Error(400, "InvalidArgument",
                          "Only one auth mechanism allowed")
        if authz is not None:
            entry["auth"] = "header"
            try:
                key, date, region, service, signed, sig = \
                    parse_authorization(authz)
            except S3Error:
                entry["signature"] = "malformed"
                raise
            amz_date = self.headers.get("X-Amz-Date")
            payload = self.headers.get("X-Amz-Content-SHA256")
            verifier = HeaderVerifier
            expires = None
        elif "x-amz-signature" in qnames or "x-amz-algorithm" in qnames:
            entry["auth"] = "query"
            bad = S3Error(400, "AuthorizationQueryParametersError",
                          "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, "
                          "X-Amz-Expires, X-Amz-SignedHeaders and "
                          "X-Amz-Signature are all needed; X-Amz-Expires "
                          "at most 604800 (a week)")
            q = {name: value for name, value in pairs}
            need = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                    "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature")
            if any(n not in q for n in need) or \
                    q["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256" or \
                    not q["X-Amz-Expires"].isdigit() or \
                    int(q["X-Amz-Expires"]) > 7 * 24 * 3600:
                entry["signature"] = "malformed"
                raise bad
            try:
                key, date, region, service = parse_credential(
                    q["X-Amz-Credential"], bad)
            except S3Error:
                entry["signature"] = "malformed"
                raise
            signed = q["X-Amz-SignedHeaders"].split(";")
            sig = q["X-Amz-Signature"]
            amz_date = q["X-Amz-Date"]
            payload = None
            verifier = QueryVerifier
            expires = int(q["X-Amz-Expires"])
            pairs = [(n, v) for n, v in pairs if n != "X-Amz-Signature"]
        else:
            entry["signature"] = "missing"
            raise S3Error(403, "AccessDenied", "Access Denied")
        entry["access_key"] = key

        if key != cfg.access_key:
            entry["signature"] = "unknown-key"
            raise S3Error(403, "InvalidAccessKeyId",
                          "The AWS Access Key Id you provided does not "
                          "exist in our records.", AWSAccessKeyId=key)
        when = parse_amz_date(amz_date)
        if when is None:
            entry["signature"] = "malformed"
            raise S3Error(403, "AccessDenied", "AWS authentication requires "
                          "a valid Date or x-amz-date header")
        if region != cfg.region or service != cfg.service or \
                date != amz_date[:8]:
            entry["signature"] = "malformed"
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          "The credential scope %s/%s/%s is wrong; "
                          "expecting %s/%s/%s" % (date, region, service,
                                                  amz_date[:8], cfg.region,
                                                  cfg.service),
                          Region=cfg.region)
        if entry["auth"] == "header" and payload is None:
            entry["signature"] = "malformed"
            raise S3Error(400, "InvalidRequest", "Missing required header "
                          "for this request: x-amz-content-sha256")
        self.check_signed_headers(signed, entry)
        if canonical_path(path) != path:
            entry["canonical_path"] = canonical_path(path)
        if cfg.token is not None:
            token = self.headers.get("X-Amz-Security-Token") \
                if entry["auth"] == "header" \
                else dict(pairs).get("X-Amz-Security-Token")
            if token != cfg.token:
                entry["signature"] = "bad-token"
                raise S3Error(400, "InvalidToken", "The provided token is "
                              "malformed or otherwise invalid.")

        want, canonical, sts = expected_signature(
            cfg, verifier, self.command, path, pairs, self.headers, signed,
            amz_date, region, service, payload)
        if want != sig:
            entry["signature"] = "mismatch"
            entry["canonical_request"] = canonical
            raise S3Error(403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not "
                          "match the signature you provided. Check your key "
                          "and signing method.", AWSAccessKeyId=key,
                          StringToSign=sts, SignatureProvided=sig,
                          CanonicalRequest=canonical)
        entry["signature"] = "ok"

        now = time.time() + skew
        entry["time_check"] = "ok"
        if abs(when.timestamp() - now) > MAX_SKEW and (
                expires is None or when.timestamp() - now > MAX_SKEW):
            entry["time_check"] = "skewed"
            raise S3Error(403, "RequestTimeTooSkewed",
                          "The difference between the request time and the "
                          "current time is too large.",
                          RequestTime=amz_date,
                          ServerTime=time.strftime(SIGV4_FORMAT,
                                                   time.gmtime(now)),
                          MaxAllowedSkewMilliseconds=str(MAX_SKEW * 1000))
        if expires is not None and now > when.timestamp() + expires:
            entry["signature"] = "expired"
            raise S3Error(403, "AccessDenied", "Request has expired",
                          X_Amz_Expires=str(expires))

    def check_signed_headers(self, signed, entry):
        names = {name.lower() for name in self.headers.keys()}
        unsigned = sorted(n for n in names
                          if n.startswith("x-amz-") and n not in signed)
        if entry["auth"] == "query":
            unsigned = [n for n in unsigned if n != "x-amz-content-sha256"]
        if "host" not in signed or unsigned or signed != sorted(signed) or \
                any(n not in names for n in signed):
            entry["signature"] = "unsigned-headers"
            raise S3Error(403, "AccessDenied",
                          "There were headers present in the request which "
                          "were not signed (or SignedHeaders is not sorted, "
                          "lacks host, or names a header not sent)",
                          HeadersNotSigned=", ".join(unsigned))

    # ---- bodies ----
    def send_continue(self):
        if self.continue_pending:
            self.send_response_only(100)
            self.end_headers()
            self.continue_pending = False

    def read_some(self, left):
        data = self.rfile.read1(min(BUF, left)) if hasattr(
            self.rfile, "read1") else self.rfile.read(min(BUF, left))
        if not data:
            raise ConnectionError("client closed with %d body bytes to come"
                                  % left)
        self.entry["bytes_in"] += len(data)
        return data

    def drain(self, n):
        while n > 0:
            n -= len(self.read_some(n))
        self.body_read = True

    def take_body(self, length, entry):
        """The body to forward: None (stream it from the client) or a
        spooled, checked file; raise S3Error when a digest is wrong."""
        payload = self.headers.get("X-Amz-Content-SHA256", "")
        if payload.startswith("STREAMING-"):
            raise S3Error(501, "NotImplemented", "aws-chunked payloads "
                          "(%s) are not implemented here" % payload)
        sha = payload.lower() if re.fullmatch(r"[0-9a-fA-F]{64}", payload) \
            else None
        md5 = self.headers.get("Content-MD5")
        checksum = self.headers.get("X-Amz-Checksum-SHA256")
        if sha is None and md5 is None and checksum is None:
            entry["body_check"] = "unchecked" if length else None
            return None
        self.send_continue()
        spool = tempfile.SpooledTemporaryFile(SPOOL_MEMORY,
                                              dir=self.cfg.spool_dir)
        h_sha, h_md5 = hashlib.sha256(), hashlib.md5()
        left = length
        try:
            while left > 0:
                data = self.read_some(left)
                left -= len(data)
                h_sha.update(data)
                h_md5.update(data)
                spool.write(data)
        except ConnectionError:
            spool.close()
            entry["body_check"] = "incomplete"
            raise
        self.body_read = True
        spool.seek(0)
        got_sha = h_sha.hexdigest()
        if sha is not None and sha != got_sha:
            spool.close()
            entry["body_check"] = "sha256-mismatch"
            raise S3Error(400, "XAmzContentSHA256Mismatch",
                          "The provided 'x-amz-content-sha256' header does "
                          "not match what was computed.",
                          ClientComputedContentSHA256=sha,
                          S3ComputedContentSHA256=got_sha)
        if md5 is not None and md5 != base64.b64encode(
                h_md5.digest()).decode():
            spool.close()
            entry["body_check"] = "md5-mismatch"
            try:
                base64.b64decode(md5, validate=True)
            except binascii.Error:
                raise S3Error(400, "InvalidDigest", "The Content-MD5 you "
                              "specified was invalid.")
            raise S3Error(400, "BadDigest", "The Content-MD5 you specified "
                          "did not match what we received.")
        if checksum is not None and checksum != base64.b64encode(
                h_sha.digest()).decode():
            spool.close()
            entry["body_check"] = "checksum-sha256-mismatch"
            raise S3Error(400, "BadDigest", "The SHA256 you specified did "
                          "not match the calculated checksum.")
        entry["body_check"] = "ok"
        return spool

    # ---- upstream ----
    def forward(self, target, length, body, fault, entry):
        conn = http.client.HTTPConnection(*self.cfg.upstream, timeout=600)
        try:
            conn.connect()
        except OSError as e:
            raise S3Error(503, "ServiceUnavailable",
                          "s3rver does not answer: %s" % e)
        try:
            conn.putrequest(self.command, target, skip_host=True,
                            skip_accept_encoding=True)
            conn.putheader("Host", "%s:%d" % self.cfg.upstream)
            for name, value in self.headers.items():
                low = name.lower()
                if low in HOP_BY_HOP or low in ("host", "authorization",
                                                "content-length"):
                    continue
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(length))
            conn.endheaders()
            if body is not None:
                with body:
                    for data in iter(lambda: body.read(BUF), b""):
                        conn.send(data)
            else:
                self.send_continue()
                left = length
                while left > 0:
                    data = self.read_some(left)
                    left -= len(data)
                    conn.send(data)
                self.body_read = True
            resp = conn.getresponse()
            action = fault.get("action") if fault else None
            if action == "drop_response":
                resp.read()
                self.abort_connection("answer dropped by fault")
                entry["status"] = resp.status
                return
            if action == "corrupt_etag":
                return self.relay_corrupt_etag(resp, entry)
            self.relay(resp, fault, entry)
        except OSError as e:
            if not entry.get("error"):
                entry["error"] = "upstream: %s" % e
            raise
        finally:
            conn.close()

    def emulate_abort(self, body, entry):
        if body is None:
            self.drain(self.content_length())
        else:
            body.close()
        entry["emulated"] = "AbortMultipartUpload"
        entry["status"] = 204
        self.send_response(204)
        self.send_header("x-amz-request-id", "PROXY-%d" % self.cfg.next_id)
        self.end_headers()

    def relay_corrupt_etag(self, resp, entry):
        """Send upstream's (small, XML) answer on with a wrong <ETag>."""
        data = re.sub(rb"<ETag>[^<]*</ETag>",
                      b"<ETag>&quot;00000000000000000000000000000000-1"
                      b"&quot;</ETag>", resp.read())
        entry["status"] = resp.status
        self.send_response(resp.status, resp.reason)
        for name, value in resp.getheaders():
            low = name.lower()
            if low in HOP_BY_HOP or low in ("date", "server",
                                            "content-length"):
                continue
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        entry["bytes_out"] = len(data)

    def relay(self, resp, fault, entry):
        """Send upstream's answer RESP on, its body streamed."""
        entry["status"] = resp.status
        if resp.status >= 300:
            entry["error"] = "upstream %d" % resp.status
        self.send_response(resp.status, resp.reason)
        length = resp.getheader("Content-Length")
        for name, value in resp.getheaders():
            low = name.lower()
            if low in HOP_BY_HOP or low in ("date", "server"):
                continue
            self.send_header(name, value)
        no_body = self.command == "HEAD" or resp.status in (204, 304) or \
            100 <= resp.status < 200
        chunked = length is None and not no_body
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if no_body:
            return
        cut = None
        if fault and fault.get("action") == "truncate":
            cut = int(fault.get("after_bytes", int(length or 0) // 2))
        sent = 0
        while True:
            data = resp.read1(BUF) if hasattr(resp, "read1") else \
                resp.read(BUF)
            if not data:
                break
            if cut is not None and sent + len(data) >= cut:
                self.wfile.write(data[:cut - sent])
                entry["bytes_out"] = cut
                self.abort_connection("answer cut by fault after %d bytes"
                                      % cut)
                return
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
            sent += len(data)
            entry["bytes_out"] = sent
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        if cut is not None:
            self.abort_connection("answer cut by fault at its end")

    def abort_connection(self, why):
        self.entry["error"] = why
        self.wfile.flush()
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    # ---- answers ----
    def send_s3_error(self, err):
        entry = self.entry
        entry["status"], entry["error"] = err.status, err.code
        extra = "".join("<%s>%s</%s>" % (k.replace("_", "-"), xml_escape(v),
                                         k.replace("_", "-"))
                        for k, v in err.extra.items())
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s'
                '</Code><Message>%s</Message>%s<Resource>%s</Resource>'
                '<RequestId>PROXY-%d</RequestId></Error>' % (
                    err.code, xml_escape(err.message), extra,
                    xml_escape(self.path.partition("?")[0]),
                    self.cfg.next_id)).encode()
        length = self.headers.get("Content-Length", "0")
        unread = not self.body_read and length.isdigit() and int(length) > 0
        if unread and not self.continue_pending and int(length) <= BUF * 16:
            try:
                self.drain(int(length))
                unread = False
            except ConnectionError:
                self.close_connection = True
                return
        self.send_response(err.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("x-amz-request-id", "PROXY-%d" % self.cfg.next_id)
        if unread:  # the client may still send a body we will not read
            self.send_header("Connection", "close")
            self.close_connection = True
        if self.command == "HEAD":
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status, obj):
        body = json.dumps(obj, indent=1).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def control(self, raw):
        cfg = self.cfg
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        what = raw.split("?")[0]
        if self.command == "GET" and what == "/__proxy/log":
            with cfg.lock:
                return self.send_json(200, list(cfg.log))
        if self.command == "GET" and what == "/__proxy/faults":
            with cfg.lock:
                return self.send_json(200, list(cfg.faults))
        if self.command == "GET" and what == "/__proxy/health":
            return self.send_json(200, "ok")
        if self.command == "POST" and what == "/__proxy/reset":
            with cfg.lock:
                cfg.faults.clear()
                cfg.log.clear()
            return self.send_json(200, "reset")
        if self.command == "POST" and what == "/__proxy/fault":
            try:
                faults = json.loads(data or b"null")
                if isinstance(faults, dict):
                    faults = [faults]
                ok = isinstance(faults, list) and all(
                    isinstance(f, dict) and f.get("action") in (
                        "error", "slowdown", "drop", "truncate",
                        "drop_response", "corrupt_etag", "skew",
                        "delay") for f in faults)
            except ValueError:
                ok = False
            if not ok:
                return self.send_json(400, {"error": "want a fault object "
                                            "or a list of them, each with "
                                            "a known action"})
            with cfg.lock:
                cfg.faults.extend(faults)
            return self.send_json(200, faults)
        return self.send_json(404, {"error": "no such control endpoint"})


def xml_escape(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(
        ">", "&gt;")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True,
                    help="s3rver's URL, http://127.0.0.1:PORT")
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret-key", required=True)
    ap.add_argument("--session-token")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--service", default="s3")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--spool-dir", default=None,
                    help="where bodies over 8 MiB wait for their digest "
                    "check (default: the system's temporary folder)")
    serverutil.add_max_seconds(ap)
    args = ap.parse_args()
    Handler.cfg = Config(args)
    server = serverutil.Server(("127.0.0.1", args.port), Handler)
    serverutil.serve(server, args.max_seconds)


if __name__ == "__main__":
    main()
