#!/usr/bin/env python3
"""The scaling model of docs/distributed.md, as tables.

Per batch of B samples on N nodes of c cores (one rank a node, c threads):
  compute    t_c = ceil(B / (N c)) * s           (s: one sample on one core)
  reduction  t_r = 2 (k + N - 2) (alpha + C / beta),  k = ceil(4 P / C)
             (the reduce-scatter chain and the broadcast, pipelined in
             chunks of C bytes through N - 1 links)
  efficiency t_c / (t_c + t_r)                   (no overlap)
and the batch that keeps efficiency at `--target` on 16 nodes.

  bench/scaling_model.py --name "paper network" --s-ms 0.139 --params 334336

s comes from `evsnn bench --train --threads 1` (1 / samples per second),
P from the network's n_params (padded floats).
"""
import argparse
import math

LINKS = [("10 Gb/s", 10e-6, 1.25e9), ("100 Gb/s", 2e-6, 12.5e9)]  # name, alpha (s), beta (bytes/s)


def t_reduce(n, params, alpha, beta, chunk):
    k = math.ceil(4 * params / chunk)
    return 2 * (k + n - 2) * (alpha + chunk / beta)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True)
    ap.add_argument("--s-ms", type=float, required=True, help="one sample on one core, ms")
    ap.add_argument("--params", type=int, required=True, help="gradient floats P")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--cores", type=int, default=32, help="cores a node")
    ap.add_argument("--chunk", type=int, default=64 * 1024, help="bytes a message")
    ap.add_argument("--target", type=float, default=0.8, help="efficiency wanted at 16 nodes")
    a = ap.parse_args()
    s = a.s_ms * 1e-3
    nodes = [2, 4, 8, 16, 32, 64]
    print(f"**{a.name}, P = {a.params:,} floats, s = {a.s_ms:g} ms**, batch {a.batch}, {a.cores} cores a node "
          f"(t_c = ceil({a.batch} / {a.cores}N) x {a.s_ms:g} ms):\n")
    print("| | " + " | ".join(f"N = {n}" for n in nodes) + " |")
    print("|---|" + "---|" * len(nodes))
    tc = [math.ceil(a.batch / (n * a.cores)) * s for n in nodes]
    print("| t_c, ms | " + " | ".join(f"{t * 1e3:.2f}" for t in tc) + " |")
    for name, alpha, beta in LINKS:
        tr = [t_reduce(n, a.params, alpha, beta, a.chunk) for n in nodes]
        print(f"| t_r at {name}, ms | " + " | ".join(f"{t * 1e3:.2f}" for t in tr) + " |")
        print(f"| efficiency at {name} | " + " | ".join(f"{c / (c + r):.0%}" for c, r in zip(tc, tr)) + " |")
    print()
    for name, alpha, beta in LINKS:
        tr = t_reduce(16, a.params, alpha, beta, a.chunk)
        need = a.target / (1 - a.target) * tr  # t_c >= target / (1 - target) t_r
        per_core = math.ceil(need / s)
        print(f"{a.target:.0%} at 16 nodes, {name}: t_r = {tr * 1e3:.2f} ms, so t_c >= {need * 1e3:.1f} ms: "
              f"{per_core} samples per core per batch, a batch of {per_core * 16 * a.cores:,} ({a.cores}-core nodes) "
              f"or {per_core * 16 * 2:,} (2-core nodes like this one)\n")


if __name__ == "__main__":
    main()
