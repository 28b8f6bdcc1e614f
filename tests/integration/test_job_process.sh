#!/bin/bash
# test_job_process.sh: each job of 'prbot serve' runs in a prbot-job process.
# A job process killed with SIGKILL is taken back at once and its job runs
# again (one report, marked as a retry); killed at every attempt, the job
# fails with a report on the PR; a daemon killed with SIGKILL takes its job
# processes and their training children down with it; a job whose every
# attempt died with the daemon is failed at the next start, with a report.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"

DATA=$PRBOT_SOURCE_DIR/tests/data/e2e
export JP_GH_TOKEN=jp-token-0123456789
export JP_HOOK_SECRET=jp-webhook-secret-123
SECRET=$JP_HOOK_SECRET
REPO=octo/ml

trap 'stop_daemon; fake_stop; cleanup' EXIT

# PR 9's head trains for 8 s (sleep 8) before it succeeds
mkdir "$T/repo"
cp "$DATA/prbot.yml" "$T/repo/.prbot.yml"
cp "$DATA/train.py" "$T/repo/train.py"
make_repo "$T/repo" "Tiny model"
BASE=$(git -C "$T/repo" rev-parse HEAD)
git -C "$T/repo" checkout -q -b slow
cp "$DATA/prbot-slow.yml" "$T/repo/.prbot.yml"
git -C "$T/repo" commit -q -am "Train for longer"
SLOW=$(git -C "$T/repo" rev-parse HEAD)
git -C "$T/repo" checkout -q main
sed -e "s|@SHA@|$SLOW|g" -e "s|@SLOW@|$SLOW|g" -e "s|@BASE@|$BASE|g" \
	-e "s|@CLONE@|$T/repo|g" "$DATA/fixture.json" >"$T/fixture.json"

fake_start "$T/fixture.json" "$JP_GH_TOKEN"

PORT=$(freeport)
URL=http://127.0.0.1:$PORT
fake_conf "$T/bot.conf" "$PORT" JP_GH_TOKEN JP_HOOK_SECRET

