"""The policy: what each thing a loader would do with a stream means for the user.

By capability, not by name prefix. A known framework is not a pass: only the classes and
functions on the explicit data-construction allowlist below are `data`. Everything else
the stream *calls* is at least `needs-code` (importing it runs code we do not vouch for),
and `dangerous` when it reaches processes, files, the network, code objects, evaluation or
the import machinery: the standard library outside its data types, the modules and names
every scanner lists, and the callables `tools/gen_capabilities.py` found by reading the
libraries' own source (`capabilities_data.py`). A name that is only *referenced* (stored,
never called) is judged as a reference: dangerous only when it is such a sink.
"""

from __future__ import annotations

import re

from .capabilities_data import ALIASES, ENUMS, SINKS
from .globals_policy import (
    DANGEROUS_FRAMEWORK_PREFIXES,
    DANGEROUS_MODULES,
    DANGEROUS_NAMES,
    FRAMEWORKS,
    STDLIB,
    STDLIB_DATA,
    TORCH_CONSTANTS,
    TORCH_SAFE_FUNCS,
    TORCHSCRIPT_PICKLE_FUNCS,
    _is_dtype,
)

# ---- the data-construction allowlist (exact dotted names) ------------------------------------

_TORCH = (
    {f"{m}.{n}" for m, n in TORCH_SAFE_FUNCS}
    | {f"torch.jit._pickle.{n}" for n in TORCHSCRIPT_PICKLE_FUNCS}
    | {
        "torch.storage._load_from_bytes",  # its bytes are a nested torch.load, scanned in turn
        "torch.storage.UntypedStorage",
        "torch.storage.TypedStorage",
        "torch.UntypedStorage",
        "torch.torch_version.TorchVersion",
        "torch._tensor.Tensor",
        "torch.nn.parameter.Parameter",
        "torch.nn.parameter.Buffer",
        "torch.nn.parameter.UninitializedParameter",
        "torch.nn.parameter.UninitializedBuffer",
        "torch._utils._rebuild_from_type_v2",
        "torch.ao.quantization.qconfig.QConfig",
        "torch.amp.grad_scaler.GradScaler",
        "torch.cuda.amp.grad_scaler.GradScaler",
        "torch.optim.optimizer._RequiredParameter",
        "torch.utils.data.dataset.TensorDataset",
        "torch.nn.utils.parametrize.ParametrizationList",
    }
    | {
        f"torch.distributed.checkpoint.metadata.{n}"
        for n in (
            "Metadata",
            "TensorStorageMetadata",
            "TensorProperties",
            "_MEM_FORMAT_ENCODING",
            "ChunkStorageMetadata",
            "BytesStorageMetadata",
            "MetadataIndex",
            "StorageMeta",
        )
    }
    | {
        "torch.distributed.checkpoint.filesystem._StorageInfo",
        "torch.distributed.checkpoint._extension.StreamTransformExtension",
    }
)
_NUMPY = {
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer",
    "numpy.random._pickle.__randomstate_ctor",
    "numpy.random._pickle.__generator_ctor",
    "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
    "numpy.random.bit_generator.SeedSequence",
    "numpy.random._pcg64.PCG64",
    "numpy.random._pcg64.PCG64DXSM",
    "numpy.random._mt19937.MT19937",
    "numpy.random._philox.Philox",
    "numpy.random._sfc64.SFC64",
    "numpy.random.mtrand.RandomState",
    "numpy.random._generator.Generator",
    "numpy.rec.recarray",
    "numpy.recarray",
    "numpy.record",
    "numpy.rec.record",
    "numpy._core.records.recarray",
    "numpy._core.records.record",
    "numpy.core.records.recarray",
    "numpy.ma.core._mareconstruct",
    "numpy.ma.core.MaskedArray",
    "numpy.ma.core.mvoid",
    "numpy.matrix",
    "numpy.matrixlib.defmatrix.matrix",
    "numpy.dtypes.Float64DType",
}
_NUMPY_SCALARS = {
    "bool_",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "longdouble",
    "complex64",
    "complex128",
    "str_",
    "bytes_",
    "void",
    "datetime64",
    "timedelta64",
    "intc",
    "uintc",
    "longlong",
    "ulonglong",
    "half",
    "single",
    "double",
}
_STDLIB = {f"{m}.{n}" for m, n in STDLIB_DATA} | {
    "builtins.set",
    "builtins.frozenset",
    "builtins.list",
    "builtins.tuple",
    "builtins.dict",
    "builtins.bytes",
    "builtins.bytearray",
    "builtins.complex",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.str",
    "builtins.slice",
    "builtins.range",
    "builtins.type",
    "builtins.property",
    "builtins.staticmethod",
    "builtins.classmethod",
    "_codecs.encode",
    "copyreg._reconstructor",
    "collections.OrderedDict",
    "collections.Counter",
    "collections.ChainMap",
    "functools.partial",
    "zoneinfo.ZoneInfo._unpickle",
    "zoneinfo._zoneinfo.ZoneInfo",
    "zoneinfo._zoneinfo.ZoneInfo._unpickle",
    "time.struct_time",
    "random.Random",
    "inspect.Signature",
    "inspect.Parameter",
    "inspect._ParameterKind",
    "inspect._empty",
    "inspect._void",
    "datetime.tzinfo",
    "calendar.Calendar",
    "string.Template",
    "numbers.Number",
    "enum.IntEnum",
    "enum.Flag",
    "enum.IntFlag",
    "enum.StrEnum",
    "dataclasses._DataclassParams",
    "dataclasses.Field",
    "dataclasses._MISSING_TYPE",
    "dataclasses._FIELD_BASE",
    "typing.TypeVar",
    "typing.ParamSpec",
    "typing.ForwardRef",
    "typing._GenericAlias",
    "typing._SpecialForm",
    "types.GenericAlias",
    "types.UnionType",
    "types.MappingProxyType",
    "collections.abc.Callable",
    "_collections_abc.Callable",
    "builtins.Exception",
    "builtins.ValueError",
    "builtins.KeyError",
    "builtins.TypeError",
    "builtins.RuntimeError",
    "builtins.memoryview",
    "pathlib._local.PosixPath",
    "pathlib._local.Path",
    "pathlib._local.WindowsPath",
    "pathlib._local.PurePosixPath",
    "pathlib._local.PureWindowsPath",
    "_io.BytesIO",
    "io.BytesIO",  # an in-memory buffer
}
# Methods of built-in values that only compute on the value (no attribute lookups by
# name, no formatting of arbitrary objects): what getattr('abc', 'upper') resolves to.
_VALUE_METHODS = {
    "upper",
    "lower",
    "strip",
    "lstrip",
    "rstrip",
    "split",
    "rsplit",
    "join",
    "replace",
    "encode",
    "decode",
    "startswith",
    "endswith",
    "title",
    "capitalize",
    "casefold",
    "count",
    "find",
    "rfind",
    "index",
    "rindex",
    "zfill",
    "ljust",
    "rjust",
    "center",
    "splitlines",
    "partition",
    "rpartition",
    "swapcase",
    "expandtabs",
    "isdigit",
    "isalpha",
    "hex",
    "fromhex",
    "to_bytes",
    "from_bytes",
    "bit_length",
    "conjugate",
    "real",
    "imag",
    "copy",
    "keys",
    "values",
    "items",
    "get",
    "fromkeys",
    "union",
    "intersection",
    "difference",
    "__getitem__",
    "__add__",
    "__mul__",
    "__len__",
    "__contains__",
    "__eq__",
}
_THIRD_PARTY = {  # common data classes of training libraries (state holders, enums, configs)
    "pytorch_lightning.utilities.parsing.AttributeDict",
    "lightning.pytorch.utilities.parsing.AttributeDict",
    "lightning_fabric.utilities.data.AttributeDict",
    "lightning.fabric.utilities.data.AttributeDict",
    "transformers.training_args.TrainingArguments",
    "transformers.trainer_utils.IntervalStrategy",
    "transformers.trainer_utils.SchedulerType",
    "transformers.trainer_utils.HubStrategy",
    "transformers.trainer_utils.SaveStrategy",
    "transformers.training_args.OptimizerNames",
    "transformers.debug_utils.DebugOption",
    "transformers.trainer_utils.FSDPOption",
    "accelerate.utils.dataclasses.DistributedType",
    "accelerate.state.PartialState",
    "omegaconf.dictconfig.DictConfig",
    "omegaconf.listconfig.ListConfig",
    "omegaconf.base.ContainerMetadata",
    "omegaconf.base.Metadata",
    "omegaconf.nodes.AnyNode",
    "omegaconf.nodes.StringNode",
    "omegaconf.nodes.IntegerNode",
    "omegaconf.nodes.FloatNode",
    "omegaconf.nodes.BooleanNode",
    "pandas._libs.internals._unpickle_block",
    "pandas.core.indexes.base._new_Index",
    "pandas.core.frame.DataFrame",
    "pandas.core.series.Series",
    "pandas.core.indexes.base.Index",
    "pandas.core.indexes.range.RangeIndex",
    "pandas.core.internals.managers.BlockManager",
    "pandas.core.internals.managers.SingleBlockManager",
    "pandas._libs.internals.BlockPlacement",
    "pandas.core.indexes.datetimes.DatetimeIndex",
    "pandas._libs.tslibs.timestamps._unpickle_timestamp",
    "pandas._libs.tslibs.timedeltas._timedelta_unpickle",
    "pandas.core.indexes.multi.MultiIndex",
    "pandas.core.arrays.categorical.Categorical",
    "pandas.core.dtypes.dtypes.CategoricalDtype",
    "pandas.core.indexes.category.CategoricalIndex",
    "pandas._libs.tslibs.nattype.__nat_unpickle",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._label.LabelEncoder",
    "tokenizers.AddedToken",
    "peft.utils.peft_types.PeftType",
    "peft.utils.peft_types.TaskType",
    # pandas 2 names its public classes `pandas.X`; pyarrow-backed strings unpickle through these
    "pandas.DataFrame",
    "pandas.Series",
    "pandas.Index",
    "pandas.RangeIndex",
    "pandas.MultiIndex",
    "pandas.DatetimeIndex",
    "pandas.TimedeltaIndex",
    "pandas.CategoricalIndex",
    "pandas.Categorical",
    "pandas.CategoricalDtype",
    "pandas.StringDtype",
    "pandas.Timestamp",
    "pandas.Timedelta",
    "pandas.Period",
    "pandas.Interval",
    "pandas.arrays.ArrowStringArray",
    "pandas.arrays.StringArray",
    "pandas._libs.arrays.__pyx_unpickle_NDArrayBacked",
    "pyarrow.lib.type_for_alias",
    "pyarrow.lib.py_buffer",
    "pyarrow.lib._restore_array",
    "numpy.ma.MaskedArray",
}
ALLOWED = _TORCH | _NUMPY | _STDLIB | _THIRD_PARTY | {f"numpy.{n}" for n in _NUMPY_SCALARS}

