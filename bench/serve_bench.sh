#!/bin/bash
# serve_bench.sh: prbot serve's webhook acknowledgement against a Probot app.
#
#   bench/serve_bench.sh [PRBOT_BINARY]      default: build/prbot
#
# Targets (issue 3, "Speed"): signed issue_comment deliveries acknowledged
# with 202 at >= 5x the rate of a minimal Probot app (bench/probot/app.js);
# p99 under 10 ms at 1,000 requests/s; idle RSS under 10 MiB and peak RSS
# under 32 MiB during the run; the eyes reaction reaches a local fake GitHub
# within 50 ms of the webhook. Prints PASS/FAIL per target, exits 1 when one
# is missed, 2 when it cannot run.
#
# prbot runs as `prbot serve --workers 0` (accept and queue only) with its
# state store in bench/out/serve/ (on disk: the queue is fsynced). Probot
# 14.3.2 (bench/probot, installed with `npm ci` from the committed lock
# file) runs on node with the same secret. Both are driven by
# bench/loadgen.c (compiled here with cc -lcrypto): every request is a
# signed issue_comment with a unique X-GitHub-Delivery and comment id.
# Only 202 counts for prbot (200 would mean dedupe or nothing queued); 200
# "ok" is Probot's success. All traffic on 127.0.0.1.
#
# Environment: SECONDS_MAX (10) length of each max-throughput run, CONNS
# ("8 64") the connection counts it is run with (each server's best rate
# is compared), RATE (1000) and RATE_SECONDS (5) for the fixed-rate run,
# EYES_N (5) eyes samples (EYES_N=0 skips that part).
set -euo pipefail
cd "$(dirname "$0")/.."
PRBOT=${1:-build/prbot}
PY=/usr/bin/python3
HOOK="$PY tests/integration/webhook.py"
OUT=bench/out
T=$PWD/$OUT/serve
SECONDS_MAX=${SECONDS_MAX:-10}
CONNS=${CONNS:-8 64}
RATE=${RATE:-1000}
RATE_SECONDS=${RATE_SECONDS:-5}
EYES_N=${EYES_N:-5}
SECRET=bench-webhook-secret-0123456789
PIDS=()
declare -A PB_AT PR_AT

if [ ! -x "$PRBOT" ]; then
	echo "serve_bench: '$PRBOT' not found: build it (cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPRBOT_TESTS=OFF)" >&2
	exit 2
fi
command -v node >/dev/null || { echo "serve_bench: node is missing" >&2; exit 2; }

# everything started goes, whatever happens
stop_pid() { # stop_pid PID: TERM, 5 s, then KILL
	local p=$1
	kill -0 "$p" 2>/dev/null || return 0
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 1 50); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}
# shellcheck disable=SC2317 # called by the EXIT trap
stop_all() {
	local p
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	exec 7>&- 2>/dev/null || true
}
trap stop_all EXIT

