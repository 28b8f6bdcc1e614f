#!/bin/bash
# test_clone_token.sh: the daemon clones a PR from its head.repo.clone_url
# over smart HTTP with the bot's token (issue 3: "authenticated with the same
# token"); a clone URL the token does not open fails the job with a clear
# report, and the token is in no log or comment
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"

DATA=$PRBOT_SOURCE_DIR/tests/data/e2e
export CT_GH_TOKEN=ct-token-0123456789abcdef
export CT_HOOK_SECRET=ct-webhook-secret-123
SECRET=$CT_HOOK_SECRET
REPO=octo/ml
GIT_PID=

git_stop() {
	exec 8>&- 2>/dev/null || true
	if [ -n "$GIT_PID" ] && kill -0 "$GIT_PID" 2>/dev/null; then
		kill -KILL "$GIT_PID" 2>/dev/null || true
		wait "$GIT_PID" 2>/dev/null || true
	fi
}
trap 'stop_daemon; fake_stop; git_stop; cleanup' EXIT

# the ML repository, served under /private/: reading it needs the token
mkdir "$T/repo"
cp "$DATA/prbot.yml" "$T/repo/.prbot.yml"
cp "$DATA/train.py" "$T/repo/train.py"
make_repo "$T/repo" "Tiny model"
BASE=$(git -C "$T/repo" rev-parse HEAD)
git -C "$T/repo" checkout -q -b tune
echo "A tiny classifier." >"$T/repo/README.md"
git -C "$T/repo" add -A
git -C "$T/repo" commit -q -m "Tune the classifier"
SHA=$(git -C "$T/repo" rev-parse HEAD)
mkdir -p "$T/srv/private"
git clone -q --bare "$T/repo" "$T/srv/private/ml.git"

mkfifo "$T/git.in"
$PY "$PRBOT_SOURCE_DIR/tests/integration/http_git_server.py" --root "$T/srv" \
	--token "$CT_GH_TOKEN" --max-seconds 600 \
	<"$T/git.in" >"$T/git.out" 2>"$T/git.err" &
GIT_PID=$!
exec 8>"$T/git.in"
GIT_PORT=
for _ in $(seq 1 100); do
	GIT_PORT=$(head -n1 "$T/git.out" 2>/dev/null || true)
	[ -n "$GIT_PORT" ] && break
	sleep 0.1
done
if [ -z "$GIT_PORT" ]; then
	fail "git server: prints its port within 10 s"
	finish
fi

# PR 7 clones from the private URL; PR 9 from one that does not exist there
sed -e "s|@SHA@|$SHA|g" -e "s|@SLOW@|$SHA|g" -e "s|@BASE@|$BASE|g" \
	-e "s|@CLONE@|http://127.0.0.1:$GIT_PORT/private/ml.git|g" \
	"$DATA/fixture.json" >"$T/fixture.tmp"
$PY - "$T/fixture.tmp" "$T/fixture.json" "http://127.0.0.1:$GIT_PORT/private/none.git" <<'PYEOF'
import json, sys
f = json.load(open(sys.argv[1]))
for side in ("head", "base"):
    f["pulls"]["octo/ml#9"][side]["repo"]["clone_url"] = sys.argv[3]
json.dump(f, open(sys.argv[2], "w"))
PYEOF
fake_start "$T/fixture.json" "$CT_GH_TOKEN"

PORT=$(freeport)
URL=http://127.0.0.1:$PORT
fake_conf "$T/bot.conf" "$PORT" CT_GH_TOKEN CT_HOOK_SECRET
if ! start_daemon "$T/bot.conf" "$T/serve.log"; then
	fail "serve: /healthz answers within 10 s"
	finish
fi

$HOOK comment "$T/c1.json" --repo $REPO --pr 7 --comment-id 1001 \
	--login alice --body '/evaluate'
send one issue_comment d-ct-1 "$T/c1.json"
check "/evaluate: 202" status_is one 202
check "private clone URL: the job succeeds (the token opened it)" \
	wait_for 60 "('success', 'prbot/evaluate') in status_list('$SHA')"
check "private clone URL: the git server saw authorized fetches" \
	grep -q '"GET /private/ml.git/info/refs?service=git-upload-pack HTTP/1.1" 200' "$T/git.err"

$HOOK comment "$T/c2.json" --repo $REPO --pr 9 --comment-id 1002 \
	--login alice --body '/evaluate'
send two issue_comment d-ct-2 "$T/c2.json"
check "missing repository: the job fails with a failure status" \
	wait_for 60 "status_list('$SHA')[-1] == ('failure', 'prbot/evaluate')"
check "missing repository: the report names the checkout" \
	test "$(q "any('checkout' in body(c) for c in created(9))")" = True

stop_daemon
check "the token is in no log, comment or job folder" \
	sh -c "! grep -rqF '$CT_GH_TOKEN' '$T/serve.log' '$T/work' && test \"\$(cd '$T' && $PY -c 'import json,sys; print(sys.argv[1] in open(\"state.json\").read())' '$CT_GH_TOKEN')\" = False"
if [ "$failures" -ne 0 ]; then
	echo "--- serve.log"
	cat "$T/serve.log"
	echo "--- git.err"
	tail -20 "$T/git.err"
fi
finish
