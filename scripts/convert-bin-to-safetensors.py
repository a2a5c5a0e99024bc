#!/usr/bin/env python3
"""Converts a model folder's pytorch_model.bin to model.safetensors, without
running any code from the checkpoint and without torch.

Usage:
    python3 scripts/convert-bin-to-safetensors.py MODEL_DIR [--out FILE] [--force]

    python3 scripts/convert-bin-to-safetensors.py models/some-bert-model

writes MODEL_DIR/model.safetensors (or FILE) holding every tensor of the
checkpoint's state dict, under the same names, in the same dtypes (F64, F32,
F16, BF16, I64, I32, I16, I8, U8, BOOL), each stored contiguously.

A pytorch_model.bin (torch.save since torch 1.6) is a zip archive holding
<name>/data.pkl, a pickle of the state dict, and <name>/data/<key>, the raw
bytes of each storage. Unpickling an untrusted pickle can run arbitrary code,
so data.pkl is read by a restricted unpickler: the only globals it resolves are
torch._utils._rebuild_tensor_v2 / _rebuild_parameter, collections.OrderedDict
and the torch storage types (torch.FloatStorage, torch.HalfStorage, ...), each
mapped to a stand-in defined here; anything else stops the conversion. Storage
records are read from the archive's data/ entries, their sizes checked, and
every tensor's offset, shape and strides checked against its storage.

Needs Python 3 and numpy. The older (pre-1.6) non-zip torch format is not
supported: load and re-save such a file with torch first.
"""
import argparse
import collections
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy as np


class StorageType:
    """Stand-in for a torch storage class such as torch.FloatStorage."""

    def __init__(self, name, st_dtype, np_dtype):
        self.name, self.st_dtype, self.np_dtype = name, st_dtype, np.dtype(np_dtype)

    def __repr__(self):
        return "torch." + self.name


# BF16 has no numpy dtype: its raw 16-bit patterns travel as uint16.
STORAGE_TYPES = {t.name: t for t in (
    StorageType("DoubleStorage", "F64", "<f8"),
    StorageType("FloatStorage", "F32", "<f4"),
    StorageType("HalfStorage", "F16", "<f2"),
    StorageType("BFloat16Storage", "BF16", "<u2"),
    StorageType("LongStorage", "I64", "<i8"),
    StorageType("IntStorage", "I32", "<i4"),
    StorageType("ShortStorage", "I16", "<i2"),
    StorageType("CharStorage", "I8", "i1"),
    StorageType("ByteStorage", "U8", "u1"),
    StorageType("BoolStorage", "BOOL", "?"),
)}


class Storage:
    """A storage read from the archive: a flat numpy array and its dtype."""

    def __init__(self, kind, array):
        self.kind, self.array = kind, array


class Tensor:
    """A tensor stand-in: a contiguous numpy array and its safetensors dtype."""

    def __init__(self, st_dtype, array):
        self.st_dtype, self.array = st_dtype, array


class ConvertError(Exception):
    pass


def _int(v, what):
    if not isinstance(v, int) or isinstance(v, bool):
        raise ConvertError("%s is not an integer: %r" % (what, v))
    return v


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                      backward_hooks=None, metadata=None):
    """Stand-in for torch._utils._rebuild_tensor_v2: a view of storage, copied."""
    if not isinstance(storage, Storage):
        raise ConvertError("tensor storage is not a storage record: %r" % (storage,))
    if not isinstance(size, (tuple, list)) or not isinstance(stride, (tuple, list)) \
            or len(size) != len(stride):
        raise ConvertError("tensor size %r and stride %r do not match" % (size, stride))
    offset = _int(storage_offset, "storage offset")
    size = [_int(s, "size") for s in size]
    stride = [_int(s, "stride") for s in stride]
    if offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise ConvertError("negative offset, size or stride: %r %r %r" % (offset, size, stride))
    flat = storage.array
    numel = 1
    for s in size:
        numel *= s
    if numel == 0:
        arr = np.zeros(size, dtype=flat.dtype)
    else:
        last = offset + sum((n - 1) * st for n, st in zip(size, stride))
        if last >= flat.size:
            raise ConvertError("tensor of size %r, stride %r at offset %d reaches element %d "
                               "of a %d-element storage" % (size, stride, offset, last, flat.size))
        item = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(flat[offset:], shape=size,
                                               strides=[st * item for st in stride],
                                               writeable=False)
        arr = view.copy(order="C")  # (np.ascontiguousarray would turn a scalar 1-d)
    return Tensor(storage.kind.st_dtype, arr)


def rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    """Stand-in for torch._utils._rebuild_parameter: the tensor itself."""
    if not isinstance(data, Tensor):
        raise ConvertError("parameter data is not a tensor")
    return data


