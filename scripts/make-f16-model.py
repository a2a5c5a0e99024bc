#!/usr/bin/env python3
"""Writes a half-precision copy of a sentence-transformers model folder.

Usage:
    python3 scripts/make-f16-model.py SRC_DIR DST_DIR [--dtype f16|bf16] [--force]

    python3 scripts/make-f16-model.py models/all-MiniLM-L6-v2 models/all-MiniLM-L6-v2-f16

Every file and folder of SRC_DIR (configs, vocab.txt, 1_Pooling/, ...) is
copied into DST_DIR except weight files. model.safetensors is rewritten: its
floating-point tensors (F64, F32, F16, BF16) are stored as F16 (or BF16 with
--dtype bf16), rounded to nearest, ties to even, values beyond the F16 range
becoming +-inf; integer and boolean tensors (e.g. embeddings.position_ids) are
copied unchanged. Other weight formats (pytorch_model.bin, *.h5, *.onnx, ...)
are left out, so the copy holds one set of weights. The source's SHA-256
record (model.safetensors.sha256) describes the source's weights, so it is not
copied: the copy gets a record of its own new weights instead.

The safetensors format is read and written here by hand: an 8-byte
little-endian header length, a JSON header, then the data. The input header is
checked (offsets inside the file, sizes matching shapes) before use.

Needs only the Python standard library; numpy, when it can be imported, is
used for speed, and is required for --dtype bf16. DST_DIR must not exist
unless --force is given.
"""
import argparse
import hashlib
import json
import os
import shutil
import struct
import sys

try:
    import numpy as np
except ImportError:  # the standard-library path below does the same work
    np = None

ITEM_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
             "I8": 1, "U8": 1, "BOOL": 1}
FLOATING = {"F64", "F32", "F16", "BF16"}
MAX_HEADER = 100 * 1000 * 1000
CHUNK = 1 << 20  # elements converted at a time (bounds memory on the stdlib path)
SKIP_NAMES = {"model.safetensors", "pytorch_model.bin", "tf_model.h5", "flax_model.msgpack",
              "rust_model.ot", "onnx", "openvino", ".git", "__pycache__"}
SKIP_SUFFIXES = (".sha256", ".safetensors", ".bin", ".h5", ".msgpack", ".ot", ".onnx", ".pt", ".pth")


class FormatError(Exception):
    pass


