#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest side of make demo: a short tour of karena for a person.
# Each section is a function; a section prints a heading and a few
# commands with their output.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
top=$KARENA_TOP
build=$KARENA_BUILD
kernel=${KARENA_KERNEL:-stock}
ko=$build/$kernel/module/karena.ko

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

# The buddy layer; the hold file allocates from the arena by hand
# (Documentation/buddy.rst), since nothing else allocates yet.
section_buddy() {
	heading "The buddy allocator: free blocks per order, per chunk"
	show "grep -E '^(chunks|max_order|pages|free|pcp|block|slab)=' $dbg/arena"
	show "head -n 2 $dbg/buddyinfo; grep Total $dbg/buddyinfo"
	heading "A few allocations (3 pages, 2 blocks of 8 pages) through $dbg/hold"
	show "echo 'alloc 0 3' >$dbg/hold && echo 'alloc 3 2' >$dbg/hold && cat $dbg/hold"
	show "head -n 1 $dbg/buddyinfo; grep Total $dbg/buddyinfo"
	show "head -n 5 $dbg/order_stats"
	show "cat $dbg/pcp"
	heading "Fragmenting the arena on purpose: hold every page, free every other one"
	show "echo free >$dbg/hold && echo 'fill 0' >$dbg/hold && echo 'free_every 2' >$dbg/hold && cat $dbg/hold"
	show "grep Total $dbg/buddyinfo"
	show "grep Total $dbg/unusable_index"
	show "grep Total $dbg/extfrag_index"
	heading "Freeing everything: the chunks merge back whole"
	show "echo free >$dbg/hold && grep Total $dbg/buddyinfo"
	show "echo 1 >$dbg/validate && dmesg | grep 'karena: validate' | tail -n 1"
}

section_uapi() {
	heading "A client of /dev/karena (raw uapi: a cache, 100 objects, a page block)"
	show "$build/demo/demo_uapi"
	show "cat $dbg/clients"
}

# libkarena (Documentation/library.rst): the example program, which runs
# karena-stat while it still holds its memory, then an unmodified sort
# under the LD_PRELOAD interposer and its own lines of debugfs at exit.
section_library() {
	local lib=${build#"$top"/}/userspace
	heading "libkarena: a program allocating through the library (userspace/examples/example.c)"
	show "$lib/karena-example --then '$lib/karena-stat --top 8'"
	heading "An unmodified program on karena: LD_PRELOAD=libkarena-preload.so"
	show "seq 1 50000 | LD_PRELOAD=$lib/libkarena-preload.so KARENA_EXIT_INFO=/tmp/sort.info sort -r | head -n 3"
	show "grep '^debugfs' /tmp/sort.info"
}

# The slab layer (Documentation/slab.rst): by now the caches above hold
# karena's own bookkeeping (cache descriptors, magazines, slab descriptors
# and debugfs tables of the caches the clients above created and dropped).
section_slab() {
	heading "Slab caches: slabinfo (format 2.1; karena's own caches at the top)"
	show "cat $dbg/slabinfo"
	heading "One cache in detail: $dbg/caches/kmalloc-1024/"
	show "grep -E '^(object_size|slab_size|objs_per_slab|order|objects|total_objects|slabs|partial|cpu_slabs|magazine_size)=' $dbg/caches/kmalloc-1024/stats"
	show "grep -E '^(alloc|free)_(fastpath|slowpath|slab|refill)=|^magazine_(hit|miss)=|^depot_|^errors=' $dbg/caches/kmalloc-1024/stats"
	show "echo 1 >$dbg/caches/kmalloc-1024/validate && dmesg | grep 'karena: cache' | tail -n 1"
}

section_unload() {
	heading "Unloading"
	show "rmmod karena && dmesg | grep 'karena:' | tail -n 1"
}

section_load || exit 1
section_debugfs
section_buddy
section_uapi
section_library
section_slab
section_unload
