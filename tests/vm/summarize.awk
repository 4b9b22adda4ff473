# SPDX-License-Identifier: GPL-2.0
#
# Sum TAP 13 (kselftest) and KTAP (KUnit) results of a make check run.
# Input: the .tap files under build/check/<kernel>/.  A result line counts
# only if it is a leaf (no deeper result lines right before it), so
# parameterised KUnit cases count once per parameter, and suite lines not
# at all.  Prints a kernel/suite table, the failures, and the last line
# "N passed, N failed, N skipped".


FNR == 1 {
	n = split(FILENAME, parts, "/")
	kernel = parts[n - 1]
	file = parts[n]
	sub(/\.tap$/, "", file)
	sub(/^selftest-/, "", file)
	suite = file
	prev_indent = -1
}

/^ *# Subtest: / {
	match($0, /^ */)
	if (RLENGTH <= 4) {
		s = $0
		sub(/^ *# Subtest: /, "", s)
		suite = s
	}
	next
}

/^ *1\.\.0 *# *SKIP/ {
	key = kernel SUBSEP suite
	keys[key] = 1
	skip[key]++
	next
}

/^ *(not )?ok( |$)/ {
	match($0, /^ */)
	indent = RLENGTH
	leaf = (prev_indent < 0 || prev_indent <= indent)
	prev_indent = indent
	if (!leaf)
		next
	key = kernel SUBSEP suite
	keys[key] = 1
	if ($0 ~ /# *SKIP/)
		skip[key]++
	else if ($0 ~ /^ *not ok/) {
		fail[key]++
		failures[++nfail] = kernel ": " suite ": " substr($0, indent + 1)
	} else
		pass[key]++
}

END {
	printf "\n%-8s %-28s %6s %6s %6s\n", "kernel", "suite", "passed", "failed", "skipped"
	# Stable order: kernel, then suite name.
	nk = 0
	for (k in keys)
		order[++nk] = k
	for (i = 2; i <= nk; i++) {
		v = order[i]
		for (j = i - 1; j >= 1 && order[j] > v; j--)
			order[j + 1] = order[j]
		order[j + 1] = v
	}
	for (i = 1; i <= nk; i++) {
		k = order[i]
		split(k, ks, SUBSEP)
		printf "%-8s %-28s %6d %6d %6d\n", ks[1], ks[2], pass[k], fail[k], skip[k]
		tp += pass[k]; tf += fail[k]; ts += skip[k]
	}
	if (nfail) {
		print "\nfailed:"
		for (i = 1; i <= nfail; i++)
			print "  " failures[i]
	}
	printf "\n%d passed, %d failed, %d skipped\n", tp, tf, ts
}
