#!/usr/bin/env python3
"""What clients see while a node's zone changes: an open-loop client sends
QPS queries a second (names present in the old and the new zone) to a real
unbound while `dm-dns install` applies UPDATES good updates to the zone it
answers from, held by SERVER: `knot` (Knot DNS behind unbound, as the NixOS
module sets it up) or `unbound` (unbound's own auth-zone). Updates are of
one of two kinds:

- retarget: every name moves to another machine (the whole zone changes);
- ten: ten names move, the rest stays (the common push).

Each query waits at most 2 s for its answer; one without an answer by then
is dropped. Reported per size and kind: queries sent, dropped, latency
p50/p99/max of the answered ones, the longest time no answer arrived, and
for `ten` the time from the file's arrival (before install runs) until a
changed name answers with its new target (p50/max).

    python3 bench/outage_bench.py [--server knot unbound] [--records 100000 1000000]
                                  [--updates 10] [--qps 2000]

The goals (README, "Benchmarks"): 0 dropped and p99 <= 50 ms at 2,000 q/s,
for 100k and 1M records, both kinds; a ten-name change to a 1M zone served
within 100 ms.
"""
import argparse
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from install_bench import (  # noqa: E402
    DM_DNS, MACHINES, ROOT, hosts_file, machine, percentile, query, start_knot, start_unbound,
    write_exports)

TIMEOUT = 2.0


def encode(qid, name):
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    packet += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return packet + struct.pack(">HH", 1, 1)


class Client:
    """Open loop: sends on a fixed schedule whatever the answers do."""

    def __init__(self, port, names, qps):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.connect(("127.0.0.1", port))
        self.sock.settimeout(0.05)
        self.names, self.qps = names, qps
        self.sent = {}  # id -> send time
        self.latencies, self.answer_times = [], []
        self.stop = False
        self.sent_all = False

    def send_loop(self):
        interval = 1 / self.qps
        start = time.perf_counter()
        n = 0
        while not self.stop:
            due = start + n * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            qid = n & 0xFFFF
            self.sent[qid] = time.perf_counter()
            try:
                self.sock.send(encode(qid, self.names[n % len(self.names)]))
            except OSError:
                pass
            n += 1
        self.total = n

    def receive_loop(self):
        while not self.sent_all or self.sent:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                if self.sent_all:
                    cutoff = time.perf_counter() - TIMEOUT
                    if all(t < cutoff for t in self.sent.values()):
                        break
                continue
            now = time.perf_counter()
            sent = self.sent.pop(struct.unpack(">H", data[:2])[0], None)
            if sent is not None and now - sent <= TIMEOUT:
                self.latencies.append(now - sent)
                self.answer_times.append(now)

    def run(self, during):
        sender = threading.Thread(target=self.send_loop)
        receiver = threading.Thread(target=self.receive_loop)
        for t in (sender, receiver):
            t.start()
        try:
            during()
        finally:
            self.stop = True
            # The receiver stops only once the sender has: the last query
            # sent gets its answer too.
            sender.join()
            self.sent_all = True
            receiver.join()
        answered = len(self.latencies)
        gaps = [b - a for a, b in zip(self.answer_times, self.answer_times[1:])]
        return {"sent": self.total, "dropped": self.total - answered,
                "p50": percentile(self.latencies, 50), "p99": percentile(self.latencies, 99),
                "max": max(self.latencies), "gap": max(gaps) if gaps else 0}


