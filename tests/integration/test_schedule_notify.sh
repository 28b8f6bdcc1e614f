#!/bin/bash
# test_schedule_notify.sh: [schedule] notify: two every-minute schedules fire
# at start-up; the one on main (its gate passes, within the threshold of the
# previous run) sends one short line with a sparkline to a Slack incoming
# webhook and a Markdown comment with a Mermaid chart to issue #5; the one
# on branch strict (its gate fails) says so prominently in both; the
# webhook's URL never appears in the log
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"

DATA=$PRBOT_SOURCE_DIR/tests/data/e2e
export NOTIFY_GH_TOKEN=notify-token-0123456789
export NOTIFY_HOOK_SECRET=notify-webhook-secret-123
SECRET=$NOTIFY_HOOK_SECRET
HOOK_PATH=/slack/webhook/T0NOTIFY/B0NOTIFY/hook-secret-4f2a9c
trap 'stop_daemon; fake_stop; cleanup' EXIT

# ---- set-up: main (gate >= 0.9 passes) and strict (gate >= 0.99 fails) ----

mkdir "$T/repo"
cp "$DATA/prbot.yml" "$T/repo/.prbot.yml"
cp "$DATA/train.py" "$T/repo/train.py"
make_repo "$T/repo" "Tiny model"
MAIN=$(git -C "$T/repo" rev-parse HEAD)
git -C "$T/repo" checkout -q -b strict
sed -i 's|">= 0.9"|">= 0.99"|' "$T/repo/.prbot.yml"
git -C "$T/repo" commit -q -am "A gate the model does not reach"
git -C "$T/repo" checkout -q main
sed -e "s|@SHA@|$MAIN|g" -e "s|@SLOW@|$MAIN|g" -e "s|@BASE@|$MAIN|g" \
	-e "s|@CLONE@|$T/repo|g" "$DATA/fixture.json" >"$T/fixture.json"
fake_start "$T/fixture.json" "$NOTIFY_GH_TOKEN"
export NOTIFY_SLACK_HOOK=$FAKE$HOOK_PATH

PORT=$(freeport)
URL=http://127.0.0.1:$PORT
fake_conf "$T/bot.conf" "$PORT" NOTIFY_GH_TOKEN NOTIFY_HOOK_SECRET
cat >>"$T/bot.conf" <<CONF
[repo "octo/ml"]
clone_url = $T/repo
CONF
cp "$T/bot.conf" "$T/plain.conf"
cat >>"$T/bot.conf" <<CONF
[schedule "nightly"]
cron = * * * * *
repo = octo/ml
notify = slack:env:NOTIFY_SLACK_HOOK issue:octo/ml#5
regression_threshold = 5%
[schedule "strict"]
cron = * * * * *
repo = octo/ml
ref = strict
notify = slack:env:NOTIFY_SLACK_HOOK  issue:octo/ml#6
CONF

# ---- 0. a bad target stops serve from starting, naming it ----

sed -e 's|issue:octo/ml#5|issue:octo/ml|' "$T/bot.conf" >"$T/bad.conf"
rc=0
"$PRBOT" check-config -c "$T/bad.conf" >/dev/null 2>"$T/check.err" || rc=$?
check "a bad notify target: check-config exits 2 naming the line and key" \
	test "$rc:$(grep -c "bad.conf:[0-9]*: \[schedule \"nightly\"\] notify: expected issue:OWNER/REPO#N" "$T/check.err")" = 2:1
rc=0
NOTIFY_SLACK_HOOK= "$PRBOT" check-config -c "$T/bot.conf" >/dev/null \
	2>"$T/check2.err" || rc=$?
check "an unset webhook variable: check-config exits 2 and says which" \
	test "$rc:$(grep -c "notify: environment variable 'NOTIFY_SLACK_HOOK' is not set" "$T/check2.err")" = 2:2
check "check-config accepts the good notify" \
	bash -c "\"\$PRBOT\" check-config -c '$T/bot.conf' >/dev/null"

# ---- 1. an earlier run of main, for the trend and the comparison ----

if ! start_daemon "$T/plain.conf" "$T/plain.log" --workers 0; then
	fail "serve without schedules: /healthz answers within 10 s"
	finish
fi
term_daemon 30 "serve without schedules"
$PY - "$T/prbot.db" <<'PYEOF'
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO evaluations (repo, ref, sha, metrics, passed, created_at)"
          " VALUES ('octo/ml', 'main', ?, '{\"accuracy\": 0.97}', 1, ?)",
          ("9" * 40, int(time.time()) - 86400))
