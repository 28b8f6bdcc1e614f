#!/bin/bash
# test_slack.sh: a Slack slash command, end to end: signed requests to
# /chat/slack are refused or queued (ephemeral answers), the job runs as a PR
# comment's would (report comment and status on the PR, the mapped login's
# permission checked), and its progress and result go to the command's
# response_url (a path of the fake GitHub that records POSTs); a
# response_url that fails does not fail the job; Mattermost's token works
# in place of the signature
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"

DATA=$PRBOT_SOURCE_DIR/tests/data/e2e
SLACKPY="$PY $PRBOT_SOURCE_DIR/tests/integration/slack.py"
export E2E_GH_TOKEN=e2e-token-0123456789
export E2E_HOOK_SECRET=e2e-webhook-secret-123
export E2E_SLACK_SECRET=slack-signing-secret-456
export E2E_MM_TOKEN=mattermost-token-789
REPO=octo/ml

trap 'stop_daemon; fake_stop; cleanup' EXIT

# ---- 1. set-up: the repository (PR 7), the fake GitHub, the daemon ----

mkdir "$T/repo"
cp "$DATA/prbot.yml" "$T/repo/.prbot.yml"
cp "$DATA/train.py" "$T/repo/train.py"
make_repo "$T/repo" "Tiny model"
BASE=$(git -C "$T/repo" rev-parse HEAD)
git -C "$T/repo" checkout -q -b tune
echo "A tiny classifier." >"$T/repo/README.md"
git -C "$T/repo" add -A
git -C "$T/repo" commit -q -m "Tune the classifier"
SHA=$(git -C "$T/repo" rev-parse HEAD)
git -C "$T/repo" checkout -q main
sed -e "s|@SHA@|$SHA|g" -e "s|@SLOW@|$SHA|g" -e "s|@BASE@|$BASE|g" \
	-e "s|@CLONE@|$T/repo|g" "$DATA/fixture.json" >"$T/fixture.json"

fake_start "$T/fixture.json" "$E2E_GH_TOKEN"
CAP=capability-part-0123456789
RURL=$FAKE/slack/response/T0TEST/1/$CAP

PORT=$(freeport)
URL=http://127.0.0.1:$PORT
fake_conf "$T/bot.conf" "$PORT" E2E_GH_TOKEN E2E_HOOK_SECRET
cat >>"$T/bot.conf" <<CONF
[slack]
signing_secret = env:E2E_SLACK_SECRET
mattermost_token = env:E2E_MM_TOKEN
channels = C0DEPLOY
[slack.users]
U0ALICE = alice
U0BOB = bob
[repo "$REPO"]
clone_url = $T/repo
CONF

if ! start_daemon "$T/bot.conf" "$T/serve.log"; then
	fail "serve: /healthz answers within 10 s"
	finish
fi
pass "serve: /healthz answers within 10 s"

# slash NAME TEXT [slack.py options]: the answer in $T/NAME.ans
slash() {
	local name=$1 text=$2
	shift 2
	$SLACKPY send "$URL/chat/slack" "$E2E_SLACK_SECRET" "$text" "$@" \
		>"$T/$name.ans"
}
# CHAT: the bodies POSTed to the first command's response_url (for q)
CHAT="[r['json'] or {} for r in R if r['path'].startswith('/slack/response/T0TEST/1/')]"
njobs() { sql "select count(*) from jobs"; }

# ---- 2. answered at once, no job ----

slash help "help"
check "help: 200" status_is help 200
check "help: ephemeral" body_has help '"response_type":"ephemeral"'
check "help: the grammar" body_has help "Usage: /prbot COMMAND OWNER/REPO#PR"
slash ssl "" --ssl-check
check "Slack's certificate check: 200 ok" body_has ssl "200 ok"
slash badsig "evaluate $REPO#7" --bad-sig
check "bad signature: 401" status_is badsig 401
slash unsigned "evaluate $REPO#7" --unsigned
check "no signature: 401" status_is unsigned 401
slash stale "evaluate $REPO#7" --ts $(($(date +%s) - 400))
check "stale timestamp: 401" status_is stale 401
check "stale timestamp: says so" body_has stale "stale request"
slash json "evaluate $REPO#7" --json
check "JSON body: 400" status_is json 400
check "JSON body: says a form is expected" body_has json "expected a form"
slash unmapped "evaluate $REPO#7" --user U0NOBODY
check "unmapped user: 200" status_is unmapped 200
check "unmapped user: how to get mapped" \
	body_has unmapped 'U0NOBODY = your-github-login'
slash chan "evaluate $REPO#7" --channel C0RANDOM
check "channel not allowed: refused" body_has chan "does not take commands"
slash other "evaluate other/repo#7"
check "repository not served: refused" body_has other "does not serve other/repo"
slash unknown "frobnicate $REPO#7"
check "unknown command: refused" body_has unknown "Unknown command 'frobnicate'"
slash badargs "evaluate $REPO#7 nope=1"
check "bad arguments: refused with the usage" body_has badargs "evaluate"
check "refusals: no job" test "$(njobs)" -eq 0
check "refusals: nothing posted to GitHub" \
	test "$(q "len([r for r in R if r['method'] in ('POST', 'PATCH')])")" -eq 0