def measure(work, server, records, kind, updates, qps, key):
    zones = []
    rng = random.Random(7)
    for u in range(updates + 1):
        if kind == "retarget":
            moved_set = None
            moved = (lambda e, u=u: u % 2 == 1)
        else:
            moved_set = set(rng.sample(range(records), 10)) if u else set()
            moved = (lambda e, s=moved_set: e in s)
        exports = os.path.join(work, f"e{u}.json")
        write_exports(exports, records, lambda e, moved=moved: e + (1 if moved(e) else 0))
        zone = os.path.join(work, f"z{u}")
        subprocess.run([DM_DNS, "zone", "--exports", exports, "--domain", "clan", "--out", zone],
                       check=True, capture_output=True)
        signed = os.path.join(work, f"s{u}")
        subprocess.run([DM_DNS, "sign", "--key", key, "--zone", zone, "--serial",
                        str(1000 + u), "--out", signed], check=True, capture_output=True)
        zones.append((signed, moved_set))
    hosts = os.path.join(work, "hosts")
    hosts_file(hosts)
    mesh, zone_file = os.path.join(work, "cnames"), os.path.join(work, "clan.zone")
    install = [DM_DNS, "install", "--mesh-file", mesh, "--trusted-key", key + ".pub",
               "--domain", "clan", "--hosts", hosts, "--zone-file", zone_file,
               "--state-dir", os.path.join(work, "state"), "--max-mesh-size", "1G"]
    shutil.copy(zones[0][0], mesh)
    subprocess.run(install + ["--no-reload"], check=True, capture_output=True)
    knot = None
    if server == "knot":
        knot, _, control, stub = start_knot(work, zone_file)
        proc, port, _ = start_unbound(work, "", stub)
        flag = "--knot-control"
    else:
        auth = (f'auth-zone:\n  name: "clan."\n  zonefile: "{zone_file}"\n  for-downstream: yes\n'
                "  for-upstream: yes\n  fallback-enabled: no")
        proc, port, control = start_unbound(work, "", auth)
        flag = "--unbound-control"
    applied = []
    try:
        names = [f"ep{e}.clan" for e in range(0, records, max(1, records // 5000))]
        client = Client(port, names, qps)

        def updates_run():
            time.sleep(1)
            for u in range(1, updates + 1):
                signed, moved_set = zones[u]
                arrived = time.perf_counter()
                shutil.copy(signed, mesh)
                subprocess.run(install + [flag, " ".join(control)],
                               check=True, capture_output=True)
                if moved_set:
                    probe = f"ep{min(moved_set)}.clan"
                    expected = f"{machine((min(moved_set) + 1) % MACHINES)}.clan"
                    while query(port, probe) != expected:
                        time.sleep(0.001)
                    applied.append(time.perf_counter() - arrived)
                time.sleep(1)

        result = client.run(updates_run)
    finally:
        for p in (proc, knot):
            if p:
                p.kill()
                p.wait()
    result["applied"] = applied
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", nargs="+", choices=["knot", "unbound"], default=["knot"])
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--qps", type=int, default=2000)
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    print(f"{args.updates} updates under {args.qps} queries/s (open loop, {TIMEOUT:.0f} s to answer)")
    print(f"{'server':<8} {'records':>9} {'kind':<9} {'sent':>7} {'dropped':>8} {'p50 ms':>7} {'p99 ms':>8} "
          f"{'max ms':>8} {'gap ms':>8} {'applied p50/max ms':>19}")
    for server, records in ((s, r) for s in args.server for r in args.records):
        for kind in ("retarget", "ten"):
            with tempfile.TemporaryDirectory() as work:
                key = os.path.join(work, "k")
                subprocess.run([DM_DNS, "keygen", "--private-key-path", key,
                                "--public-key-path", key + ".pub"], check=True, capture_output=True)
                r = measure(work, server, records, kind, args.updates, args.qps, key)
            applied = (f"{percentile(r['applied'], 50) * 1000:.0f}/{max(r['applied']) * 1000:.0f}"
                       if r["applied"] else "-")
            print(f"{server:<8} {records:>9,} {kind:<9} {r['sent']:>7} {r['dropped']:>8} {r['p50'] * 1000:>7.1f} "
                  f"{r['p99'] * 1000:>8.1f} {r['max'] * 1000:>8.1f} {r['gap'] * 1000:>8.0f} "
                  f"{applied:>19}", flush=True)


if __name__ == "__main__":
    main()
