#!/bin/sh
# dev.sh: install what is missing (Debian), build, then run the demo or the tests
#
#   ./dev.sh demo   build and run 'prbot run evaluate' on examples/iris
#   ./dev.sh test   build with AddressSanitizer + UBSan and run every test
#   ./dev.sh deps   only install the missing Debian packages
#
# Both are idempotent: nothing is installed or rebuilt when nothing changed.
set -eu

cd "$(dirname "$0")"

PACKAGES="build-essential cmake pkg-config git ca-certificates \
libwebsockets-dev libcurl4-openssl-dev libjansson-dev libssl-dev \
libgit2-dev libexpat1-dev libsqlite3-dev libinih-dev libyaml-dev libcmocka-dev \
python3 python3-venv python3-pip jupyter-nbconvert python3-ipykernel \
python3-nbformat python3-botocore"

install_missing() {
	missing=""
	for p in $PACKAGES; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed'; then
			missing="$missing $p"
		fi
	done
	if [ -n "${WANT_NODE:-}" ]; then # test peers (webhooks, S3) come from npm
		command -v node >/dev/null || missing="$missing nodejs"
		command -v npm >/dev/null || missing="$missing npm"
	fi
	[ -z "$missing" ] && return 0
	echo "dev.sh: installing:$missing"
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends $missing
}

npm_ci() { # DIR: install DIR's locked npm packages when the lock changed
	cmp -s "$1/package-lock.json" "$1/node_modules/.installed-lock" ||
		(cd "$1" && npm ci --no-audit --no-fund &&
			cp package-lock.json node_modules/.installed-lock)
}

build() { # build DIR [cmake options...]
	dir=$1
	shift
	if [ ! -f "$dir/CMakeCache.txt" ]; then
		cmake -S . -B "$dir" "$@"
	fi
	cmake --build "$dir" -j "$(nproc)"
}

case "${1:-}" in
deps)
	install_missing
	;;
demo)
	install_missing
	build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPRBOT_TESTS=OFF
	exec ./build/prbot run evaluate --repo examples/iris
	;;
test)
	WANT_NODE=1 install_missing
	npm_ci tests/webhooks
	npm_ci tests/s3
	build build-asan -DCMAKE_BUILD_TYPE=Debug -DPRBOT_SANITIZE=ON \
		-DPRBOT_WERROR=ON
	cd build-asan
	exec ctest --output-on-failure -j 2
	;;
*)
	echo "usage: ./dev.sh demo|test|deps" >&2
	exit 2
	;;
esac
