#!/bin/bash
# test_serve.sh: prbot serve answers webhooks, health and metrics, stores
# jobs once, refuses bad deliveries and a full queue while it keeps serving,
# listens on IPv6, and stops cleanly on SIGTERM
. "$(dirname "$0")/lib.sh"

SECRET=it-webhook-secret-123

PORT=$(freeport)
URL=http://127.0.0.1:$PORT
printf '%s\n' "$SECRET" >"$T/secret"
write_conf "$T/bot.conf"
sed -i "/^\[server\]/a listen = 127.0.0.1:$PORT" "$T/bot.conf"
cp "$T/bot.conf" "$T/nosecret.conf"
cat >>"$T/bot.conf" <<CONF
[github]
webhook_secret = file:$T/secret
bot_login = prbot
[labels]
run-evaluate = /evaluate
CONF

DB=$T/prbot.db

# 1. no webhook secret: refused before anything starts
rc=0
"$PRBOT" serve -c "$T/nosecret.conf" --workers 0 2>"$T/nosecret.err" || rc=$?
check "no webhook secret: exit 2" test "$rc" -eq 2
check "no webhook secret: says how to set it" \
	grep -qF "webhook_secret = env:NAME or file:PATH" "$T/nosecret.err"
check "no webhook secret: nothing listens" \
	sh -c "! curl -s -o /dev/null $URL/healthz"

# 2. start it, accept-only (no worker runs a job, no GitHub needed)
up=0
start_daemon "$T/bot.conf" "$T/serve.log" --workers 0 && up=1
check "serve: /healthz answers within 10 s" test "$up" -eq 1
[ "$up" -eq 1 ] || finish
check "serve: logs the library versions" grep -q "libwebsockets" "$T/serve.log"
check "healthz: 200 ok" healthz_ok "$URL"

# 3. ping, signatures, malformed JSON
printf '{"zen":"Keep it logically awesome.","hook_id":1}' >"$T/ping.json"
send ping ping d-ping "$T/ping.json"
check "ping: 200" status_is ping 200

$HOOK comment "$T/c1.json" --pr 7 --comment-id 1001 --body $'Looks good.\n/evaluate\n'
send unsigned issue_comment d-unsigned "$T/c1.json" --unsigned
check "unsigned: 401" status_is unsigned 401
send badsig issue_comment d-badsig "$T/c1.json" --bad-sig
check "wrong signature: 401" status_is badsig 401
check "401s: nothing stored" test "$(sql 'select count(*) from jobs')" -eq 0
check "401s: no delivery recorded" \
	test "$(sql 'select count(*) from deliveries')" -eq 0

printf '{"action": "created", "issue": ' >"$T/broken.json"
send broken issue_comment d-broken "$T/broken.json"
check "malformed JSON: 400" status_is broken 400

