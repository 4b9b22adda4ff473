#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Real programs under libkarena-preload.so, in the test VM with karena.ko
# loaded and /dev/karena open to all: each runs once with the system
# allocator and once with LD_PRELOAD, and the two outputs must be
# identical.  KARENA_EXIT_INFO makes every process write, at exit, the
# library's JSON and its own lines of debugfs' clients file and slabinfo,
# read while its client still exists: the proof that the memory came
# from karena.  KARENA_REQUIRE=1 makes a run without karena fail rather
# than fall back.  TAP output.
#
# karena memory cannot be the target of zero-copy I/O: get_user_pages
# refuses the window, so O_DIRECT, vmsplice, and a read from the VM's
# host root (9p over virtio without a page cache, which pins the
# reader's pages for reads over 1 KiB) give EFAULT.  A read from a local
# filesystem (tmpfs here, ext4 on a real system) copies and works.  So
# every file the programs read is on the guest's /tmp: the inputs, a
# copy of the Python modules the workload imports (PYTHONHOME), and a C
# file that includes no system header.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"
top=$KARENA_TOP
build=$KARENA_BUILD
preload=$build/userspace/libkarena-preload.so
work=$(mktemp -d /tmp/interposer.XXXXXX)
trap 'rm -rf "$work"' EXIT

# run NAME COMM CMD...: compare CMD's output with and without karena, and
# check that process COMM allocated from karena.
run() {
	local name=$1 comm=$2 t0 t1 info mallocs clients slabs
	shift 2
	info=$work/$name.info
	if ! timeout 300 "$@" >"$work/$name.ref" 2>"$work/$name.ref.err"; then
		not_ok "$name: fails without karena: $(tail -n 3 "$work/$name.ref.err")"
		return
	fi
	t0=$(date +%s)
	if ! KARENA_REQUIRE=1 KARENA_EXIT_INFO=$info LD_PRELOAD=$preload \
		timeout 300 "$@" >"$work/$name.out" 2>"$work/$name.err"; then
		not_ok "$name: fails under the interposer: $(tail -n 5 "$work/$name.err")"
		return
	fi
	t1=$(date +%s)
	if ! cmp -s "$work/$name.ref" "$work/$name.out"; then
		not_ok "$name: output differs under the interposer"
		diff "$work/$name.ref" "$work/$name.out" | head -n 10 | sed 's/^/# /'
		return
	fi
	# The process's own debugfs lines: its client and its caches.
	clients=$(grep -c "^debugfs clients: [0-9]* *[0-9]* *$comm " "$info")
	slabs=$(grep -c '^debugfs slabinfo: u[0-9]*\.[0-9]*:malloc-' "$info")
	mallocs=$(grep -o '"mallocs": [0-9]*' "$info" | awk '{ s += $2 } END { print s + 0 }')
	if [ "$clients" -lt 1 ] || [ "$slabs" -lt 1 ] || [ "$mallocs" -lt 20 ]; then
		not_ok "$name: no sign of karena in debugfs (clients $clients, caches $slabs, mallocs $mallocs)"
		sed 's/^/# /' "$info" | head -n 20
		return
	fi
	if grep -q '^karena:' "$work/$name.err"; then
		not_ok "$name: the library complained: $(grep '^karena:' "$work/$name.err" | head -n 3)"
		return
	fi
	ok "$name: identical output, $mallocs allocations through karena in $((t1 - t0)) s ($(grep -m1 "^debugfs clients: [0-9]* *[0-9]* *$comm " "$info" | awk '{ print $7 " pages, " $11 " objects" }') at exit)"
}

tap_start
if [ ! -e /dev/karena ] || [ ! -r $dbg/clients ]; then
	echo "1..0 # SKIP karena.ko not loaded or no debugfs"
	exit 0
fi
[ -f "$preload" ] || { echo "1..0 # SKIP $preload not built"; exit 0; }