# torch functions that act on files (C functions the source walk cannot see).
_TORCH_FILE_OPS = {
    "from_file",
    "load",
    "save",
    "_load_global_deps",
    "_C._load_for_lite_interpreter",
    "_jit_pass",
    "compile",
    "_dynamo",
    "hub",
}
# Always dangerous, called or referenced: they run code or reach the outside world.
_SINK_NAMES = {
    "builtins.eval",
    "builtins.exec",
    "builtins.compile",
    "builtins.open",
    "builtins.__import__",
    "builtins.breakpoint",
    "builtins.input",
    "builtins.exit",
    "builtins.quit",
    "builtins.help",
    "builtins.globals",
    "builtins.locals",
    "builtins.vars",
    "builtins.setattr",
    "builtins.delattr",
    "types.CodeType",
    "types.FunctionType",
    "types.MethodType",
    "types.ModuleType",
    "torch.from_file",
    "torch._C._VariableFunctionsClass.from_file",
    "torch.UntypedStorage.from_file",
    "torch.storage.UntypedStorage.from_file",
    "torch.storage.TypedStorage.from_file",
    "torch.FloatStorage.from_file",
    "numpy.core.memmap",
    "numpy.memmap",
    "numpy.fromfile",
    "numpy.load",
    "numpy.save",
    "numpy.savez",
    "numpy.savetxt",
    "numpy.tofile",
}
_SINK_MODULES = {
    "os",
    "posix",
    "nt",
    "subprocess",
    "_posixsubprocess",
    "pty",
    "socket",
    "_socket",
    "ctypes",
    "_ctypes",
    "marshal",
    "pickle",
    "_pickle",
    "shutil",
    "runpy",
    "importlib",
    "code",
    "codeop",
    "webbrowser",
    "urllib",
    "http",
    "ftplib",
    "smtplib",
    "telnetlib",
    "multiprocessing",
    "asyncio",
    "sys",
    "pdb",
    "bdb",
    "timeit",
    "cProfile",
    "profile",
    "dill",
    "cloudpickle",
    "joblib",
    "tempfile",
    "mmap",
    "signal",
    "_thread",
    "threading",
    "requests",
    "paramiko",
    "pexpect",
    "sh",
    "plumbum",
    "fabric",
    "invoke",
}
_CAP = re.compile(r"^_*[A-Z]")
# Names of callables that act on the outside world, in any library the source walk did not
# cover: calling one that is not on the allowlist is judged dangerous, not merely unknown.
_ACTING_FUNCTION = re.compile(
    r"^_*(write|save|dump|to_|export|remove|delete|unlink|rmtree|rmdir|mkdir|makedirs|touch|"
    r"open|urlopen|request|fetch|download|upload|exec|eval|run|spawn|system|popen|call|compile|"
    r"render|import|load|read|from_file|fromfile|tofile|savefig|imsave|imwrite|copy|move|rename|"
    r"chmod|chown|connect|send|listen|bind|start|launch|invoke|submit|apply|execute|shell|"
    r"install|register|setattr|getattr|resolve|locate|lookup_module|find_module)",
    re.IGNORECASE,
)
# Libraries whose every callable talks to services, processes or the network.
_SERVICE_ROOTS = {
    "docker",
    "git",
    "mlflow",
    "werkzeug",
    "flask",
    "flask_cors",
    "gunicorn",
    "uvicorn",
    "fastapi",
    "starlette",
    "aiohttp",
    "anyio",
    "huey",
    "sqlalchemy",
    "alembic",
    "databricks",
    "google",
    "opentelemetry",
    "urllib3",
    "requests",
    "httpx",
    "paramiko",
    "fabric",
    "pexpect",
    "IPython",
    "jupyter_client",
    "notebook",
    "tornado",
    "zmq",
    "celery",
    "kombu",
    "boto3",
    "botocore",
    "s3fs",
    "gcsfs",
    "smart_open",
    "wandb",
    "comet_ml",
    "neptune",
    "clearml",
    "tensorboard",
    "tensorboardX",
    "ray",
    "dask",
    "distributed",
    "pyspark",
    "sh",
    "plumbum",
    "invoke",
    "pip",
    "setuptools",
    "pkg_resources",
    "_distutils_hack",
    "virtualenv",
    "gitdb",
    "smmap",
    "graphene",
    "mako",
    "jinja2",
    "markupsafe",
    "dotenv",
    "click",
    "cffi",
    "pycparser",
    "importlib_metadata",
    "grimp",
    "importlinter",
    "pytest",
    "_pytest",
    "pytestqt",
    "pluggy",
    "ruff",
    "h11",
    "yarl",
    "multidict",
    "frozenlist",
    "aiosignal",
    "aiohappyeyeballs",
    "certifi",
    "idna",
    "cryptography",
}
_ACTING_CLASS = re.compile(
    r"(Subprocess|Popen)|(Process|Thread|Timer|Shell|Socket|Server|Client|Session|Writer|Handler|Executor|"
    r"Pool|Spawn|Launcher|Runner|Subprocess|Connection|Request|Opener|Loader|Importer|"
    r"Interpreter|Console|Compiler|Template|Environment)$"
)

