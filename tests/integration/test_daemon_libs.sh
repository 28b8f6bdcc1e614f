#!/bin/bash
# test_daemon_libs.sh: prbot (the daemon) does not load libcurl or libgit2;
# prbot-job, next to it, runs the jobs with them
. "$(dirname "$0")/lib.sh"

JOB=$(dirname "$PRBOT")/prbot-job
readelf -d "$PRBOT" | grep NEEDED >"$T/prbot.needed"
readelf -d "$JOB" | grep NEEDED >"$T/job.needed" || true
check "prbot: has NEEDED entries" test -s "$T/prbot.needed"
check "prbot: no libcurl in NEEDED" sh -c "! grep -q libcurl '$T/prbot.needed'"
check "prbot: no libgit2 in NEEDED" sh -c "! grep -q libgit2 '$T/prbot.needed'"
check "prbot: no curl_* or git_* symbol" \
	sh -c "! nm -D --undefined-only '$PRBOT' | grep -qE ' (curl|git)_'"
check "prbot-job: next to prbot" test -x "$JOB"
check "prbot-job: links libcurl and libgit2" \
	sh -c "grep -q libcurl '$T/job.needed' && grep -q libgit2 '$T/job.needed'"
"$PRBOT" version >"$T/version.txt"
check "prbot version: prbot-job's libgit2 and libcurl" \
	grep -q "^prbot-job: libgit2 .*libcurl" "$T/version.txt"
"$PRBOT" run --help >"$T/run-help.txt"
check "prbot run --help: the run usage, through prbot-job" \
	grep -q "^usage: prbot run COMMAND" "$T/run-help.txt"

# prbot copied alone: serve (with workers) and run refuse, naming both paths
mkdir "$T/alone"
cp "$PRBOT" "$T/alone/prbot"
write_conf "$T/bot.conf"
printf 'listen = 127.0.0.1:%s\nworkers = 1\n' "$(freeport)" >"$T/server.ini"
sed -i "/^\[server\]/r $T/server.ini" "$T/bot.conf"
printf '[github]\nwebhook_secret = env:DL_SECRET\n' >>"$T/bot.conf"
rc=0
DL_SECRET=s3cret-for-the-test "$T/alone/prbot" serve -c "$T/bot.conf" \
	2>"$T/alone.err" || rc=$?
check "prbot alone: serve exits 2" test "$rc" -eq 2
check "prbot alone: serve names both paths of prbot-job" \
	grep -q "prbot: serve: cannot find prbot-job.*'$T/alone/prbot-job'.*libexec/prbot/prbot-job'" "$T/alone.err"
rc=0
"$T/alone/prbot" run evaluate --repo "$T" 2>"$T/alone-run.err" || rc=$?
check "prbot alone: run exits 2 with the same message" \
	sh -c "test $rc -eq 2 && grep -q 'prbot: run: cannot find prbot-job' '$T/alone-run.err'"
finish
