# lib.sh: shared set-up for the integration tests (sourced, not run)
# Each test gets a temp folder removed on exit, whatever happens.
set -euo pipefail

: "${PRBOT:?PRBOT must point at the prbot binary (ctest sets it)}"
: "${PRBOT_SOURCE_DIR:?PRBOT_SOURCE_DIR must be set (ctest sets it)}"

T=$(mktemp -d /tmp/prbot-it.XXXXXX)
# a daemon started with start_daemon goes whatever happens, then $T
cleanup() {
	stop_daemon
	[ -n "${KEEP_T:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

export GIT_AUTHOR_NAME=prbot-test GIT_AUTHOR_EMAIL=test@example.invalid
export GIT_COMMITTER_NAME=prbot-test GIT_COMMITTER_EMAIL=test@example.invalid
export GIT_CONFIG_NOSYSTEM=1 HOME="$T"

failures=0
pass() { echo "ok - $*"; }
fail() { echo "not ok - $*"; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures check(s) failed"
		exit 1
	fi
	echo "all checks passed"
}

# make_repo DIR: commit everything in DIR as a fresh repository on main
make_repo() {
	git -C "$1" init -q -b main
	git -C "$1" add -A
	git -C "$1" commit -q -m "${2:-initial commit}"
}

# write_conf FILE: a bot.conf that keeps everything inside $T
write_conf() {
	cat >"$1" <<CONF
[server]
workdir = $T/work
state = $T/prbot.db
[store]
url = file://$T/artifacts
CONF
}

# json_get FILE PYTHON-EXPR: evaluate EXPR with r = the parsed report
json_get() {
	/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# ---- prbot serve: the tests that start the daemon ----
# They set URL (http://HOST:PORT, see freeport) and SECRET (the webhook
# secret); DB is the state store, $T/prbot.db unless they set it.

PY=/usr/bin/python3
HOOK="$PY $PRBOT_SOURCE_DIR/tests/integration/webhook.py"
DAEMON_PID=

# freeport: a TCP port on 127.0.0.1 that nothing listens on now
freeport() { $HOOK freeport; }

# sql QUERY: one value from the state store $DB, read with Python's sqlite3
sql() {
	$PY -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' "${DB:-$T/prbot.db}" "$1"
}

# sql_is SECONDS QUERY WANT: QUERY's value is WANT within SECONDS (polled:
# a job posts its statuses before it finishes in the store)
sql_is() {
	local n=$(($1 * 10))
	for _ in $(seq 1 "$n"); do
		[ "$(sql "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	echo "  $2: '$(sql "$2")', not '$3'"
	return 1
}

# send NAME EVENT DELIVERY BODY [--unsigned|--bad-sig]: the daemon's answer
# in $T/NAME.ans
send() {
	local name=$1
	shift
	$HOOK send "$URL/webhooks/github" "$SECRET" "$@" >"$T/$name.ans"
}
status_is() { # status_is NAME CODE
	[ "$(cut -d' ' -f1 <"$T/$1.ans")" = "$2" ] || {
		echo "  got: $(cat "$T/$1.ans")"
		return 1
	}
}
body_has() { grep -qF -- "$2" "$T/$1.ans"; }
healthz_ok() { # healthz_ok URL: 200 "ok" (curl -g: [::1] is no glob)
	[ "$(curl -gs -w ' %{http_code}' "$1/healthz")" = "ok
 200" ]
}

# stop_daemon: SIGKILL the daemon, if one runs, and reap it
stop_daemon() {
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	DAEMON_PID=
}

# start_daemon CONF LOG [SERVE-OPTION...]: prbot serve in the background,
# its stderr appended to LOG; wait up to 10 s for $URL/healthz; 1 (the
# daemon killed, its log shown) when it never answered
start_daemon() {
	local conf=$1 log=$2
	shift 2
	"$PRBOT" serve -c "$conf" "$@" 2>>"$log" &
	DAEMON_PID=$!
	for _ in $(seq 1 100); do
		curl -gsf -o /dev/null "$URL/healthz" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	stop_daemon
	cat "$log"
	return 1
}

# term_daemon SECONDS [WHAT]: SIGTERM, then the daemon must exit 0 within
# SECONDS (checks named "WHAT: SIGTERM: ...")
term_daemon() {
	local rc=0 what=${2:+$2: }
	if [ -z "$DAEMON_PID" ]; then
		fail "${what}SIGTERM: no daemon runs to receive it"
		return 0
	fi
	# a daemon that died already is reaped below and its status checked
	kill -TERM "$DAEMON_PID" 2>/dev/null || true
	for _ in $(seq 1 $(($1 * 10))); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		fail "${what}SIGTERM: exits within $1 s"
		stop_daemon
	else
		wait "$DAEMON_PID" || rc=$?
		check "${what}SIGTERM: exit 0" test "$rc" -eq 0
	fi
	DAEMON_PID=
}