DATA, REFERENCE, NEEDS_CODE, DANGEROUS = "data", "reference", "needs-code", "dangerous"


def canonical(path: str) -> str:
    """The name as the libraries define it: re-exports and numpy 1.x/2.x shims resolved."""
    for _ in range(8):
        if path.startswith("numpy.core.") and not path.startswith("numpy.core.multiarray."):
            path = "numpy._core." + path[len("numpy.core.") :]
        if path in ALIASES:
            path = ALIASES[path]
            continue
        head, _, rest = path.rpartition(".")
        while head and head not in ALIASES:
            head, _, more = head.rpartition(".")
            rest = f"{more}.{rest}"
        if head:
            path = f"{ALIASES[head]}.{rest}"
            continue
        break
    return path


def allowed(path: str) -> bool:
    if path in ALLOWED:
        return True
    module, _, name = path.rpartition(".")
    if module in ("torch", "torch.cuda") and (name.endswith("Storage") or name in TORCH_CONSTANTS):
        return not name.startswith("_")
    if module == "torch" and _is_dtype(name):
        return True
    if module == "torch.return_types" and name.isidentifier():
        return True
    if module in (
        "builtins.str",
        "builtins.bytes",
        "builtins.bytearray",
        "builtins.int",
        "builtins.float",
        "builtins.complex",
        "builtins.tuple",
        "builtins.list",
        "builtins.dict",
        "builtins.set",
        "builtins.frozenset",
    ):
        return name in _VALUE_METHODS
    if path in ENUMS:  # Enum(value) looks a member up
        return True
    if (
        module == "torch._C._VariableFunctionsClass"
        or module == "torch._C._nn"
        or module == "torch._C._linalg"
        or module == "torch._C._fft"
        or module == "torch._C._special"
    ):
        return name not in _TORCH_FILE_OPS and not name.startswith("_")  # tensor math
    if name == "__getitem__":  # typing hints: List[int], Optional[str], dict[str, int]
        owner = module
        return (
            owner.startswith(("typing.", "collections.abc.", "_collections_abc."))
            and _CAP.match(owner.rpartition(".")[2]) is not None
            or owner
            in (
                "builtins.list",
                "builtins.dict",
                "builtins.tuple",
                "builtins.set",
                "builtins.frozenset",
                "builtins.type",
            )
        )
    if module == "typing" and _CAP.match(name):
        return True
    return _torch_data_class(path)


