#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest side of make demo: a short tour of karena for a person.
# Each section is a function; a section prints a heading and a few
# commands with their output.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${KARENA_BUILD:-$top/build}
kernel=${KARENA_KERNEL:-stock}
ko=$build/$kernel/module/karena.ko
dbg=/sys/kernel/debug/karena

heading() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; bash -c "$*" 2>&1 | sed 's/^/  /'; }

section_load() {
	heading "Loading karena into $(uname -r)"
	show "insmod ${ko#"$top"/} && dmesg | grep 'karena:' | tail -n 1"
	show "ls -l /dev/karena"
}

section_debugfs() {
	heading "debugfs: $dbg"
	show "ls $dbg"
	show "cat $dbg/version"
}

section_unload() {
	heading "Unloading"
	show "rmmod karena && dmesg | grep 'karena:' | tail -n 1"
}

section_load || exit 1
section_debugfs
section_unload
