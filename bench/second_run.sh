#!/bin/bash
# second_run.sh: time prbot spends outside the user's own commands on a
# second run of the same SHA, against the shell steps a user would write
# instead (fresh clone, fresh venv, hashes, copy) for the same work.
#
#   bench/second_run.sh [PRBOT_BINARY]     (default: build/prbot)
#
# Target (issue 2): prbot's overhead on the second run < 1 s.
set -euo pipefail
cd "$(dirname "$0")/.."
PRBOT=${1:-build/prbot}
T=$(mktemp -d /tmp/prbot-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid

cp -r examples/iris "$T/iris"
git -C "$T/iris" init -q -b main && git -C "$T/iris" add -A &&
	git -C "$T/iris" commit -qm bench
printf '[server]\nworkdir = %s/work\n[store]\nurl = file://%s/art\n' "$T" "$T" >"$T/bot.conf"

overhead() { # overhead REPORT.json: wall time minus the user's commands
	/usr/bin/python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))
wall=sum(s["seconds"] for s in r["stages"])
child=sum(s["child_seconds"] for s in r["stages"] if s["name"] in ("train","evaluate"))
print("%.3f %.3f %.3f" % (wall, child, wall-child))' "$1"
}

"$PRBOT" run evaluate --repo "$T/iris" -c "$T/bot.conf" --json >"$T/r1.json"
"$PRBOT" run evaluate --repo "$T/iris" -c "$T/bot.conf" --json >"$T/r2.json"
read -r w1 c1 o1 < <(overhead "$T/r1.json")
read -r w2 c2 o2 < <(overhead "$T/r2.json")

# what a user would script instead, for the same steps minus training:
# clone, fresh venv with the requirements, hash, copy the model
start=$(date +%s.%N)
git clone -q "$T/iris" "$T/clone"
/usr/bin/python3 -m venv --system-site-packages "$T/venv"
(cd "$T/clone" && "$T/venv/bin/pip" install -q -r requirements.txt)
cp "$T/work/jobs/"*/workspace/model.pkl "$T/clone/" 2>/dev/null || true
md5sum "$T/clone/model.pkl" >/dev/null 2>&1 || true
sha256sum "$T/clone/model.pkl" >/dev/null 2>&1 || true
mkdir -p "$T/store" && cp "$T/clone/model.pkl" "$T/store/" 2>/dev/null || true
end=$(date +%s.%N)
calc() { /usr/bin/python3 -c "print($1)"; }
script=$(calc "$end - $start")

printf 'first run : wall %ss, user commands %ss, prbot overhead %ss\n' "$w1" "$c1" "$o1"
printf 'second run: wall %ss, user commands %ss, prbot overhead %ss\n' "$w2" "$c2" "$o2"
printf 'shell steps a user would write instead (clone, venv, hash, copy): %.3fs\n' "$script"
printf 'ratio prbot second-run overhead / shell steps: %.3f\n' "$(calc "$o2 / $script")"
if [ "$(calc "int($o2 < 1.0)")" -ne 1 ]; then
	echo "FAIL: second-run overhead ${o2}s is not under 1 s"
	exit 1
fi
echo "PASS: second-run overhead under 1 s"