def _torch_data_class(path: str) -> bool:
    """Layers, containers, activations, losses, optimizers and schedulers: unpickled by
    `__new__` + `__setstate__`, which only restore attributes (the generated sink list
    removes any whose constructor or __setstate__ reaches further)."""
    if path in SINKS:
        return False
    module, _, name = path.rpartition(".")
    if not _CAP.match(name) or "." in name:
        return False
    return module.startswith(
        (
            "torch.nn.modules.",
            "torch.optim.",
            "torch.nn.utils.parametrizations",
            "torch.ao.nn.",
            "torch.nn.quantized.",
            "torch.distributions.",
        )
    )


# Modules whose *import* acts (find_class imports the module before looking the name up).
_ACTING_IMPORTS = {
    "antigravity",
    "this",
    "__hello__",
    "__phello__",
    "idlelib.idle",
    "idlelib.pyshell",
    "turtledemo",
    "tkinter.__main__",
}
_ACTING_ROOTS = {m.split(".")[0] for m in _ACTING_IMPORTS}


def sink_reason(path: str) -> str | None:
    """Why calling (or holding) this name reaches processes, files, network, code or imports."""
    parts = path.split(".")
    if "__main__" in parts[1:]:
        return "importing a package's __main__ module runs its program"
    if parts[0] in _ACTING_ROOTS and any(
        ".".join(parts[:i]) in _ACTING_IMPORTS for i in range(1, len(parts) + 1)
    ):
        return "importing this module acts (opens a browser, starts a program or prints)"
    if path in _SINK_NAMES:
        return "runs code, or reaches files, processes or the network"
    if path in SINKS:
        return SINKS[path]
    root = path.split(".", 1)[0]
    if root in _SINK_MODULES:
        return f"module {root} reaches processes, files, the network or code"
    name = path.rsplit(".", 1)[-1]
    if name in (
        "system",
        "popen",
        "exec",
        "eval",
        "__import__",
        "execfile",
        "spawn",
        "Popen",
        "check_output",
        "check_call",
        "getoutput",
        "from_file",
        "tofile",
        "savetxt",
        "urlopen",
        "import_module",
        "run_path",
        "run_module",
        "sympify",
        "parse_expr",
    ):
        return f"'{name}' runs code, processes or writes files"
    return None