c.commit()
PYEOF

# ---- 2. both schedules fire at start-up and notify ----

# the two jobs must be of this minute's slots, started within it
s=$(date -u +%-S)
if [ $((60 - s)) -lt 30 ]; then
	sleep $((61 - s))
fi
if ! start_daemon "$T/bot.conf" "$T/serve.log"; then
	fail "serve with notifying schedules: /healthz answers within 10 s"
	finish
fi
pass "serve with notifying schedules: /healthz answers within 10 s"
check "the run of main succeeds within 120 s" sql_is 120 \
	"SELECT state FROM jobs WHERE actor = 'schedule:nightly'" succeeded
check "the run of strict fails on its gate within 120 s" sql_is 120 \
	"SELECT state FROM jobs WHERE actor = 'schedule:strict'" failed
check "the failed run of strict is history (passed 0), never a baseline" sql_is 20 \
	"SELECT count(*) || ' ' || max(passed) FROM evaluations WHERE ref = 'strict'" "1 0"
# (a slow machine may see the next minute's slots fire too: at least)
check "issue #5 and issue #6 get a comment each within 30 s" \
	wait_for 30 "len(posts('/issues/5/comments')) >= 1 and len(posts('/issues/6/comments')) >= 1"
check "the Slack webhook got a message of each" \
	wait_for 10 "len(posts('$HOOK_PATH')) >= 2"

SHORT=$(q "repr([m['text'] for m in posts('$HOOK_PATH') if m['text'].startswith('nightly:')][0])")
check "Slack: the run of main is one short line with the change and a sparkline" \
	test "$SHORT" = "'nightly: octo/ml@main \`${MAIN:0:7}\` accuracy 0.95 (-0.02) █▁\\n'"
STRICT=$(q "[m['text'] for m in posts('$HOOK_PATH') if 'strict' in m['text']][0]")
check "Slack: the failed gate of strict is prominent" \
	grep -qF ":red_circle: *strict: octo/ml@strict" <<<"$STRICT"
check "Slack: the failed gate is named with its value" \
	grep -qF '• :x: gate `accuracy &gt;= 0.99` failed: 0.95' <<<"$STRICT"
MD5=$(q "posts('/issues/5/comments')[0]['body']")
check "issue #5: the short line and a Mermaid chart of accuracy" \
	test "$(head -n1 <<<"$MD5"):$(grep -c '^```mermaid' <<<"$MD5")" = \
	"nightly: octo/ml@main \`${MAIN:0:7}\` accuracy 0.95 (-0.02):1"
MD6=$(q "posts('/issues/6/comments')[0]['body']")
check "issue #6: a heading says the gate failed" \
	grep -qF "### 🔴 strict: octo/ml@strict" <<<"$MD6"
check "issue #6: the failed gate" \
	grep -qF -- '- ❌ gate `accuracy >= 0.99` failed: 0.95' <<<"$MD6"
check "log: the Slack target is named by its reference" \
	grep -q 'schedule nightly: notified Slack (env:NOTIFY_SLACK_HOOK)$' "$T/serve.log"
check "log: the issue target is named" \
	grep -q 'schedule strict: notified octo/ml#6$' "$T/serve.log"
term_daemon 60 "serve with notifying schedules"

# ---- 3. a webhook that fails: a warning, the job is still its own ----

curl -sf -X POST -d "{\"path\": \"$HOOK_PATH\", \"status\": 404, \"count\": 10}" \
	"$FAKE/_fail" >/dev/null
s=$(date -u +%-S)
sleep $((61 - s))
if ! start_daemon "$T/bot.conf" "$T/serve2.log"; then
	fail "restart: /healthz answers within 10 s"
	finish
fi
check "the next run of main still succeeds within 120 s" sql_is 120 \
	"SELECT count(*) >= 2 FROM jobs WHERE actor = 'schedule:nightly' AND state = 'succeeded'" 1
check "the failed webhook is a warning naming its reference" \
	grep -q "schedule nightly: Slack (env:NOTIFY_SLACK_HOOK) was not notified: Slack's incoming webhook answered HTTP 404" "$T/serve2.log"
term_daemon 60 "restart"

check "the webhook's URL is in no log" \
	bash -c "! grep -rqF 'hook-secret-4f2a9c' '$T'/*.log"

finish