rm -rf "$T"
mkdir -p "$T"
cc -O2 -std=gnu11 -Wall bench/loadgen.c -lcrypto -o "$OUT/loadgen"
LOADGEN=$OUT/loadgen
if [ ! -d bench/probot/node_modules/probot ]; then
	(cd bench/probot && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
fi
printf '%s\n' "$SECRET" >"$T/secret"

# the request template: webhook.py's issue_comment, @ID@ = the unique id
# (also the PR number: one PR's live jobs are looked up at each accept, and
# a thousand commands a second on one PR is not what GitHub sends)
$HOOK comment "$T/c.json" --pr 777777777 --comment-id 424242424242 --body $'Looks good.\n/evaluate\n'
sed -e 's/424242424242/@ID@/g' -e 's/777777777/@ID@/g' "$T/c.json" >"$T/tpl.json"

# wait_http URL PID: 10 s at most for URL to answer
wait_http() {
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# up_or_die URL PID WHAT LOG: wait for URL, else show LOG and exit 2
up_or_die() {
	wait_http "$1" "$2" && return 0
	echo "serve_bench: $3 did not start" >&2
	cat "$4" >&2
	exit 2
}
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }

jobs_in_store() {
	$PY -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from jobs").fetchone()[0])' "$T/prbot.db"
}

# ---- prbot ----
PORT=$($HOOK freeport)
cat >"$T/bot.conf" <<CONF
[server]
listen = 127.0.0.1:$PORT
workdir = $T/work
state = $T/prbot.db
queue_max = 10000000
[store]
url = file://$T/artifacts
[github]
webhook_secret = file:$T/secret
bot_login = prbot
CONF
# start_prbot: a fresh state store each time, so each run starts from an
# empty queue (with --workers 0 every accepted job stays queued)
start_prbot() {
	rm -f "$T"/prbot.db*
	"$PRBOT" serve -c "$T/bot.conf" --workers 0 2>>"$T/prbot.log" &
	PB=$!
	PIDS+=("$PB")
	up_or_die "http://127.0.0.1:$PORT/healthz" "$PB" prbot "$T/prbot.log"
	sleep 1
}
start_prbot
IDLE_KB=$(kib "$PB" VmRSS)
echo "prbot idle (after /healthz, no webhook yet): VmRSS $IDLE_KB kB"
PEAK1_KB=0
PB_BEST=0
for c in $CONNS; do
	[ "$PEAK1_KB" = 0 ] || start_prbot
	out=$($LOADGEN --port "$PORT" --secret-file "$T/secret" --template "$T/tpl.json" \
		--mode max --conns "$c" --seconds "$SECONDS_MAX" --requests 400000 --first-id 1 --ok 202)
	echo "prbot max:   $out"
	ok=$(field ok_per_s <<<"$out")
	PB_BEST=$(awk -v a="$ok" -v b="$PB_BEST" 'BEGIN { print (a > b ? a : b) }')
	PB_AT[$c]=$ok
	kb=$(kib "$PB" VmHWM)
	PEAK1_KB=$((kb > PEAK1_KB ? kb : PEAK1_KB))
	echo "prbot jobs in the state store after it: $(jobs_in_store), VmHWM $kb kB"
	stop_pid "$PB"
done
start_prbot
N_RATE=$((RATE * RATE_SECONDS))
PB_RATE=$($LOADGEN --port "$PORT" --secret-file "$T/secret" --template "$T/tpl.json" \
	--mode rate --rate "$RATE" --conns 64 --seconds "$((RATE_SECONDS + 1))" \
	--requests "$N_RATE" --first-id 1000001 --ok 202)
echo "prbot rate:  $PB_RATE"
PEAK2_KB=$(kib "$PB" VmHWM)
echo "prbot jobs in the state store after it: $(jobs_in_store), VmHWM $PEAK2_KB kB"
PEAK_KB=$((PEAK1_KB > PEAK2_KB ? PEAK1_KB : PEAK2_KB))
stop_pid "$PB"

# ---- Probot ----
PPORT=$($HOOK freeport)
(cd bench/probot && PORT=$PPORT WEBHOOK_SECRET=$SECRET exec node app.js) 2>"$T/probot.log" &
PP=$!
PIDS+=("$PP")
up_or_die "http://127.0.0.1:$PPORT/" "$PP" "the Probot app" "$T/probot.log"
PR_BEST=0
for c in $CONNS; do
	out=$($LOADGEN --port "$PPORT" --secret-file "$T/secret" --template "$T/tpl.json" \
		--mode max --conns "$c" --seconds "$SECONDS_MAX" --requests 400000 --first-id $((c * 1000000)) --ok 200)
	echo "probot max:  $out"
	ok=$(field ok_per_s <<<"$out")
	PR_BEST=$(awk -v a="$ok" -v b="$PR_BEST" 'BEGIN { print (a > b ? a : b) }')
	PR_AT[$c]=$ok
done
PR_RATE=$($LOADGEN --port "$PPORT" --secret-file "$T/secret" --template "$T/tpl.json" \
	--mode rate --rate "$RATE" --conns 64 --seconds "$((RATE_SECONDS + 1))" \
	--requests "$N_RATE" --first-id 1000001 --ok 200)
echo "probot rate: $PR_RATE"
echo "probot VmHWM (peak): $(kib "$PP" VmHWM) kB"
stop_pid "$PP"

# ---- ceiling (information): nginx answering a constant 202, no work ----
# what the load generator and the loopback allow on these 2 cores when the
# server does nothing at all: no signature, no JSON, nothing stored
if command -v nginx >/dev/null; then
	NPORT=$($HOOK freeport)
	mkdir -p "$T/nginx"
	cat >"$T/nginx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
error_log $T/nginx/error.log;
pid $T/nginx/nginx.pid;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $T/nginx;
	server {
		listen 127.0.0.1:$NPORT;
		location / { return 202 "queued\n"; }
	}
}
NGX
	nginx -c "$T/nginx/nginx.conf" 2>"$T/nginx/stderr" &
	NG=$!
	PIDS+=("$NG")
	if wait_http "http://127.0.0.1:$NPORT/" "$NG"; then
		for c in $CONNS; do
			out=$($LOADGEN --port "$NPORT" --secret-file "$T/secret" --template "$T/tpl.json" \
				--mode max --conns "$c" --seconds "$SECONDS_MAX" --requests 1000000 --first-id 1 --ok 202)
			echo "ceiling (nginx, constant 202) max: $out"
		done
	fi
	stop_pid "$NG"
