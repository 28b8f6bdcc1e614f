#!/bin/bash
# test_deploy.sh: /deploy, /rollback and /status through prbot serve, a fake
# GitHub and a local bare serving repository: a dry run pushes nothing; an
# approved /deploy staging publishes v0.0.1 (commit, tag, manifest whose
# MD5 is the artifact's, a GitHub deployment in_progress then success, a
# prbot/deploy status); the same deploy again is "already deployed"; PR 2
# is refused by PR 1's lock; requires: (approval, changes requested, a
# pending check), unknown environments, a missing deploy: section, a
# missing inference path and an unreachable serving repository are refused
# with a reply saying why; a new head deploys v0.0.2, /rollback brings
# v0.0.1's manifest and files back as v0.0.3 (later.txt, only in v0.0.2,
# goes); /rollback with no history is refused
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"

DATA=$PRBOT_SOURCE_DIR/tests/data
export DEPLOY_GH_TOKEN=deploy-token-0123456789
export DEPLOY_HOOK_SECRET=deploy-webhook-secret-123
SECRET=$DEPLOY_HOOK_SECRET
REPO=octo/ml
SERVING=$T/serving.git

GIT_PID=
git_stop() {
	exec 8>&- 2>/dev/null || true
	if [ -n "$GIT_PID" ] && kill -0 "$GIT_PID" 2>/dev/null; then
		kill -KILL "$GIT_PID" 2>/dev/null || true
		wait "$GIT_PID" 2>/dev/null || true
	fi
}
trap 'stop_daemon; fake_stop; git_stop; cleanup' EXIT

# a git server over HTTP whose pushes want another token than the bot's
mkdir "$T/srv"
git init -q --bare -b main "$T/srv/denied.git"
mkfifo "$T/git.in"
$PY "$PRBOT_SOURCE_DIR/tests/integration/http_git_server.py" --root "$T/srv" \
	--token not-the-bots-token --max-seconds 600 \
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

# ---- set-up: the ML repository (one branch per PR), the serving one ----

mkdir "$T/repo"
sed -e "s|@SERVING@|$SERVING|" -e "s|@NOWHERE@|$T/nowhere.git|" \
	-e "s|@DENIED@|http://127.0.0.1:$GIT_PORT/denied.git|" \
	"$DATA/deploy/prbot.yml" >"$T/repo/.prbot.yml"
cp "$DATA/e2e/train.py" "$T/repo/train.py"
mkdir "$T/repo/src"
echo 'print("predict")' >"$T/repo/src/predict.py"
echo 'numpy' >"$T/repo/requirements.txt"
make_repo "$T/repo" "A model to deploy"
SHA1=$(git -C "$T/repo" rev-parse HEAD)
git -C "$T/repo" checkout -q -b b2
echo "PR 2" >"$T/repo/README.md"
git -C "$T/repo" add -A && git -C "$T/repo" commit -q -m "PR 2"
SHA2=$(git -C "$T/repo" rev-parse HEAD)
git -C "$T/repo" checkout -q -b b3 main # deploy.inference names a missing file
sed -i 's|inference: \[src/, requirements.txt\]|inference: [src/, missing.txt]|' "$T/repo/.prbot.yml"
git -C "$T/repo" commit -q -am "PR 3"
SHA3=$(git -C "$T/repo" rev-parse HEAD)
git -C "$T/repo" checkout -q -b b4 main # no deploy: section
sed -i '/^deploy:/,$d' "$T/repo/.prbot.yml"
git -C "$T/repo" commit -q -am "PR 4"
SHA4=$(git -C "$T/repo" rev-parse HEAD)
git -C "$T/repo" checkout -q -b b5 main # a gate that fails
sed -i 's|accuracy: ">= 0.9"|accuracy: ">= 0.99"|' "$T/repo/.prbot.yml"
git -C "$T/repo" commit -q -am "PR 5"
SHA5=$(git -C "$T/repo" rev-parse HEAD)
git -C "$T/repo" checkout -q -b b1 main # PR 1's second head
echo "PR 1, again" >"$T/repo/README.md"
echo "only in PR 1's second head" >"$T/repo/later.txt"
sed -i 's|inference: \[src/, requirements.txt\]|inference: [src/, requirements.txt, later.txt]|' "$T/repo/.prbot.yml"
git -C "$T/repo" add -A && git -C "$T/repo" commit -q -m "PR 1 again"
SHA1B=$(git -C "$T/repo" rev-parse HEAD)
git -C "$T/repo" checkout -q main

