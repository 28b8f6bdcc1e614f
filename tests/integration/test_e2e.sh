#!/bin/bash
# test_e2e.sh: what a user of the bot sees, end to end: a /evaluate comment on
# a PR of a fake GitHub gets an eyes reaction, pending then success statuses,
# one report comment with the SHA, metrics, manifest and model MD5, a rocket;
# redeliveries are no-ops, a read-only user is told what is needed, and a job
# cut short by kill -9 is taken again after a restart and reported once
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"

DATA=$PRBOT_SOURCE_DIR/tests/data/e2e
export E2E_GH_TOKEN=e2e-token-0123456789
export E2E_HOOK_SECRET=e2e-webhook-secret-123
SECRET=$E2E_HOOK_SECRET
REPO=octo/ml

trap 'stop_daemon; fake_stop; cleanup' EXIT

# ---- 1. set-up: the repository, the fake GitHub, the daemon ----

# main (base) -> tune (PR 7's head); main -> slow (PR 9's head, sleeps 8 s)
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
git -C "$T/repo" checkout -q -b slow main
cp "$DATA/prbot-slow.yml" "$T/repo/.prbot.yml"
git -C "$T/repo" commit -q -am "Train for longer"
SLOW=$(git -C "$T/repo" rev-parse HEAD)
git -C "$T/repo" checkout -q main

# the model's MD5 as the report must show it: train once here
mkdir "$T/ref"
(cd "$T/ref" && $PY "$DATA/train.py")
MD5=$(md5sum "$T/ref/model.pkl" | cut -d' ' -f1)

sed -e "s|@SHA@|$SHA|g" -e "s|@SLOW@|$SLOW|g" -e "s|@BASE@|$BASE|g" \
	-e "s|@CLONE@|$T/repo|g" "$DATA/fixture.json" >"$T/fixture.json"

fake_start "$T/fixture.json" "$E2E_GH_TOKEN"

PORT=$(freeport)
URL=http://127.0.0.1:$PORT
fake_conf "$T/bot.conf" "$PORT" E2E_GH_TOKEN E2E_HOOK_SECRET

if ! start_daemon "$T/bot.conf" "$T/serve.log"; then
	fail "serve: /healthz answers within 10 s"
	finish
fi
pass "serve: /healthz answers within 10 s"

# ---- 2. /evaluate by a writer on PR 7 (comment 1001) ----

$HOOK comment "$T/c1.json" --repo $REPO --pr 7 --comment-id 1001 \
	--login alice --body '/evaluate'
send eval issue_comment d-e2e-1 "$T/c1.json"
check "/evaluate: 202" status_is eval 202
check "/evaluate: a success status within 60 s" \
	wait_for 60 "('success', 'prbot/evaluate') in status_list('$SHA')"
check "/evaluate: eyes reaction on the comment" \
	test "$(q "'eyes' in reactions(1001)")" = True
check "/evaluate: pending then success on the head SHA, context prbot/evaluate" \
	test "$(q "[s for s in status_list('$SHA') if s[1] == 'prbot/evaluate']")" = \
	"[('pending', 'prbot/evaluate'), ('success', 'prbot/evaluate')]"
check "/evaluate: no status on any other SHA" \
	test "$(q "len(posts('/statuses/$SHA')) == len([r for r in R if '/statuses/' in r['path']])")" = True
check "/evaluate: exactly one report comment on PR 7" \
	test "$(q "len(created(7))")" -eq 1
REPORT=$(q "created(7)[0] if created(7) else 0")
check "/evaluate: the report comment was edited" \
	test "$(q "len(patches('/issues/comments/$REPORT')) >= 1")" = True
q "body($REPORT)" >"$T/report1.md"
check "report: the full head SHA" grep -qF "$SHA" "$T/report1.md"
check "report: the accuracy metric" grep -q "accuracy.*0\.95" "$T/report1.md"
check "report: a Manifest section" grep -qF "### Manifest" "$T/report1.md"
check "report: the model's MD5 ($MD5)" grep -qF "$MD5" "$T/report1.md"
check "report: not a retry" sh -c "! grep -q 'Retry' '$T/report1.md'"
check "/evaluate: rocket reaction on the comment" \
	test "$(q "'rocket' in reactions(1001)")" = True
check "/evaluate: the job succeeded in the state store" \
	sql_is 10 "select state from jobs where comment_id='1001' and command='evaluate'" succeeded

# ---- 3. redeliveries ----

NJOBS=$(sql "select count(*) from jobs")
NREQ=$(q "len(R)")
send dup issue_comment d-e2e-1 "$T/c1.json"
check "same delivery again: 200" status_is dup 200
send redo issue_comment d-e2e-1-bis "$T/c1.json"
check "same comment, new delivery id: not 202" \
	sh -c "! grep -q '^202' '$T/redo.ans'"
