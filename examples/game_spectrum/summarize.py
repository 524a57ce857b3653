#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Summarizes game_spectrum's JSON logs: per whole spectrum, how many eigenvalues are not 0 (|l| >= 1e-6 max |l|),
how many have a real part above 1e-3 max |l| (growing directions that are not round-off), the extreme real parts,
the largest |Im|, and the largest |Im/Re| among the eigenvalues with |l| >= 1% of max |l| (the ones that set the
step size; smaller ones give ratios that are noise). Python's standard library only.

usage: summarize.py OUT_DIR [method ...]     (methods default to simgd consensus r1)
"""
import json
import os
import sys


def summarize(eigenvalues):
    ev = [complex(re, im) for re, im in eigenvalues]
    top = max(abs(e) for e in ev)
    large = [e for e in ev if abs(e) >= 1e-2 * top]
    ratio = max((abs(e.imag / e.real) if e.real != 0 else float("inf")) for e in large)
    return {
        "nonzero": sum(1 for e in ev if abs(e) >= 1e-6 * top),
        "growing": sum(1 for e in ev if e.real > 1e-3 * top),
        "max_re": max(e.real for e in ev),
        "min_re": min(e.real for e in ev),
        "max_abs": top,
        "max_im": max(abs(e.imag) for e in ev),
        "ratio_1pct": ratio,
    }


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    methods = sys.argv[2:] or ["simgd", "consensus", "r1"]
    print("| method | iteration | \\|v\\| | n | not 0 | Re > 1e-3 max\\|l\\| | max Re | min Re | max \\|l\\| | max \\|Im\\| "
          "| max \\|Im/Re\\| (\\|l\\| >= 1% max) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for method in methods:
        path = os.path.join(out, "spectrum_%s.json" % method)
        with open(path) as f:
            records = json.load(f)["records"]
        for r in records:
            if not r["full"]:
                continue
            s = summarize(r["full"])
            print("| %s | %d | %.3g | %d | %d | %d | %.3g | %.3g | %.3g | %.3g | %.3g |" % (
                method, r["iteration"], r["field_norm"], r["parameters"], s["nonzero"], s["growing"], s["max_re"],
                s["min_re"], s["max_abs"], s["max_im"], s["ratio_1pct"]))


if __name__ == "__main__":
    main()