# Python: dicts, lists, JSON round trips.
cat >"$work/py.py" <<'EOF'
import json, random
random.seed(7)
d = {"k%d" % i: [random.random() for _ in range(12)] for i in range(4000)}
s = json.dumps(d, sort_keys=True)
e = json.loads(s)
assert e == d
words = [("%x" % random.getrandbits(40)) * (1 + i % 5) for i in range(20000)]
counts = {}
for w in words:
    counts[w[:3]] = counts.get(w[:3], 0) + len(w)
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
nested = [[{"i": i, "s": str(i) * 3} for i in range(j % 50)] for j in range(800)]
t = json.loads(json.dumps(nested))
print(len(s), top, sum(len(x) for x in t), sum(len(v) for v in e.values()))
EOF
# The modules it imports, on tmpfs; extension modules are mmapped, fine.
pylib=$(python3 -S -c 'import os; print(os.path.dirname(os.__file__))')
pyver=$(basename "$pylib")
mkdir -p "$work/py/lib/$pyver"
(cd "$pylib" && cp -a ./*.py __pycache__ encodings json re collections \
	importlib "$work/py/lib/$pyver/") && ln -s "$pylib/lib-dynload" "$work/py/lib/$pyver/"
run python3 python3 env PYTHONHOME="$work/py" python3 -S "$work/py.py"

# sqlite3: a real SQL script with thousands of rows.
cat >"$work/db.sql" <<'EOF'
CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT, city TEXT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, amount REAL, note TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000)
INSERT INTO customer SELECT x, 'customer-' || x, 'city-' || (x % 37) FROM c;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO orders SELECT x, 1 + (x * 7919) % 3000, (x * 31 % 1000) / 10.0,
	printf('%.*c', 10 + x % 90, 'n') FROM c;
CREATE INDEX orders_customer ON orders(customer);
SELECT count(*), sum(amount), max(length(note)) FROM orders;
SELECT c.city, count(*), round(sum(o.amount), 1) FROM orders o JOIN customer c ON c.id = o.customer
	GROUP BY c.city ORDER BY 3 DESC LIMIT 10;
SELECT name FROM customer WHERE id IN (SELECT customer FROM orders GROUP BY customer
	HAVING count(*) > 8) ORDER BY name LIMIT 10;
UPDATE orders SET note = upper(note) WHERE id % 3 = 0;
DELETE FROM orders WHERE amount < 5;
SELECT count(*), group_concat(DISTINCT substr(note, 1, 2)) FROM orders;
VACUUM;
SELECT count(*) FROM orders o1 JOIN orders o2 ON o1.customer = o2.customer AND o1.id < o2.id
	WHERE o1.customer < 200;
EOF
if command -v sqlite3 >/dev/null; then
	run sqlite3 sqlite3 sh -c "sqlite3 :memory: <'$work/db.sql'"
else
	skip "sqlite3: not installed (Debian package sqlite3)"
fi

# sort: a large generated file, small buffers (temporary files), threads.
awk 'BEGIN { x = 1; for (i = 0; i < 150000; i++) {
	x = (x * 1103515245 + 12345) % 2147483648;
	printf "%08d line-%d %x\n", x % 100000000, i, x } }' >"$work/big.txt"
run sort sort sort -S 2M --parallel=2 -T "$work" -k1,1n -k2,2 "$work/big.txt"

# gcc: the driver, cc1, as and ld, all forked and executed under karena.
cat >"$work/prog.c" <<'EOF'
typedef unsigned long size_t;
int printf(const char *fmt, ...);
int snprintf(char *buf, size_t len, const char *fmt, ...);
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void qsort(void *base, size_t n, size_t size,
	   int (*cmp)(const void *, const void *));
size_t strlen(const char *s);

struct item { int key; char name[24]; struct item *next; };

static int cmp(const void *a, const void *b)
{
	return (*(struct item * const *)a)->key - (*(struct item * const *)b)->key;
}

int main(void)
{
	struct item *head = 0, **v;
	int i, n = 1000;
	unsigned long sum = 0;

	for (i = 0; i < n; i++) {
		struct item *it = malloc(sizeof(*it));
		it->key = (i * 7919) % n;
		snprintf(it->name, sizeof(it->name), "item-%d", it->key);
		it->next = head;
		head = it;
	}
	v = calloc(n, sizeof(*v));
	for (i = 0; head; head = head->next)
		v[i++] = head;
	qsort(v, n, sizeof(*v), cmp);
	for (i = 0; i < n; i++)
		sum += v[i]->key * strlen(v[i]->name);
	printf("%s %s %lu\n", v[0]->name, v[n - 1]->name, sum);
	return 0;
}
EOF
if command -v gcc >/dev/null; then
	run gcc cc1 sh -c "cd '$work' && gcc -O2 -ffreestanding -nostdinc -c -o prog.o prog.c && md5sum <prog.o && gcc -O2 -ffreestanding -nostdinc -S -o - prog.c"
else
	skip "gcc: not installed"
fi

# fork + exec: a shell pipeline, every process on karena.
run pipeline '[a-z]*' sh -c 'for i in $(seq 1 300); do echo "$i $((i * i % 97))"; done | sort -k2,2n -k1,1n | uniq -c -f1 | head -n 20'

# Misuse under the interposer: a double free aborts with the message.
if command -v gcc >/dev/null; then
	printf '#include <stdlib.h>\nint main(void) { char *p = malloc(40); free(p); free(p); return 0; }\n' >"$work/df.c"
	gcc -O0 -o "$work/df" "$work/df.c"
	LD_PRELOAD=$preload "$work/df" 2>"$work/df.err"
	rc=$?
	if [ $rc -eq 134 ] && grep -q '^karena: free(): double free detected: 0x' "$work/df.err"; then
		ok "double free under the interposer: SIGABRT and '$(head -n 1 "$work/df.err")'"
	else
		not_ok "double free under the interposer: rc $rc, stderr: $(head -n 2 "$work/df.err")"
	fi
else
	skip "misuse under the interposer: no gcc"
fi

# Without a usable device: one line, then the system allocator.
out=$(KARENA_DEVICE=/dev/null/none LD_PRELOAD=$preload sh -c 'echo fallback' 2>"$work/fb.err")
if [ "$out" = fallback ] && [ "$(grep -c '^karena: ' "$work/fb.err")" -eq 1 ] &&
   grep -q 'using the system allocator' "$work/fb.err"; then
	ok "no device: one line on stderr, then the system allocator"
else
	not_ok "no device: output '$out', stderr: $(cat "$work/fb.err")"
fi
KARENA_REQUIRE=1 KARENA_DEVICE=/dev/null/none LD_PRELOAD=$preload sh -c 'echo x' >/dev/null 2>"$work/rq.err"
rc=$?
if [ $rc -ne 0 ] && grep -q 'KARENA_REQUIRE=1' "$work/rq.err"; then
	ok "no device with KARENA_REQUIRE=1: fatal (rc $rc)"
else
	not_ok "no device with KARENA_REQUIRE=1: rc $rc, stderr: $(cat "$work/rq.err")"
fi

tap_end
