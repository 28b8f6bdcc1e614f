#!/bin/bash
# s3_bench.sh: uploading a model to a local S3 server (s3rver), prbot against
# `aws s3 cp` (Debian's awscli) and `curl --aws-sigv4 -T`.
#
#   bench/s3_bench.sh [--size GIB] [BUILD_DIR]
#
# Targets (exit 1 when one is missed):
# - prbot's multipart upload (defaults: 8 MiB parts, 4 in flight), which
#   also computes the file's MD5 and SHA-256, takes no more than 1.1x the
#   wall time of the faster of `aws s3 cp` and `curl --aws-sigv4 -T`;
# - prbot's peak RSS stays under 64 MiB (run --size 4 to check a 4 GiB file);
# - the multipart path with parallel parts is faster than one single PUT of
#   the same file (multipart_threshold raised above the file's size).
#
# The server is s3rver from tests/s3 (npm ci there first), on 127.0.0.1,
# writing to a folder under /tmp, without the verifying proxy of the tests
# (it would spool and hash every part). Each tool uploads to its own key,
# deleted after each run. REPS (default 3) rounds alternate the four uploads;
# medians are compared. The file of random bytes stays in bench/out/.
# Without BUILD_DIR it configures bench/out/build (Release, no sanitizers)
# and builds prbotjob (and prbotbase); tests/storetool.c is compiled against
# them. Needs /usr/bin/time (apt-get install time), node, awscli, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out
REPS=${REPS:-3}
GIB=1
if [ "${1:-}" = --size ]; then
	GIB=$2
	shift 2
fi
BUILD=${1:-}
DEPS="libgit2 libcurl libcrypto libssl jansson sqlite3 inih yaml-0.1 libwebsockets expat"
AWS=/usr/bin/aws

for tool in /usr/bin/time node curl "$AWS"; do
	if ! command -v "$tool" >/dev/null; then
		echo "s3_bench: $tool is missing (apt-get install time nodejs curl awscli)" >&2
		exit 2
	fi
done
if [ ! -d tests/s3/node_modules/s3rver ]; then
	echo "s3_bench: s3rver is missing: (cd tests/s3 && npm ci)" >&2
	exit 2
fi

mkdir -p "$OUT"
if [ -z "$BUILD" ]; then
	BUILD=$OUT/build
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
		-DPRBOT_SANITIZE=OFF -DPRBOT_TESTS=OFF >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" --target prbotjob >/dev/null
fi
# shellcheck disable=SC2046,SC2086 # pkg-config's words are separate flags
cc -O2 -std=c11 -Iinclude tests/storetool.c "$BUILD/libprbotjob.a" \
	"$BUILD/libprbotbase.a" "$BUILD/libprbotjob.a" \
	$(pkg-config --libs $DEPS) -lpthread -lm -o "$OUT/storetool"

DATA=$OUT/s3-${GIB}g.bin
if [ ! -f "$DATA" ]; then
	echo "making $DATA ($GIB GiB of random bytes)"
	head -c $((GIB * 1024 * 1024 * 1024)) /dev/urandom >"$DATA.tmp"
	mv "$DATA.tmp" "$DATA"
fi
cat "$DATA" >/dev/null # the page cache holds it for every tool alike

T=$(mktemp -d /tmp/prbot-s3-bench.XXXXXX)
S3PID=
cleanup() {
	exec 5>&- 2>/dev/null || true
	# a killed server's status (143) must not become the bench's
	[ -n "$S3PID" ] && kill "$S3PID" 2>/dev/null && wait "$S3PID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
mkfifo "$T/in"
(cd tests/s3 && exec node serve.js "$T/data" bench) <"$T/in" >"$T/port" &
S3PID=$!
exec 5>"$T/in"
for _ in $(seq 1 100); do
	[ -s "$T/port" ] && break
	sleep 0.1
done
PORT=$(head -n1 "$T/port")
EP=http://127.0.0.1:$PORT
# s3rver knows one key pair, its own
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export STORE_ENDPOINT=$EP

# run NAME KEY CMD...: time one upload; appends "SECONDS KIB" to $T/NAME
run() {
	local name=$1 key=$2
	shift 2
	/usr/bin/time -f "%e %M" -o "$T/time" "$@" >"$T/out" 2>"$T/err" || {
		echo "s3_bench: $name failed:" >&2
		cat "$T/err" >&2
		exit 2
	}
	cat "$T/time" >>"$T/$name"
	cat "$T/err" >>"$T/$name.log"
	curl -sf -X DELETE "$EP/bench/$key" >/dev/null || true
	curl -sf -X DELETE "$EP/bench/$key.sha256" >/dev/null || true
}

for r in $(seq 1 "$REPS"); do
	run prbot "p$r/model.bin" "$OUT/storetool" put s3://bench "p$r/model.bin" "$DATA"
	run single "s$r/model.bin" env STORE_THRESHOLD_MIB=5120 \
		"$OUT/storetool" put s3://bench "s$r/model.bin" "$DATA"
	run aws "a$r/model.bin" "$AWS" s3 cp --quiet --endpoint-url "$EP" \
		"$DATA" "s3://bench/a$r/model.bin"
	# curl 7.88 does not send x-amz-content-sha256, which S3 requires
	run curl "c$r/model.bin" curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		-T "$DATA" "$EP/bench/c$r/model.bin"
done

median() { cut -d' ' -f"$2" "$T/$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
peak() { cut -d' ' -f2 "$T/$1" | sort -n | tail -n1; }
P=$(median prbot 1)
S=$(median single 1)
A=$(median aws 1)
C=$(median curl 1)
RSS=$(peak prbot)
SRSS=$(peak single)
BEST=$(awk -v a="$A" -v c="$C" 'BEGIN {print (a < c) ? a : c}')
RATIO=$(awk -v p="$P" -v b="$BEST" 'BEGIN {printf "%.2f", p / b}')
MP=$(awk -v p="$P" -v s="$S" 'BEGIN {printf "%.2f", p / s}')

echo "s3_bench: $GIB GiB to s3rver on 127.0.0.1, median of $REPS"
echo "  prbot multipart (8 MiB x 4) : ${P} s, peak RSS $((RSS / 1024)) MiB (MD5 + SHA-256 included)"
echo "  prbot single PUT            : ${S} s, peak RSS $((SRSS / 1024)) MiB"
echo "  aws s3 cp                   : ${A} s"
echo "  curl --aws-sigv4 -T         : ${C} s"
echo "  prbot's last multipart, as it logged it:"
grep -o "[0-9]* parts of.*" "$T/prbot.log" | tail -n1 | sed 's/^/    /'
echo "  prbot / faster of the two   : $RATIO (target <= 1.10)"
echo "  multipart / single PUT      : $MP (target < 1)"
fail=0
awk -v r="$RATIO" 'BEGIN {exit !(r <= 1.10)}' || { echo "FAIL: prbot is over 1.1x the faster tool"; fail=1; }
[ "$RSS" -lt $((64 * 1024)) ] || { echo "FAIL: peak RSS over 64 MiB"; fail=1; }
awk -v r="$MP" 'BEGIN {exit !(r < 1)}' || { echo "FAIL: multipart is not faster than a single PUT"; fail=1; }
exit $fail
