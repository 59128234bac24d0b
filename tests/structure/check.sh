#!/usr/bin/env bash
# The written style rules, checked (STYLE.md 13; curl's checksrc is the
# model). Fast: runs before any build in tests/run.sh.
#   format     clang-format --dry-run -Werror on every C file
#   banned     functions that overflow or are not thread-safe
#   file size  no .c file over 800 lines
#   functions  no function body over 100 lines
#   includes   no cycle between connector modules, and no include from a
#              lower layer to a higher one (connector/<layer>/, lowest
#              first: core base store moneybird engine http cli; main.c on top)
# A file or function may exceed a size limit, and a known layering debt stay,
# only with a one-line justification in tests/structure/allow.txt
# ("file PATH reason", "function PATH:NAME reason", "cycle MODULES reason",
# "upward PATH->HEADER reason"). Usage: check.sh [ROOT] (default: the repo).
set -uo pipefail
root="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
allow="$root/tests/structure/allow.txt"
cd "$root" || exit 2
failed=0
problem() {
	echo "structure: $*" >&2
	failed=1
}
allowed() { # allowed KIND KEY
	[[ -f "$allow" ]] && grep -qE "^$1 $(printf '%s' "$2" | sed 's/[.[\*^$/]/\\&/g') [^ ]" "$allow"
}

mapfile -t c_files < <(find connector tests -path '*/build*' -prune -o \( -name '*.c' -o -name '*.h' \) -print | sort)

# format
if ! command -v clang-format >/dev/null; then
	problem "clang-format is not installed (deploy/install-deps.sh installs it)"
else
	bad=$(clang-format --dry-run -Werror "${c_files[@]}" 2>&1 | grep -E '^[^ ]+:[0-9]+:[0-9]+: error' | cut -d: -f1 | sort -u)
	for file in $bad; do
		problem "$file is not clang-formatted: run clang-format -i $file"
	done
fi

# banned functions (snprintf, strtok_r and friends are fine)
while IFS= read -r hit; do
	problem "banned function at $hit"
done < <(grep -nE '(^|[^A-Za-z0-9_])(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok|strncpy|strncat)[[:space:]]*\(' "${c_files[@]}")

# file size
for file in "${c_files[@]}"; do
	[[ "$file" == *.c ]] || continue
	lines=$(wc -l <"$file")
	if ((lines > 800)) && ! allowed file "$file"; then
		problem "$file has $lines lines (limit 800): split it, or justify it in tests/structure/allow.txt"
	fi
done

# function size: with the Linux brace style a function body opens with "{"
# and closes with "}" in column 0.
while IFS=$'\t' read -r file name length; do
	if ! allowed function "$file:$name"; then
		problem "$file: function $name has $length lines (limit 100): split it, or justify it in tests/structure/allow.txt"
	fi
done < <(awk '
	FNR == 1 { start = 0; signature = "" }
	/^[A-Za-z_].*\(/ && !/;[[:space:]]*$/ { signature = $0 }
	/^\{/ { start = FNR }
	/^\}/ && start {
		if (FNR - start - 1 > 100) {
			name = signature; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
			printf "%s\t%s\t%d\n", FILENAME, name, FNR - start - 1
		}
		start = 0
	}' "${c_files[@]}")

# include cycles between connector modules (x.c and x.h are module x)
mapfile -t connector_files < <(find connector -name '*.c' -o -name '*.h' | sort)
edges=$(for file in "${connector_files[@]}"; do
	from=$(basename "${file%.*}")
	sed -nE 's/^#include "([a-z_0-9]+)\.h".*/\1/p' "$file" | while read -r to; do
		[[ "$to" != "$from" ]] && echo "$from $to"
	done
done)
cycles=$(printf '%s\n' "$edges" | tsort 2>&1 >/dev/null)
while IFS= read -r cycle; do
	allowed cycle "$cycle" || problem "include cycle between modules: $cycle"
done < <(printf '%s\n' "$cycles" | awk '
	/input contains a loop/ { if (members != "") print members; members = ""; next }
	{ members = members (members == "" ? "" : " ") $2 }
	END { if (members != "") print members }')

# layers: a file may include headers of its own layer and of lower ones only
layers=(core base store moneybird engine http cli)
declare -A layer_rank=() header_layer=()
for i in "${!layers[@]}"; do layer_rank[${layers[$i]}]=$i; done
for file in "${connector_files[@]}"; do
	layer=$(cut -d/ -f2 <<<"$file")
	[[ -n "${layer_rank[$layer]:-}" && "$file" == *.h ]] && header_layer[$(basename "$file")]=$layer
done
for file in "${connector_files[@]}"; do
	layer=$(cut -d/ -f2 <<<"$file")
	[[ -n "${layer_rank[$layer]:-}" ]] || continue # main.c sits above every layer
	while read -r header; do
		to=${header_layer[$header]:-}
		[[ -n "$to" ]] || continue
		if ((layer_rank[$to] > layer_rank[$layer])) && ! allowed upward "$file->$header"; then
			problem "$file ($layer) includes $header ($to, a higher layer)"
		fi
	done < <(sed -nE 's/^#include "([a-z_0-9]+\.h)".*/\1/p' "$file")
done

# SQL only in connector/store/: no other module runs a statement itself
while IFS= read -r hit; do
	problem "libpq statement call outside connector/store/ at $hit: move it into a store function"
done < <(grep -rnE '(^|[^A-Za-z0-9_])PQ(exec|execParams|prepare|execPrepared|sendQuery|sendQueryParams|sendPrepare|sendQueryPrepared)[[:space:]]*\(' connector --include='*.c' --include='*.h' | grep -v '^connector/store/')

if ((failed)); then
	echo "structure: FAILED" >&2
	exit 1
fi
echo "structure: ok (${#c_files[@]} C files)"
