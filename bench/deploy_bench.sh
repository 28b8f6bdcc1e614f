#!/bin/bash
# deploy_bench.sh: how long a /deploy that reuses an evaluation takes.
#
#   bench/deploy_bench.sh [PRBOT_BINARY]      default: build/prbot
#
# Target (issue 4, "Speed"): a deploy that reuses an evaluated artifact
# finishes, outside git network time, in under 1 s: the slowest of N
# deploys is under 1000 ms. Exits 1 when it is missed, 2 when it cannot
# run (or a deploy did not do what is measured).
#
# What runs, all on 127.0.0.1, every process stopped by an EXIT trap:
# prbot serve with one worker (prbot-job next to PRBOT), the fake GitHub
# (tests/integration/fake_github.py), an ML repository and a bare serving
# repository, both local paths (so git's network time is about 0). Round 0
# warms up: the first /evaluate (the ML mirror cloned) and the first
# deploy (serving mirror cloned). Then each of N rounds moves PR 1's head
# to a new commit (a new src/predict.py), sends /evaluate and waits for it
# to end, then sends /deploy staging: prbot reuses that evaluation (only
# the checkout stage runs) and publishes the next version.
#
# The time: no sub-second job duration exists in prbot's records (the
# store's started_at/finished_at are whole seconds, job.log lines carry no
# time, the daemon's log is stamped to the second), so it is read at the
# fake GitHub: from the webhook's 202 to the moment the prbot/deploy
# success status is first seen in the fake's /_requests, polled every
# POLL_MS (3) ms; each time is an upper bound by up to one poll. The
# other requests' first-seen times give a breakdown by phase. The figure
# includes the queue and the worker's claim, the prbot-job process start,
# every GitHub call before the status (to the local fake: eyes, PR, commit
# status, report comment and its edits, deployment and its statuses, the
# minimization of older /deploy reports), the checkout from the warm
# mirror, and the publish (fetch, commit, signed manifest, tag, push to
# the local bare repository); not the rocket reaction and the store's
# finish that follow the status.
#
# Environment: N (5) measured deploys, POLL_MS (3), FAKE_NODELAY (0; 1
# takes the fake's own ~40 ms per GitHub call out: see below).
set -euo pipefail
cd "$(dirname "$0")/.."
PRBOT=${1:-build/prbot}
N=${N:-5}
POLL_MS=${POLL_MS:-3}
FAKE_NODELAY=${FAKE_NODELAY:-0}
PY=/usr/bin/python3
OUT=bench/out
T=$PWD/$OUT/deploy
SECRET=bench-deploy-webhook-secret-0123
export BENCH_GH_TOKEN=bench-deploy-token-0123456789
export BENCH_HOOK_SECRET=$SECRET
PIDS=()

if [ ! -x "$PRBOT" ] || [ ! -x "$(dirname "$PRBOT")/prbot-job" ]; then
	echo "deploy_bench: '$PRBOT' or prbot-job next to it not found: build them (cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPRBOT_TESTS=OFF)" >&2
	exit 2
fi
for c in git curl openssl; do
	command -v "$c" >/dev/null || { echo "deploy_bench: $c is missing" >&2; exit 2; }
done

# everything started goes, whatever happens
# shellcheck disable=SC2317 # called by stop_all
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
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
	exec 7>&- 2>/dev/null || true
}
trap stop_all EXIT

rm -rf "$T"
mkdir -p "$T"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
export GIT_CONFIG_NOSYSTEM=1 HOME=$T

# ---- the ML repository: one commit per round on branch b1 ----
R=$T/repo
mkdir -p "$R/src/lib"
cat >"$R/.prbot.yml" <<YML
train:
  command: python3 train.py
  timeout: 60s
model: model.pkl
metrics: metrics.json
evaluate:
  gates: { accuracy: ">= 0.9" }
deploy:
  version_schema: revision
  inference: [src/, requirements.txt]
  environments:
    staging: { repo: "$T/serving.git", branch: main, path: . }
YML
cp tests/data/e2e/train.py "$R/train.py"
# no third-party package: the venv's pip install has nothing to fetch
echo '# the model needs only the standard library' >"$R/requirements.txt"
for i in $(seq 20); do
	head -c 3072 /dev/urandom | base64 >"$R/src/lib/m$i.py"
done
git -C "$R" init -q -b main
for k in $(seq 0 "$N"); do
	echo "print('predict, version $k')" >"$R/src/predict.py"
	git -C "$R" add -A
	git -C "$R" commit -q -m "round $k"
	git -C "$R" rev-parse HEAD >>"$T/heads"
done

# ---- the serving repository ----
git init -q --bare -b main "$T/serving.git"
mkdir "$T/seed" && echo serving >"$T/seed/README.md"
git -C "$T/seed" init -q -b main
git -C "$T/seed" add -A && git -C "$T/seed" commit -q -m "Serving repository"
git -C "$T/seed" push -q "$T/serving.git" main

