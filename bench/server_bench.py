#!/usr/bin/env python3
"""The server role under load: devices outside the clan ask a node's
unbound, set up as nix/lib/node.nix sets up a machine in the `server` role
(listening on 127.0.1.1 for 127.0.1.0/24, everyone else REFUSED,
ip-ratelimit 10,000, other names forwarded; the clan's zone from Knot DNS
behind it), while `dnsperf` sends QPS queries a second from 127.0.1.2 for
SECONDS: first steady, then while `dm-dns install` applies UPDATES updates
(ten names move each time). Nine queries in ten are clan names (an endpoint:
CNAME plus address), one in ten a name outside the clan, answered by a
stand-in upstream (a second unbound on 127.0.3.53).

Reported per phase: queries sent, completed, lost (no answer within 2 s),
answers other than NOERROR, and latency p50/p99/max (from dnsperf -v).

    python3 bench/server_bench.py [--records 100000] [--qps 5000] [--seconds 30] [--updates 10]

The goal (README, "Benchmarks"): 0 lost at 5,000 q/s for 30 s, steady and
during 10 updates. Needs root (a second loopback address is no problem, but
dnsperf's source address must be bindable) and dnsperf, unbound, knot.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from install_bench import (  # noqa: E402
    DM_DNS, ROOT, free_port, hosts_file, parse_dnsperf, percentile, start_knot, write_exports)

LISTEN, DEVICE, UPSTREAM = "127.0.1.1", "127.0.1.2", "127.0.3.53"


def start_upstream(work):
    """A stand-in for the forwarder: answers outside.example.com."""
    port = free_port()
    conf = os.path.join(work, "upstream.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
  interface: {UPSTREAM}
  port: {port}
  username: ""
  chroot: ""
  directory: "{work}"
  pidfile: ""
  use-syslog: no
  do-daemonize: no
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  local-zone: "outside.example.com." static
  local-data: "outside.example.com. A 192.0.2.7"
remote-control:
  control-enable: no
""")
    return subprocess.Popen(["unbound", "-d", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL), port


def start_server(work, stub, upstream_port):
    """unbound as the server role renders it (nix/lib/node.nix)."""
    port, listen_port = free_port(), free_port()
    conf = os.path.join(work, "unbound.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
  interface: 127.0.0.1
  interface: {LISTEN}@{listen_port}
  port: {port}
  do-ip6: no
  username: ""
  chroot: ""
  directory: "{work}"
  pidfile: "{work}/unbound.pid"
  use-syslog: no
  logfile: "{work}/unbound.log"
  access-control: 127.0.0.0/8 refuse
  access-control: 127.0.0.1/32 allow
  access-control: 127.0.1.0/24 allow
  access-control: 0.0.0.0/0 refuse
  access-control-view: 127.0.0.1/32 node
  ip-freebind: yes
  ip-ratelimit: 10000
  do-not-query-localhost: no
  domain-insecure: "clan."
  local-zone: "clan." transparent
remote-control:
  control-enable: yes
  control-interface: "{work}/control.sock"
view:
  name: node
  local-zone: "." refuse
  local-zone: "clan." transparent
forward-zone:
  name: "."
  forward-addr: {UPSTREAM}@{upstream_port}
{stub}
""")
    check = subprocess.run(["unbound-checkconf", conf], capture_output=True, text=True)
    if check.returncode != 0:
        sys.exit(f"unbound-checkconf: {check.stdout}{check.stderr}")
    proc = subprocess.Popen(["unbound", "-d", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    control = ["unbound-control", "-c", conf]
    for _ in range(200):
        if subprocess.run(control + ["status"], capture_output=True).returncode == 0:
            return proc, listen_port
        time.sleep(0.05)
    sys.exit("unbound did not start")


def dnsperf(port, queries, qps, seconds):
    """dnsperf -v from DEVICE; returns its counts and the latencies."""
    out = subprocess.run(
        ["dnsperf", "-s", LISTEN, "-p", str(port), "-a", DEVICE, "-d", queries,
         "-l", str(seconds), "-Q", str(qps), "-c", "8", "-t", "2", "-v"],
        capture_output=True, text=True).stdout
    latencies = []
    for line in out.splitlines():
        # `> NOERROR ep12.clan A 0.000231`
        fields = line.split()
        if len(fields) >= 5 and fields[0] == ">":
            try:
                latencies.append(float(fields[-1]))
            except ValueError:
                pass
    return parse_dnsperf(out), latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--qps", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--updates", type=int, default=10)
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="dm-dns-server-bench-")
    procs = []
    try:
        key = os.path.join(work, "k")
        subprocess.run([DM_DNS, "keygen", "--private-key-path", key, "--public-key-path",
                        key + ".pub"], check=True, capture_output=True)
        rng = random.Random(7)
        signed = []
        for u in range(args.updates + 1):
            moved = set(rng.sample(range(args.records), 10)) if u else set()
            exports = os.path.join(work, f"e{u}.json")
            write_exports(exports, args.records, lambda e, moved=moved: e + (1 if e in moved else 0))
            zone = os.path.join(work, f"z{u}")
            subprocess.run([DM_DNS, "zone", "--exports", exports, "--domain", "clan", "--out",
                            zone], check=True, capture_output=True)
            out = os.path.join(work, f"s{u}")
            subprocess.run([DM_DNS, "sign", "--key", key, "--zone", zone, "--serial",
                            str(1000 + u), "--out", out], check=True, capture_output=True)
            signed.append(out)
        hosts = os.path.join(work, "hosts")
        hosts_file(hosts)
        mesh, zone_file = os.path.join(work, "cnames"), os.path.join(work, "clan.zone")
        install = [DM_DNS, "install", "--mesh-file", mesh, "--trusted-key", key + ".pub",
                   "--domain", "clan", "--hosts", hosts, "--zone-file", zone_file,
                   "--state-dir", os.path.join(work, "state")]
        shutil.copy(signed[0], mesh)
        subprocess.run(install + ["--no-reload"], check=True, capture_output=True)
        knot, _, control, stub = start_knot(work, zone_file)
        procs.append(knot)
        upstream, upstream_port = start_upstream(work)
        procs.append(upstream)
        server, port = start_server(work, stub, upstream_port)
        procs.append(server)
        queries = os.path.join(work, "queries")
        with open(queries, "w") as f:
            for i, e in enumerate(range(0, args.records, max(1, args.records // 5000))):
                f.write("outside.example.com A\n" if i % 10 == 9 else f"ep{e}.clan A\n")

        def updates_run():
            pause = args.seconds / (args.updates + 1)
            for u in range(1, args.updates + 1):
                time.sleep(pause)
                shutil.copy(signed[u], mesh)
                subprocess.run(install + ["--knot-control", " ".join(control)],
                               check=True, capture_output=True)

        print(f"{'phase':<16} {'q/s':>6} {'sent':>8} {'completed':>9} {'lost':>5} "
              f"{'not NOERROR':>11} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
        for phase in ("steady", "during updates"):
            updater = threading.Thread(target=updates_run) if phase != "steady" else None
            if updater:
                updater.start()
            (sent, completed, lost, not_ok), latencies = dnsperf(
                port, queries, args.qps, args.seconds)
            if updater:
                updater.join()
            ms = lambda p: percentile(latencies, p) * 1000 if latencies else float("nan")
            print(f"{phase:<16} {args.qps:>6} {sent:>8} {completed:>9} {lost:>5} {not_ok:>11} "
                  f"{ms(50):>7.2f} {ms(99):>7.2f} {ms(100):>7.2f}")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
