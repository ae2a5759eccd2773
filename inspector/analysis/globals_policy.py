"""How a global named in a pickle is classified.

- `torch-safe`: what `torch.load(weights_only=True)` itself allows (tensor rebuilders,
  storage types, dtypes, OrderedDict, ...).
- `known-framework`: classes of libraries that are data, not code paths (torch.nn
  modules, optimizers, numpy dtypes, Lightning's AttributeDict, argparse.Namespace, ...).
- `dangerous`: anything that can run code, start processes, touch files or the network,
  import modules or resolve attributes - the union of picklescan's, fickling's and
  modelscan's lists, plus rules that generalise beyond any list: every standard-library
  module that is not on the small data allowlist, every dotted name (a method fetched
  from a class), and any *function* of a framework outside its known-safe ones.
- `user-code`: a class from a module that is neither standard library nor a known
  framework (e.g. `__main__.Net`): loading the file for real would import it.
"""

from __future__ import annotations

import sys

TORCH_SAFE_FUNCS = {
    ("torch._utils", n) for n in (
        "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
        "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_sparse_tensor",
        "_rebuild_meta_tensor_no_storage", "_rebuild_nested_tensor", "_rebuild_wrapper_subclass",
        "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor",
    )
} | {
    ("torch._tensor", "_rebuild_from_type_v2"), ("torch", "Size"), ("torch", "device"),
    ("torch", "Tensor"), ("torch.nn.parameter", "Parameter"), ("collections", "OrderedDict"),
    ("collections", "Counter"), ("builtins", "set"), ("builtins", "frozenset"),
    ("builtins", "bytearray"), ("builtins", "bytes"), ("builtins", "complex"),
    ("builtins", "list"), ("builtins", "tuple"), ("builtins", "dict"), ("builtins", "slice"),
    ("builtins", "range"), ("builtins", "int"), ("builtins", "float"), ("builtins", "bool"),
    ("builtins", "str"), ("_codecs", "encode"), ("copyreg", "_reconstructor"),
    ("torch.serialization", "_get_layout"), ("torch._utils", "_get_restore_location"),
    ("torch.nn.parameter", "Buffer"), ("torch.nn.parameter", "UninitializedParameter"),
}

# What TorchScript archives name in data.pkl/constants.pkl (torch.jit._pickle).
TORCHSCRIPT_PICKLE_FUNCS = {
    "build_intlist", "build_tensorlist", "build_doublelist", "build_boollist",
    "build_complexlist", "build_tensor_from_id", "restore_type_tag",
}

TORCH_CONSTANTS = {
    "per_tensor_affine", "per_channel_affine", "per_tensor_symmetric", "per_channel_symmetric",
    "per_channel_affine_float_qparams", "strided", "sparse_coo", "sparse_csr", "sparse_csc",
    "sparse_bsr", "sparse_bsc", "contiguous_format", "channels_last", "channels_last_3d",
    "preserve_format", "jagged",
}

# Standard-library globals that are plain data.
STDLIB_DATA = {
    ("collections", "defaultdict"), ("collections", "deque"), ("copyreg", "__newobj__"),
    ("copyreg", "__newobj_ex__"), ("argparse", "Namespace"), ("types", "SimpleNamespace"),
    ("decimal", "Decimal"), ("fractions", "Fraction"), ("uuid", "UUID"),
    ("pathlib", "Path"), ("pathlib", "PosixPath"), ("pathlib", "WindowsPath"),
    ("pathlib", "PurePath"), ("pathlib", "PurePosixPath"), ("pathlib", "PureWindowsPath"),
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"),
    ("datetime", "timedelta"), ("datetime", "timezone"), ("enum", "Enum"),
    ("array", "array"), ("array", "_array_reconstructor"), ("re", "_compile"),
    ("ipaddress", "IPv4Address"), ("ipaddress", "IPv6Address"), ("zoneinfo", "ZoneInfo"),
    ("builtins", "object"), ("builtins", "NoneType"), ("builtins", "Ellipsis"),
    ("builtins", "NotImplemented"), ("_collections", "OrderedDict"),
}

# Modules (and their submodules) that are never data, named by the three scanners' lists.
DANGEROUS_MODULES = {
    "os", "posix", "nt", "subprocess", "_posixsubprocess", "sys", "socket", "_socket", "ssl",
    "shutil", "runpy", "pty", "commands", "webbrowser", "http", "httplib", "urllib",
    "urllib2", "urllib3", "requests", "aiohttp", "httpx", "ftplib", "smtplib", "telnetlib",
    "poplib", "imaplib", "nntplib", "xmlrpc", "socketserver", "asyncio", "pickle", "_pickle",
    "cPickle", "pickletools", "dill", "cloudpickle", "joblib", "marshal", "ctypes", "_ctypes",
    "cffi", "importlib", "imp", "pkgutil", "zipimport", "code", "codeop", "pydoc", "_pydoc",
    "multiprocessing", "threading", "_thread", "signal", "pip", "setuptools", "distutils",
    "pkg_resources", "ensurepip", "venv", "bdb", "pdb", "timeit", "trace", "profile",
    "cProfile", "doctest", "idlelib", "lib2to3", "tempfile", "io", "_io", "codecs",
    "fileinput", "glob", "shelve", "dbm", "sqlite3", "tarfile", "zipfile", "logging",
    "operator", "_operator", "functools", "types", "inspect", "gc", "builtins", "platform",
    "sysconfig", "site", "_aix_support", "_osx_support", "_pyrepl", "test", "unittest",
    "uuid", "tkinter", "turtle", "mailcap", "cgi", "cgitb", "wsgiref", "concurrent",
    "selectors", "select", "mmap", "resource", "pwd", "grp", "spwd", "crypt", "termios",
    "tty", "readline", "rlcompleter", "atexit", "warnings", "weakref", "copy", "abc",
    "numexpr", "keras", "tensorflow", "jinja2", "yaml", "paramiko", "fabric", "invoke",
    "sh", "plumbum", "pexpect", "ptyprocess", "psutil", "git", "boto3", "botocore",
}

