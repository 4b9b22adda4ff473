#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make lint: the kernel's own checkers over all of karena's C.
#   1. make W=1 C=2 (sparse on every file) against the debug kernel:
#      no warning at all;
#   2. scripts/checkpatch.pl --strict --no-tree -f on every C file;
#   3. scripts/kernel-doc -none on every file that has kernel-doc.
# The tools come from the extracted Debian kernel source in the cache.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"

ensure_deps
ensure_ksrc
src=$(ksrc_dir)
cd "$KARENA_TOP"
fail=0

files=$(git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -v '^build/')

say "W=1 C=2 build against the debug kernel"
log=$KARENA_BUILD/lint-build.log
mkdir -p "$KARENA_BUILD"
if ! KARENA_BUILD=$KARENA_BUILD/lint bash tests/vm/build-modules.sh debug W=1 C=2 >"$log" 2>&1; then
	cat "$log"
	fail=1
fi

say "checkpatch --strict"
for f in $files; do
	out=$(perl "$src/scripts/checkpatch.pl" --strict --no-tree --quiet \
		--show-types -f "$f" 2>&1)
	if [ -n "$out" ]; then
		echo "$out"
		fail=1
	fi
done

say "kernel-doc"
for f in $(grep -l '^/\*\*' $files); do
	out=$(perl "$src/scripts/kernel-doc" -none "$f" 2>&1)
	if [ -n "$out" ]; then
		echo "$out"
		fail=1
	fi
done

say "uapi: C90, no holes, the deprecated names still there"
tmp=$(mktemp -d)
cat >"$tmp/uapi.c" <<'EOF'
#include "karena.h"
#if KARENA_CACHE_HWALIGN != KARENA_CACHE_HWCACHE_ALIGN || \
	KARENA_CACHE_REDZONE != KARENA_CACHE_RED_ZONE || \
	KARENA_CACHE_TRACK != KARENA_CACHE_STORE_USER || \
	KARENA_CACHE_CONSISTENCY != KARENA_CACHE_CONSISTENCY_CHECKS
#error "a deprecated cache flag name is gone or has another value"
#endif
EOF
if ! gcc -std=c90 -pedantic -Wall -Wextra -Werror -g -I uapi -c -o "$tmp/uapi.o" "$tmp/uapi.c"; then
	fail=1
else
	# Instantiate every struct so that pahole sees it.
	for s in $(grep -o '^struct karena_[a-z_]*' uapi/karena.h | sort -u | cut -d' ' -f2); do
		echo "struct $s v_$s;"
	done >>"$tmp/uapi.c"
	gcc -g -I uapi -c -o "$tmp/uapi.o" "$tmp/uapi.c" || fail=1
	holes=$(pahole "$tmp/uapi.o" | grep -B20 -E 'hole|padding:' | grep -E '^struct|hole|padding')
	if [ -n "$holes" ]; then
		echo "uapi structs with implicit holes or padding:"
		echo "$holes"
		fail=1
	fi
fi
rm -rf "$tmp"

[ $fail -eq 0 ] && say "lint clean"
exit $fail
