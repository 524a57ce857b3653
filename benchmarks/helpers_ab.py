#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""gantry with one of its helpers' settings on and off, on a quiet machine and with one core held by a busy loop,
alternating within each round: --setting adaptive (SplitOptions::adaptive_helpers, GANTRY_ADAPTIVE_HELPERS) or
preemption-aware (SplitOptions::preemption_aware_helpers, GANTRY_PREEMPTION_AWARE); the other stays on.

Every round runs, for each width and preset, both settings at the same thread count (default: every core), first
quiet, then under the busy loop of busy_compare.py (pinned to the last CPU). Best of the rounds per cell; the
table gives it/s and the ratio on / off. Run it on a machine nothing else is using.

  /usr/bin/python3 benchmarks/helpers_ab.py --build-dir build --rounds 3 --seconds 1.5
  /usr/bin/python3 benchmarks/helpers_ab.py --build-dir build --rounds 3 --seconds 1.5 --setting preemption-aware
"""

import argparse
import os
import sys

SETTINGS = {"adaptive": "GANTRY_ADAPTIVE_HELPERS", "preemption-aware": "GANTRY_PREEMPTION_AWARE"}

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import busy_compare  # noqa: E402  (BusyLoop, keep_best, busy_before)
import compare  # noqa: E402  (gantry_run)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default="build", help="a build with the benchmarks (gantry_training_benchmark)")
    parser.add_argument("--presets", nargs="+", default=busy_compare.PRESETS, choices=compare.PRESETS)
    parser.add_argument("--widths", nargs="+", type=int, default=busy_compare.WIDTHS)
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best of each cell is kept")
    parser.add_argument("--seconds", type=float, default=1.5, help="timed seconds per run")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="gantry's thread count")
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="adaptive", help="the setting turned on and off")
    parser.add_argument("--load-cpu", type=int, default=os.cpu_count() - 1, help="the CPU the busy loop is pinned to")
    args = parser.parse_args()

    before, too_busy = busy_compare.busy_before()
    print(f"before the first run: {before}" + ("  (WARNING: the machine is not quiet)" if too_busy else ""),
          file=sys.stderr, flush=True)
    busy = busy_compare.BusyLoop(args.load_cpu)
    best = {}  # (mode, preset, width, setting) -> run
    try:
        for round_index in range(args.rounds):
            for width in args.widths:
                for preset in args.presets:
                    for mode in ("quiet", "loaded"):
                        if mode == "loaded":
                            busy.start()
                        try:
                            for setting in ("0", "1"):
                                env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
                                env[SETTINGS[args.setting]] = setting
                                run = compare.gantry_run(args.build_dir, preset, width, args.seconds, env)
                                busy_compare.keep_best(best, (mode, preset, width, setting), run)
                                print(f"round {round_index + 1} {preset:>8} {width:>4} {mode:>6} {args.setting} {setting}: "
                                      f"{run['iterations_per_second']:.2f} it/s", file=sys.stderr, flush=True)
                        finally:
                            busy.stop()
    finally:
        busy.stop()

    print(f"{args.setting} off / on; {args.rounds} rounds, {args.seconds} s per run, best kept; {args.threads} threads; "
          f"loaded: one busy loop pinned to CPU {args.load_cpu}")
    print()
    print("| preset | width | quiet: off | on | on / off | loaded: off | on | on / off |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for width in args.widths:
        for preset in args.presets:
            cells = []
            for mode in ("quiet", "loaded"):
                off = best[(mode, preset, width, "0")]["iterations_per_second"]
                on = best[(mode, preset, width, "1")]["iterations_per_second"]
                cells += [f"{off:.1f}", f"{on:.1f}", f"{on / off:.2f}"]
            print(f"| {preset} | {width} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
