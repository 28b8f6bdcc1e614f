#!/bin/bash
# test_evaluate_example.sh: the bundled example end to end, notebook included
. "$(dirname "$0")/lib.sh"

cp -r "$PRBOT_SOURCE_DIR/examples/iris" "$T/iris"
rm -f "$T/iris/model.pkl" "$T/iris/metrics.json" "$T/iris/model_manifest.json"
make_repo "$T/iris" "Train the iris classifier"
SHA=$(git -C "$T/iris" rev-parse HEAD)
write_conf "$T/bot.conf"

# first run: creates the mirror and the venv, executes the notebook
rc=0
"$PRBOT" run evaluate --repo "$T/iris" -c "$T/bot.conf" --json \
	>"$T/r1.json" 2>"$T/r1.err" || rc=$?
check "first run exits 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { cat "$T/r1.err"; cat "$T"/work/jobs/*/job.log || true; }
check "report says succeeded" test "$(json_get "$T/r1.json" 'r["status"]')" = succeeded
check "report has the full commit SHA" test "$(json_get "$T/r1.json" 'r["sha"]')" = "$SHA"
check "stages in order" test "$(json_get "$T/r1.json" '",".join(s["name"] for s in r["stages"])')" = \
	"checkout,setup,train,evaluate,upload,manifest"
check "venv created on the first run" grep -q created <<<"$(json_get "$T/r1.json" 'r["stages"][1]["note"]')"
NB=$(json_get "$T/r1.json" 'r["notebook"]')
check "executed notebook kept with the job" test -s "$NB"
check "executed notebook has outputs" /usr/bin/python3 -c '
import json,sys
nb=json.load(open(sys.argv[1]))
assert any(c.get("execution_count") for c in nb["cells"] if c["cell_type"]=="code")' "$NB"
check "gates passed" test "$(json_get "$T/r1.json" 'len(r["gates"]) > 0 and all(g["passed"] for g in r["gates"])')" = True
check "all five test case types ran and passed" test "$(json_get "$T/r1.json" 'sorted(set(c["type"] for c in r["test_cases"] if c["passed"]))')" = \
	"['EXACT_MATCH', 'EXCEPTION', 'GREATER_OR_EQUAL', 'LESS_OR_EQUAL', 'NO_EXCEPTION']"

ART=$(json_get "$T/r1.json" 'r["artifact"]["path"]')
MAN=$(json_get "$T/r1.json" 'r["manifest_path"]')
check "artifact stored under OWNER/REPO/SHA/FILE" test "$ART" = "$T/artifacts/local/iris/$SHA/model.pkl"
check "manifest next to the artifact" test "$MAN" = "$T/artifacts/local/iris/$SHA/model_manifest.json"
check "manifest MD5 matches md5sum" test "$(json_get "$MAN" 'r["model_md5_hash"]')" = "$(md5sum "$ART" | cut -d' ' -f1)"
check "manifest SHA-256 matches sha256sum" test "$(json_get "$MAN" 'r["model_sha256"]')" = "$(sha256sum "$ART" | cut -d' ' -f1)"
check "manifest size matches" test "$(json_get "$MAN" 'r["model_size_bytes"]')" = "$(stat -c %s "$ART")"
check "manifest has every contract key" /usr/bin/python3 -c '
import json,sys
m=json.load(open(sys.argv[1]))
keys={"model_filepath","model_md5_hash","model_origin_repo","model_origin_ref",
"model_origin_commit_SHA","model_origin_commit_msg","model_uploaded_utc",
"model_sha256","model_size_bytes","metrics","gates","version","environment","job"}
missing=keys-set(m); assert not missing, missing
assert m["model_origin_commit_SHA"]==sys.argv[2]
assert m["model_origin_ref"]=="main"
assert m["model_origin_commit_msg"].startswith("Train the iris classifier")
assert m["model_uploaded_utc"].endswith("Z")
assert "accuracy" in m["metrics"]
assert set(m["job"])>={"id","command","actor","source","prbot_version"}' "$MAN" "$SHA"
check "no temporary files left in the store" test -z "$(find "$T/artifacts" -name '.*' -o -name '*.tmp*')"

# second run of the same SHA: caches hit, same content not uploaded again
rc=0
"$PRBOT" run evaluate --repo "$T/iris" --sha "$SHA" -c "$T/bot.conf" --json \
	>"$T/r2.json" 2>"$T/r2.err" || rc=$?
check "second run exits 0" test "$rc" -eq 0
check "second run reuses the venv" grep -q reused <<<"$(json_get "$T/r2.json" 'r["stages"][1]["note"]')"
check "second run fetches the existing mirror" grep -q fetched <<<"$(json_get "$T/r2.json" 'r["stages"][0]["note"]')"
check "second upload of the same content is skipped" test "$(json_get "$T/r2.json" 'r["artifact"]["skipped"]')" = True