# Names that are dangerous wherever they live.
DANGEROUS_NAMES = {
    "eval", "exec", "execfile", "compile", "open", "getattr", "setattr", "delattr",
    "__import__", "globals", "locals", "vars", "input", "breakpoint", "apply", "file",
    "reload", "system", "popen", "spawn", "load", "loads", "run", "runctx", "runcode",
    "runsource", "call", "check_call", "check_output", "Popen", "execv", "execve",
    "locate", "resolve_name", "attrgetter", "methodcaller", "partial", "urlopen",
    "import_module", "_run_code", "_run_module_code", "create_connection",
}

FRAMEWORKS = {
    "torch", "numpy", "pytorch_lightning", "lightning", "lightning_fabric", "transformers",
    "torch_geometric", "torchvision", "torchaudio", "torchtext", "timm", "mmengine", "mmcv",
    "mmdet", "omegaconf", "sklearn", "scipy", "pandas", "accelerate", "peft", "diffusers",
    "tokenizers", "sentence_transformers", "hydra", "fairseq", "detectron2", "apex",
    "deepspeed", "ultralytics", "yolov5", "monai", "torchmetrics", "safetensors", "einops",
}

# Framework sub-packages whose *functions* (not only classes) are harmless references.
FRAMEWORK_SAFE_FUNCTION_MODULES = {
    "torch.nn.functional", "torch.nn.init", "torch.functional", "numpy.core.multiarray",
    "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric", "numpy",
    "numpy.random", "numpy.random._pickle", "numpy.ma.core", "torch.optim.lr_scheduler",
    "pytorch_lightning.utilities.parsing", "lightning.pytorch.utilities.parsing",
    "torch.distributions", "torch.utils.data.dataloader", "torch.nn.modules.activation",
}

DANGEROUS_FRAMEWORK_PREFIXES = (
    "torch.hub", "torch.jit", "torch.package", "torch._inductor", "torch._dynamo",
    "torch.utils.cpp_extension", "torch.utils.bottleneck", "torch.utils.collect_env",
    "torch.utils._config_module", "torch.utils.data.datapipes", "torch.distributed.rpc",
    "torch.serialization", "torch.fx.experimental", "torch._export", "torch.export",
    "torch.compiler", "torch._C", "torch.ops", "torch._ops", "torch.testing",
    "torch.utils.benchmark", "torch.backends", "torch._functorch", "torch.onnx",
    "numpy.f2py", "numpy.testing", "numpy.distutils", "numpy.lib.npyio", "numpy.load",
    "numpy.ctypeslib", "transformers.utils.hub", "transformers.dynamic_module_utils",
    "transformers.trainer", "omegaconf.OmegaConf", "scipy.weave",
)

STDLIB = set(getattr(sys, "stdlib_module_names", ())) | {"__builtin__", "copy_reg", "httplib",
                                                         "urllib2", "commands", "cPickle"}


def _is_class_name(name: str) -> bool:
    return name.lstrip("_")[:1].isupper()


def classify(module: str, name: str) -> tuple[str, str]:
    """(category, reason) for one global."""
    root = module.split(".", 1)[0]
    if module == "torch.jit._pickle" and name in TORCHSCRIPT_PICKLE_FUNCS:
        return "torch-safe", "TorchScript list/tensor constructor"
    if (module, name) in TORCH_SAFE_FUNCS:
        return "torch-safe", "allowed by torch.load(weights_only=True)"
    if module in ("torch", "torch.cuda") and (name.endswith("Storage") or name in TORCH_CONSTANTS):
        return "torch-safe", "storage type or constant"
    if module == "torch" and _is_dtype(name):
        return "torch-safe", "dtype"
    if "." in name:
        return "dangerous", "a dotted name fetches an attribute (a method) of a class"
    if name in DANGEROUS_NAMES and (module, name) not in STDLIB_DATA:
        return "dangerous", f"'{name}' can run code or resolve names"
    if (module, name) in STDLIB_DATA:
        return "known-framework", "standard-library data class"
    full = f"{module}.{name}"
    if any(full == p or full.startswith(p + ".") for p in DANGEROUS_FRAMEWORK_PREFIXES):
        return "dangerous", f"{module} can compile, load or run code"
    if module == "typing" and _is_class_name(name):
        return "known-framework", "a type hint (typing), data only"
    if root in DANGEROUS_MODULES:
        return "dangerous", f"module {root} gives access to code, processes, files or network"
    if root in STDLIB:
        return "dangerous", f"standard-library module {module} is not a data type"
    if root in FRAMEWORKS:
        if _is_class_name(name) or module in FRAMEWORK_SAFE_FUNCTION_MODULES:
            return "known-framework", f"{root} class"
        return "dangerous", f"function {name} of {root} is not a known data constructor"
    return "user-code", "importing it would run the module's code"


def _is_dtype(name: str) -> bool:
    from ..formats import dtypes

    return dtypes.lookup(name) is not None
