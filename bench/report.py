#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the raw results of bench/guest.sh into karena's benchmark report.

Usage: bench/report.py VMDIR OUTDIR

Reads VMDIR/{meta,kernel,user}.txt and the two buddyinfo snapshots of the
fragmentation soak; writes into OUTDIR:

  bench-results.tsv  workload, ours_ns, ref_ns, ratio, reps (medians of
                     the rounds after the warm-up; ratio = ours / ref);
                     then, appended so that the first five columns keep
                     their place and meaning, per peer (PEERS) its
                     median <peer>_ns, <peer>_ratio (peer / glibc) and
                     ours_<peer> (libkarena / peer), and ka_calls_1k,
                     ka_calls_1k_max (libkarena's system calls per 1000
                     ops over the kept rounds, and in the worst kept
                     round); '-' where a row has no such figure (kernel
                     rows, u.touch-64m's peers, a peer not loaded); the
                     kernel, its command line, the VM's shape and the
                     peers' versions in '#' comments
  bench-runs.tsv     every round of every workload, warm-up included
                     (appended: each peer's ns, libkarena's calls, ops)
  bench-peak.tsv     peak memory of each userspace workload (appended:
                     each peer's peak)
  bench-frag.tsv     the soak: unusable free space index per order
  bench-goals.txt    each goal of the benchmark issue, met or missed (a
                     time goal is met when the ratio of the medians and
                     the ratio of the minimums both meet it)
  bench-ratios.svg, bench-frag.svg   plots (gnuplot)

and prints the table with medians and minimums.
"""
import os
import statistics
import subprocess
import sys

# The peers of the userspace rows (bench/user/peers.h), in column order.
PEERS = ["mimalloc", "jemalloc", "tcmalloc"]

# (label, rows, limit, what the limit is compared with)
GOALS = [
    ("slab single alloc+free <= 0.7x SLUB", "k.single-", 0.7, "ratio"),
    ("slab batches <= 0.75x SLUB", "k.batch-", 0.75, "ratio"),
    ("bulk within 1.2x kmem_cache_*_bulk", "k.bulk-", 1.2, "ratio"),
    ("order-0 pages <= 0.6x alloc_pages", "k.pages-o0", 0.6, "ratio"),
    # Issue 12: libkarena as fast and as lean as the best mallocs.
    ("every userspace row <= 1.0x glibc", "u.", 1.0, "rows"),
    ("libkarena pairs <= 0.85x glibc", "u.pair-", 0.85, "ratio"),
    ("mixed sizes, shuffled frees <= 0.5x glibc", "u.mixed-shuf", 0.5,
     "ratio"),
    ("peak heap memory <= 1.2x glibc", "u.", 1.2, "heap"),
    ("peak resident memory (VmHWM) <= 1.2x glibc", "u.", 1.2, "peak"),
    # Issue 12: no system call in steady state (the kept rounds).
    ("0 system calls per 1000 ops for pairs", "u.pair-", 0, "calls"),
    ("0 system calls per 1000 ops for batches", "u.batch-", 0, "calls"),
    ("0 system calls per 1000 ops for mixed sizes", "u.mixed-shuf", 0,
     "calls"),
    ("0 system calls per 1000 ops for producer/consumer", "u.prodcons", 0,
     "calls"),
]


def read_lines(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n") for line in f]
    except FileNotFoundError:
        return []


def read_meta(vmdir):
    meta = {}
    for line in read_lines(os.path.join(vmdir, "meta.txt")):
        key, _, value = line.partition("\t")
        meta[key] = value
    return meta


def read_results(vmdir):
    """R, A, C, X, F, P and Q lines of the kernel module and karena-bench.

    peers: {workload: {peer: {rep: ns}}}; calls: {workload: {rep: (calls,
    ops)}}; peer_peaks: {workload: {peer: (peak, growth)}}.
    """
    runs, extras, frag, peaks = {}, {}, {}, {}
    peers, calls, peer_peaks = {}, {}, {}
    for name in ("kernel.txt", "user.txt"):
        for line in read_lines(os.path.join(vmdir, name)):
            f = line.split("\t")
            if f[0] == "R" and len(f) == 5:
                runs.setdefault(f[1], []).append(
                    (int(f[2]), float(f[3]), float(f[4])))
            elif f[0] == "A" and len(f) == 5:
                peers.setdefault(f[1], {}).setdefault(f[3], {})[
                    int(f[2])] = float(f[4])
            elif f[0] == "C" and len(f) == 5:
                calls.setdefault(f[1], {})[int(f[2])] = (int(f[3]),
                                                         int(f[4]))
            elif f[0] == "X" and len(f) == 4:
                extras[f[1]] = (f[2], f[3])
            elif f[0] == "F":
                frag[f[1]] = dict(kv.split("=", 1) for kv in f[2:])
            elif f[0] == "P" and len(f) in (7, 9):
                peaks[f[1]] = tuple(int(x) for x in f[2:])
            elif f[0] == "Q" and len(f) in (5, 6):
                peer_peaks.setdefault(f[1], {})[f[2]] = tuple(
                    int(x) for x in f[3:])
    return runs, extras, frag, peaks, peers, calls, peer_peaks


def buddy_totals(path, ours):
    """Free blocks per order: karena's Total line, or the kernel's zones summed."""
    totals = []
    for line in read_lines(path):
        if ours and not line.startswith("Total"):
            continue
        if not ours and " zone " not in line:
            continue
        nums = [int(t) for t in line.split()[4 if not ours else 0:]
                if t.isdigit()]
        if not totals:
            totals = [0] * len(nums)
        for i, n in enumerate(nums[:len(totals)]):
            totals[i] += n
    return totals


def unusable(counts):
    """The kernel's unusable free space index per order (0 to 1)."""
    free = sum(n << o for o, n in enumerate(counts))
    out = []
    for o in range(len(counts)):
        usable = sum(n << j for j, n in enumerate(counts) if j >= o)
        out.append((free - usable) / free if free else 1.0)
    return out


def div(a, b):
    return a / b if a is not None and b else float("nan")


def summarise(runs, peers, calls):
    """Per workload: median and min of every side over the kept rounds.

    A row's "peers" maps each peer to its median and min; "calls_1k" is
    libkarena's system calls per 1000 ops over all kept rounds (None when
    not counted), "calls_1k_max" the same in the worst kept round.
    """
    rows = []
    for name, reps in runs.items():
        kept = [r for r in reps if r[0] > 0] or reps
        keep = {r[0] for r in kept}
        ours = [r[1] for r in kept]
        ref = [r[2] for r in kept]
        med_o, med_r = statistics.median(ours), statistics.median(ref)
        row = {
            "name": name, "ours": med_o, "ref": med_r,
            "ours_min": min(ours), "ref_min": min(ref),
            "ratio": med_o / med_r if med_r else float("nan"),
            "ratio_min": min(ours) / min(ref) if min(ref) else float("nan"),
            "reps": len(kept), "peers": {},
            "calls_1k": None, "calls_1k_max": None,
        }
        for peer, by_rep in peers.get(name, {}).items():
            ns = [v for k, v in by_rep.items() if k in keep]
            if ns:
                row["peers"][peer] = (statistics.median(ns), min(ns))
        counted = [v for k, v in calls.get(name, {}).items()
                   if k in keep and v[1]]
        if counted:
            row["calls_1k"] = (1000.0 * sum(c for c, _ in counted)
                               / sum(o for _, o in counted))
            row["calls_1k_max"] = max(1000.0 * c / o for c, o in counted)
        rows.append(row)
    return rows


def peer_names(rows):
    """PEERS, then any other peer the results name, in order."""
    names = list(PEERS)
    for r in rows:
        names += [p for p in r["peers"] if p not in names]
    return names


def fmt(v, spec):
    return "-" if v is None or v != v else format(v, spec)


def goals(rows, peaks):
    out = []
    for label, prefix, limit, kind in GOALS:
        if kind == "ratio":
            # Met only if the medians and the minimums both say so: a
            # loaded host can make either one lucky.
            hits = [(r["name"], max(r["ratio"], r["ratio_min"]))
                    for r in rows
                    if r["name"].startswith(prefix)
                    and (prefix.endswith("-") or r["name"] == prefix)]
        elif kind == "rows":
            # Every workload of the prefix but the batch-size sweep,
            # which is a study of KARENA_BATCH, not a workload.
            hits = [(r["name"], max(r["ratio"], r["ratio_min"]))
                    for r in rows if r["name"].startswith(prefix)
                    and not r["name"].startswith("u.sweep-")]
        elif kind == "heap":
            hits = [(n, p[5] / p[6]) for n, p in peaks.items()
                    if len(p) > 6 and p[6]]
        elif kind == "calls":
            # Every kept round, not their sum: one round with a call
            # is not a steady state.
            hits = [(r["name"], r["calls_1k_max"]) for r in rows
                    if r["name"].startswith(prefix)
                    and (prefix.endswith("-") or r["name"] == prefix)
                    and r["calls_1k_max"] is not None]
        else:
            hits = [(n, p[0] / p[1]) for n, p in peaks.items() if p[1]]
        if not hits:
            out.append(f"{label}: not measured")
            continue
        worst = max(hits, key=lambda h: h[1])
        missed = [f"{n} {v:.2f}" for n, v in hits if v > limit]
        state = "MET" if not missed else "MISSED"
        unit = " per 1000 ops in a round" if kind == "calls" else "x"
        line = f"{label}: {state} (worst {worst[0]} {worst[1]:.2f}{unit})"
        if missed:
            line += "; over: " + ", ".join(missed)
        out.append(line)
    return out


def write_tsv(path, meta, header, rows, comments=()):
    with open(path, "w") as f:
        f.write("# karena benchmark, `make bench`\n")
        for key in ("kernel", "cmdline", "cpus", "memory", "cpu", "karena",
                    "bench", "glibc", "peers", "vm_seconds"):
            if key in meta:
                f.write(f"# {key}: {meta[key]}\n")
        for c in comments:
            f.write(f"# {c}\n")
        f.write("\t".join(header) + "\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")


def plot(outdir, rows, frag_rows):
    """SVG plots with gnuplot; a missing gnuplot only costs the plots."""
    ratios = os.path.join(outdir, "bench-ratios.dat")
    with open(ratios, "w") as f:
        for i, r in enumerate(rows):
            f.write(f"{i}\t{r['ratio']:.4f}\t{r['name']}\n")
    frag = os.path.join(outdir, "bench-frag.dat")
    with open(frag, "w") as f:
        for o, u_o, u_r in frag_rows:
            f.write(f"{o}\t{u_o:.4f}\t{u_r:.4f}\n")
    height = max(400, 18 * len(rows) + 120)
    script = f"""
set terminal svg size 800,{height} font "sans,11" background rgb "white"
set output "{outdir}/bench-ratios.svg"
set title "karena / reference, time per op (median; green: karena faster)"
set style fill solid 0.7
set boxwidth 0.7
set xlabel "ratio (log scale)"
set logscale x 2
set xrange [0.0625:16]
set yrange [-1:{len(rows)}]
set ytics nomirror font ",9"
unset key
set grid xtics
set arrow from 1, graph 0 to 1, graph 1 nohead lw 2 lc rgb "black"
plot "{ratios}" using 2:1:($2 < 1 ? $2 : 1):($2 < 1 ? 1 : $2):($1 - 0.35):($1 + 0.35):($2 <= 1 ? 0x4c9a50 : 0xc8504a):ytic(3) \\
     with boxxyerror lc rgb variable notitle

unset arrow
unset logscale x
set output "{outdir}/bench-frag.svg"
set terminal svg size 800,450 font "sans,11" background rgb "white"
set title "Fragmentation soak: unusable free space index per order"
set xlabel "order"
set ylabel "unusable index (0: all free memory usable)"
set xrange [-0.5:10.5]
set yrange [0:1.05]
set ytics mirror
set key top left
plot "{frag}" using 1:2 with linespoints lw 2 pt 7 title "karena arena", \\
     "" using 1:3 with linespoints lw 2 pt 5 title "kernel (all zones)"
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"karena: no plots ({e})", file=sys.stderr)
    finally:
        os.unlink(ratios)
        os.unlink(frag)


def mib(n):
    return f"{n / 1048576:.2f}"


def print_peers(rows, names):
    """The userspace rows with the peers: times, then ratios."""
    urows = [r for r in rows if r["peers"] or r["calls_1k"] is not None]
    if not urows:
        return
    short = {"mimalloc": "mi", "jemalloc": "je", "tcmalloc": "tc"}
    ab = [short.get(p, p[:2]) for p in names]
    width = max(len(r["name"]) for r in urows)
    for kind, key, idx in (("medians", "ours", 0),
                           ("minimums", "ours_min", 1)):
        ref_key = "ref" if idx == 0 else "ref_min"
        print(f"\nuserspace with the peers, {kind} (ns per op; ratios "
              f"to glibc; karena / peer"
              + ("; karena's system calls per 1000 ops, all kept rounds "
                 "and the worst one)" if not idx else ")"))
        print(f"{'workload':<{width}} {'karena':>8} {'glibc':>8}"
              + "".join(f" {p:>8}" for p in names) + "  | "
              + " ".join(f"{a + '/gl':>6}" for a in ["ka"] + ab) + " | "
              + " ".join(f"{'ka/' + a:>6}" for a in ab)
              + (f" | {'calls':>7} {'max':>7}" if not idx else ""))
        for r in urows:
            ours, ref = r[key], r[ref_key]
            pv = [r["peers"].get(p, (None, None))[idx] for p in names]
            line = (f"{r['name']:<{width}} {ours:>8.1f} {ref:>8.1f}"
                    + "".join(f" {fmt(v, '.1f'):>8}" for v in pv) + "  | "
                    + " ".join(f"{fmt(div(v, ref), '.2f'):>6}"
                               for v in [ours] + pv) + " | "
                    + " ".join(f"{fmt(div(ours, v), '.2f'):>6}"
                               for v in pv))
            if not idx:
                line += (f" | {fmt(r['calls_1k'], '.2f'):>7}"
                         f" {fmt(r['calls_1k_max'], '.2f'):>7}")
            print(line)


def main():
    vmdir, outdir = sys.argv[1], sys.argv[2]
    meta = read_meta(vmdir)
    secs = read_lines(os.path.join(vmdir, "vm-seconds"))
    if secs:
        meta["vm_seconds"] = secs[0]
    meta["cpus"] = meta.get("cpus", "?") + " vCPUs (QEMU TCG)"
    runs, extras, frag, peaks, peers, calls, peer_peaks = read_results(vmdir)
    if not runs:
        sys.exit("karena: no results in " + vmdir)
    rows = summarise(runs, peers, calls)
    names = peer_names(rows)

    def peer_cols(r):
        out = []
        for p in names:
            med = r["peers"].get(p, (None, None))[0]
            out += [fmt(med, ".3f"), fmt(div(med, r["ref"]), ".3f"),
                    fmt(div(r["ours"], med), ".3f")]
        return out

    write_tsv(os.path.join(outdir, "bench-results.tsv"), meta,
              ["workload", "ours_ns", "ref_ns", "ratio", "reps"] +
              [c for p in names
               for c in (f"{p}_ns", f"{p}_ratio", f"ours_{p}")] +
              ["ka_calls_1k", "ka_calls_1k_max"],
              [(r["name"], f"{r['ours']:.3f}", f"{r['ref']:.3f}",
                f"{r['ratio']:.3f}", r["reps"], *peer_cols(r),
                fmt(r["calls_1k"], ".3f"), fmt(r["calls_1k_max"], ".3f"))
               for r in rows],
              ["ns per op, median of the rounds after the warm-up; "
               "ratio = ours / ref, lower is better",
               "<peer>_ns: the peer's median; <peer>_ratio = peer / glibc "
               "(ref); ours_<peer> = libkarena / peer",
               "ka_calls_1k: libkarena's system calls (ALLOC_BULK, "
               "FREE_BULK, PAGES_ALLOC, PAGES_FREE) per 1000 ops over the "
               "kept rounds; ka_calls_1k_max: in the worst kept round",
               "-: no such figure for the row"])
    write_tsv(os.path.join(outdir, "bench-runs.tsv"), meta,
              ["workload", "rep", "ours_ns", "ref_ns"] +
              [f"{p}_ns" for p in names] + ["ka_calls", "ops"],
              [(n, rep, o, r,
                *(fmt(peers.get(n, {}).get(p, {}).get(rep), ".3f")
                  for p in names),
                *(calls.get(n, {}).get(rep, ("-", "-"))))
               for n, reps in runs.items() for rep, o, r in reps],
              ["every round; rep 0 is the warm-up; ka_calls: libkarena's "
               "system calls in its run of the round, ops: the run's ops"])
    write_tsv(os.path.join(outdir, "bench-peak.tsv"), meta,
              ["workload", "ours_bytes", "ref_bytes", "ratio",
               "ours_growth", "ref_growth", "ours_karena_bytes"] +
              [c for p in names for c in (f"{p}_bytes", f"{p}_growth")] +
              ["ours_heap", "ref_heap", "heap_ratio"] +
              [f"{p}_heap" for p in names],
              [(n, p[0], p[1], f"{p[0] / p[1]:.3f}" if p[1] else "nan",
                p[2], p[3], p[4],
                *(v for q in names
                  for v in peer_peaks.get(n, {}).get(q, ("-", "-"))[:2]),
                *((p[5], p[6], f"{p[5] / p[6]:.3f}" if p[6] else "nan")
                  if len(p) > 6 else ("-", "-", "-")),
                *(peer_peaks.get(n, {}).get(q, ("-", "-", "-"))[2]
                  if len(peer_peaks.get(n, {}).get(q, ())) > 2 else "-"
                  for q in names))
               for n, p in peaks.items()],
              ["peak memory of one run in a child process: VmHWM, plus "
               "the bytes karena charged to the client for ours; growth: "
               "VmHWM less VmRSS at the start (a peer's child loads the "
               "peer first); heap: the most RssAnon (plus karena's bytes "
               "for ours) at the workload's high points"])

    u_ours = unusable(buddy_totals(os.path.join(vmdir, "buddyinfo-ours.txt"),
                                   True))
    u_ref = unusable(buddy_totals(os.path.join(vmdir, "buddyinfo-ref.txt"),
                                  False))
    frag_rows = [(o, u_ours[o], u_ref[o])
                 for o in range(min(len(u_ours), len(u_ref)))]
    write_tsv(os.path.join(outdir, "bench-frag.tsv"), meta,
              ["order", "ours_unusable", "ref_unusable"],
              [(o, f"{a:.4f}", f"{b:.4f}") for o, a, b in frag_rows],
              [f"soak {side}: " + " ".join(f"{k}={v}" for k, v in
                                           frag[side].items())
               for side in ("ours", "ref") if side in frag])

    goal_lines = goals(rows, peaks)
    with open(os.path.join(outdir, "bench-goals.txt"), "w") as f:
        f.write("\n".join(goal_lines) + "\n")
    plot(outdir, rows, frag_rows)

    print(f"\nkernel {meta.get('kernel', '?')}, {meta.get('cpus', '?')}, "
          f"{meta.get('memory', '?')}; {meta.get('bench', '')}")
    print(f"command line: {meta.get('cmdline', '?')}")
    print(f"glibc {meta.get('glibc', '?')}; peers: {meta.get('peers', '?')}\n")
    print(f"{'workload':<20} {'ours ns':>10} {'ref ns':>10} {'ratio':>6}"
          f"   {'ours min':>10} {'ref min':>10} {'ratio':>6}  reps")
    for r in rows:
        print(f"{r['name']:<20} {r['ours']:>10.1f} {r['ref']:>10.1f} "
              f"{r['ratio']:>6.2f}   {r['ours_min']:>10.1f} "
              f"{r['ref_min']:>10.1f} {r['ratio_min']:>6.2f}  {r['reps']}")
    print_peers(rows, names)
    if peaks:
        print(f"\n{'peak memory (MiB)':<20} {'ours':>8} {'ref':>8} "
              f"{'ratio':>6}   {'ours +':>8} {'ref +':>8} "
              + "".join(f" {p[:8] + ' +':>10}" for p in names)
              + "  (+: growth)")
        for n, p in peaks.items():
            ratio = f"{p[0] / p[1]:.2f}" if p[1] else "-"
            pp = peer_peaks.get(n, {})
            print(f"{n:<20} {mib(p[0]):>8} {mib(p[1]):>8} {ratio:>6}   "
                  f"{mib(p[2]):>8} {mib(p[3]):>8}  "
                  + "".join(f" {mib(pp[q][1]) if q in pp else '-':>10}"
                            for q in names))
        heaps = {n: p for n, p in peaks.items() if len(p) > 6}
        if heaps:
            print(f"\n{'peak heap (MiB)':<20} {'ours':>8} {'ref':>8} "
                  f"{'ratio':>6} "
                  + "".join(f" {p[:8]:>10}" for p in names)
                  + "  (RssAnon + karena's bytes)")
            for n, p in heaps.items():
                pp = peer_peaks.get(n, {})
                ratio = f"{p[5] / p[6]:.2f}" if p[6] else "-"
                print(f"{n:<20} {mib(p[5]):>8} {mib(p[6]):>8} {ratio:>6} "
                      + "".join(f" {mib(pp[q][2]) if len(pp.get(q, ())) > 2 else '-':>10}"
                                for q in names))
    for key, (o, r) in extras.items():
        print(f"\n{key}: ours {o}, ref {r}")
    if frag_rows:
        print("\nfragmentation soak (unusable free space index per order)")
        for side in ("ours", "ref"):
            if side in frag:
                print(f"  {side}: " + " ".join(f"{k}={v}" for k, v in
                                               frag[side].items()))
        print("  order  " + " ".join(f"{o:>5}" for o, _, _ in frag_rows))
        print("  ours   " + " ".join(f"{a:5.3f}" for _, a, _ in frag_rows))
        print("  ref    " + " ".join(f"{b:5.3f}" for _, _, b in frag_rows))
    print("\ngoals")
    for line in goal_lines:
        print("  " + line)


if __name__ == "__main__":
    main()