def judge(kind: str, raw: str) -> tuple[str, str]:
    """(category, reason) for one thing the loader would do to `raw` (a dotted name).
    `kind`: 'call', 'new', 'build' (instances) or 'reference' (named, never called)."""
    path = canonical(raw)
    shown = path if path == raw else f"{raw} (= {path})"
    if raw.startswith("<") or path.startswith("<"):
        return DANGEROUS, "a global computed at load time"
    if raw.startswith("__torch__."):  # TorchScript classes: compiled from the archive's code/
        return DATA, "a TorchScript class of the archive (its code/ is judged as code)"
    why = sink_reason(path) or (sink_reason(raw) if raw != path else None)
    if allowed(path) or allowed(raw):
        return DATA, "data-construction allowlist"
    if kind == "reference":
        if why and "(through " not in why:  # a direct sink, not one three calls away
            return DANGEROUS, f"{shown}: {why} (stored in the file)"
        if _user_module(path):
            return NEEDS_CODE, "loading imports this module (its code runs)"
        return REFERENCE, "named, never called while loading"
    if allowed(path) or allowed(raw):
        return DATA, "data-construction allowlist"
    if why:
        return DANGEROUS, f"{shown}: {why}"
    module, _, name = path.rpartition(".")
    root = path.split(".", 1)[0]
    full_ok = f"{module}.{name}"
    if any(full_ok == p or full_ok.startswith(p + ".") for p in DANGEROUS_FRAMEWORK_PREFIXES):
        return DANGEROUS, f"{module} can compile, load or run code"
    if name in DANGEROUS_NAMES and f"{module}.{name}" not in ALLOWED:
        return DANGEROUS, f"'{name}' can run code or resolve names"
    if root in DANGEROUS_MODULES:
        return DANGEROUS, f"module {root} gives access to code, processes, files or network"
    if root in STDLIB:
        return DANGEROUS, f"standard-library {path} is not a data type"
    if root in ("sympy", "mpmath") and kind == "call":
        return DANGEROUS, f"{root} constructors sympify their arguments (strings are evaluated as code)"
    if not _CAP.match(name) and _ACTING_FUNCTION.match(name):
        return DANGEROUS, f"'{name}' of {module} acts on files, processes, the network or code"
    if kind == "call" and root in _SERVICE_ROOTS:
        return DANGEROUS, f"{root} talks to services, processes or the network"
    if kind == "call" and _ACTING_CLASS.search(name):
        return DANGEROUS, f"constructing {name} of {module} starts or opens something"
    if root in FRAMEWORKS or root in ("sympy", "mpmath", "scipy", "pandas", "yaml", "sklearn"):
        return NEEDS_CODE, f"{root} callable not on the data allowlist (cannot vouch for it)"
    return NEEDS_CODE, "loading imports and runs this code"


def _user_module(path: str) -> bool:
    root = path.split(".", 1)[0]
    return (
        root not in STDLIB
        and root not in FRAMEWORKS
        and root not in ("sympy", "mpmath", "scipy", "pandas", "yaml", "sklearn")
    )
