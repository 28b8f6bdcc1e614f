#!/bin/bash
# test_s3_store.sh: the s3:// artifact store against a real S3 server
# (s3rver) behind a proxy that checks every signature with botocore's signer
# (s3_lib.sh): single PUT, multipart in parallel, idempotence, head, get,
# per-part retries and aborts, the errors a user meets, virtual-hosted
# addressing, and 'prbot run' + 'prbot verify' with an s3:// store.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3_lib.sh"
: "${STORETOOL:?STORETOOL must point at tests/storetool (ctest sets it)}"

trap 's3_stop; cleanup' EXIT
s3_start models

export STORE_ENDPOINT=$S3_URL STORE_ACCESS_KEY=$S3_ACCESS_KEY \
	STORE_SECRET_KEY=$S3_SECRET_KEY STORE_RETRIES=2
URL=s3://models/prbot
ST=$STORETOOL

# st NAME OP ARGS...: storetool, stdout to $T/NAME.out, stderr to
# $T/NAME.err, exit code to $T/NAME.rc
st() {
	local name=$1 rc=0
	shift
	"$ST" "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	echo "$rc" >"$T/$name.rc"
}
rc_is() { test "$(cat "$T/$1.rc")" = "$2"; }
field() { cut -d' ' -f"$2" "$T/$1.out"; }
upstream_is() { # upstream_is KEY FILE: s3rver holds exactly FILE at KEY
	curl -sf "$S3_UPSTREAM/models/$1" -o "$T/upstream.bin" &&
		cmp -s "$T/upstream.bin" "$2"
}
log_count() { s3_log "sum(1 for e in L if $1)"; }
no_secret_in() { ! grep -qF -- "$S3_SECRET_KEY" "$@"; }
# forget the proxy's log and faults, counting its bad signatures first
BAD=0
reset() {
	BAD=$((BAD + $(s3_bad_signatures)))
	s3_reset
}

# ---- single PUT ----
head -c 3000000 /dev/urandom >"$T/small.bin"
st put1 put "$URL" o/r/sha1/small.bin "$T/small.bin"
check "single PUT: stored" rc_is put1 0
[ "$(cat "$T/put1.rc")" = 0 ] || cat "$T/put1.err"
check "single PUT: MD5 is md5sum's" \
	test "$(field put1 4)" = "$(md5sum <"$T/small.bin" | cut -d' ' -f1)"
check "single PUT: SHA-256 is sha256sum's" \
	test "$(field put1 5)" = "$(sha256sum <"$T/small.bin" | cut -d' ' -f1)"
check "single PUT: one request, no parts" test "$(field put1 2)" = 0
check "single PUT: the URL is s3://BUCKET/PREFIX/KEY" \
	test "$(field put1 6)" = "$URL/o/r/sha1/small.bin"
check "single PUT: the server holds the same bytes" \
	upstream_is prbot/o/r/sha1/small.bin "$T/small.bin"
check "single PUT: Content-MD5, x-amz-checksum-sha256 and the SHA-256 as metadata" \
	test "$(s3_log "[e for e in L if e['method'] == 'PUT' and e['path'].endswith('small.bin')][0]['headers'].get('x-amz-meta-sha256') == '$(field put1 5)' and all(h in [e for e in L if e['method'] == 'PUT' and e['path'].endswith('small.bin')][0]['headers'] for h in ('content-md5', 'x-amz-checksum-sha256'))")" = True
check "single PUT: the proxy checked the body's digests" \
	test "$(log_count "e['method'] == 'PUT' and e['path'].endswith('small.bin') and e['body_check'] == 'ok'")" -ge 1

# ---- the same content again: not sent ----
reset
st put2 put "$URL" o/r/sha1/small.bin "$T/small.bin"
check "same content: succeeds" rc_is put2 0
check "same content: skipped" test "$(field put2 3)" = 1
check "same content: the same digest" test "$(field put2 5)" = "$(field put1 5)"
check "same content: no object PUT" \
	test "$(log_count "e['method'] == 'PUT' and e['path'].endswith('small.bin')")" = 0

