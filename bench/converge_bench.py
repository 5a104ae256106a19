#!/usr/bin/env python3
"""Does one `dm-dns install` with default settings converge at any size?

For each server holding the zone (Knot behind unbound, unbound's auth-zone)
and each size (default 2M and 4M records), the server serves a small zone;
then `dm-dns install` (default --control-timeout 5) applies a signed zone of
that size, and a second one retargeting every name. After each run: the
zone file, the state and the serial the server serves must all be the new
one. Reported: the install's wall time and whether the three agree. Before
install waited on what the server serves, a 2M zone's reload in unbound
(about 6 s here) outlasted the timeout and the node diverged.

    python3 bench/converge_bench.py [--server knot unbound] [--records 2000000 4000000]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from install_bench import (  # noqa: E402
    DM_DNS, ROOT, hosts_file, start_knot, start_unbound, write_exports)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def served_serial(server, control):
    if server == "knot":
        fields = run(control + ["zone-read", "clan.", "@", "SOA"]).stdout.split()
        return int(fields[fields.index("SOA") + 3])
    out = run(control + ["list_auth_zones"]).stdout
    for line in out.splitlines():
        fields = line.split()
        if fields[:2] == ["clan.", "serial"]:
            return int(fields[2])
    return None


def signed(work, records, shift, serial):
    exports = os.path.join(work, f"exports-{shift}.json")
    write_exports(exports, records, lambda e: e + shift)
    zone = os.path.join(work, f"zone-{shift}")
    run([DM_DNS, "zone", "--exports", exports, "--domain", "clan", "--out", zone])
    out = os.path.join(work, f"signed-{shift}")
    run([DM_DNS, "sign", "--key", os.path.join(work, "k"), "--zone", zone,
         "--serial", str(serial), "--out", out])
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", nargs="+", choices=["knot", "unbound"],
                        default=["knot", "unbound"])
    parser.add_argument("--records", type=int, nargs="+", default=[2_000_000, 4_000_000])
    args = parser.parse_args()
    run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    print("server    records   run  install s  converged (file, state, server on the new serial)")
    failed = False
    for server, records in ((s, r) for s in args.server for r in args.records):
        with tempfile.TemporaryDirectory() as work:
            run([DM_DNS, "keygen", "--private-key-path", os.path.join(work, "k"),
                 "--public-key-path", os.path.join(work, "k.pub")])
            hosts_file(os.path.join(work, "hosts"))
            zone_file = os.path.join(work, "clan.zone")
            install = [DM_DNS, "install", "--mesh-file", os.path.join(work, "cnames"),
                       "--trusted-key", os.path.join(work, "k.pub"), "--domain", "clan",
                       "--hosts", os.path.join(work, "hosts"), "--zone-file", zone_file,
                       "--state-dir", os.path.join(work, "state"),
                       "--max-mesh-size", "1G"]
            run(install + ["--no-reload"])
            knot = None
            if server == "knot":
                knot, _port, control, stub = start_knot(work, zone_file)
                proc, _port, _ = start_unbound(work, "", stub)
            else:
                auth = (f'auth-zone:\n  name: "clan."\n  zonefile: "{zone_file}"\n'
                        "  for-downstream: yes\n  for-upstream: yes\n  fallback-enabled: no")
                proc, _port, control = start_unbound(work, "", auth)
            flag = f"--{server}-control"
            try:
                for run_number, (shift, serial) in enumerate([(0, 8000), (1, 8001)], 1):
                    mesh = signed(work, records, shift, serial)
                    os.replace(mesh, os.path.join(work, "cnames"))
                    started = time.monotonic()
                    done = subprocess.run(install + [flag, " ".join(control)],
                                          capture_output=True, text=True)
                    took = time.monotonic() - started
                    with open(os.path.join(work, "state", "installed.clan.json")) as f:
                        state = json.load(f)["serial"]
                    with open(zone_file) as f:
                        soa = next(line for line in f if " IN SOA " in line).split()[5]
                    served = served_serial(server, control)
                    converged = done.returncode == 0 and state == serial and \
                        int(soa) == serial and served == serial
                    failed |= not converged
                    print(f"{server:<8} {records:>9,} {run_number:>4} {took:>9.2f}  "
                          f"{'yes' if converged else 'NO'} (file {soa}, state {state}, "
                          f"{server} {served}){'' if done.returncode == 0 else ': ' + done.stderr.strip()}")
            finally:
                for p in (proc, knot):
                    if p:
                        p.terminate()
                        p.wait()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
