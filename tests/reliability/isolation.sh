#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Isolation at scale (TAP on stdout), as root in the test VM: ISO_USERS
# processes (4), each a client running as its own user, take ISO_PAGES
# pages between them (ci 10000, soak 100000), each checked zero on
# handout and never showing another client's pattern
# (tests/selftests/karena_isolate.c); then everything is back.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"
rel_setup
tap_start

pages=${ISO_PAGES:-$(by_scale 10000 100000)}
users=${ISO_USERS:-4}
seed=${ISO_SEED:-$RANDOM}
unload || { echo "Bail out! karena is loaded and cannot be removed"; exit 1; }
insmod "$ko" dev_mode=0666 || { echo "Bail out! insmod karena.ko failed"; exit 1; }

echo "# karena_isolate -u $users -p $pages -s $seed"
out=$("$progs/karena_isolate" -u "$users" -p "$pages" -s "$seed" 2>&1)
rc=$?
grep '^#' <<<"$out"
line=$(grep '^pages_checked=' <<<"$out")
checked=$(sed -n 's/^pages_checked=\([0-9]*\).*/\1/p' <<<"$line")
check "isolation_${pages}_pages_across_${users}_users" \
	"$([ $rc -eq 0 ] || echo "karena_isolate failed (status $rc): $line")"
check isolation_everything_back "$(all_back)"
rmmod_soon || not_ok rmmod_after_isolation "rmmod failed"
figure "pages_checked=${checked:-0}"
figure "$line"
tap_end