else
	echo "ceiling: nginx not installed (apt-get install nginx-light): not measured"
fi

# ---- eyes: webhook -> reaction at a fake GitHub, with one worker ----
EYES_MS=
if [ "$EYES_N" -gt 0 ]; then
	mkfifo "$T/fake.in"
	$PY - "$T/fixture.json" "$EYES_N" <<'PYF'
import json, sys
n = int(sys.argv[2])
pulls = {}
for i in range(n):
    pr = 100 + i
    pulls["octo-org/ml-model#%d" % pr] = {
        "number": pr, "state": "open", "title": "bench",
        "user": {"login": "octocat", "type": "User"},
        "head": {"ref": "b%d" % pr, "sha": "%040x" % (pr + 1),
                 "repo": {"full_name": "octo-org/ml-model", "fork": False,
                          "clone_url": "file:///nonexistent/bench.git"}},
        "base": {"ref": "main", "sha": "%040x" % 1,
                 "repo": {"full_name": "octo-org/ml-model", "fork": False,
                          "clone_url": "file:///nonexistent/bench.git"}}}
# the fake numbers fixture comments from 1001 in order: PR 100+i has 1001+i
comments = {"octo-org/ml-model#%d" % (100 + i):
            [{"body": "/evaluate", "user": {"login": "octocat"}}]
            for i in range(n)}
json.dump({"pulls": pulls, "comments": comments, "permissions": {
    "octo-org/ml-model:octocat": {"permission": "write",
                                  "role_name": "write"}}},
          open(sys.argv[1], "w"))
