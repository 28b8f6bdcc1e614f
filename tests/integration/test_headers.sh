#!/bin/bash
# test_headers.sh: every public header compiles alone as C11 with -pedantic
. "$(dirname "$0")/lib.sh"

for h in "$PRBOT_SOURCE_DIR"/include/prbot/*.h; do
	name=${h#"$PRBOT_SOURCE_DIR/include/"}
	printf '#include "%s"\n#include "%s"\n' "$name" "$name" >"$T/h.c"
	check "$name compiles alone (and twice)" \
		cc -std=c11 -pedantic -Wall -Wextra -Werror -fsyntax-only \
		-I "$PRBOT_SOURCE_DIR/include" "$T/h.c"
done
finish