# verify: ok, then a tampered model is refused
check "prbot verify accepts the stored model" "$PRBOT" verify "$MAN"
cp "$ART" "$T/tampered.pkl"
printf 'x' >>"$T/tampered.pkl"
rc=0
"$PRBOT" verify "$MAN" "$T/tampered.pkl" 2>"$T/verify.err" || rc=$?
check "prbot verify exits 1 on a tampered model" test "$rc" -eq 1
check "prbot verify names the mismatching hash" grep -q 'model_md5_hash mismatch' "$T/verify.err"

# the example's predict script refuses a model that does not match its manifest
mkdir -p "$T/serve"
cp "$T/tampered.pkl" "$T/serve/model.pkl"
cp "$MAN" "$T/serve/model_manifest.json"
rc=0
echo '{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}' |
	PRBOT_MODEL="$T/serve/model.pkl" PRBOT_MANIFEST="$T/serve/model_manifest.json" \
		/usr/bin/python3 "$T/iris/src/predict.py" >/dev/null 2>&1 || rc=$?
check "predict.py refuses a model whose MD5 differs from the manifest" test "$rc" -eq 3

# the Markdown report
rc=0
"$PRBOT" run evaluate --repo "$T/iris" -c "$T/bot.conf" >"$T/r3.md" 2>&1 || rc=$?
check "markdown run exits 0" test "$rc" -eq 0
check "markdown shows the full SHA" grep -q "$SHA" "$T/r3.md"
for h in '### Stages' '### Metrics' '### Gates' '### Test cases' '### Artifact' '### Manifest'; do
	check "markdown has '$h'" grep -qF "$h" "$T/r3.md"
done
# signed manifests: [deploy] signing_key puts a .sig next to every manifest
openssl genpkey -algorithm ed25519 -out "$T/sign.pem" 2>/dev/null
openssl pkey -in "$T/sign.pem" -pubout -out "$T/sign.pub"
openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout -out "$T/other.pub"
# the base64 body of the private key: it must never show anywhere
KEY_BODY=$(sed -n 2p "$T/sign.pem")
KEYID=$(openssl pkey -pubin -in "$T/sign.pub" -outform DER | tail -c 32 | sha256sum | cut -c1-16)
write_conf "$T/signed.conf"
printf '[deploy]\nsigning_key = file:sign.pem\n' >>"$T/signed.conf"
check "check-config accepts the signing key and names its id" \
	grep -q "manifests signed with Ed25519 key $KEYID" <<<"$("$PRBOT" check-config -c "$T/signed.conf" 2>&1)"
rc=0
"$PRBOT" run evaluate --repo "$T/iris" --sha "$SHA" -c "$T/signed.conf" --json \
	>"$T/r4.json" 2>"$T/r4.err" || rc=$?
check "signed run exits 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || cat "$T/r4.err"
MAN4=$(json_get "$T/r4.json" 'r["manifest_path"]')
JOB4=$(json_get "$T/r4.json" 'r["job_dir"]')
check "signed run keeps the manifest next to the artifact" test "$MAN4" = "$MAN"
check "manifest stage names the key" grep -q "signed with key $KEYID" <<<"$(json_get "$T/r4.json" 'r["stages"][5]["note"]')"
check ".sig next to the artifact's manifest" test -s "$MAN4.sig"
check ".sig in the job folder" test -s "$JOB4/model_manifest.json.sig"
check "every manifest of the job has its .sig (workspace too)" test \
	"$(find "$JOB4" -name model_manifest.json | wc -l)" -ge 2 -a \
	"$(find "$JOB4" -name model_manifest.json | wc -l)" = "$(find "$JOB4" -name model_manifest.json.sig | wc -l)"
check ".sig is 'ed25519 KEYID BASE64' of 64 bytes" /usr/bin/python3 -c '
import base64,re,sys
t=open(sys.argv[1]).read()
m=re.fullmatch(r"ed25519 ([0-9a-f]{16}) ([A-Za-z0-9+/]{86}==)\n",t)
assert m, t
assert m.group(1)==sys.argv[2], (m.group(1), sys.argv[2])
assert len(base64.b64decode(m.group(2)))==64' "$MAN4.sig" "$KEYID"
check "openssl agrees with the signature" bash -c '
	cut -d" " -f3 "$1.sig" | base64 -d >"$2/sig.bin" &&
	openssl pkeyutl -verify -pubin -inkey "$3" -rawin -in "$1" -sigfile "$2/sig.bin" >/dev/null' \
	_ "$MAN4" "$T" "$T/sign.pub"