ALLOWED = {
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    ("collections", "OrderedDict"): collections.OrderedDict,
}
ALLOWED.update({("torch", name): t for name, t in STORAGE_TYPES.items()})


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals in ALLOWED; storages come from the archive."""

    def __init__(self, file, archive, prefix, byteorder):
        super().__init__(file)
        self.archive, self.prefix, self.byteorder = archive, prefix, byteorder
        self.storages = {}

    def find_class(self, module, name):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                "refusing global %s.%s: not a tensor, storage or OrderedDict" % (module, name))

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage":
            raise pickle.UnpicklingError("unexpected persistent id %r" % (pid,))
        _, kind, key, _location, numel = pid
        if not isinstance(kind, StorageType):
            raise pickle.UnpicklingError("storage of unsupported type %r" % (kind,))
        if not isinstance(key, str) or not key.isalnum():
            raise pickle.UnpicklingError("bad storage key %r" % (key,))
        numel = _int(numel, "storage size")
        if key in self.storages:
            return self.storages[key]
        name = "%sdata/%s" % (self.prefix, key)
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise ConvertError("archive has no %s" % name)
        want = numel * kind.np_dtype.itemsize
        if info.file_size != want:
            raise ConvertError("%s holds %d bytes; %d %s elements need %d"
                               % (name, info.file_size, numel, kind.st_dtype, want))
        raw = self.archive.read(name)
        dtype = kind.np_dtype.newbyteorder("<" if self.byteorder == "little" else ">")
        array = np.frombuffer(raw, dtype=dtype)
        if self.byteorder != "little":
            array = array.astype(kind.np_dtype)  # to little-endian
        storage = Storage(kind, array)
        self.storages[key] = storage
        return storage


def load_state_dict(path):
    if not zipfile.is_zipfile(path):
        raise ConvertError("%s is not a zip archive: the pre-1.6 torch format is not supported "
                           "(load and re-save it with torch)" % path)
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ConvertError("%s: expected one data.pkl in the archive, found %d"
                               % (path, len(pickles)))
        prefix = pickles[0][:-len("data.pkl")]
        byteorder = "little"
        if prefix + "byteorder" in archive.namelist():
            byteorder = archive.read(prefix + "byteorder").decode("ascii", "replace").strip()
            if byteorder not in ("little", "big"):
                raise ConvertError("%s: unknown byte order %r" % (path, byteorder))
        with archive.open(pickles[0]) as f:
            obj = RestrictedUnpickler(f, archive, prefix, byteorder).load()
    # Some checkpoints wrap the weights: {"state_dict": {...}} or {"model": {...}}.
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict) and \
                not any(isinstance(v, Tensor) for v in obj.values()):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise ConvertError("%s does not hold a state dict" % path)
    tensors, skipped = {}, []
    for name, value in obj.items():
        if isinstance(value, Tensor) and isinstance(name, str):
            tensors[name] = value
        else:
            skipped.append(str(name))
    if not tensors:
        raise ConvertError("%s holds no tensors" % path)
    return tensors, skipped


def write_safetensors(path, tensors):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    names = sorted(tensors)
    for name in names:
        t = tensors[name]
        nbytes = t.array.nbytes
        header[name] = {"dtype": t.st_dtype, "shape": list(t.array.shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    part = path + ".part"
    with open(part, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in names:
            f.write(tensors[name].array.tobytes())
    os.replace(part, path)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir", help="folder holding pytorch_model.bin")
    ap.add_argument("--out", help="file to write (default MODEL_DIR/model.safetensors)")
    ap.add_argument("--force", action="store_true", help="overwrite an existing output")
    args = ap.parse_args(argv)
    src = os.path.join(args.model_dir, "pytorch_model.bin")
    out = args.out or os.path.join(args.model_dir, "model.safetensors")
    if not os.path.isfile(src):
        print("convert-bin-to-safetensors: %s not found" % src, file=sys.stderr)
        return 2
    if os.path.exists(out) and not args.force:
        print("convert-bin-to-safetensors: %s exists (use --force to replace it)" % out,
              file=sys.stderr)
        return 2
    try:
        tensors, skipped = load_state_dict(src)
    except (ConvertError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError) as e:
        print("convert-bin-to-safetensors: %s" % e, file=sys.stderr)
        return 2
    write_safetensors(out, tensors)
    if skipped:
        print("convert-bin-to-safetensors: left out %d entries that are not tensors: %s"
              % (len(skipped), ", ".join(skipped[:5])), file=sys.stderr)
    print("convert-bin-to-safetensors: wrote %s (%d tensors)" % (out, len(tensors)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
