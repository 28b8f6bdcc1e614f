#!/bin/bash
# test_locks.sh: environment locks through prbot serve and a fake GitHub:
# /lock on PR 1, refused on PR 2 naming PR 1 and who took it, /locks lists
# it, /unlock by a writer is refused, GitHub's own pull_request "closed"
# example (signed) releases PR 1's lock, PR 2 then takes it, and the lock
# survives a restart
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"

export LOCKS_GH_TOKEN=locks-token-0123456789
export LOCKS_HOOK_SECRET=locks-webhook-secret-123
SECRET=$LOCKS_HOOK_SECRET
REPO=octo/ml

trap 'stop_daemon; fake_stop; cleanup' EXIT

# ---- set-up: the fake GitHub (two open PRs, three people), the daemon ----

pull() { # pull N SHA-DIGIT: a PR of $REPO as the fake serves it
	cat <<PR
"$REPO#$1": { "number": $1, "state": "open", "title": "PR $1",
  "html_url": "https://github.com/$REPO/pull/$1",
  "user": { "login": "alice", "type": "User" },
  "head": { "ref": "b$1", "sha": "$(printf "$2%.0s" $(seq 40))",
            "repo": { "full_name": "$REPO", "fork": false,
                      "clone_url": "https://github.com/$REPO.git" } },
  "base": { "ref": "main", "sha": "$(printf 'f%.0s' $(seq 40))",
            "repo": { "full_name": "$REPO", "fork": false,
                      "clone_url": "https://github.com/$REPO.git" } } }
PR
}
cat >"$T/fixture.json" <<FX
{ "pulls": { $(pull 1 a), $(pull 2 b) },
  "permissions": {
    "$REPO:alice": { "permission": "write", "role_name": "maintain" },
    "$REPO:bob": { "permission": "write", "role_name": "maintain" },
    "$REPO:carol": { "permission": "write", "role_name": "write" } } }
FX

fake_start "$T/fixture.json" "$LOCKS_GH_TOKEN"

PORT=$(freeport)
URL=http://127.0.0.1:$PORT
fake_conf "$T/bot.conf" "$PORT" LOCKS_GH_TOKEN LOCKS_HOOK_SECRET

# replies_of PR, last_reply_of PR: Python for q: how many comments prbot
# made on PR, and the newest one's body
replies_of() { echo "len(created($1))"; }
last_reply_of() { echo "(body(created($1)[-1]) if created($1) else '')"; }

CID=5000
# say NAME PR LOGIN BODY: comment BODY on PR as LOGIN; 202 expected; then
# wait for prbot's reply there and keep it in $T/NAME.md
say() {
	local name=$1 pr=$2 login=$3 body=$4 before
	CID=$((CID + 1))
	before=$(q "$(replies_of "$pr")")
	$HOOK comment "$T/$name.json" --repo $REPO --pr "$pr" \
		--comment-id $CID --login "$login" --body "$body"
	send "$name" issue_comment "d-locks-$name" "$T/$name.json"
	check "$name: '$body' by $login on #$pr: 202" status_is "$name" 202
	check "$name: a reply on #$pr within 20 s" \
		wait_for 20 "$(replies_of "$pr") > $before"
	q "$(last_reply_of "$pr")" >"$T/$name.md"
}
has() { # has NAME TEXT: the reply NAME contains TEXT
	grep -qF -- "$2" "$T/$1.md" || {
		echo "  reply: $(cat "$T/$1.md")"
		return 1
	}
}

if ! start_daemon "$T/bot.conf" "$T/serve.log"; then
	fail "serve: /healthz answers within 10 s"
	finish
fi

# ---- /lock, refused from another PR, idempotent, /locks ----

say lock1 1 alice '/lock staging reason="load test"'
check "lock1: says staging is locked for this PR" has lock1 '@alice locked `staging` for this pull request (reason: load test)'
check "lock1: one lock in the state store" \
	test "$(sql "select environment||' #'||pr||' '||actor||' '||reason from locks")" = "staging #1 alice load test"

say lock2 2 bob '/lock staging'
check "lock2: refused, naming PR #1 and @alice" has lock2 'cannot lock `staging`: it is locked by #1 (@alice, since'
check "lock2: the reply gives the reason" has lock2 'reason: load test'
check "lock2: PR 1 still holds it" test "$(sql "select pr from locks where environment='staging'")" = 1

say again 1 alice '/lock staging'
check "again: PR 1 already holds it" has again 'this pull request already holds the lock of `staging`'
check "again: still one lock" test "$(sql "select count(*) from locks")" -eq 1

say list 2 carol '/locks'
check "list: a table row for staging, PR 1, alice, the reason" \
	has list '| `staging` | #1 | @alice | load test |'

# ---- bad input ----

say unlockw 2 carol '/unlock staging'
check "unlock by a writer: refused with the permission it needs" \
	has unlockw '@carol: /unlock needs maintain permission on octo/ml; you have write.'
check "unlock by a writer: the lock stays" test "$(sql "select count(*) from locks")" -eq 1

say notheld 2 bob '/unlock production'
check "unlock of a free environment: says it is not locked" \
	has notheld '`production` is not locked in octo/ml: nothing to unlock.'

say badname 2 bob '/lock stag/ing'
check "a malformed environment name: says what is accepted" \
	has badname "'stag/ing' is not an environment name"

say noenv 2 bob '/lock reason="x"'
check "/lock without an environment: the usage" has noenv 'usage: lock ENV'

# ---- PR 1 is merged: GitHub's example "closed" payload, signed ----

$HOOK example "$T/closed1.json" pull_request closed --repo $REPO --pr 1 --merged
send closed1 pull_request d-locks-closed-1 "$T/closed1.json"
check "closed #1: 202" status_is closed1 202
check "closed #1: the answer names the released lock" \
	body_has closed1 'unlocked staging (locked by @alice)'
check "closed #1: no lock left" test "$(sql "select count(*) from locks")" -eq 0
check "closed #1: the delivery is recorded as unlocked" \
	test "$(sql "select outcome from deliveries where delivery_id='d-locks-closed-1'")" = unlocked
check "closed #1: logged" grep -q 'd-locks-closed-1.*unlocked staging' "$T/serve.log"
send closed1b pull_request d-locks-closed-1 "$T/closed1.json"
check "closed #1 again: 200 duplicate delivery" body_has closed1b "duplicate delivery"

$HOOK example "$T/closed3.json" pull_request closed --repo $REPO --pr 3
send closed3 pull_request d-locks-closed-3 "$T/closed3.json"
check "closed #3 (held nothing): 200 noted" \
	sh -c "grep -q '^200 noted' '$T/closed3.ans'"

say lock3 2 bob '/lock staging'
check "lock3: PR 2 takes staging now" has lock3 '@bob locked `staging` for this pull request'

# ---- a restart keeps it ----

term_daemon 15 "first daemon"
if start_daemon "$T/bot.conf" "$T/serve2.log"; then
	pass "restart: /healthz answers within 10 s"
	say list2 1 carol '/locks'
	check "after the restart: /locks shows staging held by PR 2 (bob)" \
		has list2 '| `staging` | #2 | @bob | — |'
	term_daemon 15 "second daemon"
else
	fail "restart: /healthz answers within 10 s"
fi

check "logs: no token, no webhook secret" \
	sh -c "! grep -qF -e '$LOCKS_GH_TOKEN' -e '$LOCKS_HOOK_SECRET' '$T/serve.log' '$T/serve2.log'"
if [ "$failures" -ne 0 ]; then
	echo "--- serve.log"
	cat "$T/serve.log"
fi
finish
