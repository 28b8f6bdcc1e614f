# lib.sh: shared set-up for the integration tests (sourced, not run)
# Each test gets a temp folder removed on exit, whatever happens.
set -euo pipefail

: "${PRBOT:?PRBOT must point at the prbot binary (ctest sets it)}"
: "${PRBOT_SOURCE_DIR:?PRBOT_SOURCE_DIR must be set (ctest sets it)}"

T=$(mktemp -d /tmp/prbot-it.XXXXXX)
cleanup() { [ -n "${KEEP_T:-}" ] || rm -rf "$T"; }
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