# ---- head and get ----
st head1 head "$URL" o/r/sha1/small.bin
check "head: size and SHA-256" \
	test "$(cut -d' ' -f1,2 "$T/head1.out")" = "3000000 $(field put1 5)"
st head2 head "$URL" o/r/sha1/none.bin
check "head: a missing key is not found (exit 3)" rc_is head2 3
st get1 get "$URL" o/r/sha1/small.bin "$T/got.bin"
check "get: to a file, same bytes" cmp -s "$T/got.bin" "$T/small.bin"
check "get: hashes of what came" test "$(field get1 3)" = "$(field put1 5)"
st get2 get "$URL" o/r/sha1/small.bin
check "get: into the hashes only" test "$(field get2 2)" = "$(field put1 4)"

# ---- multipart: 5 parts of 5 MiB, 3 in flight ----
head -c $((23 * 1024 * 1024)) /dev/urandom >"$T/big.bin"
export STORE_THRESHOLD_MIB=5 STORE_PART_MIB=5 STORE_PARALLEL=3
reset
st mp1 put "$URL" o/r/sha2/big.bin "$T/big.bin"
check "multipart: stored" rc_is mp1 0
[ "$(cat "$T/mp1.rc")" = 0 ] || cat "$T/mp1.err"
check "multipart: 5 parts" test "$(field mp1 2)" = 5
check "multipart: MD5 and SHA-256 of the whole file" \
	test "$(field mp1 4) $(field mp1 5)" = \
	"$(md5sum <"$T/big.bin" | cut -d' ' -f1) $(sha256sum <"$T/big.bin" | cut -d' ' -f1)"
check "multipart: the server holds the same bytes" \
	upstream_is prbot/o/r/sha2/big.bin "$T/big.bin"
check "multipart: 5 part uploads, each with its Content-MD5 checked" \
	test "$(log_count "e['method'] == 'PUT' and 'partNumber=' in e['query'] and e['status'] == 200 and 'content-md5' in e['headers']")" = 5
st mp1h head "$URL" o/r/sha2/big.bin
check "multipart: head finds its SHA-256" \
	test "$(cut -d' ' -f2 "$T/mp1h.out")" = "$(field mp1 5)"
st mp2 put "$URL" o/r/sha2/big.bin "$T/big.bin"
check "multipart: the same content again is skipped" test "$(field mp2 3)" = 1

# ---- a part that fails twice is retried ----
reset
s3_fault '{"action": "error", "method": "PUT", "query": "partNumber=3", "count": 2}'
st mp3 put "$URL" o/r/sha3/big.bin "$T/big.bin"
check "part retried: stored" rc_is mp3 0
check "part retried: part 3 sent 3 times" \
	test "$(log_count "e['method'] == 'PUT' and 'partNumber=3&' in e['query'] + '&'")" = 3
check "part retried: the server holds the same bytes" \
	upstream_is prbot/o/r/sha3/big.bin "$T/big.bin"

# ---- a dropped connection mid-part is retried ----
reset
s3_fault '{"action": "drop", "method": "PUT", "query": "partNumber=2", "count": 1}'
st mp4 put "$URL" o/r/sha4/big.bin "$T/big.bin"
check "connection dropped mid-part: stored" rc_is mp4 0
check "connection dropped mid-part: the server holds the same bytes" \
	upstream_is prbot/o/r/sha4/big.bin "$T/big.bin"

# ---- a part that always fails: the upload is aborted ----
reset
s3_fault '{"action": "error", "method": "PUT", "query": "partNumber=4", "count": 10}'
st mp5 put "$URL" o/r/sha5/big.bin "$T/big.bin"
check "part fails every retry: exit 1" rc_is mp5 1
check "part fails every retry: the error names the part and the status" \
	grep -q "part 4.*500" "$T/mp5.err"
check "part fails every retry: the upload is aborted" \
	test "$(log_count "e['method'] == 'DELETE' and 'uploadId=' in e['query']")" = 1
check "part fails every retry: nothing at the key" \
	sh -c "! curl -sf -o /dev/null '$S3_UPSTREAM/models/prbot/o/r/sha5/big.bin'"
reset

