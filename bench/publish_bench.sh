#!/bin/bash
# publish_bench.sh: pb_publish() against git clone --depth 1 + commit + push.
#
#   bench/publish_bench.sh [BUILD_DIR]
#
# Target: publishing to a serving repository with 1,000 commits is no slower
# than `git clone --depth 1` + copy + commit + tag + push with the git CLI:
# prbot's median wall time is at most git's. Exits 1 when it is missed.
#
# The serving repository (bench/out/serving-1000.git, made once with git
# fast-import: 1,000 commits over 200 files) is copied fresh for each run.
# prbot's mirror is warmed by one publish first, as the daemon's would be
# after its first deploy; then git and prbot alternate, REPS times each, so
# each side's push lands on the other's commit and prbot fetches that one.
# Without BUILD_DIR it configures bench/out/build (Release, no sanitizers)
# and builds prbotjob (and prbotbase); bench/publishrepo.c is compiled
# against them.
# Environment: REPS (default 7).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out
REPS=${REPS:-7}
BUILD=${1:-}
DEPS="libgit2 libcurl libcrypto libssl jansson sqlite3 inih yaml-0.1 libwebsockets"

mkdir -p "$OUT"
if [ -z "$BUILD" ]; then
	BUILD=$OUT/build
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
		-DPRBOT_SANITIZE=OFF -DPRBOT_TESTS=OFF >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" --target prbotjob >/dev/null
fi
# shellcheck disable=SC2046,SC2086 # pkg-config's words are separate flags
cc -O2 -std=c11 -Iinclude bench/publishrepo.c "$BUILD/libprbotjob.a" \
	"$BUILD/libprbotbase.a" "$BUILD/libprbotjob.a" \
	$(pkg-config --libs $DEPS) -lpthread -lm -o "$OUT/publishrepo"

SEED=$OUT/serving-1000.git
if [ ! -d "$SEED" ]; then
	rm -rf "$SEED.tmp"
	git init -q --bare -b main "$SEED.tmp"
	/usr/bin/python3 - <<'EOF' | git -C "$SEED.tmp" fast-import --quiet
import sys
w = sys.stdout.write
for c in range(1, 1001):
    w("commit refs/heads/main\n")
    w("committer seed <seed@example.invalid> %d +0000\n" % (1700000000 + c))
    msg = "commit %d\n" % c
    w("data %d\n%s" % (len(msg), msg))
    files = range(200) if c == 1 else [c % 200]
    for f in files:
        body = ("file %d version %d\n" % (f, c)) * 40
        w("M 100644 inline app/f%03d.txt\ndata %d\n%s" % (f, len(body), body))
    if c % 100 == 0:
        w("reset refs/tags/v0.0.%d\nfrom refs/heads/main\n\n" % (c // 100))
EOF
	mv "$SEED.tmp" "$SEED"
fi

T=$(mktemp -d /tmp/prbot-publish-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp -r "$SEED" "$T/serving.git"
REPO=$T/serving.git
mkdir -p "$T/pr/src/lib"
for i in $(seq 20); do
	head -c 4096 /dev/urandom | base64 >"$T/pr/src/lib/m$i.py"
done
echo "print('predict')" >"$T/pr/src/predict.py"
echo numpy >"$T/pr/requirements.txt"

ms() { echo $(($(date +%s%N) / 1000000)); }
s=$(ms)
"$OUT/publishrepo" "$REPO" "$T/work" "$T/pr" warm >/dev/null
echo "prbot's first publish (clones the mirror, information only): $(($(ms) - s)) ms"

# git_deploy N: what a person would script with the git CLI
git_deploy() {
	local c=$T/clone-$1 tag
	git clone -q --depth 1 --branch main "file://$REPO" "$c" 2>/dev/null
	rm -rf "$c/src"
	cp -r "$T/pr/src" "$T/pr/requirements.txt" "$c/"
	echo "{\"model\": \"git-$1\"}" >"$c/model_manifest.json"
	git -C "$c" add -A
	git -C "$c" -c user.name=bench -c user.email=b@example.invalid \
		commit -q -m "deploy git-$1"
	tag=v9.$1.0
	git -C "$c" tag "$tag"
	git -C "$c" push -q origin main "$tag"
	rm -rf "$c"
}

for i in $(seq "$REPS"); do
	s=$(ms)
	git_deploy "$i"
	e=$(ms)
	echo $((e - s)) >>"$T/git.times"
	s=$(ms)
	"$OUT/publishrepo" "$REPO" "$T/work" "$T/pr" "prbot-$i" >>"$T/prbot.out"
	e=$(ms)
	echo $((e - s)) >>"$T/prbot.times"
done

commits=$(git -C "$REPO" rev-list --count main)
/usr/bin/python3 - "$T" "$REPS" "$commits" <<'EOF'
import statistics, sys
d, reps, commits = sys.argv[1], int(sys.argv[2]), sys.argv[3]
g = [int(l) for l in open(f"{d}/git.times")]
p = [int(l) for l in open(f"{d}/prbot.times")]
print(f"serving repo: {commits} commits on main after the runs; {reps} repetitions, alternating")
print(f"git clone --depth 1 + commit + push  ms: {g}  median {statistics.median(g)}")
print(f"prbot pb_publish (warm mirror)       ms: {p}  median {statistics.median(p)}")
ratio = statistics.median(p) / statistics.median(g)
print(f"ratio prbot/git: {ratio:.2f} (target <= 1.0)")
open(f"{d}/verdict", "w").write(f"{ratio}\n")
EOF
tail -1 "$T/prbot.out"
read -r ratio <"$T/verdict"
if awk -v r="$ratio" 'BEGIN {exit !(r > 1.0)}'; then
	echo "FAIL: prbot takes ${ratio}x git's time (target <= 1.0)"
	exit 1
fi
echo "PASS: prbot is no slower than git clone --depth 1 + commit + push"
