#!/usr/bin/env python3
"""Benchmark `dm-dns zone`: wall time and peak RSS on synthetic clan exports.

Generates raw exports (as builtins.toJSON writes them) for N machines with 10
endpoints each, runs the release binary REPEAT times per size and prints the
best wall time and the peak RSS. Sizes default to 10k, 100k and 1M endpoints.
With --addresses, every machine also exports two addresses (an IPv4 and an
IPv6) in a yggdrasil-like network and one in a lower-priority network, as
clan-core's network services do, and both runs are printed side by side.
With --declared N, every run also declares N records (`zone --records`):
A, AAAA, TXT and SRV records and CNAMEs to machines, in turn.

    python3 bench/zone_bench.py [--sizes 1000,10000,100000] [--repeat 3] [--addresses] [--declared 10000]
"""
import argparse
import ipaddress
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "dm-dns")


def write_exports(path, machines, per_machine=10, addresses=False):
    """Raw exports as builtins.toJSON writes them (keys sorted): one endpoints
    scope and one dataMesher scope per machine; with `addresses`, peer scopes
    of two networks and their priorities."""
    names = [f"machine-{m:06d}" for m in range(machines)]
    entries = [(f"dm-dns:dm-dns:default:{n}", '{"dataMesher":null}') for n in names]
    for n in names:
        hosts = [f"service{s}-{n}.clan" for s in range(per_machine)]
        entries.append((f"webapps:main:server:{n}",
                        json.dumps({"endpoints": {"hosts": hosts}}, separators=(",", ":"))))
    if addresses:
        entries.append(("clan-core/yggdrasil:ygg::", '{"networking":{"priority":2000}}'))
        entries.append(("clan-core/mycelium:myc::", '{"networking":{"priority":800}}'))
        for m, n in enumerate(names):
            ygg = [f"10.{m >> 16 & 255}.{m >> 8 & 255}.{m & 255}", f"200:1:2:3::{m >> 16:x}:{m & 0xffff:x}"]
            myc = [f"4ab:1::{m >> 16:x}:{m & 0xffff:x}"]
            for scope, values in ((f"clan-core/yggdrasil:ygg:default:{n}", ygg),
                                  (f"clan-core/mycelium:myc:peer:{n}", myc)):
                peer = {"peer": {"hosts": [{"plain": v} for v in values], "port": 22}}
                entries.append((scope, json.dumps(peer, separators=(",", ":"))))
    entries.sort()
    with open(path, "w") as out:
        out.write("{")
        out.write(",".join(f'"{key}":{value}' for key, value in entries))
        out.write("}")


def write_records(path, count, machines):
    """`count` declared records below lan.clan, of every type in turn."""
    records = {}
    for i in range(count):
        name = f"dev{i:06d}.lan.clan"
        kind = i % 5
        if kind == 0:
            records[name] = {"A": [f"192.168.{i >> 8 & 255}.{i & 255}"]}
        elif kind == 1:
            records[name] = {"AAAA": [str(ipaddress.IPv6Address(0xFD00 << 112 | i))]}
        elif kind == 2:
            records[name] = {"TXT": [f"device {i}"]}
        elif kind == 3:
            records[f"_svc{i}._tcp.lan.clan"] = {"SRV": [
                {"priority": 10, "weight": 5, "port": 1000 + i % 50000,
                 "target": f"machine-{i % machines:06d}.clan"}]}
        else:
            records[name] = {"CNAME": f"machine-{i % machines:06d}.clan"}
    with open(path, "w") as out:
        json.dump(records, out)


def zone_command(exports, out_dir, records):
    command = [BINARY, "zone", "--exports", exports, "--domain", "clan", "--out", out_dir]
    return command + (["--records", records] if records else [])


def run_once(exports, out_dir, records=None):
    start = time.perf_counter()
    proc = subprocess.run(
        zone_command(exports, out_dir, records),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"dm-dns zone failed: {proc.stderr.decode()}")
    return wall


def measure_peak_rss(exports, out_dir, records=None):
    """Peak RSS of one run, from a fresh child so earlier runs do not count."""
    code = (
        "import resource,subprocess,sys;"
        "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL,check=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    cmd = [sys.executable, "-c", code, *zone_command(exports, out_dir, records)]
    return int(subprocess.check_output(cmd)) / 1024  # KiB -> MiB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="endpoint counts, comma-separated (10 per machine)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--addresses", action="store_true",
                        help="also run with two addresses per machine (and one lower-priority)")
    parser.add_argument("--declared", type=int, default=0,
                        help="declared records in every run (zone --records)")
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    print(f"{'endpoints':>10} {'machines':>9} {'addresses':>9} {'declared':>9} {'json MB':>8} {'wall s':>8} {'peak RSS MB':>12} {'us/endpoint':>12}")
    variants = [False, True] if args.addresses else [False]
    with tempfile.TemporaryDirectory() as tmp:
        for endpoints, with_addresses in [(int(s), a) for s in args.sizes.split(",") for a in variants]:
            machines = endpoints // 10
            exports = os.path.join(tmp, f"exports-{endpoints}.json")
            write_exports(exports, machines, addresses=with_addresses)
            records = None
            if args.declared:
                records = os.path.join(tmp, "records.json")
                write_records(records, args.declared, machines)
            size_mb = os.path.getsize(exports) / 1e6
            out_dir = os.path.join(tmp, f"zone-{endpoints}")
            walls = []
            for _ in range(args.repeat):
                subprocess.run(["rm", "-rf", out_dir], check=True)
                walls.append(run_once(exports, out_dir, records))
            subprocess.run(["rm", "-rf", out_dir], check=True)
            rss = measure_peak_rss(exports, out_dir, records)
            best = min(walls)
            count = 2 * machines if with_addresses else 0
            print(f"{endpoints:>10} {machines:>9} {count:>9} {args.declared:>9} {size_mb:>8.1f} {best:>8.3f} {rss:>12.1f} {best / endpoints * 1e6:>12.3f}")
            os.remove(exports)


if __name__ == "__main__":
    main()
