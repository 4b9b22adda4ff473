# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# TAP 13 for karena's shell tests (sourced): numbered results with their
# diagnostics as "# " lines after them, the plan at the end.  These are
# the lines tests/vm/summarize.awk counts and tests/vm/guest-check.sh
# shows.
#
#   tap_start                    the "TAP version 13" header
#   ok NAME                      ok N - NAME
#   not_ok NAME [LINE...]        not ok N - NAME, then "# LINE" for each
#   skip NAME [WHY]              ok N - NAME # SKIP WHY
#   check NAME WHY               ok when WHY is empty, else not_ok NAME WHY
#   check_that NAME COND [WHY]   ok when `eval COND` succeeds, else
#                                not_ok NAME WHY
#   figure TEXT                  "# figure: TEXT", a measurement that
#                                make soak collects
#   tap_end                      the plan "1..N"; fails if a result failed
#
# A script that skips itself entirely prints "1..0 # SKIP why" instead.

tap_n=0
tap_failed=0

tap_start() { echo "TAP version 13"; }
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }
not_ok() {
	local l
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP${2:+ $2}"; }
check() { if [ -z "$2" ]; then ok "$1"; else not_ok "$1" "$2"; fi; }
check_that() { if eval "$2"; then ok "$1"; else not_ok "$1" "${3:-}"; fi; }
figure() { echo "# figure: $1"; }
tap_end() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }
