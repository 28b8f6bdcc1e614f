#!/bin/bash
# hash_bench.sh: prbot's MD5 + SHA-256 pass against `md5sum` alone on 1 GiB.
#
#   bench/hash_bench.sh [--copy] [LIBPRBOTCORE.a]
#
# Target: MD5 and SHA-256 together in no more than 1.1x the wall time of
# `md5sum` alone on the same (cached) file, with peak RSS under 16 MiB.
# Exits 1 when either is missed.
#
# Without LIBPRBOTCORE.a it builds one in bench/out/build (Release, no
# sanitizers: ASan's shadow memory would swamp the RSS figure). The bench
# program bench/hashfile.c is then compiled against it with
#   cc -O2 -std=c11 -Iinclude bench/hashfile.c LIB \
#      $(pkg-config --libs libcrypto jansson) -lpthread
# The 1 GiB file of random bytes is kept in bench/out/ for the next run.
# The page cache is warmed by one read first (no root cache tricks), so both
# sides read from memory and the digests are what is timed.
# --copy also times one pb_store_put of the file (copy + fsync), for
# information only.
#
# Environment: REPS (default 5) repetitions, alternating md5sum and prbot;
# the ratio compared with 1.1 is that of the medians.
# Needs GNU time at /usr/bin/time for the RSS: apt-get install time
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out
REPS=${REPS:-5}
COPY=0
if [ "${1:-}" = --copy ]; then
	COPY=1
	shift
fi
LIB=${1:-}
DATA=$OUT/hash-1g.bin
SIZE=$((1024 * 1024 * 1024))

if [ ! -x /usr/bin/time ]; then
	echo "hash_bench: /usr/bin/time is missing: apt-get install time" >&2
	exit 2
fi
mkdir -p "$OUT"

if [ -z "$LIB" ]; then
	cmake -S . -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release \
		-DPRBOT_SANITIZE=OFF -DPRBOT_TESTS=OFF >/dev/null
	cmake --build "$OUT/build" -j"$(nproc)" --target prbotbase >/dev/null
	LIB=$OUT/build/libprbotbase.a
fi
if [ ! -f "$LIB" ]; then
	echo "hash_bench: '$LIB' not found: give a built libprbotbase.a" >&2
	exit 2
fi
# shellcheck disable=SC2046 # pkg-config's words are separate flags
cc -O2 -std=c11 -Iinclude bench/hashfile.c "$LIB" \
	$(pkg-config --libs libcrypto jansson) -lpthread -o "$OUT/hashfile"

if [ ! -f "$DATA" ] || [ "$(stat -c %s "$DATA")" -ne "$SIZE" ]; then
	echo "creating $DATA (1 GiB from /dev/urandom)"
	head -c "$SIZE" /dev/urandom >"$DATA.tmp"
	mv "$DATA.tmp" "$DATA"
fi
cat "$DATA" >/dev/null # warm the page cache

T=$(mktemp -d /tmp/prbot-hash-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

# run NAME CMD...: wall seconds and peak RSS (KiB) into $T/NAME.times
run() {
	local name=$1 start end rss
	shift
	start=$(date +%s%N)
	/usr/bin/time -v -o "$T/$name.tv" "$@" >"$T/$name.out"
	end=$(date +%s%N)
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$T/$name.tv")
	echo "$(((end - start) / 1000)) $rss" >>"$T/$name.times"
}

for _ in $(seq "$REPS"); do
	run md5sum md5sum "$DATA"
	run prbot "$OUT/hashfile" "$DATA"
done

# the two must agree, or the timing means nothing
read -r want _ <"$T/md5sum.out"
read -r got sha size <"$T/prbot.out"
if [ "$want" != "$got" ] || [ "$size" -ne "$SIZE" ]; then
	echo "FAIL: prbot md5 $got size $size, md5sum says $want" >&2
	exit 1
fi

/usr/bin/python3 - "$T" "$REPS" <<'EOF'
import statistics, sys
d, reps = sys.argv[1], int(sys.argv[2])
def load(name):
    rows = [l.split() for l in open(f"{d}/{name}.times")]
    return [int(r[0]) / 1e6 for r in rows], [int(r[1]) for r in rows]
mw, mr = load("md5sum")
pw, pr = load("prbot")
fmt = lambda xs: " ".join(f"{x:.3f}" for x in xs)
print(f"file: 1 GiB, cached; {reps} repetitions, alternating")
print(f"md5sum              wall s: {fmt(mw)}  median {statistics.median(mw):.3f}"
      f"  peak RSS {max(mr) / 1024:.1f} MiB")
print(f"prbot md5+sha256    wall s: {fmt(pw)}  median {statistics.median(pw):.3f}"
      f"  peak RSS {max(pr) / 1024:.1f} MiB")
ratio = statistics.median(pw) / statistics.median(mw)
best = min(pw) / min(mw)
print(f"ratio prbot/md5sum: median {ratio:.3f}, best-of {best:.3f} (target <= 1.1)")
open(f"{d}/verdict", "w").write(f"{ratio} {max(pr)}\n")
EOF
read -r ratio rss <"$T/verdict"
echo "prbot sha256: $sha"

if [ "$COPY" = 1 ]; then
	run put "$OUT/hashfile" "$DATA" "$T/store"
	read -r wall rss_put <"$T/put.times"
	echo "pb_store_put (copy + fsync, information only): $(
		awk -v w="$wall" 'BEGIN {printf "%.3f", w / 1e6}')s, peak RSS $((rss_put / 1024)) MiB"
fi

fail=0
if awk -v r="$ratio" 'BEGIN {exit !(r > 1.1)}'; then
	echo "FAIL: prbot takes ${ratio}x md5sum's time (target <= 1.1)"
	fail=1
fi
if [ "$rss" -ge $((16 * 1024)) ]; then
	echo "FAIL: prbot peak RSS ${rss} KiB (target < 16 MiB)"
	fail=1
fi
if [ "$fail" = 0 ]; then
	echo "PASS: ratio <= 1.1 and peak RSS < 16 MiB"
fi
exit "$fail"
