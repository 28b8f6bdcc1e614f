#!/bin/bash
# test_schedule_run.sh: a [schedule] of prbot serve queues and runs its job:
# an every-minute schedule never claimed fires its current slot at start-up
# (the slot is seconds old), the job runs /evaluate on the ref with source
# cron and no pull request; a restart in the same minute fires nothing; two
# daemons on one state store queue one job per slot
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"

DATA=$PRBOT_SOURCE_DIR/tests/data/e2e
export SCHED_GH_TOKEN=sched-token-0123456789
export SCHED_HOOK_SECRET=sched-webhook-secret-123
SECRET=$SCHED_HOOK_SECRET
PID2=

stop_second() {
	if [ -n "$PID2" ] && kill -0 "$PID2" 2>/dev/null; then
		kill -KILL "$PID2" 2>/dev/null || true
		wait "$PID2" 2>/dev/null || true
	fi
	PID2=
}
trap 'stop_daemon; stop_second; fake_stop; cleanup' EXIT

# seconds into the current UTC minute
sec() { date -u +%-S; }

# a fresh minute when fewer than $1 seconds of this one are left, so what
# must happen within one minute does
fresh_minute() {
	local s
	s=$(sec)
	if [ $((60 - s)) -lt "$1" ]; then
		sleep $((61 - s))
	fi
}

# ---- set-up: the repository, the fake GitHub, bot.conf ----

mkdir "$T/repo"
cp "$DATA/prbot.yml" "$T/repo/.prbot.yml"
cp "$DATA/train.py" "$T/repo/train.py"
make_repo "$T/repo" "Tiny model"
MAIN=$(git -C "$T/repo" rev-parse HEAD)
sed -e "s|@SHA@|$MAIN|g" -e "s|@SLOW@|$MAIN|g" -e "s|@BASE@|$MAIN|g" \
	-e "s|@CLONE@|$T/repo|g" "$DATA/fixture.json" >"$T/fixture.json"
fake_start "$T/fixture.json" "$SCHED_GH_TOKEN"

PORT=$(freeport)
URL=http://127.0.0.1:$PORT
fake_conf "$T/bot.conf" "$PORT" SCHED_GH_TOKEN SCHED_HOOK_SECRET
cat >>"$T/bot.conf" <<CONF
[repo "octo/ml"]
clone_url = $T/repo
[schedule "minutely"]
cron = * * * * *
repo = octo/ml
CONF

# ---- 0. a schedule that cannot run stops serve from starting ----

sed -e 's|^repo = octo/ml$|repo = octo/ml\ncommand = /deploy staging|' \
	"$T/bot.conf" >"$T/bad.conf"
rc=0
"$PRBOT" serve -c "$T/bad.conf" --workers 0 2>"$T/bad.err" || rc=$?
check "a scheduled /deploy: serve exits 2" test "$rc" -eq 2
check "a scheduled /deploy: the message names the schedule" \
	grep -qF '[schedule "minutely"]: /deploy runs on a pull request only' "$T/bad.err"
rc=0
"$PRBOT" check-config -c "$T/bad.conf" >/dev/null 2>"$T/check.err" || rc=$?
check "a scheduled /deploy: check-config exits 2 and says why" \
	test "$rc:$(grep -c '/deploy runs on a pull request only' "$T/check.err")" = 2:1
check "check-config accepts the good schedule" \
	"$PRBOT" check-config -c "$T/bot.conf"

# ---- 1. first start: the slot of this minute fires once ----

fresh_minute 25
# no workers: the job stays queued, so the stop below is at once
if ! start_daemon "$T/bot.conf" "$T/serve.log" --workers 0; then
	fail "serve with a schedule: /healthz answers within 10 s"
	finish
fi
pass "serve with a schedule: /healthz answers within 10 s"
check "start-up: the slot of this minute is claimed" \
	sql_is 10 "SELECT count(*) FROM schedule_slots WHERE name = 'minutely'" 1
SLOT=$(sql "SELECT slot FROM schedule_slots WHERE name = 'minutely'")
SLOT_ISO=$(date -u -d "@$SLOT" +%Y-%m-%dT%H:%M:%SZ)
JOB=$(sql "SELECT job_id FROM schedule_slots WHERE slot = $SLOT")
check "start-up: the slot is this minute's" \
	test "$SLOT" -eq $(($(date -u +%s) / 60 * 60))
