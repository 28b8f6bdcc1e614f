#!/bin/bash
# fake_lib.sh: the fake GitHub (fake_github.py) for integration tests that
# drive the daemon; source it after lib.sh. Sets FAKE (its URL) and FAKE_PID.
FAKE_PID=
FAKE=

# fake_stop: the fake goes (call it from the EXIT trap, after stop_daemon)
fake_stop() {
	exec 7>&- 2>/dev/null || true
	if [ -n "$FAKE_PID" ] && kill -0 "$FAKE_PID" 2>/dev/null; then
		kill -KILL "$FAKE_PID" 2>/dev/null || true
		wait "$FAKE_PID" 2>/dev/null || true
	fi
}

# fake_start FIXTURE TOKEN: serve FIXTURE on a free port until fd 7 (a FIFO
# on its stdin) closes; the test ends (finish) when it does not come up
fake_start() {
	mkfifo "$T/fake.in"
	$PY "$PRBOT_SOURCE_DIR/tests/integration/fake_github.py" \
		--fixture "$1" --token "$2" --bot-login prbot --max-seconds 600 \
		<"$T/fake.in" >"$T/fake.out" 2>"$T/fake.err" &
	FAKE_PID=$!
	exec 7>"$T/fake.in"
	local port=
	for _ in $(seq 1 100); do
		port=$(head -n1 "$T/fake.out" 2>/dev/null || true)
		[ -n "$port" ] && break
		kill -0 "$FAKE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$port" ]; then
		fail "fake GitHub: prints its port within 10 s"
		cat "$T/fake.err"
		finish
	fi
	FAKE=http://127.0.0.1:$port
}

# fake_conf CONF PORT TOKEN_VAR SECRET_VAR: write_conf's CONF, serving on
# 127.0.0.1:PORT with one worker, GitHub being the fake (token and webhook
# secret from the environment variables named); append more sections after
fake_conf() {
	write_conf "$1"
	sed -i "/^\[server\]/a listen = 127.0.0.1:$2\nworkers = 1" "$1"
	cat >>"$1" <<CONF
[github]
api_url = $FAKE
token = env:$3
webhook_secret = env:$4
bot_login = prbot
CONF
}

# q PYTHON-EXPR: evaluate EXPR over what the fake saw and holds, print it;
# R = the recorded requests, S = the fake's state, and helpers:
#   posts(suffix) / patches(suffix): bodies of POSTs / PATCHes to a path
#   status_list(sha): [(state, context)] in order; created(pr): comment ids
#   body(id): a comment's current body; reactions(id): their contents
# (repository octo/ml, bot login prbot)
q() {
	curl -sf "$FAKE/_requests" >"$T/req.json" || echo '[]' >"$T/req.json"
	curl -sf "$FAKE/_state" >"$T/state.json" || echo '{}' >"$T/state.json"
	$PY - "$T/req.json" "$T/state.json" "$1" <<'PYEOF'
import json, sys
R = json.load(open(sys.argv[1]))
S = json.load(open(sys.argv[2]))
def path(r):
    return r["path"].split("?")[0]
def posts(suffix):
    return [r["json"] or {} for r in R
            if r["method"] == "POST" and path(r).endswith(suffix)]
def patches(suffix):
    return [r["json"] or {} for r in R
            if r["method"] == "PATCH" and path(r).endswith(suffix)]
def status_list(sha):
    return [(s.get("state"), s.get("context"))
            for s in posts("/repos/octo/ml/statuses/" + sha)]
def created(pr):
    return [c["id"] for c in S.get("comments", {}).get("octo/ml#%d" % pr, [])
            if c["user"]["login"] == "prbot"]
def body(cid):
    for items in S.get("comments", {}).values():
        for c in items:
            if c["id"] == cid:
                return c["body"]
    return ""
def reactions(cid):
    return [r.get("content") for r in posts(
        "/repos/octo/ml/issues/comments/%d/reactions" % cid)]
print(eval(sys.argv[3]))
PYEOF
}

# wait_for SECONDS PYTHON-EXPR: poll the fake (every 0.5 s) until EXPR is
# True; gives up early when the daemon (DAEMON_PID) died
wait_for() {
	local n=$(($1 * 2))
	for _ in $(seq 1 "$n"); do
		[ "$(q "$2")" = True ] && return 0
		if [ -n "${DAEMON_PID:-}" ] && ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			echo "  the daemon died"
			return 1
		fi
		sleep 0.5
	done
	return 1
}
