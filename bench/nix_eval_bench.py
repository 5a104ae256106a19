#!/usr/bin/env python3
"""Evaluation cost of the zone derivation (nix-instantiate, no nixpkgs needed).

For a synthetic clan of MACHINES x ENDPOINTS, evaluates bench/nix-eval.nix in
three modes and prints wall time and peak RSS of nix-instantiate:
  one      the zone's derivation path for one machine, via the clan service;
  service  the same for every machine, via the clan service (one shared
           projection of the exports);
  naive    every machine projecting the exports itself (the built-in service's way).

    python3 bench/nix_eval_bench.py [--machines 1000] [--endpoints 10]
"""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, NIX_CONFIG="sandbox = false\nbuild-users-group =\nsubstituters =\n")


def measure(mode, machines, endpoints):
    code = (
        "import resource,subprocess,sys,time;"
        "t=time.perf_counter();"
        "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,check=True);"
        "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    cmd = [sys.executable, "-c", code, "nix-instantiate", "--eval", "--strict",
           os.path.join(ROOT, "bench", "nix-eval.nix"), "--argstr", "mode", mode,
           "--arg", "machines", str(machines), "--arg", "endpoints", str(endpoints)]
    wall, rss = subprocess.check_output(cmd, env=ENV).split()
    return float(wall), int(rss) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.machines} machines x {args.endpoints} endpoints")
    print(f"{'mode':<8} {'wall s':>8} {'peak RSS MB':>12}")
    for mode in ("one", "service", "naive"):
        runs = [measure(mode, args.machines, args.endpoints) for _ in range(args.repeat)]
        wall = min(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        print(f"{mode:<8} {wall:>8.3f} {rss:>12.1f}")


if __name__ == "__main__":
    main()
