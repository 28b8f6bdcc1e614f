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
finish