# job_pid JOB [OLD]: the daemon's prbot-job child running job JOB (not
# OLD), waiting up to 10 s. By job: the process of a job that has just
# succeeded may still be exiting (ASan scans for leaks at exit).
job_pid() {
	local p
	for _ in $(seq 1 100); do
		p=$(pgrep -P "$DAEMON_PID" -f "prbot-job job $1 " | head -n1 || true)
		if [ -n "$p" ] && [ "$p" != "${2:-}" ]; then
			echo "$p"
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# session_gone SID: no process is left in session SID within 4 s (the
# training sleeps 8 s: it must have been killed)
session_gone() {
	for _ in $(seq 1 40); do
		pgrep -s "$1" >/dev/null || return 0
		sleep 0.1
	done
	echo "  left: $(pgrep -a -s "$1")"
	return 1
}
running_sleep() { # the slow training's 'sleep 8' in session $1
	pgrep -s "$1" -x sleep >/dev/null
}

if ! start_daemon "$T/bot.conf" "$T/serve.log"; then
	fail "serve: /healthz answers within 10 s"
	finish
fi
pass "serve: /healthz answers within 10 s"
check "serve: logs which prbot-job runs the jobs" \
	grep -q "jobs run in .*prbot-job (next to prbot)" "$T/serve.log"

# ---- 1. SIGKILL to the job process mid-training: retried once ----

$HOOK comment "$T/c1.json" --repo $REPO --pr 9 --comment-id 2001 \
	--login alice --body '/evaluate'
send one issue_comment d-jp-1 "$T/c1.json"
check "/evaluate: 202" status_is one 202
JP=$(job_pid j-1 || true)
check "a prbot-job process runs the job" test -n "$JP"
for _ in $(seq 1 100); do # the training's sleep has started
	running_sleep "$JP" && break
	sleep 0.1
done
check "the training runs in the job process's session" running_sleep "$JP"
kill -KILL "$JP"
check "SIGKILL: the training the job process left is killed" \
	session_gone "$JP"
check "SIGKILL: the job is retried and succeeds within 60 s" \
	wait_for 60 "('success', 'prbot/evaluate') in status_list('$SLOW')"
check "SIGKILL: the job succeeded on attempt 2" \
	sql_is 10 "select state||' '||attempts from jobs where comment_id='2001'" "succeeded 2"
check "SIGKILL: exactly one report comment, marked as a retry" \
	test "$(q "len(created(9)) == 1 and 'Retry' in body(created(9)[0])")" = True
check "SIGKILL: the daemon logged the job and the signal" \
	grep -q "job j-1: its job process was killed by signal 9" "$T/serve.log"

# ---- 2. killed at every attempt: failed with a report ----

$HOOK comment "$T/c2.json" --repo $REPO --pr 9 --comment-id 2002 \
	--login alice --body '/evaluate'
send two issue_comment d-jp-2 "$T/c2.json"
check "/evaluate again: 202" status_is two 202
OLD=
for attempt in 1 2 3; do
	P=$(job_pid j-2 "$OLD" || true)
	if [ -z "$P" ]; then
		fail "attempt $attempt: a job process starts"
		break
	fi
	kill -KILL "$P"
	OLD=$P
done
for _ in $(seq 1 100); do
	[ "$(sql "select state from jobs where comment_id='2002'")" = failed ] && break
	sleep 0.1
done
check "3 kills: the job failed after attempt 3 of 3" \
	test "$(sql "select state||' '||attempts from jobs where comment_id='2002'")" = "failed 3"
check "3 kills: its note says why" \
	test "$(sql "select note from jobs where comment_id='2002'")" = \
	"not retried: its job process was killed by signal 9 (Killed) during attempt 3 of 3"
# in, not last: a killed process's last request may reach the fake after it
check "3 kills: a failure status on the head SHA" \
	wait_for 20 "('failure', 'prbot/evaluate') in status_list('$SLOW')"
check "3 kills: the PR is told the job failed and why" \
	wait_for 20 "any('failed' in body(c) and 'killed by signal 9' in body(c) and 'j-2' in body(c) for c in created(9))"
check "3 kills: no job process is left" \
	sh -c "! pgrep -P $DAEMON_PID -f prbot-job"

# ---- 3. SIGKILL to the daemon: its job process and training go too ----

$HOOK comment "$T/c3.json" --repo $REPO --pr 9 --comment-id 2003 \
	--login alice --body '/evaluate'
send three issue_comment d-jp-3 "$T/c3.json"
JP=$(job_pid j-3 || true)
for _ in $(seq 1 100); do
	[ -n "$JP" ] && running_sleep "$JP" && break
	sleep 0.1
done
check "daemon kill: the training runs" running_sleep "${JP:-0}"
stop_daemon
check "daemon kill: the job process and its training are gone" \
	session_gone "${JP:-0}"
check "daemon kill: the job is left running for the next start" \
	test "$(sql "select state from jobs where comment_id='2003'")" = running

# ---- 4. the daemon killed at every attempt: failed, and reported, at the
# next start ----

for attempt in 2 3; do
	if ! start_daemon "$T/bot.conf" "$T/serve.log"; then
		fail "restart before attempt $attempt: /healthz answers"
		finish
	fi
	JP=$(job_pid j-3 || true)
	for _ in $(seq 1 100); do
		[ -n "$JP" ] && running_sleep "$JP" && break
		sleep 0.1
	done
	check "restart: attempt $attempt of the job runs" running_sleep "${JP:-0}"
	stop_daemon
	session_gone "${JP:-0}" >/dev/null || true
done
if ! start_daemon "$T/bot.conf" "$T/serve.log"; then
	fail "last restart: /healthz answers"
	finish
fi
check "3 daemon kills: the job failed after attempt 3 of 3" \
	test "$(sql "select state||' '||attempts from jobs where comment_id='2003'")" = "failed 3"
check "3 daemon kills: a failure status on the head SHA" \
	wait_for 20 "status_list('$SLOW')[-1] == ('failure', 'prbot/evaluate')"
check "3 daemon kills: the PR is told the job failed" \
	wait_for 20 "any('failed' in body(c) and 'j-3' in body(c) for c in created(9))"

if [ "$failures" -ne 0 ]; then
	echo "--- serve.log"
	cat "$T/serve.log"
fi
finish
