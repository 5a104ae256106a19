#!/usr/bin/env python3
"""Benchmark zone updates under query load: dm-dns install vs the built-in service.

A real unbound answers endpoint names while dnsperf queries it steadily. We
apply ROUNDS successive zones of RECORDS records, each retargeting every name:

- dm-dns: `dm-dns install` of a signed file into an auth-zone, reloaded with
  `unbound-control auth_zone_reload` (no restart, no cache flush);
- built-in: the same CNAMEs as `local-data` lines applied with a full
  `unbound-control reload`, as the built-in service's path unit does.

Reported per mode: dnsperf's queries sent/completed/lost and non-NOERROR
answers, and the apply latency from the file change to the first answer with
the new target (a probe polls every millisecond), as p50/p99/max.

    python3 bench/install_bench.py [--records 100000] [--rounds 20] [--qps 5000]
"""
import argparse
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DM_DNS = os.path.join(ROOT, "target", "release", "dm-dns")
MACHINES = 100


def machine(i):
    return f"m{i:03d}"


def write_exports(path, records, machine_of):
    """records endpoints; endpoint e is served by machine machine_of(e)."""
    scopes = {}
    for e in range(records):
        scopes.setdefault(machine(machine_of(e) % MACHINES), []).append(f"ep{e}.clan")
    with open(path, "w") as out:
        out.write("{")
        out.write(",".join(
            f'"web:main:server:{m}":{{"hosts":[{",".join(chr(34) + h + chr(34) for h in hosts)}]}}'
            for m, hosts in sorted(scopes.items())))
        out.write("}")


def hosts_file(path):
    with open(path, "w") as out:
        for i in range(MACHINES):
            out.write(f"10.1.{i // 250}.{i % 250 + 1} {machine(i)}.clan\n")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def query(port, name, timeout=0.5):
    """One A query; returns the CNAME target (or None) of the answer."""
    qid = os.getpid() & 0xFFFF
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    packet += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    packet += struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(packet, ("127.0.0.1", port))
        data = s.recv(4096)
    except OSError:
        return None
    finally:
        s.close()
    return first_cname(data)


def read_name(data, pos):
    labels = []
    jumped_end = None
    while True:
        length = data[pos]
        if length & 0xC0 == 0xC0:
            if jumped_end is None:
                jumped_end = pos + 2
            pos = ((length & 0x3F) << 8) | data[pos + 1]
            continue
        if length == 0:
            pos += 1
            break
        labels.append(data[pos + 1:pos + 1 + length].decode())
        pos += 1 + length
    return ".".join(labels), (jumped_end if jumped_end is not None else pos)


def first_cname(data):
    answers = struct.unpack(">H", data[6:8])[0]
    _, pos = read_name(data, 12)
    pos += 4
    for _ in range(answers):
        _, pos = read_name(data, pos)
        rtype, _, _, rdlen = struct.unpack(">HHIH", data[pos:pos + 10])
        pos += 10
        if rtype == 5:
            return read_name(data, pos)[0]
        pos += rdlen
    return None


