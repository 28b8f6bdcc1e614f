#!/bin/bash
# test_s3_proxy.sh: the S3 test peer (s3rver behind s3_proxy.py) is a real
# SigV4 verifier: tools independent of prbot (curl --aws-sigv4, botocore)
# get through, wrong keys, secrets, signatures, digests and clocks do not,
# and the injected faults act as many times as asked
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3_lib.sh"
trap 'stop_daemon; s3_stop; cleanup' EXIT

s3_start

# s3curl NAME [CURL-OPTION...] URL: a SigV4 request signed by curl with the
# test key (or $KEY/$SECRET); the answer's status in $T/NAME.code, its body
# in $T/NAME.body, curl's exit status in $T/NAME.rc
s3curl() {
	local name=$1 rc=0
	shift
	curl -sS --max-time 60 -o "$T/$name.body" -w '%{http_code}' \
		--aws-sigv4 "aws:amz:$S3_REGION:s3" \
		--user "${KEY:-$S3_ACCESS_KEY}:${SECRET:-$S3_SECRET_KEY}" \
		"$@" >"$T/$name.code" 2>"$T/$name.err" || rc=$?
	echo "$rc" >"$T/$name.rc"
}
code_is() { # code_is NAME CODE
	[ "$(cat "$T/$1.code")" = "$2" ] || {
		echo "  $1: HTTP $(cat "$T/$1.code"), not $2: $(head -c 600 "$T/$1.body" 2>/dev/null)"
		return 1
	}
}
s3_code_is() { # s3_code_is NAME HTTP-CODE S3-CODE
	code_is "$1" "$2" || return 1
	grep -q "<Code>$3</Code>" "$T/$1.body" || {
		echo "  $1: $(head -c 600 "$T/$1.body")"
		return 1
	}
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
b64md5() { openssl dgst -md5 -binary "$1" | base64; }
UNSIGNED=(-H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
O=$S3_URL/$S3_BUCKET

# ---- what a good client sends goes through, byte for byte ----
head -c 100000 /dev/urandom >"$T/small.bin"
s3curl put -T "$T/small.bin" -H "x-amz-content-sha256: $(sha "$T/small.bin")" \
	-H "x-amz-meta-prbot-sha256: $(sha "$T/small.bin")" \
	-H "Content-MD5: $(b64md5 "$T/small.bin")" "$O/runs/1/model.bin"
check "curl PUT through the proxy: 200" code_is put 200
s3curl get "${UNSIGNED[@]}" -D "$T/get.headers" "$O/runs/1/model.bin"
check "curl GET through the proxy: 200" code_is get 200
check "the object round-trips byte for byte" cmp -s "$T/small.bin" "$T/get.body"
check "x-amz-meta-* comes back" \
	grep -qi "^x-amz-meta-prbot-sha256: $(sha "$T/small.bin")" "$T/get.headers"
curl -s -o "$T/direct.bin" "$S3_UPSTREAM/$S3_BUCKET/runs/1/model.bin"
check "s3rver holds the same bytes" cmp -s "$T/small.bin" "$T/direct.bin"
s3curl head -I "${UNSIGNED[@]}" "$O/runs/1/model.bin"
check "HEAD: 200 with the metadata" \
	grep -qi '^x-amz-meta-prbot-sha256:' "$T/head.body"
s3curl list "${UNSIGNED[@]}" "$O?list-type=2&prefix=runs%2F"
check "listing with a query: 200 and the key" \
	grep -q '<Key>runs/1/model.bin</Key>' "$T/list.body"
check "0 bad signatures so far" test "$(s3_bad_signatures)" = 0
check "the log records the metadata and the digest check" test \
	"$(s3_log '[e["headers"].get("x-amz-meta-prbot-sha256") is not None and e["body_check"] for e in L if e["method"] == "PUT"]')" = "['ok']"

# the path is read as S3 reads it: decoded, then encoded once as SigV4 wants
s3curl encoded "${UNSIGNED[@]}" "$O/runs/1/model%2Ebin"
check "a path signed with a needless escape (%2E): SignatureDoesNotMatch" \
	s3_code_is encoded 403 SignatureDoesNotMatch
check "the log shows the canonical path" test \
	"$(s3_log 'L[-1]["canonical_path"]')" = /models/runs/1/model.bin
s3curl rawsign "${UNSIGNED[@]}" -T "$T/small.bin" "$O/runs/1/a=b.bin"
check "a key signed unescaped ('=' not %3D): SignatureDoesNotMatch" \
	s3_code_is rawsign 403 SignatureDoesNotMatch
s3_reset

# virtual-hosted style: the bucket in the Host, signed as sent
port=${S3_URL##*:}
for host in "$S3_BUCKET.s3.localhost" "$S3_BUCKET.localhost"; do
	s3curl vhost --resolve "$host:$port:127.0.0.1" "${UNSIGNED[@]}" \
		"http://$host:$port/runs/1/model.bin"
	check "virtual-hosted GET via $host" cmp -s "$T/small.bin" "$T/vhost.body"
done
check "virtual-hosted requests were rewritten to path style" test \
	"$(s3_log '[e["upstream_path"] for e in L if e["bucket"]]')" = \
	"['/models/runs/1/model.bin', '/models/runs/1/model.bin']"

# ---- what a bad client sends is refused as S3 refuses it ----
SECRET=not-the-secret s3curl badsecret "${UNSIGNED[@]}" "$O/runs/1/model.bin"
check "wrong secret: 403 SignatureDoesNotMatch" \
	s3_code_is badsecret 403 SignatureDoesNotMatch
check "the mismatch shows the canonical request" \
	grep -q '<CanonicalRequest>GET' "$T/badsecret.body"
check "the log counts 1 bad signature" test "$(s3_bad_signatures)" = 1
check "the log says why" test \
	"$(s3_log '[e["signature"] for e in L if e["status"] == 403]')" = "['mismatch']"
KEY=AKIDSOMEONEELSE00000 s3curl badkey "${UNSIGNED[@]}" "$O/runs/1/model.bin"
check "unknown key: 403 InvalidAccessKeyId" \
	s3_code_is badkey 403 InvalidAccessKeyId
curl -s -o "$T/anon.body" -w '%{http_code}' "$O/runs/1/model.bin" >"$T/anon.code"
check "no Authorization: 403 AccessDenied" s3_code_is anon 403 AccessDenied
curl -s -o "$T/malformed.body" -w '%{http_code}' \
	-H 'Authorization: AWS4-HMAC-SHA256 Credential=x' \
	"$O/runs/1/model.bin" >"$T/malformed.code"
check "malformed Authorization: 400 AuthorizationHeaderMalformed" \
	s3_code_is malformed 400 AuthorizationHeaderMalformed
s3curl noheader "$O/runs/1/model.bin"
check "no x-amz-content-sha256: 400 InvalidRequest" \
	s3_code_is noheader 400 InvalidRequest
s3curl region "${UNSIGNED[@]}" --aws-sigv4 "aws:amz:eu-west-1:s3" \
	"$O/runs/1/model.bin"
check "another region: 400 AuthorizationHeaderMalformed" \
	s3_code_is region 400 AuthorizationHeaderMalformed
check "every refusal is in the log" test \
	"$(s3_log 'sorted(set(e["signature"] for e in L) - {"ok"})')" = \
	"['malformed', 'mismatch', 'missing', 'unknown-key']"

# digests: a bad body is refused before anything is stored
echo "not what was hashed" >"$T/other.txt"
s3curl badsha -T "$T/other.txt" -H "x-amz-content-sha256: $(sha "$T/small.bin")" \
	"$O/runs/2/a.txt"
check "wrong x-amz-content-sha256: 400 XAmzContentSHA256Mismatch" \
	s3_code_is badsha 400 XAmzContentSHA256Mismatch
s3curl badmd5 -T "$T/other.txt" "${UNSIGNED[@]}" \
	-H "Content-MD5: $(b64md5 "$T/small.bin")" "$O/runs/2/b.txt"
check "wrong Content-MD5: 400 BadDigest" s3_code_is badmd5 400 BadDigest
s3curl badck -T "$T/other.txt" "${UNSIGNED[@]}" \
	-H "x-amz-checksum-sha256: $(openssl dgst -sha256 -binary "$T/small.bin" | base64)" \
	"$O/runs/2/c.txt"
check "wrong x-amz-checksum-sha256: 400 BadDigest" s3_code_is badck 400 BadDigest
check "none of them reached s3rver" test "$(curl -s -o /dev/null -w '%{http_code}' \
	"$S3_UPSTREAM/$S3_BUCKET/runs/2/a.txt")" = 404
check "digest failures are not signature failures" test \
	"$(s3_log '[e["signature"] for e in L if e["body_check"] and "mismatch" in e["body_check"]]')" = \
	"['ok', 'ok', 'ok']"
s3curl chunked -T - "${UNSIGNED[@]}" "$O/runs/2/d.txt" <"$T/other.txt"
check "a chunked request body: 501 NotImplemented" \
	s3_code_is chunked 501 NotImplemented

# ---- presigned URLs from botocore ----
presign() { # presign METHOD KEY [EXPIRES]
	$PY - "$S3_URL" "$S3_BUCKET" "$1" "$2" "${3:-300}" <<'PYEOF'
import os, sys
import botocore.session
from botocore.config import Config
url, bucket, method, key, expires = sys.argv[1:]
s3 = botocore.session.get_session().create_client(
    "s3", endpoint_url=url, region_name=os.environ["S3_REGION"],
    aws_access_key_id=os.environ["S3_ACCESS_KEY"],
    aws_secret_access_key=os.environ["S3_SECRET_KEY"],
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
op = {"GET": "get_object", "PUT": "put_object"}[method]
print(s3.generate_presigned_url(op, Params={"Bucket": bucket, "Key": key},
                                ExpiresIn=int(expires)))
PYEOF
}
s3_reset
url=$(presign GET runs/1/model.bin)
curl -s -o "$T/presigned.bin" -w '%{http_code}' "$url" >"$T/presigned.code"
check "botocore's presigned GET: 200" code_is presigned 200
check "and the same bytes" cmp -s "$T/small.bin" "$T/presigned.bin"
check "0 bad signatures for it" test "$(s3_bad_signatures)" = 0
curl -s -o "$T/tampered.body" -w '%{http_code}' \
	"${url/model.bin/other.bin}" >"$T/tampered.code"
check "a tampered presigned URL: 403 SignatureDoesNotMatch" \
	s3_code_is tampered 403 SignatureDoesNotMatch
url=$(presign PUT runs/3/presigned.txt)
curl -s -o "$T/preput.body" -w '%{http_code}' -T "$T/other.txt" "$url" \
	>"$T/preput.code"
check "botocore's presigned PUT: 200" code_is preput 200

# ---- botocore as a client: put with metadata and checksum, multipart ----
s3_reset
$PY - "$S3_URL" "$S3_BUCKET" >"$T/boto.out" 2>"$T/boto.err" <<'PYEOF'
import base64, hashlib, os, sys
import botocore.session
from botocore.config import Config
url, bucket = sys.argv[1:]
s3 = botocore.session.get_session().create_client(
    "s3", endpoint_url=url, region_name=os.environ["S3_REGION"],
    aws_access_key_id=os.environ["S3_ACCESS_KEY"],
    aws_secret_access_key=os.environ["S3_SECRET_KEY"],
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                  retries={"max_attempts": 1}))
body = os.urandom(3000)
s3.put_object(Bucket=bucket, Key="boto/one", Body=body,
              Metadata={"sha256": hashlib.sha256(body).hexdigest()},
              ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode())
head = s3.head_object(Bucket=bucket, Key="boto/one")
assert head["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest(), head
parts = [os.urandom(5 << 20), os.urandom(1000)]
up = s3.create_multipart_upload(Bucket=bucket, Key="boto/multi")
done = []
for n, p in enumerate(parts, 1):
    r = s3.upload_part(Bucket=bucket, Key="boto/multi", PartNumber=n,
                       UploadId=up["UploadId"], Body=p)
    done.append({"PartNumber": n, "ETag": r["ETag"]})
r = s3.complete_multipart_upload(Bucket=bucket, Key="boto/multi",
                                 UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": done})
got = s3.get_object(Bucket=bucket, Key="boto/multi")["Body"].read()
assert got == b"".join(parts), "multipart object differs"
odd = "boto/run=7/a b+c(1)&é.bin"
s3.put_object(Bucket=bucket, Key=odd, Body=b"odd")
assert s3.get_object(Bucket=bucket, Key=odd)["Body"].read() == b"odd"
up = s3.create_multipart_upload(Bucket=bucket, Key="boto/aborted")
s3.upload_part(Bucket=bucket, Key="boto/aborted", PartNumber=1,
               UploadId=up["UploadId"], Body=b"part")
s3.abort_multipart_upload(Bucket=bucket, Key="boto/aborted",
                          UploadId=up["UploadId"])
print("multipart etag", r["ETag"])
PYEOF
check "botocore: put, head, multipart upload through the proxy" \
	test -s "$T/boto.out" || cat "$T/boto.err"
check "0 bad signatures from botocore" test "$(s3_bad_signatures)" = 0
check "AbortMultipartUpload: answered by the proxy" test \
	"$(s3_log '[e["status"] for e in L if e["emulated"]]')" = "[204]"
check "botocore's signed payloads were checked" test \
	"$(s3_log 'sum(1 for e in L if e["body_check"] == "ok")')" -ge 3

# ---- faults ----
s3_reset
s3_fault '{"action": "error", "method": "GET", "path": "/runs/1/", "count": 2}'
for i in 1 2 3; do s3curl fault$i "${UNSIGNED[@]}" "$O/runs/1/model.bin"; done
check "error fault: 1st 500 InternalError" s3_code_is fault1 500 InternalError
check "error fault: 2nd 500 InternalError" s3_code_is fault2 500 InternalError
check "error fault: then 200" code_is fault3 200
check "error fault fired exactly 2 times" test \
	"$(s3_log 'sum(1 for e in L if e["fault"] == "error")')" = 2
check "no fault left queued" test "$(curl -s "$S3_URL/__proxy/faults")" = "[]"

s3_fault '{"action": "slowdown", "query": "partNumber=2"}'
s3curl nomatch "${UNSIGNED[@]}" "$O/runs/1/model.bin?partNumber=1"
s3curl slow "${UNSIGNED[@]}" "$O/runs/1/model.bin?partNumber=2"
check "slowdown fault: only the matching query" code_is nomatch 200
check "slowdown fault: 503 SlowDown" s3_code_is slow 503 SlowDown

s3_fault '{"action": "skew", "seconds": 3600}'
s3curl skew "${UNSIGNED[@]}" "$O/runs/1/model.bin"
check "skew fault: 403 RequestTimeTooSkewed" \
	s3_code_is skew 403 RequestTimeTooSkewed
check "a skewed clock is not a bad signature" test "$(s3_bad_signatures)" = 0

s3_fault '{"action": "drop", "method": "PUT", "after_bytes": 1000}'
s3curl drop -T "$T/small.bin" "${UNSIGNED[@]}" "$O/runs/4/dropped.bin"
check "drop fault: the connection closes without an answer" \
	grep -qxE '52|55|56' "$T/drop.rc"
check "drop fault: nothing stored" test "$(curl -s -o /dev/null \
	-w '%{http_code}' "$S3_UPSTREAM/$S3_BUCKET/runs/4/dropped.bin")" = 404

s3_fault '{"action": "truncate", "method": "GET", "after_bytes": 500}'
s3curl cut "${UNSIGNED[@]}" "$O/runs/1/model.bin"
check "truncate fault: the download stops short" \
	test "$(cat "$T/cut.rc")" != 0 -a "$(stat -c %s "$T/cut.body")" = 500

s3_fault '{"action": "drop_response", "method": "PUT"}'
s3curl lost -T "$T/other.txt" "${UNSIGNED[@]}" "$O/runs/4/lost.txt"
check "drop_response fault: no answer, but the object is stored" \
	grep -qxE '52|56' "$T/lost.rc" && test "$(curl -s -o /dev/null \
	-w '%{http_code}' "$S3_UPSTREAM/$S3_BUCKET/runs/4/lost.txt")" = 200

s3_fault '{"action": "delay", "seconds": 1}'
start=$(date +%s%N)
s3curl delay "${UNSIGNED[@]}" "$O/runs/1/model.bin"
check "delay fault: answered after the delay" test \
	$(($(date +%s%N) - start)) -ge 1000000000 -a "$(cat "$T/delay.code")" = 200

# ---- large bodies stream: memory stays small ----
s3_reset
head -c $((64 << 20)) /dev/urandom >"$T/big.bin"
hwm0=$(awk '/^VmHWM/ {print $2}' "/proc/$S3_PROXY_PID/status")
s3curl bigput -T "$T/big.bin" "${UNSIGNED[@]}" "$O/big/unsigned.bin"
check "64 MiB streamed PUT: 200" code_is bigput 200
s3curl bigput2 -T "$T/big.bin" -H "x-amz-content-sha256: $(sha "$T/big.bin")" \
	"$O/big/signed.bin"
check "64 MiB PUT with its SHA-256 checked (spooled): 200" code_is bigput2 200
s3curl bigget "${UNSIGNED[@]}" "$O/big/signed.bin"
check "64 MiB GET: the same bytes" cmp -s "$T/big.bin" "$T/bigget.body"
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$S3_PROXY_PID/status")
check "the proxy's peak RSS grows by under 32 MiB (${hwm0} -> ${hwm} kB)" \
	test $((hwm - hwm0)) -lt 32768
check "0 bad signatures for the large bodies" test "$(s3_bad_signatures)" = 0

# keep-alive: two requests on one connection
curl -sS -v -o /dev/null -o /dev/null --aws-sigv4 "aws:amz:$S3_REGION:s3" \
	--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" "${UNSIGNED[@]}" \
	"$O/runs/1/model.bin" "$O/runs/1/model.bin" 2>"$T/keepalive.err" || true
check "keep-alive: the second request reuses the connection" \
	grep -q 'Re-using existing connection' "$T/keepalive.err"

finish
