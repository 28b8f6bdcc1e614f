#!/bin/bash
# test_bad_input.sh: every bad input gives one clear error, the right exit
# code, and no artifact or manifest
. "$(dirname "$0")/lib.sh"

write_conf "$T/bot.conf"

# a tiny repository: train.py writes model.pkl and metrics.json
base_repo() { # base_repo DIR
	mkdir -p "$1"
	cat >"$1/train.py" <<'PY'
import json
open("model.pkl", "wb").write(b"model-bytes")
json.dump({"accuracy": 0.95}, open("metrics.json", "w"))
PY
	cat >"$1/predict.py" <<'PY'
import json, sys
x = json.load(sys.stdin)
print(json.dumps({"label": "a" if x.get("v", 0) < 1 else "b"}))
PY
	cat >"$1/TEST_CASES.json" <<'JSON'
[{"case_name": "small", "input": {"v": 0}, "expected_output": "a",
  "type": "EXACT_MATCH", "tree": ["label"]}]
JSON
	cat >"$1/.prbot.yml" <<'YML'
train:
  command: python3 train.py
  timeout: 60s
model: model.pkl
metrics: metrics.json
evaluate:
  predict: python3 predict.py
  test_cases: TEST_CASES.json
  gates: { accuracy: ">= 0.90" }
YML
}

# expect NAME EXIT-CODE PATTERN [prbot run args...]: run, check code and stderr
expect() {
	local name=$1 want=$2 pattern=$3 rc=0
	shift 3
	"$PRBOT" run evaluate -c "$T/bot.conf" "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	check "$name: exit $want" test "$rc" -eq "$want"
	check "$name: stderr says '$pattern'" grep -qF -- "$pattern" "$T/$name.err"
	check "$name: error is one line" test "$(wc -l <"$T/$name.err")" -eq 1
	check "$name: no artifact or manifest written" test -z "$(find "$T/artifacts" -type f 2>/dev/null)"
	[ "$rc" -eq "$want" ] || cat "$T/$name.err"
}

# a variant of the base repository changed by a shell snippet run inside it
variant() { # variant NAME SNIPPET
	rm -rf "$T/$1"
	base_repo "$T/$1"
	(cd "$T/$1" && eval "$2")
	make_repo "$T/$1"
}

variant good ':'
rm -rf "$T/artifacts"
rc=0
"$PRBOT" run evaluate -c "$T/bot.conf" --repo "$T/good" >/dev/null 2>"$T/good.err" || rc=$?
check "the base repository passes" test "$rc" -eq 0
[ "$rc" -eq 0 ] || cat "$T/good.err"
rm -rf "$T/artifacts"

variant no_config 'rm .prbot.yml'
expect no_config 2 ".prbot.yml: not found" --repo "$T/no_config"

variant yaml_syntax 'printf "train:\n  command: [oops\nmodel: m\n" > .prbot.yml'
expect yaml_syntax 2 ".prbot.yml:" --repo "$T/yaml_syntax"

variant no_metrics 'sed -i "/json.dump/d" train.py'
expect no_metrics 1 "metrics file 'metrics.json' not found" --repo "$T/no_metrics"

variant bad_metrics 'sed -i "s/{\"accuracy\": 0.95}/{\"accuracy\": \"high\"}/" train.py'
expect bad_metrics 1 "metrics.json" --repo "$T/bad_metrics"

variant metrics_list 'sed -i "s/{\"accuracy\": 0.95}/[0.95]/" train.py'
expect metrics_list 1 "metrics.json" --repo "$T/metrics_list"

variant no_model 'sed -i "/model.pkl/d" train.py'
expect no_model 1 "model file 'model.pkl' not found after training" --repo "$T/no_model"

variant gate_fails 'sed -i "s/0.95/0.5/" train.py'
expect gate_fails 1 "1 of 1 gates failed: accuracy is 0.5, needs >= 0.90" --repo "$T/gate_fails"

variant train_timeout 'sed -i "s/timeout: 60s/timeout: 1s/; s/command: python3 train.py/command: sleep 30/" .prbot.yml'
expect train_timeout 1 "timed out after 1s" --repo "$T/train_timeout"

variant train_fails 'echo "raise SystemExit(\"no data found\")" >> train.py'
expect train_fails 1 "no data found" --repo "$T/train_fails"