sleep 2
check "redeliveries: no new job" \
	test "$(sql "select count(*) from jobs")" -eq "$NJOBS"
check "redeliveries: no new comment, status or reaction" \
	test "$(q "len([r for r in R[$NREQ:] if r['method'] in ('POST', 'PATCH')])")" -eq 0

# ---- 4. a read-only commenter (bob, comment 1002) ----

$HOOK comment "$T/c2.json" --repo $REPO --pr 7 --comment-id 1002 \
	--login bob --body '/evaluate'
send ro issue_comment d-e2e-2 "$T/c2.json"
check "read-only /evaluate: 202" status_is ro 202
check "read-only: a reply within 30 s" \
	wait_for 30 "len(created(7)) == 2"
REPLY=$(q "created(7)[-1] if len(created(7)) > 1 else 0")
q "body($REPLY)" >"$T/reply.md"
check "read-only: the reply names bob and the permission needed" \
	grep -q "@bob.*write" "$T/reply.md"
check "read-only: the reply says what bob has (read)" \
	grep -qw "read" "$T/reply.md"
check "read-only: no new status" \
	test "$(q "len(posts('/statuses/$SHA'))")" -eq 2
check "read-only: eyes on bob's comment (received), then the refusal" \
	test "$(q "'eyes' in reactions(1002)")" = True
check "read-only: the job did not succeed" \
	test "$(sql "select state from jobs where comment_id='1002' and command='evaluate'")" != succeeded

# ---- 5. kill -9 while PR 9's training sleeps, then restart ----

$HOOK comment "$T/c3.json" --repo $REPO --pr 9 --comment-id 1003 \
	--login alice --body '/evaluate'
send slow issue_comment d-e2e-3 "$T/c3.json"
check "slow /evaluate: 202" status_is slow 202
check "slow /evaluate: pending status and report comment within 30 s" \
	wait_for 30 "('pending', 'prbot/evaluate') in status_list('$SLOW') and len(created(9)) == 1"
check "slow /evaluate: the job is running" \
	test "$(sql "select state from jobs where comment_id='1003'")" = running
stop_daemon
check "slow /evaluate: no success before the kill" \
	test "$(q "('success', 'prbot/evaluate') in status_list('$SLOW')")" = False
if start_daemon "$T/bot.conf" "$T/serve2.log"; then
	pass "restart: /healthz answers within 10 s"
else
	fail "restart: /healthz answers within 10 s"
fi
check "restart: the job completes (success within 60 s)" \
	wait_for 60 "('success', 'prbot/evaluate') in status_list('$SLOW')"
check "restart: the job succeeded, on attempt 2" \
	sql_is 10 "select state||' '||attempts from jobs where comment_id='1003'" "succeeded 2"
check "restart: exactly one report comment on PR 9" \
	test "$(q "len(created(9))")" -eq 1
check "restart: one comment POST for PR 9 (created once, then edited)" \
	test "$(q "len(posts('/repos/octo/ml/issues/9/comments'))")" -eq 1
SREPORT=$(q "created(9)[0] if created(9) else 0")
q "body($SREPORT)" >"$T/report2.md"
check "restart: the report says it is a retry" \
	grep -qE "Retry|attempt 2" "$T/report2.md"
check "restart: the report has the SHA and the model's MD5" \
	sh -c "grep -qF '$SLOW' '$T/report2.md' && grep -qF '$MD5' '$T/report2.md'"
check "restart: the last status is success" \
	test "$(q "status_list('$SLOW')[-1]")" = "('success', 'prbot/evaluate')"
check "restart: exactly one success status" \
	test "$(q "status_list('$SLOW').count(('success', 'prbot/evaluate'))")" -eq 1

# alice's permission was read once: the jobs (each in its own prbot-job
# process, one after a restart) found it kept in the state store
check "permission: read from GitHub once for alice's three job runs" \
	test "$(q "len([r for r in R if path(r).endswith('/collaborators/alice/permission')])")" -eq 1

# ---- 6. SIGTERM: exit 0 ----

term_daemon 15
check "logs: no token, no webhook secret" \
	sh -c "! grep -qF -e '$E2E_GH_TOKEN' -e '$E2E_HOOK_SECRET' '$T/serve.log' '$T/serve2.log'"
if [ "$failures" -ne 0 ]; then
	echo "--- serve.log"
	cat "$T/serve.log"
	echo "--- serve2.log"
	cat "$T/serve2.log" 2>/dev/null || true
fi
finish