served() { git --git-dir="$SERVING" "$@"; }
tags() { served tag -l | tr '\n' ' '; }
git init -q --bare -b main "$SERVING"
mkdir "$T/seed" && echo "serving" >"$T/seed/README.md"
make_repo "$T/seed" "Serving repository"
git -C "$T/seed" push -q "$SERVING" main

rc=0
"$PRBOT" run deploy staging --repo "$T/repo" >"$T/run.out" 2>"$T/run.err" || rc=$?
check "prbot run deploy: exit 2, only in a pull request comment" \
	sh -c "[ $rc -eq 2 ] && grep -qF \"'deploy' is not available in 'prbot run'\" '$T/run.err'"
check "prbot run deploy: the serving repository is untouched" \
	test "$(tags)" = ""

pull() { # pull N SHA
	cat <<PR
"$REPO#$1": { "number": $1, "state": "open", "title": "PR $1",
  "html_url": "https://github.com/$REPO/pull/$1",
  "user": { "login": "alice", "type": "User" },
  "head": { "ref": "b$1", "sha": "$2",
            "repo": { "full_name": "$REPO", "fork": false,
                      "clone_url": "$T/repo" } },
  "base": { "ref": "main", "sha": "$SHA1",
            "repo": { "full_name": "$REPO", "fork": false,
                      "clone_url": "$T/repo" } } }
PR
}
cat >"$T/fixture.json" <<FX
{ "pulls": { $(pull 1 "$SHA1"), $(pull 2 "$SHA2"), $(pull 3 "$SHA3"),
             $(pull 4 "$SHA4"), $(pull 5 "$SHA5") },
  "permissions": {
    "$REPO:alice": { "permission": "write", "role_name": "maintain" },
    "$REPO:bob": { "permission": "write", "role_name": "maintain" },
    "$REPO:carol": { "permission": "write", "role_name": "write" } },
  "statuses": { "$REPO@$SHA2": [ { "context": "ci/test",
                                   "state": "pending" } ] } }
FX
fake_start "$T/fixture.json" "$DEPLOY_GH_TOKEN"
fixture() { curl -sf -X POST --data-binary "$1" "$FAKE/_fixture" >/dev/null; }

PORT=$(freeport)
URL=http://127.0.0.1:$PORT
openssl genpkey -algorithm ed25519 -out "$T/sign.pem" 2>/dev/null
openssl pkey -in "$T/sign.pem" -pubout -out "$T/sign.pub" 2>/dev/null
fake_conf "$T/bot.conf" "$PORT" DEPLOY_GH_TOKEN DEPLOY_HOOK_SECRET
cat >>"$T/bot.conf" <<CONF
[deploy]
author_name = prbot-deployer
author_email = deployer@example.invalid
signing_key = file:$T/sign.pem
CONF

if ! start_daemon "$T/bot.conf" "$T/serve.log"; then
	fail "serve: /healthz answers within 10 s"
	finish
fi