for m in $(find "$JOB4" -name model_manifest.json); do
	check "verify --pubkey passes on ${m#"$JOB4"/}" \
		bash -c '"$1" verify "$2" --pubkey "$3" >/dev/null' _ "$PRBOT" "$m" "$T/sign.pub"
done
rc=0
"$PRBOT" verify "$MAN4" >"$T/v_nokey.out" 2>&1 || rc=$?
check "verify without --pubkey still exits 0" test "$rc" -eq 0
check "verify without --pubkey says the .sig was not checked" grep -q "model_manifest.json.sig not checked: give --pubkey" "$T/v_nokey.out"

# a changed manifest, another key, a missing .sig: each exits 1
mkdir -p "$T/tampered"
cp "$MAN4" "$MAN4.sig" "$T/tampered/"
sed -i 's/Train the iris classifier/Train the iris classifier!/' "$T/tampered/model_manifest.json"
rc=0
"$PRBOT" verify "$T/tampered/model_manifest.json" --pubkey "$T/sign.pub" 2>"$T/v_tamper.err" || rc=$?
check "verify --pubkey exits 1 on a tampered manifest" test "$rc" -eq 1
check "... saying the signature does not match" grep -q "signature does not match: '$T/tampered/model_manifest.json.sig' is not key $KEYID's signature" "$T/v_tamper.err"
check "the tampered manifest's hashes alone still pass" \
	bash -c '"$1" verify "$2" >/dev/null' _ "$PRBOT" "$T/tampered/model_manifest.json"
rc=0
"$PRBOT" verify "$MAN4" --pubkey "$T/other.pub" 2>"$T/v_other.err" || rc=$?
check "verify --pubkey exits 1 with another public key" test "$rc" -eq 1
check "... naming both key ids" grep -q "signature does not match: '$MAN4.sig' was made with key $KEYID, but $T/other.pub is key" "$T/v_other.err"
rm "$T/tampered/model_manifest.json.sig"
cp "$MAN4" "$T/tampered/"
rc=0
"$PRBOT" verify "$T/tampered/model_manifest.json" --pubkey "$T/sign.pub" 2>"$T/v_nosig.err" || rc=$?
check "verify --pubkey exits 1 when the .sig is missing" test "$rc" -eq 1
check "... saying the manifest is not signed" grep -q "model_manifest.json.sig' does not exist, so .* is not signed" "$T/v_nosig.err"
rc=0
"$PRBOT" verify "$MAN4" --pubkey "$T/sign.pem" 2>"$T/v_priv.err" || rc=$?
check "verify --pubkey refuses a private key (exit 2)" test "$rc" -eq 2
check "... naming the file" grep -q "'$T/sign.pem' is a private key" "$T/v_priv.err"

# the key itself never leaves bot.conf's file
rc=0
"$PRBOT" run evaluate --repo "$T/iris" --sha "$SHA" -c "$T/signed.conf" >"$T/r4.md" 2>&1 || rc=$?
check "signed markdown run exits 0" test "$rc" -eq 0
for f in "$T/r4.json" "$T/r4.err" "$T/r4.md" "$T"/work/jobs/*/job.log; do
	check "the signing key is not in ${f#"$T"/}" bash -c '! grep -qF -e "$1" -e "PRIVATE KEY" "$2"' _ "$KEY_BODY" "$f"
done
check "the signing key is not in any job folder's text" bash -c '! grep -rqF -e "$1" "$2"' _ "$KEY_BODY" "$T/work/jobs"

# a public key where the private one belongs: a configuration error
write_conf "$T/badkey.conf"
printf '[deploy]\nsigning_key = file:sign.pub\n' >>"$T/badkey.conf"
rc=0
"$PRBOT" run evaluate --repo "$T/iris" --sha "$SHA" -c "$T/badkey.conf" 2>"$T/badkey.err" >/dev/null || rc=$?
check "a public signing_key is a configuration error (exit 2)" test "$rc" -eq 2
check "... named FILE:LINE" grep -q "badkey.conf:7: \[deploy\] signing_key (file:sign.pub) is a public key" "$T/badkey.err"

# an unsigned run of the same commit drops the stale .sig
rc=0
"$PRBOT" run evaluate --repo "$T/iris" --sha "$SHA" -c "$T/bot.conf" --json \
	>"$T/r5.json" 2>"$T/r5.err" || rc=$?
check "unsigned run after a signed one exits 0" test "$rc" -eq 0
check "its manifest has no stale .sig" test ! -e "$MAN.sig"
finish
