#!/usr/bin/env python3
"""Markdown tables for docs/benchmarks.md from the result files of compare.sh, sweep.sh and
rejoin.sh. usage: bench/md_tables.py RESULTS_DIR (the --out of sweep.sh; compare/ and rejoin/
inside it, as in bench/results/)."""
import json
import os
import re
import sys


def fmt(x, nd=0):
    if x is None:
        return "–"
    return f"{x:,.{nd}f}".replace(",", " ") if isinstance(x, float) else str(x)


def us(v):
    """wrk's 1.23ms / 456.00us / 1.02s -> microseconds"""
    m = re.match(r"([\d.]+)(us|ms|s)$", v)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]


def wrk(path):
    t = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    p50 = us(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1))
    p99 = us(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
    errs = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", t))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    if m:
        errs += sum(int(x) for x in m.groups())
    return rps, p50, p99, errs


def compare(d):
    rows = []
    names = {
        "narrator_c1": "**Narrator n=3, 1 client, window 1**",
        "narrator_w1": "**Narrator n=3, 64 clients x window 1**",
        "narrator": "Narrator n=3, 64 clients x window 16",
        "narrator_read": "Narrator n=3, reads, 64 readers",
        "narrator_sess": "**Narrator n=3, sessions: 4 connections x 256 records x window 4**",
        "narrator_sess_read": "Narrator n=3, reads, sessions 4 x 256",
        "narrator_disk_c1": "Narrator n=3, Durability=disk, 1 client",
        "narrator_disk_w1": "Narrator n=3, Durability=disk, 64 x 1",
        "null_c1": "null server (limit), 1 client",
        "null": "null server (limit), 64 x 16",
        "null_sess": "null server (limit), sessions 4 x 256 x 4",
    }
    for mode in ("disk", "tmpfs"):
        for conns, label in (("c1", "1 connection"), ("c64", "64 connections")):
            f = os.path.join(d, f"etcd-{mode}-{conns}.txt")
            if os.path.exists(f):
                rps, p50, p99, errs = wrk(f)
                cpu = None
                cf = os.path.join(d, f"etcd-{mode}-cpu.txt")
                if conns == "c64" and os.path.exists(cf):
                    pct = float(re.search(r"used ([\d.]+)%", open(cf).read()).group(1))
                    n = int(re.search(r"(\d+) requests in", open(f).read()).group(1))
                    dur = float(re.search(r"requests in ([\d.]+)s", open(f).read()).group(1))
                    cpu = pct / 100 * dur / n * 1e6
                rows.append((f"etcd 3 nodes, data on {mode}, {label}", rps, p50, p99, errs, cpu))
    for k, label in names.items():
        f = os.path.join(d, f"{k}.json")
        if not os.path.exists(f):
            continue
        r = json.load(open(f))
        a = r["all"]
        cpu = r.get("cpu_us_per_op", {}).get("daemons")
        rows.append((label, a["per_s"], a["latency_us"]["p50"], a["latency_us"]["p99"],
                     r["errors"], cpu))
    print("| system | ops/s | p50 µs | p99 µs | errors | server CPU µs/op |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, ops, p50, p99, errs, cpu in rows:
        print(f"| {name} | {ops:.0f} | {p50:.0f} | {p99:.0f} | {errs} | "
              f"{'–' if cpu is None else f'{cpu:.1f}'} |")
    t = os.path.join(d, "tpm.txt")
    if os.path.exists(t):
        print(f"\nTPM: {open(t).read().strip()}")
    s = os.path.join(d, "summary.txt")
    if os.path.exists(s):
        print("\n```")
        print("\n".join(l for l in open(s).read().splitlines() if "x" in l or "load" in l))
        print("```")


def tsv(path, head):
    if not os.path.exists(path):
        return
    print("\n" + head)
    print("|---:|---:|---:|---:|---:|")
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        c = line.split("\t")
        cpu = c[5].strip() if len(c) > 5 else "–"
        print(f"| {c[0]} | {float(c[2]):.0f} | {float(c[3]):.0f} | {float(c[4]):.0f} | {cpu} |")


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
    for sub in ("compare",):
        p = os.path.join(d, sub)
        if os.path.isdir(p):
            print(f"### {p}: {open(os.path.join(p, 'machine.txt')).read().splitlines()[-1]}\n")
            compare(p)
    tsv(os.path.join(d, "latency-narrator.tsv"), "| window (Narrator) | updates/s | p50 µs | p99 µs | daemon CPU µs/op |")
    tsv(os.path.join(d, "latency-null.tsv"), "| window (null server) | updates/s | p50 µs | p99 µs | server CPU µs/op |")
    tsv(os.path.join(d, "scaling.tsv"), "| n | updates/s | p50 µs | p99 µs | daemon CPU µs/op |")
    tsv(os.path.join(d, "openloop.tsv"), "| offered/s | completed/s | p50 µs | p99 µs | daemon CPU µs/op |")
    p = os.path.join(d, "rejoin")
    if os.path.isdir(p):
        print()
        for f in ("populate.txt", "rejoin.txt"):
            if os.path.exists(os.path.join(p, f)):
                print(open(os.path.join(p, f)).read().strip())


if __name__ == "__main__":
    main()
