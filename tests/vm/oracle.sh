#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The oracle, run inside the test VM after every phase: the kernel must be
# exactly as healthy as it was at boot.
#
#   oracle.sh --init          record the baseline (call once, first);
#                             exit 3 if lockdep is already off (the
#                             boot itself turned it off: say why)
#   oracle.sh --lockdep       exit 0 if lockdep is on (or absent), else
#                             print what the kernel log says about why
#                             and exit 1
#   oracle.sh [--final] NAME  check; prints one TAP line "ok/not ok - NAME"
#                             and the offending lines; exit 1 on a hit
#
# Checks: no taint bits beyond O (out-of-tree), E (unsigned module) and N
# (test module); lockdep still enabled; kmemleak finds nothing (--final
# waits out kmemleak's 5 s minimum object age first); dmesg since the last
# check free of BUG/WARNING/KASAN/UBSAN/lockdep/RCU-stall/... reports, and
# the kernel log never wrapped (a wrapped log could hide a report).  When
# lockdep is off, every line of the log that says why is printed.
set -uo pipefail

state=/tmp/karena-oracle
kml=/sys/kernel/debug/kmemleak
allowed_taint=$(((1 << 12) | (1 << 13) | (1 << 18)))
pattern='BUG:|WARNING:|KASAN:|KFENCE:|UBSAN:|Bad page (state|map)|Bad rss-counter|refcount_t:|possible (circular|recursive)|inconsistent lock|sleeping function called|unreferenced object|Objects remaining|general protection|Oops|Call Trace|rcu_.*detected stall|INFO: task .* blocked|lockdep|kernel BUG|list_(add|del) corruption|page allocation failure|turning off the locking correctness validator|Disabling lock debugging'
# What may say why lockdep turned itself off (print_lockdep_off() prints
# at KERN_DEBUG, which the console leaves out).
why_off='lockdep|locking correctness|lock debugging|debug_locks|too low|INFO: |taint'

lockdep_on() {
	[ ! -r /proc/lockdep_stats ] || grep -Eq 'debug_locks: +1' /proc/lockdep_stats
}
lockdep_why() {
	dmesg | grep -E "$why_off" | grep -v -E 'MAX_LOCKDEP|RCU lockdep checking' | tail -n 20
}

if [ "${1:-}" = --lockdep ]; then
	lockdep_on && exit 0
	lockdep_why | sed 's/^/#   /'
	exit 1
fi

if [ "${1:-}" = --init ]; then
	mkdir -p "$state"
	cat /proc/sys/kernel/tainted >"$state/taint"
	dmesg | wc -l >"$state/dmesg-lines"
	dmesg | head -n 1 >"$state/dmesg-first"
	# Leaks reported before our first phase are the kernel's, not ours.
	# No automatic scans: a scan walks every object in an RCU read-side
	# section, and under heavy churn on a slow emulator it never ended
	# (a 4x4 fuzzer run stalled RCU from the first scan on, freed
	# objects piled up behind the grace period and the guest ran out of
	# memory).  The checks below scan when they need to.
	if [ -w "$kml" ]; then
		echo scan=off >"$kml"
		echo clear >"$kml"
	fi
	if ! lockdep_on; then
		echo "# oracle: lockdep is off before any test ran; the kernel log says:"
		lockdep_why | sed 's/^/#   /'
		exit 3
	fi
	exit 0
fi

final=0
[ "${1:-}" = --final ] && { final=1; shift; }
name=${1:-oracle}
problems=()

taint=$(cat /proc/sys/kernel/tainted)
base=$(cat "$state/taint" 2>/dev/null || echo 0)
new=$(((taint & ~base) & ~allowed_taint))
[ $new -eq 0 ] || problems+=("new taint bits $(printf '%#x' $new) (tainted=$taint)")

if ! lockdep_on; then
	problems+=("lockdep turned itself off (debug_locks: 0)")
	why=$(lockdep_why)
fi

if [ -w "$kml" ]; then
	[ $final -eq 1 ] && sleep 6
	echo scan >"$kml"
	leaks=$(cat "$kml")
	[ -z "$leaks" ] || problems+=("kmemleak: $(grep -c 'unreferenced object' <<<"$leaks") unreferenced objects")
fi

from=$(cat "$state/dmesg-lines" 2>/dev/null || echo 0)
lines=$(dmesg | tail -n +$((from + 1)))
dmesg | wc -l >"$state/dmesg-lines"
hits=$(grep -E "$pattern" <<<"$lines")
[ -z "$hits" ] || problems+=("dmesg reports")
if [ -s "$state/dmesg-first" ] && [ "$(dmesg | head -n 1)" != "$(cat "$state/dmesg-first")" ]; then
	problems+=("the kernel log wrapped (log_buf_len too small): reports may have been lost")
fi

if [ ${#problems[@]} -eq 0 ]; then
	echo "ok - $name"
	exit 0
fi
echo "not ok - $name"
for p in "${problems[@]}"; do
	echo "# oracle: $p"
done
[ -n "${why:-}" ] && { echo "# what the log says about it:"; sed 's/^/#   /' <<<"$why"; }
[ -n "$hits" ] && { echo "# dmesg since the last check:"; sed 's/^/#   /' <<<"$lines" | tail -n 80; }
[ -n "${leaks:-}" ] && sed 's/^/#   /' <<<"$leaks" | head -n 60
exit 1
