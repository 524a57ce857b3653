#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Opens a gantry checkpoint with the Python standard library only (json, struct) and checks it.

No gantry code and no safetensors package: this is what a user of the Python ecosystem sees. Usage:

    read_checkpoint.py CHECKPOINT [EXPECTATIONS.json]

Without expectations, checks the layout and prints a summary. The layout checks: the safetensors framing
(header length, JSON, offsets tiling the data section), metadata format "gantry.checkpoint", every layer of
"generator" and "critic" (and "ema_generator" if present) as [outputs, inputs] weights and [outputs] biases
matching the "sizes" in the metadata, optimizer buffers of the networks' parameter counts (or empty), a
4-word rng state, and every float finite.

EXPECTATIONS is a JSON object with any of
    "metadata": {"key": "value", ...}                      exact string matches
    "values":   [{"tensor", "index": [i, j], "value"}]     exact (row-major index; [] for a scalar tensor)
    "forward":  {"network", "inputs": [[x...]], "outputs": [[y...]]}
                a forward pass through the saved weights, h = act(W h + b), last layer linear; outputs must
                agree to 1e-12 relative (F64) or 1e-5 (F32)

Exit status: 0 valid and every expectation holds, 1 an expectation fails, 2 the file is invalid.
"""

import json
import math
import struct
import sys

FORMATS = {"F32": ("<f", 4), "F64": ("<d", 8), "I64": ("<q", 8), "U64": ("<Q", 8), "U8": ("<B", 1)}


class Invalid(Exception):
    pass


class Mismatch(Exception):
    pass


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise Invalid("shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise Invalid("header length %d beyond the file" % n)
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    spans = []
    for name, entry in header.items():
        dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in FORMATS:
            raise Invalid("tensor %s: dtype %s" % (name, dtype))
        fmt, size = FORMATS[dtype]
        count = 1
        for d in shape:
            count *= d
        if not 0 <= begin <= end <= len(data) or end - begin != count * size:
            raise Invalid("tensor %s: offsets %r do not fit shape %r" % (name, [begin, end], shape))
        values = list(struct.unpack_from("<%d%s" % (count, fmt[1]), data, begin)) if count else []
        if dtype in ("F32", "F64") and not all(math.isfinite(v) for v in values):
            raise Invalid("tensor %s has a non-finite value" % name)
        tensors[name] = (dtype, shape, values)
        spans.append((begin, end))
    cursor = 0
    for begin, end in sorted(spans):
        if begin != cursor:
            raise Invalid("data section has a gap or overlap at byte %d" % cursor)
        cursor = end
    if cursor != len(data):
        raise Invalid("data section has %d trailing bytes" % (len(data) - cursor))
    return metadata, tensors


def check_layout(metadata, tensors):
    if metadata.get("format") != "gantry.checkpoint":
        raise Invalid("metadata format is %r" % metadata.get("format"))
    scalar = metadata["scalar"]
    counts = {}
    for network, description in (("generator", "generator"), ("critic", "critic"), ("ema_generator", "generator")):
        if network == "ema_generator" and not any(k.startswith("ema_generator.") for k in tensors):
            continue
        spec = json.loads(metadata[description])
        sizes = spec["sizes"]
        count = 0
        for layer in range(len(sizes) - 1):
            inputs, outputs = sizes[layer], sizes[layer + 1]
            weight = tensors["%s.layers.%d.weight" % (network, layer)]
            if weight[0] != scalar or weight[1] != [outputs, inputs]:
                raise Invalid("%s layer %d weight is %s %r, expected %s %r"
                              % (network, layer, weight[0], weight[1], scalar, [outputs, inputs]))
            count += outputs * inputs
            if spec["bias"]:
                bias = tensors["%s.layers.%d.bias" % (network, layer)]
                if bias[1] != [outputs]:
                    raise Invalid("%s layer %d bias has shape %r" % (network, layer, bias[1]))
                count += outputs
        counts[network] = count
    for optimizer, network in (("critic_optimizer", "critic"), ("generator_optimizer", "generator")):
        spec = json.loads(metadata[optimizer])
        parameter_count = tensors[optimizer + ".parameter_count"][2][0]
        if parameter_count not in (0, counts[network]):
            raise Invalid("%s has %d parameters, the %s %d" % (optimizer, parameter_count, network, counts[network]))
        for name, (dtype, shape, _) in tensors.items():
            if name.startswith(optimizer + ".") and dtype == scalar and shape not in ([parameter_count], [0]):
                raise Invalid("%s has shape %r" % (name, shape))
        print("%s: %s, step %d, learning rate %g" % (optimizer, spec["type"], tensors[optimizer + ".step_count"][2][0],
                                                    spec["learning_rate"]))
    if tensors["rng.state"][:2] != ("U64", [4]):
        raise Invalid("rng.state must be U64 [4]")
    print("policy %s at iteration %s; %s" % (metadata["policy"], metadata["iteration"],
                                              ", ".join("%s %d parameters" % kv for kv in counts.items())))


def element(tensors, name, index):
    _, shape, values = tensors[name]
    if len(index) != len(shape) or any(not 0 <= i < d for i, d in zip(index, shape)):
        raise Mismatch("%s: index %r outside shape %r" % (name, index, shape))
    flat = 0
    for i, d in zip(index, shape):
        flat = flat * d + i
    return values[flat]


def forward(tensors, metadata, network, x):
    spec = json.loads(metadata["generator" if network == "ema_generator" else network])
    activation = spec["activation"]
    h = list(x)
    layers = len(spec["sizes"]) - 1
    for layer in range(layers):
        _, (outputs, inputs), w = tensors["%s.layers.%d.weight" % (network, layer)]
        b = tensors["%s.layers.%d.bias" % (network, layer)][2] if spec["bias"] else [0.0] * outputs
        a = [sum(w[i * inputs + j] * h[j] for j in range(inputs)) + b[i] for i in range(outputs)]
        if layer + 1 < layers:
            if activation == "relu":
                a = [max(v, 0.0) for v in a]
            elif activation == "tanh":
                a = [math.tanh(v) for v in a]
            elif activation != "identity":
                raise Mismatch("the forward check does not know activation %r" % activation)
        h = a
    return h


def check_expectations(metadata, tensors, expectations):
    failures = []
    for key, value in expectations.get("metadata", {}).items():
        if metadata.get(key) != value:
            failures.append("metadata %s is %r, expected %r" % (key, metadata.get(key), value))
    for check in expectations.get("values", []):
        got = element(tensors, check["tensor"], check["index"])
        if got != check["value"]:
            failures.append("%s%r is %r, expected %r" % (check["tensor"], check["index"], got, check["value"]))
    if "forward" in expectations:
        spec = expectations["forward"]
        tolerance = 1e-12 if metadata["scalar"] == "F64" else 1e-5
        for x, expected in zip(spec["inputs"], spec["outputs"]):
            got = forward(tensors, metadata, spec["network"], x)
            for g, e in zip(got, expected):
                if abs(g - e) > tolerance * max(1.0, abs(e)):
                    failures.append("forward %s(%r) = %r, expected %r" % (spec["network"], x, got, expected))
    for failure in failures:
        print("FAIL:", failure, file=sys.stderr)
    return not failures


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        metadata, tensors = load(argv[1])
        check_layout(metadata, tensors)
    except (Invalid, KeyError, ValueError, TypeError, IndexError, struct.error) as error:
        print("invalid checkpoint %s: %s: %s" % (argv[1], type(error).__name__, error), file=sys.stderr)
        return 2
    if len(argv) == 3:
        with open(argv[2]) as f:
            expectations = json.load(f)
        try:
            return 0 if check_expectations(metadata, tensors, expectations) else 1
        except (Mismatch, KeyError) as error:
            print("FAIL:", error, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