# idle: every job has ended (up to 90 s)
idle() {
	for _ in $(seq 1 180); do
		[ "$(sql "select count(*) from jobs where state in ('queued','running') and 'j-'||id != '${IDLE_SKIP:-}'")" = 0 ] && return 0
		sleep 0.5
	done
	return 1
}
CID=7000
# say NAME PR LOGIN BODY: comment BODY on PR as LOGIN, wait for the jobs
# to end, keep prbot's newest comment on PR in $T/NAME.md
say() {
	local name=$1 pr=$2 login=$3 body=$4
	CID=$((CID + 1))
	$HOOK comment "$T/$name.json" --repo $REPO --pr "$pr" \
		--comment-id $CID --login "$login" --body "$body"
	send "$name" issue_comment "d-deploy-$name" "$T/$name.json"
	check "$name: '$body' by $login on #$pr: 202" status_is "$name" 202
	check "$name: its jobs end within 90 s" idle
	q "(body(created($pr)[-1]) if created($pr) else '')" >"$T/$name.md"
}
has() { # has NAME TEXT: prbot's comment NAME contains TEXT
	grep -qF -- "$2" "$T/$1.md" || {
		echo "  comment: $(cat "$T/$1.md")"
		return 1
	}
}

# ---- a dry run changes nothing ----

HEAD0=$(served rev-parse main)
say dry 1 alice '/deploy --dry-run'
check "dry run: says what would be published (v0.0.1, files, manifest)" \
	sh -c "grep -qF 'Dry run: /deploy to \`staging\`' '$T/dry.md' && grep -qF '**v0.0.1**' '$T/dry.md' && grep -qF 'src/predict.py' '$T/dry.md' && grep -qF '\"model_md5_hash\"' '$T/dry.md'"
check "dry run: the serving branch did not move, no tag" \
	test "$(served rev-parse main) $(tags)" = "$HEAD0 "
check "dry run: no GitHub deployment, no prbot/deploy status" \
	test "$(q "len(S['deployments']) + len(status_list('$SHA1'))")" = 0
check "dry run: no lock, no deployment recorded" \
	test "$(sql "select count(*) from locks")$(sql "select count(*) from deployments")" = 00

# ---- requires: [approved] without an approval ----

say noappr 2 bob '/deploy production'
check "production without approval: refused, saying so" \
	has noappr '- `approved`: no approving review'
fixture "{\"reviews\": {\"$REPO#2\": [{\"user\": {\"login\": \"bob\"}, \"state\": \"APPROVED\"}, {\"user\": {\"login\": \"carol\"}, \"state\": \"CHANGES_REQUESTED\"}]}}"
say changes 2 bob '/deploy production'
check "production with changes requested: refused naming @carol" \
	has changes '- `approved`: changes requested by @carol'
say pending 2 bob '/deploy gated'
check "requires checks with a pending ci/test: refused naming it" \
	has pending '- `checks`: still pending: `ci/test`'
check "refused deploys: a failure prbot/deploy status on PR 2's head" \
	test "$(q "status_list('$SHA2')[-1]")" = "('failure', 'prbot/deploy')"
check "refused deploys: the serving repository is untouched" \
	test "$(served rev-parse main) $(tags)" = "$HEAD0 "

# ---- the deploy ----

fixture "{\"reviews\": {\"$REPO#1\": [{\"user\": {\"login\": \"bob\"}, \"state\": \"APPROVED\"}]}}"
say deploy1 1 alice '/deploy staging'
V1=$(served rev-parse main)
check "deploy: the serving branch has a new commit by the bot" \
	test "$(served log -1 --format='%an <%ae>' main)" = "prbot-deployer <deployer@example.invalid>"
check "deploy: its message names the repository, PR, SHA and version" \
	sh -c "git --git-dir='$SERVING' log -1 --format=%B main | grep -q 'v0.0.1' && git --git-dir='$SERVING' log -1 --format=%B main | grep -q '$REPO#1' && git --git-dir='$SERVING' log -1 --format=%B main | grep -q '$SHA1'"
check "deploy: tag v0.0.1 names it" test "$(served rev-parse 'v0.0.1^{commit}')" = "$V1"
check "deploy: the inference files are there" \
	test "$(served show main:src/predict.py)" = 'print("predict")'
served show main:model_manifest.json >"$T/m1.json"
served show main:model_manifest.json.sig >"$T/m1.json.sig"
check "deploy: the manifest is signed: prbot verify --pubkey passes" \
	"$PRBOT" verify "$T/m1.json" --pubkey "$T/sign.pub"
