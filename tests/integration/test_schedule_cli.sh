#!/bin/bash
# test_schedule_cli.sh: prbot schedule next prints exact UTC fire times and
# refuses bad expressions, times and counts with exit 2 and one clear line
. "$(dirname "$0")/lib.sh"

# out NAME ARGS...: run prbot schedule next ARGS, keep stdout, stderr, code
out() {
	local name=$1 rc=0
	shift
	"$PRBOT" schedule next "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	echo "$rc" >"$T/$name.rc"
}

# expect_out NAME WANT ARGS...: exit 0, stdout exactly WANT, stderr empty
expect_out() {
	local name=$1 want=$2
	shift 2
	out "$name" "$@"
	check "$name: exit 0" test "$(cat "$T/$name.rc")" -eq 0
	check "$name: prints the fire times" test "$(cat "$T/$name.out")" = "$want"
	check "$name: nothing on stderr" test ! -s "$T/$name.err"
	[ "$(cat "$T/$name.out")" = "$want" ] || { cat "$T/$name.out" "$T/$name.err"; }
}

# expect_err NAME MESSAGE ARGS...: exit 2, stderr is the one line MESSAGE
expect_err() {
	local name=$1 want=$2
	shift 2
	out "$name" "$@"
	check "$name: exit 2" test "$(cat "$T/$name.rc")" -eq 2
	check "$name: says '$want'" test "$(cat "$T/$name.err")" = "$want"
	check "$name: nothing on stdout" test ! -s "$T/$name.out"
	[ "$(cat "$T/$name.err")" = "$want" ] || cat "$T/$name.err"
}

expect_out default-count "2026-11-24T03:00:00Z
2026-11-25T03:00:00Z
2026-11-26T03:00:00Z
2026-11-27T03:00:00Z
2026-11-28T03:00:00Z" "0 3 * * *" --from 2026-11-23T03:00:00Z

expect_out count-and-short-from "2026-11-23T03:15:00Z
2026-11-23T03:30:00Z" --count 2 --from 2026-11-23T03:00Z "*/15 * * * *"

expect_out or-rule "2026-12-04T00:00:00Z
2026-12-11T00:00:00Z
2026-12-13T00:00:00Z" "0 0 13 * FRI" --from=2026-12-01T00:00:00Z --count=3

expect_out leap-day "2028-02-29T00:00:00Z
2032-02-29T00:00:00Z" "0 0 29 2 *" --from 2026-11-23T03:00Z --count 2

expect_out weekly-macro "2026-11-29T00:00:00Z" @weekly --from 2026-11-23T03:00Z --count 1

out many "* * * * *" --count 1000 --from 2026-12-31T23:00:00Z
check "count 1000: 1000 lines" test "$(wc -l <"$T/many.out")" -eq 1000
check "count 1000: last line" test "$(tail -n 1 "$T/many.out")" = "2027-01-01T15:40:00Z"

# without --from: the times are after now, in order
out now "@hourly" --count 3
check "no --from: exit 0" test "$(cat "$T/now.rc")" -eq 0
first=$(head -n 1 "$T/now.out")
check "no --from: first time is in the next hour" \
	test "$(( $(date -u -d "$first" +%s) - $(date -u +%s) ))" -le 3600
check "no --from: times in order" \
	test "$(sort "$T/now.out")" = "$(cat "$T/now.out")"

expect_err bad-dom "prbot: schedule: day-of-month: 32 is out of range 1-31 in '0 0 32 * *'" "0 0 32 * *"
expect_err bad-minute "prbot: schedule: minute: expected a number, '*' or a range, got 'x' in 'x 0 * * *'" "x 0 * * *"
expect_err six-fields "prbot: schedule: expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, got 6 in '0 0 0 * * *'" "0 0 0 * * *"
expect_err never "prbot: schedule: '0 0 30 2 *' never fires: no time matches in the 10 years after 2026-11-23T03:00:00Z" "0 0 30 2 *" --from 2026-11-23T03:00:00Z
expect_err offset "prbot: schedule: --from: '2026-11-23T03:00:00+01:00' has the offset +01:00: prbot schedules in UTC, write the time in UTC with a final Z" "* * * * *" --from 2026-11-23T03:00:00+01:00
expect_err bad-from "prbot: schedule: --from: expected a UTC time such as 2026-11-23T03:00:00Z or 2026-11-23T03:00Z, got 'yesterday'" "* * * * *" --from yesterday
expect_err count-zero "prbot: schedule: --count: expected a whole number from 1 to 1000, got '0'" "* * * * *" --count 0
expect_err count-big "prbot: schedule: --count: expected a whole number from 1 to 1000, got '1001'" "* * * * *" --count 1001
expect_err unquoted "prbot: schedule: next: expected one cron expression in quotes, got 5 arguments: write prbot schedule next \"0 3 * * *\"" 0 3 1 2 3
expect_err missing "prbot: schedule: next: missing the cron expression, such as prbot schedule next \"0 3 * * *\""

rc=0
"$PRBOT" schedule list >"$T/list.out" 2>"$T/list.err" || rc=$?
check "unknown subcommand: exit 2" test "$rc" -eq 2
check "unknown subcommand: named" grep -qF "unknown subcommand 'list'" "$T/list.err"

rc=0
"$PRBOT" schedule --help >"$T/help.out" 2>&1 || rc=$?
check "--help: exit 0" test "$rc" -eq 0
check "--help: usage line" grep -qF 'usage: prbot schedule next "CRON" [--from ISO8601] [--count N]' "$T/help.out"
check "prbot --help lists schedule" sh -c '"$1" --help | grep -qF "schedule next"' sh "$PRBOT"

finish
