#!/usr/bin/env bash
# Proves that tests/structure/check.sh catches each kind of violation: a
# clean tree passes, and a tree with one deliberate violation fails naming it.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d /tmp/bm-structure.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
passed=0

fresh_tree() { # a small clean tree: two modules, a test, the real .clang-format
	rm -rf "$tmp/tree"
	mkdir -p "$tmp/tree/connector" "$tmp/tree/tests/structure"
	cp "$repo/.clang-format" "$tmp/tree/"
	printf '#ifndef A_H\n#define A_H\nint a_one(void);\n#endif\n' >"$tmp/tree/connector/a.h"
	printf '#include "a.h"\n\n#include "b.h"\n\nint a_one(void)\n{\n\treturn b_one();\n}\n' >"$tmp/tree/connector/a.c"
	printf '#ifndef B_H\n#define B_H\nint b_one(void);\n#endif\n' >"$tmp/tree/connector/b.h"
	printf '#include "b.h"\n\nint b_one(void)\n{\n\treturn 1;\n}\n' >"$tmp/tree/connector/b.c"
	: >"$tmp/tree/tests/structure/allow.txt"
}

expect() { # expect "what" pass|fail [pattern]
	local what=$1 want=$2 pattern=${3:-} output rc
	output=$(bash "$here/check.sh" "$tmp/tree" 2>&1)
	rc=$?
	if [[ $want == pass && $rc -ne 0 ]] || [[ $want == fail && $rc -eq 0 ]]; then
		echo "not ok - $what: check.sh exited $rc"
		echo "$output"
		exit 1
	fi
	if [[ -n $pattern ]] && ! grep -q -- "$pattern" <<<"$output"; then
		echo "not ok - $what: output lacks '$pattern'"
		echo "$output"
		exit 1
	fi
	passed=$((passed + 1))
	echo "ok $passed - $what"
}

fresh_tree
expect "a clean tree passes" pass

fresh_tree
printf 'int  b_two( void ){return 2;}\n' >>"$tmp/tree/connector/b.c"
expect "bad formatting is refused" fail "b.c is not clang-formatted"

fresh_tree
printf '\nvoid b_copy(char *to, const char *from)\n{\n\tstrcpy(to, from);\n}\n' >>"$tmp/tree/connector/b.c"
expect "a banned function is refused" fail "banned function at connector/b.c"

fresh_tree
{
	printf '\nint b_long(void)\n{\n\tint x = 0;\n'
	for _ in $(seq 101); do printf '\tx++;\n'; done
	printf '\treturn x;\n}\n'
} >>"$tmp/tree/connector/b.c"
expect "a function over 100 lines is refused" fail "function b_long has"
echo "function connector/b.c:b_long builds a table in one place" >"$tmp/tree/tests/structure/allow.txt"
expect "a justified long function passes" pass

fresh_tree
for i in $(seq 200); do printf '\nint b_f%d(void)\n{\n\treturn %d;\n}\n' "$i" "$i"; done >>"$tmp/tree/connector/b.c"
expect "a file over 800 lines is refused" fail "b.c has"

fresh_tree
printf '#include "b.h"\n\n#include "a.h"\n\nint b_one(void)\n{\n\treturn 1;\n}\n' >"$tmp/tree/connector/b.c"
expect "an include cycle is refused" fail "include cycle between modules"

# layers: connector/core/a.c including connector/engine/b.h goes upward
fresh_tree
mkdir -p "$tmp/tree/connector/core" "$tmp/tree/connector/engine"
mv "$tmp/tree/connector/a.c" "$tmp/tree/connector/a.h" "$tmp/tree/connector/core/"
mv "$tmp/tree/connector/b.c" "$tmp/tree/connector/b.h" "$tmp/tree/connector/engine/"
expect "an include from a lower layer to a higher one is refused" fail "connector/core/a.c (core) includes b.h (engine, a higher layer)"
echo "upward connector/core/a.c->b.h kept until b moves down" >"$tmp/tree/tests/structure/allow.txt"
expect "a justified upward include passes" pass
mv "$tmp/tree/connector/core/a.c" "$tmp/tree/connector/core/a.h" "$tmp/tree/connector/engine/"
mv "$tmp/tree/connector/engine/b.c" "$tmp/tree/connector/engine/b.h" "$tmp/tree/connector/core/"
: >"$tmp/tree/tests/structure/allow.txt"
expect "an include from a higher layer to a lower one passes" pass

fresh_tree
printf '\nint b_run(void *conn)\n{\n\treturn PQexec(conn, "SELECT 1") != 0;\n}\n' >>"$tmp/tree/connector/b.c"
expect "a statement run outside connector/store/ is refused" fail "libpq statement call outside connector/store/ at connector/b.c"
mkdir -p "$tmp/tree/connector/store"
mv "$tmp/tree/connector/b.c" "$tmp/tree/connector/store/b.c"
expect "a statement run in connector/store/ passes" pass

echo "1..$passed"
