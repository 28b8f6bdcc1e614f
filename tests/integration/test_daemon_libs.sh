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
finish
