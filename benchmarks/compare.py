#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""gantry and PyTorch side by side: one generator iteration of every preset at every width, run alternately.

For each round, for each width and preset: gantry's training benchmark, then torch_reference.py, each in its own
process (so that each one's peak resident memory is its own). The best iterations/s over the rounds is kept for
each, since a shared machine only ever makes a run slower. The float GEMM peak is measured in the same session
(best of Eigen and OpenBLAS on 2048^2, before and after), and gantry's GFLOP/s is shown as a fraction of it. So is
PyTorch's rate counted with gantry's operation count (PyTorch does the same products or more): k times PyTorch's
iterations/s needs k times that fraction of the peak, which says whether a target ratio is within the machine's
reach at all.

  /usr/bin/python3 benchmarks/compare.py --build-dir build-bench --threads 2 1   # the full table (~25 minutes)
  /usr/bin/python3 benchmarks/compare.py --build-dir build-bench --quick  # widths 64 and 512, WganGp only
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PRESETS = ["Vanilla", "NonSaturating", "WganClip", "WganGp", "ZeroCenteredGp", "Consensus"]
WIDTHS = [64, 128, 512, 1024]


def run_measured(command, env=None):
    """Runs a command; returns (stdout, peak RSS in KiB of that process alone)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        os.dup2(write_fd, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        try:
            os.execvpe(command[0], command, env if env is not None else os.environ)
        finally:
            os._exit(127)
    os.close(write_fd)
    chunks = []
    while True:
        data = os.read(read_fd, 65536)
        if not data:
            break
        chunks.append(data)
    os.close(read_fd)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"compare.py: {' '.join(command)} failed with status {os.waitstatus_to_exitcode(status)}")
    return b"".join(chunks).decode(), usage.ru_maxrss


def benchmark_json(text):
    return json.loads(text)["benchmarks"]


def gemm_peak(build_dir, env):
    out, _ = run_measured([os.path.join(build_dir, "benchmarks", "gantry_gemm_peak"), "--benchmark_format=json",
                           "--benchmark_min_time=1", "--benchmark_repetitions=3"], env)
    best = {}
    for b in benchmark_json(out):
        if b.get("run_type") == "aggregate":
            continue
        name = b["name"].split("/")[0]
        best[name] = max(best.get(name, 0.0), b["GFLOP/s"])
    return best


def gantry_run(build_dir, preset, width, seconds, env):
    command = [os.path.join(build_dir, "benchmarks", "gantry_training_benchmark"), "--benchmark_format=json",
               f"--benchmark_filter=^{preset}/{width}/", f"--benchmark_min_time={seconds}"]
    out, rss = run_measured(command, env)
    (b,) = benchmark_json(out)
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
    return {"iterations_per_second": b["iterations_per_second"], "gflop_per_iteration": b["GFLOP_per_iteration"],
            "cpu_seconds_per_iteration": b["cpu_time"] * scale, "peak_rss_kib": rss}


def torch_run(preset, width, seconds, threads, blas_threads, env):
    command = ["/usr/bin/python3", os.path.join(HERE, "torch_reference.py"), f"--preset={preset}", f"--width={width}",
               f"--seconds={seconds}", "--repetitions=1", "--warmup=2", f"--threads={threads}",
               f"--blas-threads={blas_threads}"]
    out, rss = run_measured(command, env)
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_kib"] = rss
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default="build-bench", help="a build with GANTRY_BUILD_BENCHMARKS=ON")
    parser.add_argument("--presets", nargs="+", default=PRESETS, choices=PRESETS)
    parser.add_argument("--widths", nargs="+", type=int, default=WIDTHS)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best of each is kept")
    parser.add_argument("--seconds", type=float, default=1.5, help="timed seconds per run")
    parser.add_argument("--threads", type=int, nargs="+", default=[os.cpu_count()],
                        help="gantry's thread counts to try (OMP_NUM_THREADS); the fastest is kept for every row")
    parser.add_argument("--torch-configs", nargs="+", default=[f"1x{os.cpu_count()}", "1x1"],
                        help="PyTorch threadings to try, each INTRAxBLAS (intra-op threads x OpenBLAS threads); "
                             "the fastest is kept for every row")
    parser.add_argument("--quick", action="store_true", help="WganGp at widths 64 and 512 only")
    parser.add_argument("--json", help="also write every measurement to this file")
    args = parser.parse_args()
    if args.quick:
        args.presets, args.widths = ["WganGp"], [64, 512]

    torch_env = dict(os.environ)
    peak_env = dict(os.environ, OMP_NUM_THREADS=str(max(args.threads)))
    peaks = [gemm_peak(args.build_dir, peak_env)]
    best_gantry, best_torch = {}, {}
    # CPU seconds per iteration with one thread each (gantry 1 thread, PyTorch 1 x 1), the lowest seen: what an
    # iteration costs, whatever share of the cores the machine gave the process at that moment.
    single_cpu_gantry, single_cpu_torch = {}, {}
    start = time.time()
    for round_index in range(args.rounds):
        if round_index > 0:
            peaks.append(gemm_peak(args.build_dir, peak_env))  # the peak, too, is only ever measured too low
        for width in args.widths:
            for preset in args.presets:
                key = (preset, width)
                runs = []
                for threads in args.threads:
                    g = gantry_run(args.build_dir, preset, width, args.seconds,
                                   dict(os.environ, OMP_NUM_THREADS=str(threads)))
                    g["threads"] = threads
                    runs.append((best_gantry, g))
                for config in args.torch_configs:
                    intra, blas = (int(x) for x in config.split("x"))
                    t = torch_run(preset, width, args.seconds, intra, blas, torch_env)
                    runs.append((best_torch, t))
                for best, new in runs:
                    if new.get("threads") == 1:
                        single_cpu_gantry[key] = min(single_cpu_gantry.get(key, 1e9), new["cpu_seconds_per_iteration"])
                    if new.get("intra_op_threads") == 1 and new.get("blas_threads") == 1:
                        single_cpu_torch[key] = min(single_cpu_torch.get(key, 1e9), new["cpu_seconds_per_iteration"])
                    old = best.get(key)
                    if old is None or new["iterations_per_second"] > old["iterations_per_second"]:
                        merged = dict(new)
                        merged["peak_rss_kib"] = max(new["peak_rss_kib"], old["peak_rss_kib"] if old else 0)
                        best[key] = merged
                    else:
                        old["peak_rss_kib"] = max(old["peak_rss_kib"], new["peak_rss_kib"])
                print(f"round {round_index + 1}/{args.rounds} {preset:>14} {width:>5}: gantry "
                      + "  ".join(f"{r[1]['threads']} {r[1]['iterations_per_second']:.2f}/s"
                                  for r in runs if "threads" in r[1])
                      + "  pytorch "
                      + "  ".join(f"{r[1]['intra_op_threads']}x{r[1]['blas_threads']} "
                                  f"{r[1]['iterations_per_second']:.2f}/s" for r in runs if "threads" not in r[1]),
                      file=sys.stderr, flush=True)
    peaks.append(gemm_peak(args.build_dir, peak_env))
    peak_by_kind = {k: max(p.get(k, 0.0) for p in peaks) for p in peaks for k in p}
    peak = max(peak_by_kind.values())

    print(f"float GEMM peak (2048^2, best of {len(peaks)} measurements over the session): "
          + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in sorted(peak_by_kind.items()))
          + f"; gantry thread counts tried {', '.join(map(str, args.threads))}, fastest kept; "
          f"PyTorch threadings tried (intra-op x BLAS) {', '.join(args.torch_configs)}, fastest kept; "
          f"{args.rounds} alternating rounds, best kept; "
          f"{time.time() - start:.0f} s")
    print()
    print("| preset | width | gantry it/s | gantry threads | PyTorch it/s | PyTorch threads | ratio "
          "| 1-thread CPU-time ratio | gantry GFLOP/s | % of peak | PyTorch % of peak (gantry's count) "
          "| gantry peak RSS | PyTorch peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for width in args.widths:
        for preset in args.presets:
            g, t = best_gantry[(preset, width)], best_torch[(preset, width)]
            gflops = g["iterations_per_second"] * g["gflop_per_iteration"]
            torch_gflops = t["iterations_per_second"] * g["gflop_per_iteration"]
            ratio = g["iterations_per_second"] / t["iterations_per_second"]
            cpu_ratio = None
            if (preset, width) in single_cpu_gantry and (preset, width) in single_cpu_torch:
                cpu_ratio = single_cpu_torch[(preset, width)] / single_cpu_gantry[(preset, width)]
            rows.append({"preset": preset, "width": width, "gantry": g, "pytorch": t, "ratio": ratio,
                         "single_thread_cpu_ratio": cpu_ratio, "gantry_gflops": gflops,
                         "pytorch_gflops_at_gantry_count": torch_gflops, "peak_gflops": peak})
            print(f"| {preset} | {width} | {g['iterations_per_second']:.2f} | {g['threads']} | "
                  f"{t['iterations_per_second']:.2f} | "
                  f"{t['intra_op_threads']}x{t['blas_threads']} | {ratio:.2f}x | "
                  f"{'-' if cpu_ratio is None else f'{cpu_ratio:.2f}x'} | {gflops:.1f} | {100 * gflops / peak:.0f}% | "
                  f"{100 * torch_gflops / peak:.0f}% | "
                  f"{g['peak_rss_kib'] / 1024:.1f} MiB | {t['peak_rss_kib'] / 1024:.1f} MiB |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"peaks": peak_by_kind, "rows": rows, "threads": args.threads,
                       "torch_configs": args.torch_configs}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
