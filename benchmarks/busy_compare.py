#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""gantry against PyTorch on a quiet machine and with one core taken by a busy loop, side by side.

For every round, width and preset: gantry's training benchmark and torch_reference.py (each at every thread
setting given, the fastest kept, as compare.py does), first with nothing else running, then again while a busy
loop this script starts holds one core (pinned to the last CPU unless --unpinned), stopped right after. Best of
the rounds for each cell and mode. Prints both tables and, per cell, the loaded ratio as a fraction of the quiet
one (issue 17's target: at least 80 % at every cell); also that fraction within each round, from the four runs
measured back to back, whose spread shows how much of a cell's figure is the machine's drift between rounds. When
1 is among the thread counts tried, also gantry's speed at each thread count, and each cell's target against an
ideal bound: the single thread's speed plus what the other threads add on the quiet machine, scaled to the cores
the busy loop leaves them (it halves one).

Run it on a machine nothing else is using: the quiet table is only quiet if the machine is. The share of the CPUs'
time that was busy during 2 s before the first run is printed (from /proc/stat; elsewhere the 1-minute load
average, which still counts a run that ended a minute ago), and a warning when something else was running.

  /usr/bin/python3 benchmarks/busy_compare.py --build-dir build --rounds 3 --seconds 1.5 --json busy.json
  /usr/bin/python3 benchmarks/busy_compare.py --build-dir build --rounds 1 --seconds 0.2 --widths 64  # a smoke test
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import compare  # noqa: E402  (gantry_run, torch_run: one run of each, in its own process)

PRESETS = ["Vanilla", "WganGp"]
WIDTHS = [64, 128, 512]


class BusyLoop:
    """One process spinning on one core (pinned to `cpu` when given) from start() to stop()."""

    def __init__(self, cpu):
        self.cpu = cpu
        self.process = None

    def start(self):
        def pin():
            if self.cpu is not None:
                os.sched_setaffinity(0, {self.cpu})

        self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=pin,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        time.sleep(0.2)  # let it reach its core before the measured run starts
        if self.process.poll() is not None:
            sys.exit("busy_compare.py: the busy loop exited at once")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None


def best_runs(build_dir, preset, width, seconds, thread_counts, torch_configs, by_threads):
    """Every thread setting of each library once; the fastest run of each. Each gantry run also goes into
    by_threads[threads] (best kept)."""
    gantry_best = None
    for threads in thread_counts:
        g = compare.gantry_run(build_dir, preset, width, seconds, dict(os.environ, OMP_NUM_THREADS=str(threads)))
        g["threads"] = threads
        keep_best(by_threads, threads, g)
        if gantry_best is None or g["iterations_per_second"] > gantry_best["iterations_per_second"]:
            gantry_best = g
    torch_best = None
    for config in torch_configs:
        intra, blas = (int(x) for x in config.split("x"))
        t = compare.torch_run(preset, width, seconds, intra, blas, dict(os.environ))
        if torch_best is None or t["iterations_per_second"] > torch_best["iterations_per_second"]:
            torch_best = t
    return gantry_best, torch_best


def busy_before(seconds=2.0):
    """What else the machine is doing now: the busy share of all CPUs' time over `seconds` from /proc/stat, as
    text, and whether it is too much for a quiet table (above 5 %). Elsewhere the 1-minute load average."""
    def cpu_times():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
        return sum(fields), fields[3] + fields[4]
    try:
        total_before, idle_before = cpu_times()
        time.sleep(seconds)
        total_after, idle_after = cpu_times()
    except (OSError, ValueError, IndexError):
        load_average = os.getloadavg()[0]
        return f"load average {load_average:.2f}", load_average > 0.5
    busy = 1.0 - (idle_after - idle_before) / max(total_after - total_before, 1)
    return f"{100 * busy:.1f} % of the CPUs busy over {seconds:g} s", busy > 0.05


def speed_ratio(g, t):
    """gantry's speed over PyTorch's, from one run of each."""
    return g["iterations_per_second"] / t["iterations_per_second"]


def keep_best(best, key, new):
    old = best.get(key)
    if old is None or new["iterations_per_second"] > old["iterations_per_second"]:
        best[key] = new


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default="build", help="a build with the benchmarks (gantry_training_benchmark)")
    parser.add_argument("--presets", nargs="+", default=PRESETS, choices=compare.PRESETS)
    parser.add_argument("--widths", nargs="+", type=int, default=WIDTHS)
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best of each cell and mode is kept")
    parser.add_argument("--seconds", type=float, default=1.5, help="timed seconds per run")
    parser.add_argument("--threads", type=int, nargs="+", default=[os.cpu_count(), 1],
                        help="gantry's thread counts to try (OMP_NUM_THREADS); the fastest is kept in each mode")
    parser.add_argument("--torch-configs", nargs="+", default=[f"1x{os.cpu_count()}", "1x1"],
                        help="PyTorch threadings to try, each INTRAxBLAS; the fastest is kept in each mode")
    parser.add_argument("--load-cpu", type=int, default=os.cpu_count() - 1,
                        help="the CPU the busy loop is pinned to (default: the last one)")
    parser.add_argument("--unpinned", action="store_true", help="let the OS place the busy loop")
    parser.add_argument("--json", help="also write every best run to this file")
    args = parser.parse_args()

    before, too_busy = busy_before()
    print(f"before the first run: {before}"
          + ("  (WARNING: the machine is not quiet; the quiet table will not be either)" if too_busy else ""),
          file=sys.stderr, flush=True)
    busy = BusyLoop(None if args.unpinned else args.load_cpu)
    best = {"quiet": ({}, {}), "loaded": ({}, {})}  # mode -> (gantry, pytorch), keyed by (preset, width)
    by_threads = {}  # (mode, preset, width) -> {threads: gantry's best run}
    per_round = {}  # (preset, width) -> [loaded ratio / quiet ratio of each round, from that round's runs alone]
    start = time.time()
    try:
        for round_index in range(args.rounds):
            for width in args.widths:
                for preset in args.presets:
                    key = (preset, width)
                    line = []
                    ratios = {}
                    for mode in ("quiet", "loaded"):
                        if mode == "loaded":
                            busy.start()
                        try:
                            g, t = best_runs(args.build_dir, preset, width, args.seconds, args.threads,
                                             args.torch_configs, by_threads.setdefault((mode, preset, width), {}))
                        finally:
                            busy.stop()
                        keep_best(best[mode][0], key, g)
                        keep_best(best[mode][1], key, t)
                        ratios[mode] = speed_ratio(g, t)
                        line.append(f"{mode} gantry {g['iterations_per_second']:.2f}/s ({g['threads']} threads) "
                                    f"pytorch {t['iterations_per_second']:.2f}/s "
                                    f"({t['intra_op_threads']}x{t['blas_threads']})")
                    per_round.setdefault(key, []).append(ratios["loaded"] / ratios["quiet"])
                    print(f"round {round_index + 1}/{args.rounds} {preset:>8} {width:>4}: " + "; ".join(line)
                          + f"; kept {100 * per_round[key][-1]:.0f} %", file=sys.stderr, flush=True)
    finally:
        busy.stop()

    where = "unpinned" if args.unpinned else f"pinned to CPU {args.load_cpu}"
    print(f"{args.rounds} rounds, {args.seconds} s per run, best kept; gantry threads tried "
          f"{', '.join(map(str, args.threads))}, PyTorch (intra-op x BLAS) {', '.join(args.torch_configs)}; "
          f"loaded: one busy-loop process {where}; before the first run {before}; "
          f"{time.time() - start:.0f} s")
    rows = []
    for mode in ("quiet", "loaded"):
        print()
        print(f"{mode}:")
        print()
        print("| preset | width | gantry it/s | threads | PyTorch it/s | PyTorch threads | ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for width in args.widths:
            for preset in args.presets:
                g, t = best[mode][0][(preset, width)], best[mode][1][(preset, width)]
                ratio = speed_ratio(g, t)
                print(f"| {preset} | {width} | {g['iterations_per_second']:.2f} | {g['threads']} | "
                      f"{t['iterations_per_second']:.2f} | {t['intra_op_threads']}x{t['blas_threads']} | "
                      f"{ratio:.2f}x |")
                rows.append({"mode": mode, "preset": preset, "width": width, "gantry": g, "pytorch": t,
                             "ratio": ratio})
    print()
    print("loaded ratio / quiet ratio (target >= 80 %):")
    print()
    print("| preset | width | quiet ratio | loaded ratio | kept | gantry kept | PyTorch kept | kept per round: "
          "median (range) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for width in args.widths:
        for preset in args.presets:
            key = (preset, width)
            quiet_g, quiet_t = best["quiet"][0][key], best["quiet"][1][key]
            loaded_g, loaded_t = best["loaded"][0][key], best["loaded"][1][key]
            quiet_ratio = speed_ratio(quiet_g, quiet_t)
            loaded_ratio = speed_ratio(loaded_g, loaded_t)
            print(f"| {preset} | {width} | {quiet_ratio:.2f}x | {loaded_ratio:.2f}x | "
                  f"**{100 * loaded_ratio / quiet_ratio:.0f} %** | "
                  f"{100 * loaded_g['iterations_per_second'] / quiet_g['iterations_per_second']:.0f} % | "
                  f"{100 * loaded_t['iterations_per_second'] / quiet_t['iterations_per_second']:.0f} % | "
                  f"{100 * statistics.median(per_round[key]):.0f} % ({100 * min(per_round[key]):.0f}-"
                  f"{100 * max(per_round[key]):.0f} %) |")
    threads = sorted(args.threads, reverse=True)
    if 1 in threads and len(threads) > 1:
        many = threads[0]
        print()
        print(f"gantry by thread count, and what {many} threads on one core less could give at best (the single "
              f"thread's speed, plus what the other {many - 1} add on a quiet machine, scaled by the "
              f"{many - 1.5:g} of {many - 1} cores left them: the busy loop halves one), against what the 80 % "
              f"target asks of gantry under load (0.8 x quiet ratio x PyTorch's loaded speed):")
        print()
        print(f"| preset | width | quiet {many} / 1 threads | loaded {many} / 1 threads | ideal bound, loaded | "
              f"target asks | asks / bound |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for width in args.widths:
            for preset in args.presets:
                quiet = {k: v["iterations_per_second"] for k, v in by_threads[("quiet", preset, width)].items()}
                loaded = {k: v["iterations_per_second"] for k, v in by_threads[("loaded", preset, width)].items()}
                bound = quiet[1] + (quiet[many] - quiet[1]) * (many - 1.5) / (many - 1)
                key = (preset, width)
                quiet_ratio = speed_ratio(best["quiet"][0][key], best["quiet"][1][key])
                asks = 0.8 * quiet_ratio * best["loaded"][1][key]["iterations_per_second"]
                print(f"| {preset} | {width} | {quiet[many]:.1f} / {quiet[1]:.1f} | {loaded[many]:.1f} / "
                      f"{loaded[1]:.1f} | {bound:.1f} | {asks:.1f} | {100 * asks / bound:.0f} % |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "by_threads": [{"mode": m, "preset": p, "width": w, "runs": runs}
                                                    for (m, p, w), runs in by_threads.items()],
                       "kept_per_round": [{"preset": p, "width": w, "kept": kept}
                                          for (p, w), kept in per_round.items()],
                       "rounds": args.rounds, "seconds": args.seconds, "threads": args.threads,
                       "torch_configs": args.torch_configs, "load": where, "before_first_run": before},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