# ---- 3. /evaluate from Slack by alice (write) ----

TS=$(date +%s)
slash eval "evaluate $REPO#7" --response-url "$RURL" --ts "$TS"
check "evaluate: 200" status_is eval 200
check "evaluate: ephemeral acknowledgement naming the job" \
	body_has eval '{"response_type":"ephemeral","text":"queued j-1: /evaluate on octo/ml#7"}'
check "evaluate: the job is from slack, by the mapped login" \
	test "$(sql "select source || ' ' || actor from jobs where id = 1")" = "slack alice"
check "evaluate: a success status within 60 s" \
	wait_for 60 "('success', 'prbot/evaluate') in status_list('$SHA')"
check "evaluate: one report comment on PR 7" test "$(q "len(created(7))")" -eq 1
REPORT=$(q "created(7)[0] if created(7) else 0")
q "body($REPORT)" >"$T/report.md"
check "report on the PR: the full head SHA" grep -qF "$SHA" "$T/report.md"
check "chat: the result within 10 s" \
	wait_for 10 "any('succeeded' in b.get('text', '') for b in $CHAT)"
q "$CHAT" >"$T/chat1.txt"
check "chat: a start message, then the result" \
	test "$(q "len($CHAT)")" -ge 2
check "chat: the result is in the channel" \
	test "$(q "[b.get('response_type') for b in $CHAT][-1]")" = in_channel
check "chat: the result has the full SHA" grep -qF "$SHA" "$T/chat1.txt"
check "chat: the result has the metrics" grep -q "accuracy: 0.95" "$T/chat1.txt"
check "chat: the result links the report comment" \
	grep -qF "pull/7#issuecomment-$REPORT" "$T/chat1.txt"
check "evaluate: the job succeeded" \
	sql_is 10 "select state from jobs where id = 1" succeeded

# ---- 4. Slack sends the same request again ----

NJ=$(njobs)
slash again "evaluate $REPO#7" --response-url "$RURL" --ts "$TS"
check "retry of a request: 200" status_is again 200
check "retry of a request: already queued" body_has again "already queued"
check "retry of a request: no new job" test "$(njobs)" -eq "$NJ"

# ---- 5. bob (read) is refused as his PR comment would be ----

RBOB=$FAKE/slack/response/T0TEST/2/$CAP
slash ro "evaluate $REPO#7" --user U0BOB --response-url "$RBOB"
check "read-only: queued" body_has ro "queued j-2"
check "read-only: the refusal in the chat within 30 s" \
	wait_for 30 "any('needs write' in (r['json'] or {}).get('text', '') for r in R if r['path'].startswith('/slack/response/T0TEST/2/'))"
check "read-only: the refusal on the PR, naming bob" \
	wait_for 10 "len(created(7)) == 2 and '@bob' in body(created(7)[-1])"
check "read-only: the job failed" \
	sql_is 10 "select state from jobs where id = 2" failed

# ---- 6. a response_url that answers 404 does not fail the job ----

RDEAD=$FAKE/slack/response/T0TEST/3/$CAP
curl -sf -X POST -d "{\"path\": \"/slack/response/T0TEST/3/$CAP\", \"count\": 10, \"status\": 404}" \
	"$FAKE/_fail" >/dev/null
slash dead "evaluate $REPO ref=main" --response-url "$RDEAD"
check "evaluate on a ref: queued" body_has dead "queued j-3: /evaluate on octo/ml@main"
check "dead response_url: the job still succeeds" \
	sql_is 90 "select state from jobs where id = 3" succeeded
check "dead response_url: a warning in the log" \
	grep -q "j-3: the chat reply was not delivered: Slack's response_url answered HTTP 404" "$T/serve.log"

# ---- 7. main is evaluated now (j-3): a PR's result shows the change ----

RBASE=$FAKE/slack/response/T0TEST/5/$CAP
slash base "evaluate $REPO#7" --response-url "$RBASE"
check "against the baseline: queued" body_has base "queued j-4"
check "against the baseline: the chat shows main's value and the change" \
	wait_for 60 "any('accuracy: 0.95 (baseline 0.95, +0)' in (r['json'] or {}).get('text', '') for r in R if r['path'].startswith('/slack/response/T0TEST/5/'))"

# ---- 8. Mattermost: the form's token instead of a signature ----

slash mm "evaluate $REPO#7" --mattermost "$E2E_MM_TOKEN"
check "mattermost: queued" body_has mm "queued j-5"
slash mmbad "evaluate $REPO#7" --mattermost "not-the-token"
check "mattermost: a wrong token is 401" status_is mmbad 401

# ---- 9. the capability never reaches the log ----

check "log: response_url's capability never logged" \
	sh -c "! grep -qF '$CAP' '$T/serve.log'"
check "log: the slack requests are logged" grep -q "slack slack:" "$T/serve.log"

finish