ART=$(find "$T/artifacts" -path "*/$SHA1/model.pkl" | head -n1)
MD5=$(md5sum "${ART:-/dev/null}" | cut -d' ' -f1)
check "deploy: model_manifest.json's model_md5_hash is the artifact's MD5" \
	test "$(json_get "$T/m1.json" "r['model_md5_hash']")" = "$MD5"
check "deploy: the manifest says version v0.0.1, environment staging, SHA" \
	test "$(json_get "$T/m1.json" "(r['version'], r['environment'], r['model_origin_commit_SHA'])")" = "('v0.0.1', 'staging', '$SHA1')"
check "deploy: a GitHub deployment of SHA1 to staging, in_progress then success" \
	test "$(q "[(d['ref'], d['environment'], [s['state'] for s in d['statuses']]) for d in S['deployments']]")" = "[('$SHA1', 'staging', ['in_progress', 'success'])]"
check "deploy: the deployment statuses carry the report's URL as log_url" \
	test "$(q "all(s.get('log_url', '').startswith('https://github.com/$REPO/pull/1#issuecomment-') for s in S['deployments'][0]['statuses'])")" = True
check "deploy: prbot/deploy pending then success on SHA1" \
	test "$(q "status_list('$SHA1')")" = "[('pending', 'prbot/deploy'), ('success', 'prbot/deploy')]"
check "deploy: the comment shows environment, version, serving commit, manifest" \
	sh -c "grep -qF '| \`staging\` | **v0.0.1** | \`$V1\`' '$T/deploy1.md' && grep -qF '$MD5' '$T/deploy1.md'"
check "deploy: reused the dry run's evaluation (checkout only)" \
	grep -q "reusing the evaluation of ${SHA1:0:12}" "$T/serve.log"
check "deploy: the comment says it reused the evaluation by j-1" \
	has deploy1 'Reusing the passing evaluation of this commit by job `j-1`'
check "deploy: recorded in the history, PR 1 holds the lock" \
	test "$(sql "select environment||' '||version||' '||serving_commit||' '||pr||' '||actor||' '||kind from deployments")|$(sql "select pr from locks where environment='staging'")" = "staging v0.0.1 $V1 1 alice deploy|1"

# ---- twice at once: serialized; the same content is "already deployed" ----

say again 1 alice "$(printf '/deploy staging\n/deploy staging')"
check "again: 'already deployed', naming v0.0.1" has again 'already deployed'
check "again: two jobs ran, the branch did not move, still one tag" \
	test "$(served rev-parse main) $(tags)" = "$V1 v0.0.1 "
check "again: nothing more recorded" test "$(sql "select count(*) from deployments")" = 1
say dryagain 1 alice '/deploy staging --dry-run'
check "a dry run of what is there: says a deploy would change nothing" \
	has dryagain '`staging` already has this content (**v0.0.1**'

# ---- PR 2 is refused by PR 1's lock ----

say locked 2 bob '/deploy staging'
check "PR 2: refused, naming PR #1 and @alice" has locked '`staging` is locked by #1 (taken by @alice'

# ---- bad input ----

say unknown 1 alice '/deploy qa'
check "unknown environment: the known ones are listed" \
	has unknown '`qa` is not an environment of .prbot.yml: the known ones are `staging`, `production`, `gated`, `broken`, `denied`'
say nodeploy 4 alice '/deploy'
check "no deploy: section: says what to add" has nodeploy 'has no `deploy:` section'
say noinf 3 alice '/deploy gated'
check "a missing inference path: named" has noinf '`missing.txt` of .prbot.yml'"'"'s `deploy.inference` does not exist in this commit'
say gate 5 alice '/deploy gated'
check "a failing gate: not deployed, saying why" has gate '**Not deployed**: the evaluation did not pass'
check "a failing gate: prbot/deploy failure, no deployment" \
	test "$(q "(status_list('$SHA5')[-1], [d for d in S['deployments'] if d['ref'] == '$SHA5'])")" = "(('failure', 'prbot/deploy'), [])"
