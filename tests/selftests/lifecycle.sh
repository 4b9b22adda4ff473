#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Module lifecycle, as root in the test VM (TAP 13 on stdout):
# insmod/rmmod cycles, rmmod refused while something holds the module,
# bad parameters refused without leftovers.
#
# Environment: KARENA_KO (path of karena.ko), LIFECYCLE_CYCLES (20).
set -u
ko=${KARENA_KO:?path of karena.ko}
cycles=${LIFECYCLE_CYCLES:-20}
dbg=/sys/kernel/debug/karena
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $1"; shift; for l in "$@"; do echo "# $l"; done; }
loaded() { grep -q '^karena ' /proc/modules; }

echo "TAP version 13"
echo "1..8"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP lifecycle tests need root"
	exit 4
fi
loaded && rmmod karena

# 1
bad=
for i in $(seq "$cycles"); do
	insmod "$ko" || { bad="insmod failed in cycle $i"; break; }
	[ -c /dev/karena ] || { bad="no /dev/karena in cycle $i"; break; }
	[ -r $dbg/version ] || { bad="no debugfs in cycle $i"; break; }
	rmmod karena || { bad="rmmod failed in cycle $i"; break; }
	[ ! -e /dev/karena ] || { bad="/dev/karena left after rmmod in cycle $i"; break; }
	[ ! -e $dbg ] || { bad="$dbg left after rmmod in cycle $i"; break; }
done
[ -z "$bad" ] && ok "insmod_rmmod_${cycles}_cycles" || not_ok "insmod_rmmod_${cycles}_cycles" "$bad"
loaded && rmmod karena

# 2
insmod "$ko"
exec 3<>/dev/karena
if out=$(rmmod karena 2>&1); then
	not_ok rmmod_refused_while_device_open "rmmod succeeded with /dev/karena open"
else
	grep -q 'in use' <<<"$out" && ok rmmod_refused_while_device_open ||
		not_ok rmmod_refused_while_device_open "unexpected rmmod error: $out"
fi
exec 3>&-

# 3
rmmod karena && ok rmmod_succeeds_after_close || not_ok rmmod_succeeds_after_close "rmmod failed after close"

# 4
insmod "$ko"
exec 3<$dbg/version
if rmmod karena 2>/dev/null; then
	not_ok rmmod_refused_while_debugfs_open "rmmod succeeded with $dbg/version open"
else
	ok rmmod_refused_while_debugfs_open
fi
exec 3<&-
rmmod karena 2>/dev/null

# 5-7: bad parameters are refused, with nothing left behind.
for p in arena_mb=0 max_order=99 dev_mode=0777; do
	if insmod "$ko" "$p" 2>/dev/null; then
		not_ok "bad_param_refused_$p" "insmod accepted $p"
		rmmod karena
	elif [ -e /dev/karena ] || [ -e $dbg ]; then
		not_ok "bad_param_refused_$p" "leftovers after refused insmod"
	elif ! dmesg | tail -n 5 | grep -q "${p%%=*}="; then
		not_ok "bad_param_refused_$p" "no message naming ${p%%=*}"
	else
		ok "bad_param_refused_$p"
	fi
done

# 8
insmod "$ko" dev_mode=0666
mode=$(stat -c %a /dev/karena 2>/dev/null)
rmmod karena
[ "$mode" = 666 ] && ok dev_mode_sets_node_mode || not_ok dev_mode_sets_node_mode "mode is '$mode', expected 666"

[ $failed -eq 0 ]