# ---- the fake GitHub: PR 1 (head set by each round), alice maintains ----
# alice's comments, one /evaluate and one /deploy per round: the fake
# numbers them 1001, 1002, ... and the webhooks use those ids, so the
# reactions to them succeed as on GitHub
$PY - "$N" >"$T/fixture.json" <<'PYF'
import json, sys
alice = {"login": "alice"}
comments = [{"body": b, "user": alice}
            for _ in range(int(sys.argv[1]) + 1)
            for b in ("/evaluate", "/deploy staging")]
json.dump({"permissions": {"octo/ml:alice": {"permission": "write",
                                             "role_name": "maintain"}},
           "comments": {"octo/ml#1": comments}}, sys.stdout)
PYF
mkfifo "$T/fake.in"
# FAKE_NODELAY=1: the fake's sockets get TCP_NODELAY (socketserver's
# disable_nagle_algorithm), so its replies (headers, then body: two sends)
# no longer wait for the client's delayed ACK, about 40 ms per call on a
# kept-alive connection; that wait is the fake's, not prbot's or GitHub's
$PY -c 'import runpy, socketserver, sys
socketserver.StreamRequestHandler.disable_nagle_algorithm = sys.argv[1] == "1"
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")' "$FAKE_NODELAY" \
	tests/integration/fake_github.py --fixture "$T/fixture.json" \
	--token "$BENCH_GH_TOKEN" --bot-login prbot --max-seconds 900 \
	<"$T/fake.in" >"$T/fake.out" 2>"$T/fake.err" &
PIDS+=($!)
exec 7>"$T/fake.in"
FPORT=
for _ in $(seq 1 100); do
	FPORT=$(head -n1 "$T/fake.out" 2>/dev/null || true)
	[ -n "$FPORT" ] && break
	sleep 0.1
done
if [ -z "$FPORT" ]; then
	echo "deploy_bench: the fake GitHub did not start" >&2
	cat "$T/fake.err" >&2
	exit 2
fi

# ---- prbot serve, one worker ----
PORT=$($PY tests/integration/webhook.py freeport)
openssl genpkey -algorithm ed25519 -out "$T/sign.pem" 2>/dev/null
cat >"$T/bot.conf" <<CONF
[server]
listen = 127.0.0.1:$PORT
workers = 1
workdir = $T/work
state = $T/prbot.db
[store]
url = file://$T/artifacts
[github]
api_url = http://127.0.0.1:$FPORT
token = env:BENCH_GH_TOKEN
webhook_secret = env:BENCH_HOOK_SECRET
bot_login = prbot
[deploy]
author_name = prbot-deployer
author_email = deployer@example.invalid
signing_key = file:$T/sign.pem
CONF
"$PRBOT" serve -c "$T/bot.conf" 2>"$T/serve.log" &
PB=$!
PIDS+=("$PB")
up=0
for _ in $(seq 1 100); do
	curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && { up=1; break; }
	kill -0 "$PB" 2>/dev/null || break
	sleep 0.1
done
if [ "$up" = 0 ]; then
	echo "deploy_bench: prbot serve did not start" >&2
	cat "$T/serve.log" >&2
	exit 2
fi

# ---- the rounds, driven and timed in Python; exit 2 when one went wrong ----
rc=0
timeout 600 $PY - "$PORT" "$FPORT" "$SECRET" "$T" "$N" "$POLL_MS" "$FAKE_NODELAY" <<'PYEOF' || rc=$?
import hashlib, hmac, json, sqlite3, statistics, subprocess, sys, time
import urllib.request

port, fport, secret, T = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4]
n, poll = int(sys.argv[5]), int(sys.argv[6]) / 1000.0
FAKE = "http://127.0.0.1:%s" % fport
REPO = "octo/ml"
heads = open(T + "/heads").read().split()
db = T + "/prbot.db"
cid = 1000  # the fixture's comments are 1001, 1002, ...


def die(msg):
    print("deploy_bench: " + msg, file=sys.stderr)
    sys.exit(2)


def call(url, data=None, method="GET"):
    req = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


def head_is(sha):
    """A push to PR 1's branch: b1 moves to sha, the fake says so."""
    subprocess.run(["git", "-C", T + "/repo", "update-ref", "refs/heads/b1",
                    sha], check=True)
    pr = {"number": 1, "state": "open", "title": "Deploy bench",
          "html_url": "https://github.com/%s/pull/1" % REPO,
          "user": {"login": "alice", "type": "User"},
          "head": {"ref": "b1", "sha": sha,
                   "repo": {"full_name": REPO, "fork": False,
                            "clone_url": T + "/repo"}},
          "base": {"ref": "main", "sha": heads[0],
                   "repo": {"full_name": REPO, "fork": False,
                            "clone_url": T + "/repo"}}}
    call(FAKE + "/_fixture", json.dumps(
        {"pulls": {REPO + "#1": pr}}).encode(), "POST")