say broken 1 alice '/deploy broken'
check "unreachable serving repository: failed, nothing published" \
	has broken '/deploy to `broken` failed, nothing was published'
check "unreachable serving repository: deployment status failure" \
	test "$(q "[s['state'] for s in S['deployments'][-1]['statuses']]")" = "['in_progress', 'failure']"
check "unreachable serving repository: nothing half-published" \
	test "$(served rev-parse main) $(tags)" = "$V1 v0.0.1 "
say denied 1 alice '/deploy denied'
check "credentials refused: failed, nothing published, saying why" \
	has denied '/deploy to `denied` failed, nothing was published'
check "credentials refused: deployment status failure" \
	test "$(q "[s['state'] for s in S['deployments'][-1]['statuses']]")" = "['in_progress', 'failure']"
check "credentials refused: the serving repository has no commit" \
	test -z "$(git --git-dir="$T/srv/denied.git" rev-parse -q --verify main || true)"
say words 1 alice '/deploy staging --force'
check "/deploy with an unknown flag: refused with the usage" \
	has words "'deploy' does not take '--force': usage: deploy [ENV] [--dry-run]"
say writer 1 carol '/deploy staging'
check "a writer: refused, deploy needs maintain" has writer '/deploy needs maintain permission'
say norb 1 alice '/rollback production'
check "/rollback with no history: refused" has norb 'nothing to roll back to'

# ---- a deploy of staging while an older one of this PR runs: refused ----

# a job as a running /deploy looks in the store (its worker is elsewhere,
# its lease far away, so nothing takes it back meanwhile)
sqlw() {
	$PY -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=10); c.execute(sys.argv[2]); c.commit()' "$T/prbot.db" "$1"
}
sqlw "insert into jobs (repo, pr, command, args, actor, source, command_index, state, attempts, max_attempts, lease_owner, lease_until, created_at, started_at, reply) values ('$REPO', 1, 'deploy', '[\"staging\"]', 'bob', 'github', 0, 'running', 1, 3, 'elsewhere:1:0', strftime('%s','now') + 3600, strftime('%s','now'), strftime('%s','now'), '{}')"
BUSY=j-$(sql "select max(id) from jobs")
IDLE_SKIP=$BUSY
say busy 1 alice '/deploy staging'
check "a deploy while $BUSY deploys staging: refused naming it" \
	has busy "/deploy \`$BUSY\` of this pull request (by @bob) is running on \`staging\` now"
check "a deploy while another runs: nothing published" \
	test "$(served rev-parse main) $(tags)" = "$V1 v0.0.1 "
sqlw "update jobs set state = 'cancelled', finished_at = strftime('%s','now'), lease_owner = NULL, lease_until = NULL where id = ${BUSY#j-}"
IDLE_SKIP=

# ---- a new head: v0.0.2; then /rollback brings v0.0.1 back ----

fixture "{\"pulls\": { $(pull 1 "$SHA1B") } }"
say deploy2 1 alice '/deploy'
check "new head: v0.0.2 published" \
	test "$(json_get <(served show main:model_manifest.json) "r['version']")" = v0.0.2
check "new head: /deploy without ENV recorded staging on its job" \
	test "$(sql "select environment from jobs where command = 'deploy' order by id desc limit 1")" = staging
check "new head: later.txt is served" \
	served cat-file -e main:later.txt

# a running /deploy that named no environment: a /rollback (no checkout,
# no default) sees it by what it recorded, and until then as anywhere
sqlw "insert into jobs (repo, pr, command, args, actor, source, command_index, state, attempts, max_attempts, lease_owner, lease_until, created_at, started_at, reply) values ('$REPO', 1, 'deploy', '[]', 'bob', 'github', 0, 'running', 1, 3, 'elsewhere:1:0', strftime('%s','now') + 3600, strftime('%s','now'), strftime('%s','now'), '{}')"
BUSY=j-$(sql "select max(id) from jobs")
IDLE_SKIP=$BUSY
V2=$(served rev-parse main)
say rbunknown 1 alice '/rollback staging'
check "a rollback while $BUSY deploys to an environment not known yet: refused" \
	has rbunknown "/deploy \`$BUSY\` of this pull request (by @bob) is running and may deploy to \`staging\` now"