# ---- the completed object's ETag is not what the parts make ----
s3_fault '{"action": "corrupt_etag", "method": "POST", "query": "uploadId=", "count": 1}'
st mp6 put "$URL" o/r/sha7/big.bin "$T/big.bin"
check "wrong ETag at completion: exit 1" rc_is mp6 1
check "wrong ETag at completion: says the object is not what was read" \
	grep -q "ETag '00000000000000000000000000000000-1' is not .*not what was read" "$T/mp6.err"
check "wrong ETag at completion: the object is removed" \
	sh -c "! curl -sf -o /dev/null '$S3_UPSTREAM/models/prbot/o/r/sha7/big.bin'"
reset

# ---- the model changes size while it is read ----
head -c $((12 * 1024 * 1024)) /dev/urandom >"$T/grow.bin"
s3_fault '{"action": "delay", "seconds": 3, "method": "PUT", "query": "partNumber=1", "count": 1}'
(sleep 1 && head -c 4096 /dev/urandom >>"$T/grow.bin") &
GROWER=$!
STORE_PARALLEL=1 st grow put "$URL" o/r/sha6/grow.bin "$T/grow.bin"
wait "$GROWER"
check "model grows mid-upload: exit 1" rc_is grow 1
check "model grows mid-upload: says so" grep -q "changed while it was read" "$T/grow.err"
check "model grows mid-upload: aborted, nothing at the key" \
	sh -c "! curl -sf -o /dev/null '$S3_UPSTREAM/models/prbot/o/r/sha6/grow.bin'"
unset STORE_THRESHOLD_MIB STORE_PART_MIB STORE_PARALLEL
reset

# ---- errors a user meets ----
STORE_SECRET_KEY=wrong-secret-0000000000 st bad1 put "$URL" o/r/e/small.bin "$T/small.bin"
check "wrong secret: exit 1" rc_is bad1 1
check "wrong secret: SignatureDoesNotMatch, check secret_key" \
	grep -q "SignatureDoesNotMatch.*secret_key" "$T/bad1.err"
STORE_ACCESS_KEY=AKIDUNKNOWN000000000 st bad2 put "$URL" o/r/e/small.bin "$T/small.bin"
check "unknown access key: InvalidAccessKeyId, check access_key" \
	grep -q "InvalidAccessKeyId.*access_key" "$T/bad2.err"
st bad3 put s3://nobucket/x o/r/e/small.bin "$T/small.bin"
check "missing bucket: NoSuchBucket, create it" \
	grep -q "bucket 'nobucket' does not exist.*create it" "$T/bad3.err"
STORE_ENDPOINT=http://127.0.0.1:$(freeport) STORE_RETRIES=1 \
	st bad4 put "$URL" o/r/e/small.bin "$T/small.bin"
check "unreachable store: exit 1, cannot reach" grep -q "cannot reach the store" "$T/bad4.err"
s3_fault '{"action": "skew", "seconds": 3600, "count": 5}'
st bad5 put "$URL" o/r/e/small.bin "$T/small.bin"
check "clock skew: RequestTimeTooSkewed, sync the clock" \
	grep -q "RequestTimeTooSkewed.*clock" "$T/bad5.err"
s3_reset
s3_fault '{"action": "error", "method": "PUT", "count": 10}'
st bad6 put "$URL" o/r/e/small.bin "$T/small.bin"
check "500 on every try of a single PUT: exit 1 naming the status" \
	grep -q "500" "$T/bad6.err"
check "500 on every try: 1 + 2 retries" \
	test "$(log_count "e['method'] == 'PUT'")" = 3
