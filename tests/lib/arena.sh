# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shell helpers shared by the scripts that run as root in the test VM
# (tests/selftests/lifecycle.sh, tests/reliability/*.sh; sourced): the
# arena's state as debugfs shows it, waiting for a helper program, and
# an rmmod that allows for a deferred release.
#
# Builtins only where a loop runs them thousands of times: under TCG on
# the debug kernel every fork+exec costs a good part of a second.

dbg=/sys/kernel/debug/karena

loaded() { grep -q '^karena ' /proc/modules; }

# rmmod, retried for up to 2 s (a release may be deferred).
rmmod_soon() {
	local _
	for _ in $(seq 20); do
		rmmod karena 2>/dev/null && return 0
		sleep 0.1
	done
	rmmod karena
}

# Wait (TCG is slow: up to 60 s) for FILE, as long as PID lives.
wait_ready() {
	local _
	for _ in $(seq 600); do
		[ -e "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# arena_value KEY: KEY's value in debugfs arena (key=value lines).
arena_value() {
	local k v
	while IFS='=' read -r k v; do
		[ "$k" = "$1" ] && { echo "$v"; return; }
	done <$dbg/arena
}

# Pages of the arena that clients own (state "user" in the arena
# summary), and the clients listed in debugfs.  When no client is left
# both must be 0.  (The arena's free page count is no measure: karena's
# own caches keep a few slabs cached across clients.)
user_pages() { arena_value user; }
nr_clients() {
	local l n=0
	while read -r l; do
		[ "${l:0:1}" = "#" ] || n=$((n + 1))
	done <$dbg/clients
	echo $n
}

# Wait up to 5 s (a release may be deferred) for every client to be
# gone and its pages back; print "user=N clients=M".
clients_gone() {
	local _
	for _ in $(seq 50); do
		[ "$(user_pages)" = 0 ] && [ "$(nr_clients)" = 0 ] && break
		sleep 0.1
	done
	echo "user=$(user_pages) clients=$(nr_clients)"
}

# Run the arena's checker; fails if it counted a problem.
validate_ok() {
	local before after
	before=$(arena_value validate_failures)
	echo 1 >$dbg/validate || return 1
	after=$(arena_value validate_failures)
	[ -n "$before" ] && [ "$before" = "$after" ]
}