variant bad_cases 'echo "{\"case_name\": \"x\"}" > TEST_CASES.json'
expect bad_cases 1 "TEST_CASES.json" --repo "$T/bad_cases"

variant predict_crash 'echo "raise RuntimeError(\"boom\")" > predict.py'
expect predict_crash 1 "1 of 1 test cases failed: case 'small': predict exited with status 1: RuntimeError: boom" --repo "$T/predict_crash"
check "predict_crash: report names the crash" grep -q "boom" "$T/predict_crash.out"

variant predict_text 'echo "print(\"hello\")" > predict.py'
expect predict_text 1 "1 of 1 test cases failed: case 'small'" --repo "$T/predict_text"
check "predict_text: report says the output is not JSON" grep -qi "not JSON" "$T/predict_text.out"

variant notebook_raises '
cat > nb.ipynb <<NB
{"cells": [{"cell_type": "code", "execution_count": null, "id": "c1",
  "metadata": {}, "outputs": [], "source": ["raise ValueError(\"bad cell\")"]}],
 "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
  "name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
NB
sed -i "s/command: python3 train.py/notebook: nb.ipynb/" .prbot.yml'
expect notebook_raises 1 "notebook 'nb.ipynb' failed" --repo "$T/notebook_raises"
check "notebook_raises: error shows the exception" grep -q "bad cell" "$T/notebook_raises.err"

expect unknown_sha 1 "commit 'deadbeefdeadbeef' not found" --repo "$T/good" --sha deadbeefdeadbeef
expect unknown_ref 1 "ref 'no-such-branch' not found" --repo "$T/good" --ref no-such-branch
expect no_repo 1 "repository '$T/does-not-exist' not found" --repo "$T/does-not-exist"

# configuration problems are exit 2 and name FILE:LINE
printf '[server]\nworkers = many\n' >"$T/bad.conf"
rc=0
"$PRBOT" run evaluate -c "$T/bad.conf" --repo "$T/good" >/dev/null 2>"$T/badconf.err" || rc=$?
check "bad bot.conf: exit 2" test "$rc" -eq 2
check "bad bot.conf: names FILE:LINE" grep -qF "$T/bad.conf:2:" "$T/badconf.err"
rc=0
"$PRBOT" check-config -c "$T/bad.conf" >/dev/null 2>&1 || rc=$?
check "check-config on a bad file: exit 2" test "$rc" -eq 2
check "check-config on a good file: exit 0" "$PRBOT" check-config -c "$T/bot.conf"
rc=0
"$PRBOT" run evaluate --repo "$T/good" --bogus >/dev/null 2>&1 || rc=$?
check "unknown option: exit 2" test "$rc" -eq 2
rc=0
"$PRBOT" run frobnicate --repo "$T/good" >/dev/null 2>&1 || rc=$?
check "unknown command: exit 2" test "$rc" -eq 2

# secrets: not in the child's environment, masked in the job log
export PRBOT_IT_TOKEN="ghp_$(printf 'A%.0s' $(seq 36))"
cat >>"$T/bot.conf" <<CONF
[github]
token = env:PRBOT_IT_TOKEN
CONF
variant secrets 'sed -i "s/command: python3 train.py/command: env > child-env.txt; echo token=\$PRBOT_IT_TOKEN; echo leaked ghp_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB; python3 train.py/" .prbot.yml'
rc=0
"$PRBOT" run evaluate -c "$T/bot.conf" --repo "$T/secrets" --json >"$T/secrets.json" 2>"$T/secrets.err" || rc=$?
check "secrets: run succeeds" test "$rc" -eq 0
WS=$(json_get "$T/secrets.json" 'r["job_dir"]')
check "secrets: the bot token is not in the child's environment" \
	bash -c "! grep -q PRBOT_IT_TOKEN '$WS/workspace/child-env.txt'"
check "secrets: a token shape printed by the child is masked in the log" \
	bash -c "grep -q 'leaked \[REDACTED\]' '$WS/job.log' && ! grep -q ghp_BBBB '$WS/job.log'"
check "secrets: nothing in the report" bash -c "! grep -q -e ghp_AAAA -e ghp_BBBB '$T/secrets.json'"
finish
