#!/bin/bash
# test_cancel.sh: SIGTERM to 'prbot run' stops the training child's whole
# process group, reports the run as cancelled and exits 1
. "$(dirname "$0")/lib.sh"

write_conf "$T/bot.conf"
mkdir -p "$T/slow"
cat >"$T/slow/.prbot.yml" <<YML
train:
  command: sleep 300 & echo \$! > $T/grandchild.pid; echo \$\$ > $T/child.pid; wait
  timeout: 10m
model: model.pkl
YML
make_repo "$T/slow"

"$PRBOT" run evaluate -c "$T/bot.conf" --repo "$T/slow" --json \
	>"$T/out.json" 2>"$T/err.txt" &
prbot_pid=$!
for _ in $(seq 100); do # up to 10 s for the child to start
	[ -s "$T/grandchild.pid" ] && [ -s "$T/child.pid" ] && break
	sleep 0.1
done
check "the training child started" test -s "$T/grandchild.pid"
kill -TERM "$prbot_pid"
rc=0
wait "$prbot_pid" || rc=$?
check "prbot exits 1 when cancelled" test "$rc" -eq 1
check "the report says cancelled" test "$(json_get "$T/out.json" 'r["status"]')" = cancelled
check "the train stage shows cancelled" test "$(json_get "$T/out.json" 'r["stages"][2]["state"]')" = cancelled
check "stderr says cancelled" grep -q "evaluate cancelled" "$T/err.txt"
gone() { ! kill -0 "$(cat "$1")" 2>/dev/null; }
for _ in $(seq 50); do # the group gets SIGTERM, then SIGKILL after a grace
	gone "$T/child.pid" && gone "$T/grandchild.pid" && break
	sleep 0.2
done
check "the training shell is gone" gone "$T/child.pid"
check "its background grandchild is gone too" gone "$T/grandchild.pid"
finish