def webhook(body_text):
    """Send a signed /... comment on PR 1; the 202's monotonic time."""
    global cid
    cid += 1
    user = {"login": "alice", "id": 583231, "type": "User"}
    body = json.dumps({
        "action": "created",
        "issue": {"number": 1, "user": user, "state": "open",
                  "pull_request": {"url": "x"}},
        "comment": {"id": cid, "user": user, "body": body_text,
                    "node_id": "IC_%d" % cid},
        "repository": {"name": "ml", "full_name": REPO,
                       "owner": {"login": "octo"}},
        "sender": user}).encode()
    sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        "http://127.0.0.1:%s/webhooks/github" % port, data=body,
        method="POST", headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "issue_comment",
            "X-GitHub-Delivery": "deploy-bench-%d" % cid,
            "X-Hub-Signature-256": sig})
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=10) as r:
        code = r.status
    t1 = time.monotonic()
    if code != 202:
        die("%r: answered %d, not 202" % (body_text, code))
    return t0, t1


def sql(q, *args):
    c = sqlite3.connect(db, timeout=10)
    try:
        return c.execute(q, args).fetchall()
    finally:
        c.close()


def idle(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if sql("select count(*) from jobs where state in "
               "('queued', 'running')")[0][0] == 0:
            return
        time.sleep(0.05)
    die("a job did not end within %d s (see %s/serve.log)" % (seconds, T))


def label(r):
    p, m = r["path"].split("?")[0], r["method"]
    j = r.get("json") or {}
    if p.endswith("/reactions"):
        return "reaction " + j.get("content", "?")
    if "/statuses/" in p and "/deployments/" not in p:
        return "status %s %s" % (j.get("context"), j.get("state"))
    if p.endswith("/deployments") and m == "POST":
        return "deployment created"
    if "/deployments/" in p:
        return "deployment " + j.get("state", "?")
    if m == "POST" and p.endswith("/comments"):
        return "report comment created"
    if m == "PATCH" and "/issues/comments/" in p:
        return "report comment edited"
    return "%s %s" % (m, p)


def watch(t202, until, seconds=30):
    """First-seen time (ms after the 202) of each request, until a request
    labelled `until` is seen."""
    seen, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        reqs = json.loads(call(FAKE + "/_requests"))
        now = (time.monotonic() - t202) * 1000
        for r in reqs[len(seen):]:
            seen.append((label(r), now, r["status"]))
        if any(s[0] == until for s in seen):
            return seen
        time.sleep(poll)
    die("no '%s' within %d s; seen: %s" % (until, seconds,
                                           [s[0] for s in seen]))


def first(seen, what):
    for s in seen:
        if s[0] == what:
            return s[1]
    return None


def last(seen, what, before):
    t = None
    for s in seen:
        if s[0] == what and s[1] is not None and s[1] <= before:
            t = s[1]
    return t


def evaluate(k):
    head_is(heads[k])
    webhook("/evaluate")
    idle(300)
    if not sql("select 1 from evaluations where sha = ?", heads[k]):
        die("round %d: /evaluate of %s recorded no evaluation (see "
            "%s/serve.log)" % (k, heads[k][:12], T))


def deploy(k):
    call(FAKE + "/_requests", method="DELETE")
    t_send, t202 = webhook("/deploy staging")
    seen = watch(t202, "status prbot/deploy success")
    if first(seen, "status prbot/deploy failure") is not None:
        die("round %d: the deploy failed" % k)
    idle(60)
    seen += [(label(r), None, r["status"])
             for r in json.loads(call(FAKE + "/_requests"))[len(seen):]]
    job = sql("select id, state from jobs where command = 'deploy' "
              "order by id desc limit 1")[0]
    co = sql("select seconds from job_stages where job_id = ? and "
             "name = 'checkout'", job[0])
    stages = sql("select name from job_stages where job_id = ?", job[0])
    log = open(T + "/serve.log").read()
    if job[1] != "succeeded" or [s[0] for s in stages] != ["checkout"] or \
            ("reusing the evaluation of %s by job" % heads[k][:12]) not in log:
        die("round %d: job j-%d did not reuse the evaluation (state %s, "
            "stages %s)" % (k, job[0], job[1], [s[0] for s in stages]))
    man = json.loads(subprocess.run(
        ["git", "--git-dir", T + "/serving.git", "show",
         "main:model_manifest.json"], capture_output=True, check=True).stdout)
    if man.get("model_origin_commit_SHA") != heads[k] or \
            man.get("version") != "v0.0.%d" % (k + 1):
        die("round %d: the serving repository has %s of %s, not v0.0.%d "
            "of %s" % (k, man.get("version"),
                       man.get("model_origin_commit_SHA"), k + 1, heads[k]))
    return {"ack": (t202 - t_send) * 1000, "seen": seen,
            "checkout": co[0][0] * 1000 if co else None,
            "ms": first(seen, "status prbot/deploy success")}


def show(k, d):
    print("deploy %d (v0.0.%d): %.1f ms from the 202 to prbot/deploy "
          "success (webhook answered in %.1f ms; checkout stage %.0f ms)"
          % (k, k + 1, d["ms"], d["ack"], d["checkout"]))
    names = [x[0] for x in d["seen"]]
    calls = d["seen"][:names.index("status prbot/deploy success") + 1]
    print("   %d GitHub calls up to the status, %d of them GraphQL "
          "minimizations of older /deploy reports" % (
              len(calls), sum(1 for x in calls if x[0] == "POST /graphql")))
    print("   first seen at the fake, ms after the 202: " + "; ".join(
        "%s %s" % (s[0], "%.0f" % s[1] if s[1] is not None else "after")
        for s in d["seen"]))


def phases(d):
    """Spans between landmarks (upper bounds: each ends at a poll)."""
    s, end = d["seen"], d["ms"]
    edited = last(s, "report comment edited", end)
    marks = [("queue, prbot-job start, eyes reaction", 0.0,
              first(s, "reaction eyes")),
             ("PR, pending status, report comment",
              first(s, "reaction eyes"), first(s, "report comment created")),
             ("checkout stage, deploy checks, report edit",
              first(s, "report comment created"),
              first(s, "deployment created")),
             ("GitHub deployment created, in_progress",
              first(s, "deployment created"),
              first(s, "deployment in_progress")),
             ("publish (fetch, commit, sign, tag, push)",
              first(s, "deployment in_progress"),
              first(s, "deployment success")),
             ("final report edit",
              first(s, "deployment success"), edited),
             ("minimize older reports, prbot/deploy status",
              edited, end)]
    return [(m[0], m[2] - m[1]) for m in marks
            if m[1] is not None and m[2] is not None]


print("warm-up: round 0 (the first /evaluate clones the "
      "ML mirror; the first deploy clones the serving mirror)")
t = time.monotonic()
evaluate(0)
print("   /evaluate: %.1f s" % (time.monotonic() - t))
d0 = deploy(0)
show(0, d0)
print()
runs = []
for k in range(1, n + 1):
    evaluate(k)
    d = deploy(k)
    show(k, d)
    runs.append(d)
ms = [d["ms"] for d in runs]
print()
print("fake GitHub: %s" % ("TCP_NODELAY (FAKE_NODELAY=1): its own "
      "delayed-ACK wait taken out" if sys.argv[7] == "1" else "as the "
      "integration tests run it (about 40 ms per kept-alive call is its "
      "delayed-ACK wait)"))
print("measured deploys (warm mirrors), ms from the 202 to prbot/deploy "
      "success: %s" % ", ".join("%.1f" % m for m in ms))
print("median %.1f ms, max %.1f ms; first deploy (cold serving mirror, "
      "information) %.1f ms" % (statistics.median(ms), max(ms), d0["ms"]))
print("breakdown, median over the measured deploys (each span is the "
      "difference of two first-seen times, +- %d ms):" % int(poll * 1000))
spans = {}
for d in runs:
    for name, v in phases(d):
        spans.setdefault(name, []).append(v)
for name, v in spans.items():
    print("   %-50s %6.1f ms" % (name, statistics.median(v)))
print("   %-50s %6.1f ms (job_stages.seconds)" % (
    "  of which the checkout stage itself",
    statistics.median(d["checkout"] for d in runs)))
after = [d["seen"][-1][0] for d in runs]
print("   after prbot/deploy success, not in the figure: %s, then the "
      "store's finish" % after[0])
open(T + "/verdict", "w").write("%.1f %.1f\n" % (statistics.median(ms),
                                                 max(ms)))
PYEOF
if [ "$rc" -ne 0 ]; then
	echo "deploy_bench: the rounds did not complete (exit $rc); the daemon's log: $T/serve.log" >&2
	tail -20 "$T/serve.log" >&2
	exit 2
fi

read -r MEDIAN MAX <"$T/verdict"
echo
if awk -v m="$MAX" 'BEGIN { exit !(m < 1000) }'; then
	echo "PASS deploy: slowest of $N deploys reusing an evaluation $MAX ms, median $MEDIAN ms (target < 1000 ms)"
	exit 0
fi
echo "FAIL deploy: slowest of $N deploys reusing an evaluation $MAX ms, median $MEDIAN ms (target < 1000 ms)"
exit 1