# 4. over 25 MiB: 413, sent with curl from a file
head -c $((26 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T/big.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: issue_comment' -H 'X-GitHub-Delivery: d-big' \
	-H 'X-Hub-Signature-256: sha256=0000000000000000000000000000000000000000000000000000000000000000' \
	--data-binary @"$T/big.json" "$URL/webhooks/github" || true)
check "26 MiB body: 413" test "$code" = 413
rm -f "$T/big.json"
check "after the 401s, 400 and 413: /healthz still 200 ok" healthz_ok "$URL"

# 5. /evaluate on a PR: 202 and one queued job with the comment id
send eval issue_comment d-eval-1 "$T/c1.json"
check "/evaluate: 202" status_is eval 202
check "/evaluate: answer names the job" body_has eval "queued j-"
check "/evaluate: one queued job for comment 1001" \
	test "$(sql "select count(*) from jobs where comment_id='1001' and command='evaluate' and state='queued'")" -eq 1
check "/evaluate: job knows repo and pr" \
	test "$(sql "select repo||'#'||pr from jobs where comment_id='1001'")" = "octo-org/ml-model#7"
check "/evaluate: reply handle has the comments path" \
	test "$(sql "select json_extract(reply,'\$.comments') from jobs where comment_id='1001'")" = \
	"/repos/octo-org/ml-model/issues/7/comments"

send dup issue_comment d-eval-1 "$T/c1.json"
check "same delivery again: 200" status_is dup 200
check "same delivery again: says duplicate" body_has dup "duplicate delivery"
send second issue_comment d-eval-2 "$T/c1.json"
check "same comment, second delivery id: 200" status_is second 200
check "still one job for comment 1001" \
	test "$(sql "select count(*) from jobs where comment_id='1001'")" -eq 1

# 6. a comment with 10,000 command lines: answered fast, bounded jobs
$PY -c 'print("\n".join(["/help"] * 10000))' >"$T/many.txt"
$HOOK comment "$T/c2.json" --pr 8 --comment-id 1002 --body-file "$T/many.txt"
start=$(date +%s%N)
send many issue_comment d-many "$T/c2.json"
ms=$((($(date +%s%N) - start) / 1000000))
check "10,000 lines: 202" status_is many 202
check "10,000 lines: answered within 2 s (took ${ms} ms)" test "$ms" -lt 2000
# 10 command lines, and one reply saying the rest were ignored
check "10,000 lines: 10 help jobs" \
	test "$(sql "select count(*) from jobs where comment_id='1002' and command='help'")" -eq 10
check "10,000 lines: one reply job about the rest" \
	test "$(sql "select count(*) from jobs where comment_id='1002' and command='reply'")" -eq 1

# 7. an unknown command after a mention: a reply job saying so
$HOOK comment "$T/c3.json" --pr 9 --comment-id 1003 --body '@prbot evalute'
send unknown issue_comment d-unknown "$T/c3.json"
check "unknown command after a mention: 202" status_is unknown 202
reply_args=$(sql "select args from jobs where comment_id='1003' and command='reply'")
check "unknown command: reply job names the closest command ($reply_args)" \
	grep -q "evaluate" <<<"$reply_args"

# 8. no command, and a comment on a plain issue
$HOOK comment "$T/c4.json" --pr 10 --comment-id 1004 --body 'Thanks, merging soon.'
send nocmd issue_comment d-nocmd "$T/c4.json"
check "comment without a command: 200 no command" \
	sh -c "grep -q '^200 no command' '$T/nocmd.ans'"
$HOOK comment "$T/c5.json" --pr 11 --comment-id 1005 --plain-issue
send plain issue_comment d-plain "$T/c5.json"
check "plain-issue comment: 200" status_is plain 200
check "plain-issue comment: no job" \
	test "$(sql "select count(*) from jobs where comment_id='1005'")" -eq 0

# 9. a mapped label queues its command; an unmapped one and a close do not
$HOOK pull_request "$T/l1.json" labeled --pr 12 --label Run-Evaluate
send label pull_request d-label "$T/l1.json"
check "mapped label: 202" status_is label 202
check "mapped label: an evaluate job pinned to the head SHA" \
	test "$(sql "select command||' '||head_sha from jobs where pr=12")" = \
	"evaluate c0ffee0000000000000000000000000000000000"
check "mapped label: reply names the label to remove" \
	test "$(sql "select json_extract(reply,'\$.label') from jobs where pr=12")" = Run-Evaluate
$HOOK pull_request "$T/l2.json" labeled --pr 13 --label bug
send unmapped pull_request d-unmapped "$T/l2.json"
check "unmapped label: 200, no job" status_is unmapped 200
$HOOK pull_request "$T/cl.json" closed --pr 12
send closed pull_request d-closed "$T/cl.json"
check "closed PR: 200 noted" sh -c "grep -q '^200 noted' '$T/closed.ans'"
check "closed PR: the label's job is untouched" \
	test "$(sql "select state from jobs where pr=12")" = queued

# 10. metrics count what happened
curl -s "$URL/metrics" >"$T/metrics.txt"
check "metrics: 202 counter" grep -qx 'prbot_webhooks_total{code="202"} 4' "$T/metrics.txt"
check "metrics: 401 counter" grep -qx 'prbot_webhooks_total{code="401"} 2' "$T/metrics.txt"
check "metrics: 400 counter" grep -qx 'prbot_webhooks_total{code="400"} 1' "$T/metrics.txt"
check "metrics: jobs accepted" grep -qx 'prbot_jobs_accepted_total 14' "$T/metrics.txt"
check "metrics: queue depth" grep -q '^prbot_queue_depth [0-9]' "$T/metrics.txt"
# every 202 and 200 answer above came after a commit; several may share one
check "metrics: deliveries recorded by the committer" \
	sh -c "grep -qx 'prbot_committed_deliveries_total [1-9][0-9]*' '$T/metrics.txt' && awk '/^prbot_commits_total /{c=\$2} /^prbot_committed_deliveries_total /{d=\$2} END{exit !(c >= 1 && d >= c)}' '$T/metrics.txt'"
check "metrics: build info" grep -q '^prbot_build_info{version="' "$T/metrics.txt"
check "log: one line per delivery with its id" grep -q 'delivery d-eval-1: ' "$T/serve.log"
check "log: no secret" sh -c "! grep -qF '$SECRET' '$T/serve.log'"

# 11. SIGTERM: exits 0 soon, the queued job stays queued
term_daemon 10 "serve"
check "SIGTERM: the /evaluate job is still queued" \
	test "$(sql "select state from jobs where comment_id='1001'")" = queued
check "SIGTERM: nothing listens any more" \
	sh -c "! curl -s -o /dev/null $URL/healthz"
[ "$failures" -eq 0 ] || cat "$T/serve.log"

# 12. queue full: with queue_max = 2 and no worker, a third /evaluate is
# refused with 503 and nothing of it is stored (state.h: "nothing is
# stored"), and the daemon goes on serving
PORT=$(freeport)
URL=http://127.0.0.1:$PORT
DB=$T/full.db
sed -e "s|^listen = .*|listen = 127.0.0.1:$PORT|" -e "s|^state = .*|state = $DB|" \
	-e '/^\[server\]/a queue_max = 2' "$T/bot.conf" >"$T/full.conf"
up=0
start_daemon "$T/full.conf" "$T/full.log" --workers 0 && up=1
check "queue_max = 2: /healthz answers within 10 s" test "$up" -eq 1
if [ "$up" -eq 1 ]; then
	for i in 1 2 3; do
		$HOOK comment "$T/f$i.json" --pr $((20 + i)) \
			--comment-id $((2000 + i)) --body /evaluate
		send full$i issue_comment d-full-$i "$T/f$i.json"
	done
	check "queue full: first /evaluate 202" status_is full1 202
	check "queue full: second /evaluate 202" status_is full2 202
	check "queue full: third /evaluate 503" status_is full3 503
	check "queue full: the answer says the queue is full" \
		body_has full3 "queue full"
	check "queue full: two jobs stored, none for the third comment" \
		test "$(sql "select count(*)||' '||sum(comment_id='2003') from jobs")" = "2 0"
	check "queue full: the third delivery is not recorded" \
		test "$(sql "select count(*) from deliveries where delivery_id='d-full-3'")" -eq 0
	check "queue full: the first two deliveries are recorded" \
		test "$(sql "select count(*) from deliveries where delivery_id in ('d-full-1','d-full-2')")" -eq 2
	check "queue full: /healthz still 200 ok" healthz_ok "$URL"
	curl -s "$URL/metrics" >"$T/full-metrics.txt"
	check "queue full: metrics count one 503" \
		grep -qx 'prbot_webhooks_total{code="503"} 1' "$T/full-metrics.txt"
	check "queue full: metrics queue depth 2" \
		grep -qx 'prbot_queue_depth 2' "$T/full-metrics.txt"
	term_daemon 10 "queue_max = 2"
fi
[ "$failures" -eq 0 ] || cat "$T/full.log"

# 13. IPv6: listen = [::1]:PORT, when the machine has ::1
if $PY -c "import socket; s=socket.socket(socket.AF_INET6); s.bind(('::1',0))" 2>/dev/null; then
	PORT=$($PY -c "import socket; s=socket.socket(socket.AF_INET6); s.bind(('::1',0)); print(s.getsockname()[1])")
	URL="http://[::1]:$PORT"
	DB=$T/v6.db
	sed -e "s|^listen = .*|listen = [::1]:$PORT|" -e "s|^state = .*|state = $DB|" \
		"$T/bot.conf" >"$T/v6.conf"
	up=0
	start_daemon "$T/v6.conf" "$T/v6.log" --workers 0 && up=1
	check "listen = [::1]:$PORT: /healthz answers within 10 s" test "$up" -eq 1
	if [ "$up" -eq 1 ]; then
		check "IPv6: /healthz 200 ok over $URL" healthz_ok "$URL"
		send ping6 ping d-ping6 "$T/ping.json"
		check "IPv6: signed ping 200" status_is ping6 200
		term_daemon 10 "IPv6"
	fi
	[ "$failures" -eq 0 ] || cat "$T/v6.log"
else
	echo "skip - IPv6: ::1 cannot be bound on this machine, [::1] not tested"
fi
finish
