#!/bin/bash
# s3_lib.sh: a real S3 server (s3rver, tests/s3) behind the verifying proxy
# (s3_proxy.py) for integration tests; source it after lib.sh.
#
#   s3_start [BUCKET...]  start both (bucket "models" when none is named),
#                         wait until they answer (10 s at most), export
#                         S3_URL (the proxy, http://127.0.0.1:PORT),
#                         S3_UPSTREAM (s3rver itself, unauthenticated),
#                         S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION, S3_BUCKET
#                         (S3_SESSION_TOKEN, when set before, is required
#                         of every request)
#   s3_stop               both go, whatever happened: call it from the
#                         test's EXIT trap, as fake_stop is:
#                         trap 'stop_daemon; s3_stop; cleanup' EXIT
#   s3_fault JSON         queue a fault (see s3_proxy.py): s3_fault
#                         '{"action": "error", "query": "partNumber=2"}'
#   s3_reset              forget faults and log
#   s3_log [PY-EXPR]      the proxy's log as JSON, or EXPR evaluated with
#                         L = that log (a list of dicts)
#   s3_bad_signatures     how many logged requests failed authentication
#                         (a signature verdict other than "ok")
S3_PROXY_PID=
S3RVER_PID=
S3_URL=
S3_UPSTREAM=
export S3_ACCESS_KEY=AKIDPRBOTTEST0000000
export S3_SECRET_KEY=prbot-test-secret-not-a-real-key/0000000
export S3_REGION=us-east-1
export S3_BUCKET=models

# s3_stop: SIGKILL both, reap them, close their stdin pipes
s3_stop() {
	exec 5>&- 6>&- 2>/dev/null || true
	local pid
	for pid in "$S3_PROXY_PID" "$S3RVER_PID"; do
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	S3_PROXY_PID=
	S3RVER_PID=
}

# s3_port_of OUT PID: the first line of file OUT once PID wrote it (10 s)
s3_port_of() {
	local port=
	for _ in $(seq 1 100); do
		port=$(head -n1 "$1" 2>/dev/null || true)
		[ -n "$port" ] && break
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	echo "$port"
}

s3_start() {
	local modules=$PRBOT_SOURCE_DIR/tests/s3/node_modules port token=()
	[ $# -eq 0 ] && set -- "$S3_BUCKET"
	if [ ! -d "$modules/s3rver" ]; then
		fail "s3rver is installed (run: ./dev.sh test, or npm ci in tests/s3)"
		finish
	fi
	mkdir -p "$T/s3rver" "$T/s3spool"
	mkfifo "$T/s3rver.in" "$T/s3proxy.in"

	(cd "$PRBOT_SOURCE_DIR/tests/s3" &&
		exec node serve.js "$T/s3rver" "$@") \
		<"$T/s3rver.in" >"$T/s3rver.out" 2>"$T/s3rver.err" &
	S3RVER_PID=$!
	exec 5>"$T/s3rver.in"
	port=$(s3_port_of "$T/s3rver.out" "$S3RVER_PID")
	if [ -z "$port" ]; then
		fail "s3rver: prints its port within 10 s"
		cat "$T/s3rver.err"
		finish
	fi
	S3_UPSTREAM=http://127.0.0.1:$port

	[ -n "${S3_SESSION_TOKEN:-}" ] &&
		token=(--session-token "$S3_SESSION_TOKEN")
	$PY "$PRBOT_SOURCE_DIR/tests/integration/s3_proxy.py" \
		--upstream "$S3_UPSTREAM" --access-key "$S3_ACCESS_KEY" \
		--secret-key "$S3_SECRET_KEY" --region "$S3_REGION" \
		--spool-dir "$T/s3spool" --max-seconds 900 "${token[@]}" \
		<"$T/s3proxy.in" >"$T/s3proxy.out" 2>"$T/s3proxy.err" &
	S3_PROXY_PID=$!
	exec 6>"$T/s3proxy.in"
	port=$(s3_port_of "$T/s3proxy.out" "$S3_PROXY_PID")
	if [ -z "$port" ]; then
		fail "s3_proxy.py: prints its port within 10 s"
		cat "$T/s3proxy.err"
		finish
	fi
	S3_URL=http://127.0.0.1:$port
	export S3_URL S3_UPSTREAM

	for _ in $(seq 1 100); do
		curl -sf -o /dev/null "$S3_UPSTREAM/$1" &&
			curl -sf -o /dev/null "$S3_URL/__proxy/health" && return 0
		sleep 0.1
	done
	fail "s3rver and the proxy answer within 10 s"
	cat "$T/s3rver.err" "$T/s3proxy.err"
	finish
}

s3_fault() { # s3_fault JSON
	curl -sf -o /dev/null -X POST --data-binary "$1" "$S3_URL/__proxy/fault"
}

s3_reset() { curl -sf -o /dev/null -X POST "$S3_URL/__proxy/reset"; }

s3_log() { # s3_log [PY-EXPR]
	if [ $# -eq 0 ]; then
		curl -sf "$S3_URL/__proxy/log"
		return
	fi
	curl -sf "$S3_URL/__proxy/log" >"$T/s3log.json" || return 1
	$PY -c 'import json,sys; L=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$T/s3log.json" "$1"
}

s3_bad_signatures() {
	s3_log 'sum(1 for e in L if e["signature"] != "ok")'
}