check "no error message holds the secret key" no_secret_in "$T"/*.err
s3_reset

# ---- credentials from the AWS_* variables, or none at all ----
env -u STORE_ACCESS_KEY -u STORE_SECRET_KEY AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY" \
	AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY" "$ST" head "$URL" o/r/sha1/small.bin \
	>"$T/envc.out" 2>"$T/envc.err" && rc=0 || rc=$?
check "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: signed with them" test "$rc" = 0
env -u STORE_ACCESS_KEY -u STORE_SECRET_KEY -u AWS_ACCESS_KEY_ID \
	-u AWS_SECRET_ACCESS_KEY "$ST" head "$URL" o/r/sha1/small.bin \
	>"$T/noc.out" 2>"$T/noc.err" && rc=0 || rc=$?
check "no credentials: exit 1 naming both ways to give them" \
	sh -c "test $rc = 1 && grep -q 'access_key.*AWS_ACCESS_KEY_ID' '$T/noc.err'"
[ "$rc" = 1 ] || cat "$T/noc.err"

# ---- virtual-hosted style: BUCKET.s3.localhost ----
PORT=${S3_URL##*:}
STORE_ENDPOINT=http://s3.localhost:$PORT STORE_PATH_STYLE=0 \
	st vh put "$URL" o/r/vh/small.bin "$T/small.bin"
check "virtual-hosted: stored" rc_is vh 0
[ "$(cat "$T/vh.rc")" = 0 ] || cat "$T/vh.err"
check "virtual-hosted: sent to models.s3.localhost" \
	test "$(log_count "e['method'] == 'PUT' and e['host'].startswith('models.s3.localhost')")" -ge 1
check "virtual-hosted: the server holds the same bytes" \
	upstream_is prbot/o/r/vh/small.bin "$T/small.bin"

# ---- prbot run and prbot verify with an s3:// store ----
mkdir "$T/repo"
cp "$PRBOT_SOURCE_DIR/tests/data/e2e/prbot.yml" "$T/repo/.prbot.yml"
cp "$PRBOT_SOURCE_DIR/tests/data/e2e/train.py" "$T/repo/train.py"
make_repo "$T/repo" "Tiny model"
SHA=$(git -C "$T/repo" rev-parse HEAD)
cat >"$T/bot.conf" <<CONF
[server]
workdir = $T/work
state = $T/prbot.db
[store]
url = s3://models/ml
endpoint = $S3_URL
access_key = env:S3_ACCESS_KEY
secret_key = env:S3_SECRET_KEY
CONF
env -u STORE_ENDPOINT -u STORE_ACCESS_KEY -u STORE_SECRET_KEY \
	"$PRBOT" run evaluate --repo "$T/repo" -c "$T/bot.conf" --json \
	>"$T/run.json" 2>"$T/run.err" && rc=0 || rc=$?
check "run with an s3:// store: exit 0" test "$rc" = 0
[ "$rc" = 0 ] || cat "$T/run.err"
MAN=$(json_get "$T/run.json" 'r["manifest_path"]')
check "run: model_filepath is the s3:// URL" \
	test "$(json_get "$MAN" 'r["model_filepath"]')" = "s3://models/ml/local/repo/$SHA/model.pkl"
check "run: the manifest is stored next to the model" \
	curl -sf -o /dev/null "$S3_UPSTREAM/models/ml/local/repo/$SHA/model_manifest.json"
check "verify: reads the model from the store" \
	"$PRBOT" verify "$MAN" -c "$T/bot.conf"
check "verify: without bot.conf, the store comes from AWS_ENDPOINT_URL and AWS_*" \
	sh -c 'cd "$1" && env -u STORE_ENDPOINT AWS_ENDPOINT_URL="$2" \
		AWS_ACCESS_KEY_ID="$3" AWS_SECRET_ACCESS_KEY="$4" \
		"$5" verify "$6" >/dev/null' _ "$T/work" "$S3_URL" "$S3_ACCESS_KEY" \
	"$S3_SECRET_KEY" "$PRBOT" "$MAN"
curl -sf -X PUT --data-binary "tampered" \
	"$S3_UPSTREAM/models/ml/local/repo/$SHA/model.pkl" >/dev/null
"$PRBOT" verify "$MAN" -c "$T/bot.conf" 2>"$T/verify.err" && rc=0 || rc=$?
check "verify: a replaced model in the store exits 1" test "$rc" = 1
check "verify: names the mismatching hash" grep -q "model_md5_hash mismatch" "$T/verify.err"
check "run and verify: the secret key is in no output" \
	no_secret_in "$T/run.json" "$T/run.err" "$T/verify.err" "$T"/work/jobs/*/job.log

# every request except the deliberate bad ones was signed right
check "every signature prbot sent was right (botocore agrees)" \
	test "$((BAD + $(s3_bad_signatures)))" = 0

finish