sqlw "update jobs set environment = 'staging' where id = ${BUSY#j-}"
say rbstaging 1 alice '/rollback staging'
check "a rollback while $BUSY deploys to staging (recorded): refused" \
	has rbstaging "/deploy \`$BUSY\` of this pull request (by @bob) is running on \`staging\` now"
check "refused rollbacks: nothing published" \
	test "$(served rev-parse main) $(tags)" = "$V2 v0.0.1 v0.0.2 "
# it resolved production: the rollback of staging below goes on
sqlw "update jobs set environment = 'production' where id = ${BUSY#j-}"
say rollback 1 alice '/rollback staging'
sqlw "update jobs set state = 'cancelled', finished_at = strftime('%s','now'), lease_owner = NULL, lease_until = NULL where id = ${BUSY#j-}"
IDLE_SKIP=
check "rollback: the manifest is v0.0.1's again, byte for byte" \
	sh -c "git --git-dir='$SERVING' show main:model_manifest.json | cmp -s - '$T/m1.json'"
check "rollback: its signature is v0.0.1's too" \
	sh -c "git --git-dir='$SERVING' show main:model_manifest.json.sig | cmp -s - '$T/m1.json.sig'"
check "rollback: later.txt, only in v0.0.2, is gone" \
	sh -c "! git --git-dir='$SERVING' cat-file -e main:later.txt 2>/dev/null"
check "rollback: the serving folder is v0.0.1's but for the manifest" \
	test -z "$(served diff --stat v0.0.1 main -- . ':!model_manifest.json')"
check "rollback: under a new tag v0.0.3" \
	test "$(served rev-parse 'v0.0.3^{commit}')" = "$(served rev-parse main)"
check "rollback: the reply says so" has rollback 'Rolled back to `staging`'
check "rollback: a GitHub deployment of SHA1 to staging, in_progress then success" \
	test "$(q "[(d['ref'], d['environment'], [s['state'] for s in d['statuses']]) for d in S['deployments']][-1]")" = "('$SHA1', 'staging', ['in_progress', 'success'])"
check "rollback: its statuses carry the reply's URL as log_url" \
	test "$(q "[s.get('log_url') for s in S['deployments'][-1]['statuses']] == ['https://github.com/$REPO/pull/1#issuecomment-%d' % created(1)[-1]] * 2")" = True
check "rollback: the commit message says what it rolls back to" \
	sh -c "git --git-dir='$SERVING' log -1 --format=%s main | grep -qF 'Roll back to v0.0.1 as v0.0.3 from $REPO#1 to staging'"
check "rollback: recorded as a rollback of SHA1" \
	test "$(sql "select version||' '||kind||' '||sha from deployments order by id desc limit 1")" = "v0.0.3 rollback $SHA1"
say rbnone 1 alice '/rollback staging v9.9.9'
check "/rollback to a version staging never had: refused" \
	has rbnone '`staging` never had v9.9.9 from octo/ml'
say rbnamed 1 alice '/rollback staging v0.0.2'
check "/rollback VERSION: v0.0.2's manifest again, as v0.0.4" \
	test "$(json_get <(served show main:model_manifest.json) "r['version']") $(served rev-parse 'v0.0.4^{commit}')" = "v0.0.2 $(served rev-parse main)"
check "/rollback VERSION: later.txt is back" \
	served cat-file -e main:later.txt
say status 2 carol '/status'
check "/status: staging has v0.0.4 (rollback)" has status '| `staging` | v0.0.4 (rollback) |'

check "logs: no token, no webhook secret" \
	sh -c "! grep -qF -e '$DEPLOY_GH_TOKEN' -e '$DEPLOY_HOOK_SECRET' '$T/serve.log'"
if [ "$failures" -ne 0 ]; then
	echo "--- serve.log"
	tail -50 "$T/serve.log"
fi
finish
