#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reads a safetensors file with the standard library only, checks its layout, prints it, checks values.

An independent reader: a file gantry writes must be readable without gantry (and without the
safetensors package). Usage:

    read_safetensors.py FILE [CHECK ...]

CHECK is one of
    NAME:dtype=F32          the tensor's dtype
    NAME:shape=2x3          the tensor's shape ("scalar" for shape [], 0 allowed: "0x4")
    NAME[INDEX]=VALUE       the element at flat row-major INDEX (floats: relative tolerance 1e-6)
    meta:KEY=VALUE          a __metadata__ entry

Exit status: 0 if the file is valid and every check holds, 1 if a check fails, 2 if the file is invalid
or the arguments are malformed.
"""

import json
import struct
import sys

FORMATS = {"F32": ("<f", 4), "F64": ("<d", 8), "I64": ("<q", 8), "U64": ("<Q", 8), "U8": ("<B", 1),
           "I32": ("<i", 4), "U32": ("<I", 4), "I16": ("<h", 2), "U16": ("<H", 2), "I8": ("<b", 1),
           "F16": ("<e", 2), "BOOL": ("<?", 1)}


class Invalid(Exception):
    pass


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Invalid("duplicate key in the header")
    return dict(pairs)


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise Invalid("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise Invalid("header length %d beyond the file" % n)
    text = raw[8:8 + n]
    if not text.startswith(b"{"):
        raise Invalid("header does not begin with '{'")
    header = json.loads(text.decode("utf-8"), object_pairs_hook=no_duplicates)
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", {})
    if not all(isinstance(v, str) for v in metadata.values()):
        raise Invalid("metadata values must be strings")
    tensors = {}
    ranges = []
    for name, entry in header.items():
        dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in FORMATS:
            raise Invalid("tensor %r: unknown dtype %r" % (name, dtype))
        fmt, size = FORMATS[dtype]
        count = 1
        for d in shape:
            if not isinstance(d, int) or d < 0:
                raise Invalid("tensor %r: bad shape %r" % (name, shape))
            count *= d
        if not 0 <= begin <= end <= len(data) or end - begin != count * size:
            raise Invalid("tensor %r: data_offsets %r do not fit dtype %s, shape %r" % (name, [begin, end], dtype, shape))
        values = [struct.unpack_from(fmt, data, begin + i * size)[0] for i in range(count)]
        tensors[name] = (dtype, shape, values)
        ranges.append((begin, end, name))
    cursor = 0
    for begin, end, name in sorted(ranges):
        if begin != cursor:
            raise Invalid("tensor %r starts at %d, expected %d (overlap or gap)" % (name, begin, cursor))
        cursor = end
    if cursor != len(data):
        raise Invalid("%d trailing bytes in the data section" % (len(data) - cursor))
    return header, metadata, tensors


def shape_text(shape):
    return "x".join(str(d) for d in shape) if shape else "scalar"


def check(arg, metadata, tensors):
    """Returns None if the check holds, else a message."""
    if arg.startswith("meta:"):
        key, _, want = arg[len("meta:"):].partition("=")
        got = metadata.get(key)
        return None if got == want else "metadata %r is %r, expected %r" % (key, got, want)
    lhs, sep, want = arg.rpartition("=")
    if not sep:
        raise ValueError("check %r has no '='" % arg)
    if lhs.endswith(":dtype") or lhs.endswith(":shape"):
        name, _, what = lhs.rpartition(":")
        if name not in tensors:
            return "no tensor %r" % name
        dtype, shape, _ = tensors[name]
        got = dtype if what == "dtype" else shape_text(shape)
        return None if got == want else "%s of %r is %s, expected %s" % (what, name, got, want)
    if lhs.endswith("]") and "[" in lhs:
        name, _, index = lhs[:-1].rpartition("[")
        if name not in tensors:
            return "no tensor %r" % name
        dtype, _, values = tensors[name]
        i = int(index)
        if not 0 <= i < len(values):
            return "index %d out of range for %r (%d elements)" % (i, name, len(values))
        got = values[i]
        if dtype.startswith("F"):
            expected = float(want)
            ok = abs(got - expected) <= 1e-6 * max(1.0, abs(expected))
        else:
            ok = got == int(want)
        return None if ok else "%s[%d] is %r, expected %s" % (name, i, got, want)
    raise ValueError("cannot understand check %r" % arg)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        header, metadata, tensors = load(argv[1])
    except (Invalid, ValueError, KeyError, TypeError, UnicodeDecodeError, struct.error, OSError) as error:
        print("read_safetensors.py: %s: invalid: %s" % (argv[1], error), file=sys.stderr)
        return 2
    for key, value in sorted(metadata.items()):
        print("meta %s = %s" % (key, value))
    for name, (dtype, shape, values) in tensors.items():
        preview = ", ".join(repr(v) for v in values[:4]) + (", ..." if len(values) > 4 else "")
        print("%s %s %s [%s]" % (name, dtype, shape_text(shape), preview))
    failures = 0
    for arg in argv[2:]:
        try:
            problem = check(arg, metadata, tensors)
        except ValueError as error:
            print("read_safetensors.py: %s" % error, file=sys.stderr)
            return 2
        if problem is not None:
            print("read_safetensors.py: check failed: %s" % problem, file=sys.stderr)
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
