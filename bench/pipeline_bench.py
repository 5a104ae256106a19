#!/usr/bin/env python3
"""Every stage of the pipeline at scale, in one run: `zone` at 100k and 1M
endpoints (5M with --large), then `sign`, `verify` and `install` (fresh
state, --no-reload) of the 1M zone. Prints best-of-REPEAT wall time and the
peak RSS of one run for each, next to the targets of the scaling work, and
the cost per endpoint of `zone` across sizes.

    python3 bench/pipeline_bench.py [--repeat 3] [--large]
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zone_bench import BINARY, ROOT, write_exports  # noqa: E402

# Targets (seconds, MB) of the scaling issue; None where none is set.
TARGETS = {
    "zone 1M": (0.5, 150.0),
    "sign 1M": (0.6, 300.0),
    "verify 1M": (0.3, None),
    "install 1M": (0.6, 250.0),
}


def measure(args, repeat, prepare=None):
    """Best wall time of `repeat` runs and the peak RSS (MB) of one more."""
    walls = []
    for _ in range(repeat):
        if prepare:
            prepare()
        start = time.perf_counter()
        proc = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        walls.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(args)} failed: {proc.stderr.decode()}")
    if prepare:
        prepare()
    code = (
        "import resource,subprocess,sys;"
        "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL,check=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    rss = int(subprocess.check_output([sys.executable, "-c", code, *args])) / 1024
    return min(walls), rss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large", action="store_true", help="also zone 5M endpoints")
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [100_000, 1_000_000] + ([5_000_000] if args.large else [])
        per_endpoint = {}
        for endpoints in sizes:
            exports = os.path.join(tmp, f"exports-{endpoints}.json")
            write_exports(exports, endpoints // 10)
            out = os.path.join(tmp, f"zone-{endpoints}")
            wall, rss = measure(
                [BINARY, "zone", "--exports", exports, "--domain", "clan", "--out", out],
                args.repeat,
                prepare=lambda out=out: shutil.rmtree(out, ignore_errors=True),
            )
            label = f"zone {endpoints // 1_000_000}M" if endpoints >= 1_000_000 else f"zone {endpoints // 1000}k"
            rows.append((label, wall, rss))
            per_endpoint[endpoints] = wall / endpoints
            if endpoints != 1_000_000:
                os.remove(exports)
        zone = os.path.join(tmp, "zone-1000000")
        key, pub = os.path.join(tmp, "k"), os.path.join(tmp, "k.pub")
        subprocess.run([BINARY, "keygen", "--private-key-path", key, "--public-key-path", pub],
                       check=True, stderr=subprocess.DEVNULL)
        signed = os.path.join(tmp, "cnames")
        rows.append(("sign 1M", *measure(
            [BINARY, "sign", "--key", key, "--zone", zone, "--serial", "100", "--out", signed],
            args.repeat)))
        rows.append(("verify 1M", *measure([BINARY, "verify", "--trusted-key", pub, signed], args.repeat)))
        state, zone_file = os.path.join(tmp, "state"), os.path.join(tmp, "clan.zone")

        def fresh():
            shutil.rmtree(state, ignore_errors=True)
            if os.path.exists(zone_file):
                os.remove(zone_file)

        rows.append(("install 1M", *measure(
            [BINARY, "install", "--mesh-file", signed, "--trusted-key", pub, "--domain", "clan",
             "--zone-file", zone_file, "--state-dir", state, "--no-reload"],
            args.repeat, prepare=fresh)))
    print(f"{'stage':<12} {'wall s':>8} {'peak MB':>9} {'target s':>9} {'target MB':>10}")
    for label, wall, rss in rows:
        t_wall, t_rss = TARGETS.get(label, (None, None))
        fmt = lambda v, spec: format(v, spec) if v is not None else "-"
        print(f"{label:<12} {wall:>8.3f} {rss:>9.1f} {fmt(t_wall, '>9.1f'):>9} {fmt(t_rss, '>10.0f'):>10}")
    largest = max(per_endpoint)
    print(f"zone cost per endpoint at {largest:,} vs 100,000: "
          f"{per_endpoint[largest] / per_endpoint[100_000]:.2f}x (target <= 1.3x at 5M)")


if __name__ == "__main__":
    main()
