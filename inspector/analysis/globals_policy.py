"""The name lists the policy (policy.py) builds on: what `torch.load(weights_only=True)`
itself allows, the standard library's data types, the modules and names every scanner
(picklescan, fickling, modelscan) lists as dangerous, and the libraries we recognise.
Recognising a library is not a pass: policy.py allows only its explicit data
constructors. `classify` keeps the older category names for callers that use them.
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


def _is_dtype(name: str) -> bool:
    from ..formats import dtypes

    return dtypes.lookup(name) is not None