check "the job: source cron, actor schedule:minutely, no PR, ref main" \
	test "$(sql "SELECT source || ' ' || actor || ' ' || pr || ' ' || ref || ' ' || command FROM jobs WHERE id = $JOB")" = \
	"cron schedule:minutely 0 main evaluate"
check "log: one line for the fired slot" \
	grep -q "schedule minutely: slot $SLOT_ISO: queued j-$JOB\$" "$T/serve.log"

# ---- 2. a restart within the minute fires nothing ----

term_daemon 30 "first daemon"
if ! start_daemon "$T/bot.conf" "$T/serve2.log"; then
	fail "restart: /healthz answers within 10 s"
	finish
fi
sleep 1
check "restart in the same minute: still one slot, one job" \
	test "$(sql "SELECT count(*) || ' ' || (SELECT count(*) FROM jobs WHERE source = 'cron') FROM schedule_slots WHERE slot = $SLOT")" = "1 1"
check "restart: the slot is known as the last one" \
	grep -q "schedule minutely: .*last slot $SLOT_ISO\$" "$T/serve2.log"
check "restart: the slot was not queued again" \
	bash -c "! grep -q 'slot $SLOT_ISO: queued' '$T/serve2.log'"

# ---- 3. the job runs: /evaluate of main, no pull request ----

check "the scheduled job succeeds within 120 s" \
	sql_is 120 "SELECT state FROM jobs WHERE id = $JOB" succeeded
check "its evaluation of main is recorded" \
	sql_is 10 "SELECT count(*) FROM evaluations WHERE job_id = $JOB AND ref = 'main' AND sha = '$MAIN'" 1
check "no comment was posted anywhere: there is no pull request" \
	test "$(q "len(posts('/comments'))")" = 0
check "log: the job names its ref, not a pull request #0" \
	grep -q "job j-$JOB: /evaluate on octo/ml@main by schedule:minutely (attempt 1)" "$T/serve2.log"
term_daemon 60 "second daemon"

# ---- 4. two daemons on one store: one job per slot ----

export DB=$T/replicas.db
sed -e "s|^state = .*|state = $DB|" "$T/bot.conf" >"$T/replica1.conf"
PORT2=$(freeport)
sed -e "s|^listen = .*|listen = 127.0.0.1:$PORT2|" "$T/replica1.conf" >"$T/replica2.conf"
fresh_minute 25
if ! start_daemon "$T/replica1.conf" "$T/replica1.log" --workers 0; then
	fail "replica 1: /healthz answers within 10 s"
	finish
fi
"$PRBOT" serve -c "$T/replica2.conf" --workers 0 2>>"$T/replica2.log" &
PID2=$!
check "replica 2: /healthz answers within 10 s" bash -c \
	"for i in \$(seq 1 100); do curl -sf -o /dev/null http://127.0.0.1:$PORT2/healthz && exit 0; sleep 0.1; done; exit 1"
# both wake at the next minute and race for its slot
NEXT=$((($(date -u +%s) / 60 + 1) * 60))
NEXT_ISO=$(date -u -d "@$NEXT" +%Y-%m-%dT%H:%M:%SZ)
check "replicas: the next minute's slot is claimed" \
	sql_is 75 "SELECT count(*) FROM schedule_slots WHERE slot = $NEXT" 1
sleep 2
check "replicas: one job per slot" \
	test "$(sql "SELECT count(*) FROM jobs WHERE source = 'cron'")" = \
	"$(sql "SELECT count(*) FROM schedule_slots")"
check "replicas: one queued the next slot, the other saw it taken" \
	test "$(cat "$T/replica1.log" "$T/replica2.log" | grep -c "slot $NEXT_ISO: queued"):$(cat "$T/replica1.log" "$T/replica2.log" | grep -c "slot $NEXT_ISO: taken by another replica")" = "1:1"
term_daemon 30 "replica 1"
kill -TERM "$PID2" 2>/dev/null || true
wait "$PID2" || fail "replica 2: SIGTERM: exit 0"
PID2=

finish