def read_header(path):
    """Returns (entries in data order, metadata, data section start, file size)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if size < 8:
            raise FormatError("%s: %d bytes is too short for safetensors" % (path, size))
        (n,) = struct.unpack("<Q", f.read(8))
        if n == 0 or n > MAX_HEADER or n > size - 8:
            raise FormatError("%s: header length %d does not fit the %d-byte file" % (path, n, size))
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise FormatError("%s: header is not JSON: %s" % (path, e))
    if not isinstance(header, dict):
        raise FormatError("%s: header is not a JSON object" % path)
    data_len = size - 8 - n
    meta = header.pop("__metadata__", None)
    entries = []
    for name, e in header.items():
        where = "%s: tensor %r" % (path, name)
        if not isinstance(e, dict):
            raise FormatError(where + ": entry is not an object")
        dtype, shape, offs = e.get("dtype"), e.get("shape"), e.get("data_offsets")
        if dtype not in ITEM_SIZE:
            raise FormatError(where + ": unknown dtype %r" % (dtype,))
        if (not isinstance(shape, list)
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
            raise FormatError(where + ": shape is not a list of non-negative integers")
        if (not isinstance(offs, list) or len(offs) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offs)):
            raise FormatError(where + ": data_offsets is not two integers")
        begin, end = offs
        numel = 1
        for d in shape:
            numel *= d
        if not 0 <= begin <= end <= data_len:
            raise FormatError(where + ": data_offsets %r outside the %d-byte data section" % (offs, data_len))
        if end - begin != numel * ITEM_SIZE[dtype]:
            raise FormatError(where + ": %d bytes do not hold shape %r of %s" % (end - begin, shape, dtype))
        entries.append((name, dtype, shape, begin, end, numel))
    entries.sort(key=lambda t: (t[3], t[4]))
    last_end = 0
    for name, _, _, begin, end, _ in entries:
        if begin < end:
            if begin < last_end:
                raise FormatError("%s: tensor %r overlaps the one before it" % (path, name))
            last_end = end
    return entries, meta, 8 + n, size


# ---- conversions: raw little-endian bytes in, raw little-endian bytes out ----

def to_f32_numpy(raw, dtype):
    if dtype == "BF16":
        return (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
    return np.frombuffer(raw, {"F64": "<f8", "F32": "<f4", "F16": "<f2"}[dtype]).astype(np.float32)


def convert_numpy(raw, src, dst):
    if src == dst:
        return bytes(raw)
    if dst == "F16" and src == "F64":
        x = np.frombuffer(raw, "<f8")  # one rounding, straight to half
    else:
        x = to_f32_numpy(raw, src)
    if dst == "F16":
        with np.errstate(over="ignore"):  # beyond +-65504: inf, as IEEE rounding says
            return x.astype("<f2").tobytes()
    # BF16: the top 16 bits of the float32, rounded to nearest even; NaNs kept quiet.
    u = x.astype("<f4").view(np.uint32)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    rounded[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return rounded.astype("<u2").tobytes()


def pack_f16_stdlib(values):
    # struct's "e" rounds to nearest even (subnormals included) but raises
    # OverflowError beyond the F16 range; those values become +-inf.
    try:
        return struct.pack("<%de" % len(values), *values)
    except OverflowError:
        out = bytearray()
        for v in values:
            try:
                out += struct.pack("<e", v)
            except OverflowError:
                out += struct.pack("<e", float("inf") if v > 0 else float("-inf"))
        return bytes(out)


def convert_stdlib(raw, src, dst):
    if src == dst:
        return bytes(raw)
    if dst != "F16":
        raise SystemExit("make-f16-model: --dtype bf16 needs numpy")
    if src == "BF16":  # widen to float32 bytes: two zero bytes below each value
        wide = bytearray(len(raw) * 2)
        wide[2::4] = raw[0::2]
        wide[3::4] = raw[1::2]
        raw, src = bytes(wide), "F32"
    fmt = {"F64": "d", "F32": "f", "F16": "e"}[src]
    n = len(raw) // ITEM_SIZE[src]
    return pack_f16_stdlib(struct.unpack("<%d%s" % (n, fmt), raw))


def convert(raw, src, dst):
    return convert_numpy(raw, src, dst) if np is not None else convert_stdlib(raw, src, dst)


def write_weights(src_path, dst_path, dst_dtype):
    entries, meta, data_start, _ = read_header(src_path)
    header, offset = {}, 0
    if isinstance(meta, dict):
        header["__metadata__"] = {str(k): str(v) for k, v in meta.items()}
    plan = []
    for name, dtype, shape, begin, end, numel in entries:
        out_dtype = dst_dtype if dtype in FLOATING else dtype
        nbytes = numel * ITEM_SIZE[out_dtype]
        header[name] = {"dtype": out_dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        plan.append((dtype, out_dtype, begin, end, numel))
        offset += nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned
    part = dst_path + ".part"
    with open(src_path, "rb") as fin, open(part, "wb") as fout:
        fout.write(struct.pack("<Q", len(text)))
        fout.write(text)
        for dtype, out_dtype, begin, end, numel in plan:
            isz = ITEM_SIZE[dtype]
            fin.seek(data_start + begin)
            for start in range(0, numel, CHUNK):
                count = min(CHUNK, numel - start)
                raw = fin.read(count * isz)
                if len(raw) != count * isz:
                    raise FormatError("%s: file ends inside a tensor" % src_path)
                fout.write(raw if dtype == out_dtype else convert(raw, dtype, out_dtype))
    os.replace(part, dst_path)
    return os.path.getsize(dst_path)


def write_record(weights):
    """Writes WEIGHTS.sha256 in sha256sum's format (through a temporary file)."""
    digest = hashlib.sha256()
    with open(weights, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    record = weights + ".sha256"
    with open(record + ".part", "w") as f:
        f.write("%s  %s\n" % (digest.hexdigest(), os.path.basename(weights)))
    os.replace(record + ".part", record)


def ignore(folder, names):
    return [n for n in names if n in SKIP_NAMES or n.endswith(SKIP_SUFFIXES)]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", help="model folder with model.safetensors")
    ap.add_argument("dst", help="folder to write (must not exist unless --force)")
    ap.add_argument("--dtype", choices=("f16", "bf16"), default="f16")
    ap.add_argument("--force", action="store_true", help="write into an existing folder")
    args = ap.parse_args(argv)

    src_weights = os.path.join(args.src, "model.safetensors")
    if not os.path.isfile(src_weights):
        print("make-f16-model: %s not found" % src_weights, file=sys.stderr)
        return 2
    if os.path.abspath(args.src) == os.path.abspath(args.dst):
        print("make-f16-model: source and destination are the same folder", file=sys.stderr)
        return 2
    if os.path.exists(args.dst) and not args.force:
        print("make-f16-model: %s exists (use --force to write into it)" % args.dst, file=sys.stderr)
        return 2
    shutil.copytree(args.src, args.dst, ignore=ignore, dirs_exist_ok=True)
    try:
        size = write_weights(src_weights, os.path.join(args.dst, "model.safetensors"),
                             args.dtype.upper())
    except FormatError as e:
        print("make-f16-model: %s" % e, file=sys.stderr)
        return 2
    write_record(os.path.join(args.dst, "model.safetensors"))
    print("make-f16-model: wrote %s (%d bytes of %s weights, %s)"
          % (args.dst, size, args.dtype.upper(), "numpy" if np is not None else "standard library"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