PYF
	$PY tests/integration/fake_github.py --fixture "$T/fixture.json" \
		--token bench-token --bot-login prbot --max-seconds 120 \
		<"$T/fake.in" >"$T/fake.out" 2>"$T/fake.err" &
	FK=$!
	PIDS+=("$FK")
	exec 7>"$T/fake.in"
	FPORT=
	for _ in $(seq 1 100); do
		FPORT=$(head -n1 "$T/fake.out" 2>/dev/null || true)
		[ -n "$FPORT" ] && break
		sleep 0.1
	done
	EPORT=$($HOOK freeport)
	sed -e "s/^listen = .*/listen = 127.0.0.1:$EPORT/" \
		-e "s|^state = .*|state = $T/eyes.db|" "$T/bot.conf" >"$T/eyes.conf"
	printf 'api_url = http://127.0.0.1:%s\ntoken = env:BENCH_GH_TOKEN\n' "$FPORT" >>"$T/eyes.conf"
	BENCH_GH_TOKEN=bench-token "$PRBOT" serve -c "$T/eyes.conf" --workers 1 2>"$T/eyes.log" &
	PE=$!
	PIDS+=("$PE")
	if [ -n "$FPORT" ] && wait_http "http://127.0.0.1:$EPORT/healthz" "$PE"; then
		# each sample: send a signed /evaluate on a fresh PR, then poll the
		# fake's /_requests every 2 ms (5 s at most) for the eyes reaction;
		# the time is an upper bound (it includes the poll's own delay)
		EYES_MS=$($PY - "$EPORT" "$FPORT" "$SECRET" "$EYES_N" <<'PYE'
import hashlib, hmac, json, sys, time, urllib.request
port, fport, secret, n = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
times = []
for i in range(n):
    pr, cid = 100 + i, 1001 + i
    user = {"login": "octocat", "id": 583231, "type": "User"}
    body = json.dumps({"action": "created",
        "issue": {"number": pr, "user": user, "state": "open",
                  "pull_request": {"url": "x"}},
        "comment": {"id": cid, "user": user, "body": "/evaluate",
                    "node_id": "IC_%d" % cid},
        "repository": {"name": "ml-model", "full_name": "octo-org/ml-model",
                       "owner": {"login": "octo-org"}},
        "sender": user}).encode()
    sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    req = urllib.request.Request("http://127.0.0.1:%s/webhooks/github" % port,
        data=body, method="POST", headers={"Content-Type": "application/json",
        "X-GitHub-Event": "issue_comment", "X-GitHub-Delivery": "eyes-%d" % i,
        "X-Hub-Signature-256": sig})
    t0 = time.monotonic()
    code = urllib.request.urlopen(req, timeout=5).status
    got = None
    want = "/repos/octo-org/ml-model/issues/comments/%d/reactions" % cid
    before, first = [], None
    while time.monotonic() - t0 < 5:
        reqs = json.load(urllib.request.urlopen(
            "http://127.0.0.1:%s/_requests" % fport, timeout=5))
        eyes = [k for k, r in enumerate(reqs)
                if r["path"].startswith(want) and r["method"] == "POST"
                and (r.get("json") or {}).get("content") == "eyes"]
        if reqs and first is None:
            first = (time.monotonic() - t0) * 1000
        if eyes:
            got = (time.monotonic() - t0) * 1000
            before = ["%s %s %s" % (r["method"], r["path"], r["status"])
                      for r in reqs[:eyes[0] + 1]]
            break
        time.sleep(0.002)
    urllib.request.urlopen(urllib.request.Request(
        "http://127.0.0.1:%s/_requests" % fport, method="DELETE"), timeout=5)
    times.append(got if got is not None else 99999.0)
    print("eyes sample %d: webhook %d, first API request seen after %.1f ms, "
          "eyes after %.1f ms; requests up to it: %s"
          % (i, code, first or -1, times[-1], "; ".join(before)),
          file=sys.stderr)
    time.sleep(1.5)  # the worker finishes the (failing) job first
print("%.1f" % max(times))
PYE
)
	fi
	stop_pid "$PE"
	exec 7>&-
	stop_pid "$FK"
fi

# ---- verdict ----
P50=$(field p50_ms <<<"$PB_RATE")
P99=$(field p99_ms <<<"$PB_RATE")
RATE_OK=$(field ok_per_s <<<"$PB_RATE")
bad=0
verdict() { # verdict NAME CONDITION(awk) TEXT
	if awk "BEGIN { exit !($2) }"; then echo "PASS $1: $3"; else echo "FAIL $1: $3"; bad=1; fi
}
echo
for c in $CONNS; do
	echo "$c connections, ${SECONDS_MAX} s: prbot 202/s ${PB_AT[$c]}, Probot 200/s ${PR_AT[$c]}: ratio $(awk -v a="${PB_AT[$c]}" -v b="${PR_AT[$c]}" 'BEGIN { printf "%.2f", a / b }')"
done
RATIO=$(awk -v a="$PB_BEST" -v b="$PR_BEST" 'BEGIN { printf "%.2f", a / b }')
verdict throughput "$RATIO >= 5" "best prbot $PB_BEST 202/s / best Probot $PR_BEST 200/s = $RATIO (target >= 5)"
verdict latency "$P99 < 10" "at $RATE req/s offered: prbot 202/s $RATE_OK, p50 $P50 ms, p99 $P99 ms (target p99 < 10 ms)"
verdict idle-rss "$IDLE_KB < 10240" "idle VmRSS $IDLE_KB kB (target < 10240 kB)"
verdict peak-rss "$PEAK_KB < 32768" "VmHWM during the run $PEAK_KB kB (target < 32768 kB)"
if [ -n "$EYES_MS" ]; then
	verdict eyes "$EYES_MS < 50" "slowest of $EYES_N: $EYES_MS ms from webhook to eyes (target < 50 ms)"
else
	echo "NOT MEASURED eyes: EYES_N=0 or the fake GitHub / prbot did not start"
fi
exit "$bad"