def start_unbound(work, server_extra, tail):
    port = free_port()
    conf = os.path.join(work, "unbound.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
  interface: 127.0.0.1
  port: {port}
  do-ip6: no
  username: ""
  chroot: ""
  directory: "{work}"
  pidfile: "{work}/unbound.pid"
  use-syslog: no
  logfile: "{work}/unbound.log"
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  domain-insecure: "clan."
{server_extra}
remote-control:
  control-enable: yes
  control-interface: "{work}/control.sock"
{tail}
""")
    proc = subprocess.Popen(["unbound", "-d", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    control = ["unbound-control", "-c", conf]
    for _ in range(200):
        if subprocess.run(control + ["status"], capture_output=True).returncode == 0:
            return proc, port, control
        time.sleep(0.05)
    sys.exit("unbound did not start")


def start_knot(work, zone_file):
    """A Knot DNS serving `clan.` from zone_file as nix/lib/node.nix sets it
    up; returns the process, its port, its knotc command, and unbound's
    settings that ask it (inside `server:`, after it)."""
    port = free_port()
    run = os.path.join(work, "knot")
    os.makedirs(run, exist_ok=True)
    conf = os.path.join(run, "knot.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
  rundir: "{run}"
  listen: 127.0.0.1@{port}
log:
  - target: stderr
    any: warning
database:
  storage: "{run}"
template:
  - id: default
    storage: "{run}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: clan.
    file: "{zone_file}"
""")
    proc = subprocess.Popen(["knotd", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    control = ["knotc", "-s", os.path.join(run, "knot.sock")]
    for _ in range(1200):
        if subprocess.run(control + ["zone-read", "clan.", "@", "SOA"],
                          capture_output=True).returncode == 0:
            stub = (f'stub-zone:\n  name: "clan."\n  stub-addr: 127.0.0.1@{port}\n'
                    "  stub-no-cache: yes")
            return proc, port, control, stub
        time.sleep(0.05)
    sys.exit("knotd did not load the zone")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def parse_dnsperf(text):
    def number(label):
        m = re.search(label + r":\s+(\d+)", text)
        return int(m.group(1)) if m else 0
    codes = dict(re.findall(r"(\w+) (\d+) \(", text.split("Response codes:")[1].splitlines()[0])) \
        if "Response codes:" in text else {}
    not_ok = sum(int(v) for k, v in codes.items() if k != "NOERROR")
    return number("Queries sent"), number("Queries completed"), number("Queries lost"), not_ok


def run_mode(name, work, apply_round, server_extra, tail, rounds, records, qps):
    proc, port, control = start_unbound(work, server_extra, tail)
    try:
        query_file = os.path.join(work, "queries")
        with open(query_file, "w") as f:
            for e in range(0, records, max(1, records // 2000)):
                f.write(f"ep{e}.clan A\n")
        duration = rounds * 2 + 4
        perf = subprocess.Popen(
            ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", query_file,
             "-l", str(duration), "-Q", str(qps), "-c", "4", "-t", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1)
        latencies = []
        probe = "ep0.clan"
        for r in range(1, rounds + 1):
            expected = f"{machine(r % MACHINES)}.clan"
            start = time.perf_counter()
            apply_round(r, control)
            while query(port, probe) != expected:
                if time.perf_counter() - start > 30:
                    sys.exit(f"{name}: round {r} never answered {expected}")
                time.sleep(0.001)
            latencies.append(time.perf_counter() - start)
            time.sleep(max(0.0, 2 - latencies[-1]))
        out, _ = perf.communicate()
        sent, completed, lost, not_ok = parse_dnsperf(out)
        return {
            "mode": name, "sent": sent, "completed": completed, "lost": lost,
            "not_noerror": not_ok, "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99), "max": max(latencies),
        }
    finally:
        proc.kill()
        proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--qps", type=int, default=5000)
    args = parser.parse_args()
    for tool in ("unbound", "unbound-control", "dnsperf"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/setup.sh")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)

    with tempfile.TemporaryDirectory() as work:
        key, pub = os.path.join(work, "k"), os.path.join(work, "k.pub")
        subprocess.run([DM_DNS, "keygen", "--private-key-path", key, "--public-key-path", pub],
                       check=True, capture_output=True)
        hosts = os.path.join(work, "hosts")
        hosts_file(hosts)
        print(f"preparing {args.rounds + 1} zones of {args.records} records ...", file=sys.stderr)
        for r in range(args.rounds + 1):
            exports = os.path.join(work, f"e{r}.json")
            write_exports(exports, args.records, lambda e, r=r: e + r)
            zone = os.path.join(work, f"z{r}")
            subprocess.run([DM_DNS, "zone", "--exports", exports, "--domain", "clan", "--out", zone],
                           check=True, capture_output=True)
            subprocess.run([DM_DNS, "sign", "--key", key, "--zone", zone, "--serial", str(1000 + r),
                            "--out", os.path.join(work, f"s{r}")], check=True, capture_output=True)
            with open(os.path.join(zone, "zone.conf")) as src, \
                    open(os.path.join(work, f"local{r}.conf"), "w") as dst:
                dst.write(src.read())
                for line in open(hosts):
                    addr, name = line.split()
                    dst.write(f'local-data: "{name}. A {addr}"\n')

        # dm-dns: auth-zone, install, auth_zone_reload.
        dm_work = os.path.join(work, "dm")
        os.mkdir(dm_work)
        mesh, zone_file = os.path.join(dm_work, "cnames"), os.path.join(dm_work, "clan.zone")

        def install(control_args):
            cmd = [DM_DNS, "install", "--mesh-file", mesh, "--trusted-key", pub, "--domain", "clan",
                   "--hosts", hosts, "--zone-file", zone_file, "--state-dir",
                   os.path.join(dm_work, "state")]
            cmd += ["--unbound-control", " ".join(control_args)] if control_args else ["--no-reload"]
            subprocess.run(cmd, check=True, capture_output=True)

        shutil.copy(os.path.join(work, "s0"), mesh)
        install(None)

        def dm_apply(r, control):
            shutil.copy(os.path.join(work, f"s{r}"), mesh)
            install(control)

        auth = (f'auth-zone:\n  name: "clan."\n  zonefile: "{zone_file}"\n  for-downstream: yes\n'
                f'  for-upstream: yes\n  fallback-enabled: no\n')
        results = [run_mode("dm-dns install (auth_zone_reload)", dm_work, dm_apply, "", auth,
                            args.rounds, args.records, args.qps)]

        # The built-in service: local-data include, full reload.
        ref_work = os.path.join(work, "ref")
        os.mkdir(ref_work)
        included = os.path.join(ref_work, "cnames.conf")
        shutil.copy(os.path.join(work, "local0.conf"), included)

        def ref_apply(r, control):
            shutil.copy(os.path.join(work, f"local{r}.conf"), included + ".tmp")
            os.rename(included + ".tmp", included)
            subprocess.run(control + ["reload"], check=True, capture_output=True)

        results.append(run_mode("built-in (local-data + reload)", ref_work, ref_apply,
                                f'  include: "{included}"', "", args.rounds, args.records, args.qps))

    print(f"{args.rounds} updates of {args.records} records under {args.qps} qps")
    print(f"{'mode':<36} {'sent':>8} {'completed':>10} {'lost':>6} {'!NOERROR':>9} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for r in results:
        print(f"{r['mode']:<36} {r['sent']:>8} {r['completed']:>10} {r['lost']:>6} "
              f"{r['not_noerror']:>9} {r['p50'] * 1000:>8.1f} {r['p99'] * 1000:>8.1f} "
              f"{r['max'] * 1000:>8.1f}")


if __name__ == "__main__":
    main()
