#!/usr/bin/env bash
# bookto-moneybird(8), README.md and `bookto-moneybird --help` list the same
# commands with the same synopsis, and the man page and README the same exit
# codes. Each synopsis is normalised (markup, spacing around "|" and
# repeated blanks removed) and the three sorted lists are compared.
source "$(dirname "$0")/../integration/lib.sh"
bm_setup
MAN="$BM_SOURCE_DIR/docs/bookto-moneybird.8"
README="$BM_SOURCE_DIR/README.md"

normalise() { # stdin: one synopsis per line -> normalised, sorted, unique
	sed -e 's/\\|/|/g' -e 's/[[:space:]]*|[[:space:]]*/ | /g' -e 's/[[:space:]]\+/ /g' \
		-e 's/^ //' -e 's/ $//' | LC_ALL=C sort -u
}

# README: the first column of the table under "### Command line".
readme_commands() {
	awk '/^### Command line/ { on = 1; next } on && /^#/ { exit }
	     on && /^\| `/ { sub(/^\| `/, ""); sub(/` \|.*$/, ""); print }' "$README"
}

# --help: the lines under "Commands:" indented by two spaces; the synopsis
# ends where two blanks start the description.
help_commands() {
	"$BM_BINARY" --help | awk '/^Commands:/ { on = 1; next } on && /^[^ ]/ { exit }
	     on && /^  [^ ]/ { sub(/^  /, ""); sub(/  .*$/, ""); print }'
}

# man page: the line after each .TP in the COMMANDS section, without roff
# font escapes.
man_commands() {
	awk '/^\.SH / { on = ($2 == "COMMANDS"); next }
	     on && /^\.TP/ { take = 1; next }
	     on && take { print; take = 0 }' "$MAN" |
		sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\&//g'
}

readme="$(readme_commands | normalise)"
help="$(help_commands | normalise)"
man="$(man_commands | normalise)"
[[ "$(printf '%s\n' "$readme" | grep -c .)" -ge 10 ]] ||
	bm_fail "found only $(printf '%s\n' "$readme" | grep -c .) commands in README's table: the extraction broke"
bm_assert_eq "$man" "$readme" "the man page's COMMANDS match README's command table"
bm_assert_eq "$help" "$readme" "--help lists the commands of README's table"
for name in serve migrate "config check" "audit verify" "moneybird check"; do
	bm_assert_contains "$man" "$name" "the man page has $name"
done

# Exit codes: README's "Exit codes:" sentence and the man page's EXIT STATUS.
readme_codes="$(awk '/^Exit codes:/ { on = 1 } on { print } on && /\.$/ { exit }' "$README" |
	tr '\n' ' ' | grep -o '[0-9] [a-z`]' | cut -c1 | LC_ALL=C sort -u | tr '\n' ' ')"
man_codes="$(awk '/^\.SH / { on = ($2 == "EXIT"); next }
	on && /^\.TP/ { take = 1; next } on && take { print; take = 0 }' "$MAN" |
	sed 's/^\.B //' | LC_ALL=C sort -u | tr '\n' ' ')"
bm_assert_eq "$man_codes" "$readme_codes" "the man page's exit codes match README's"
bm_assert_eq "$readme_codes" "0 1 2 3 " "README names exit codes 0 to 3"

# The page renders without groff warnings.
warnings="$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MAN" 2>&1 >/dev/null || true)"
bm_assert_eq "$warnings" "" "man --warnings renders the page without a warning"
bm_done
