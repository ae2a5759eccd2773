"""The capability policy on the names issue 12 lists, and the generated sink list it uses
(tools/gen_capabilities.py reads the libraries' source; the committed data module must
know the callables that reach processes, files and evaluation)."""

from __future__ import annotations

import pytest

from inspector.analysis import policy
from inspector.analysis.capabilities_data import ALIASES, ENUMS, SINKS

DANGEROUS_CALLS = [
    "torch.distributed.elastic.multiprocessing.subprocess_handler.SubprocessHandler",
    "torch.distributed.elastic.multiprocessing.subprocess_handler.subprocess_handler.SubprocessHandler",
    "torch.fx._symbolic_trace.CodeType",
    "torch.fx._symbolic_trace.FunctionType",
    "numpy.savetxt",
    "numpy.memmap",
    "numpy.core.memmap",
    "sympy.sympify",
    "sympy.core.sympify.sympify",
    "torch.from_file",
    "torch.UntypedStorage.from_file",
    "torch.load",
    "os.system",
    "posix.system",
    "builtins.eval",
    "subprocess.Popen",
    "pandas.read_pickle",
    "torch.hub.load",
    "torch.serialization.load",
    "numpy.ndarray.tofile",
    "webbrowser.open",
]
DATA_CALLS = [
    "zoneinfo.ZoneInfo._unpickle",
    "torch.optim.adamw.AdamW",
    "torch._utils._rebuild_tensor_v2",
    "numpy.random._pickle.__generator_ctor",
    "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
    "numpy.rec.recarray",
    "typing.Union.__getitem__",
    "torch.return_types.max",
    "time.struct_time",
    "random.Random",
    "inspect.Signature",
    "pandas._libs.internals._unpickle_block",
    "pandas.core.indexes.base._new_Index",
    "torch._C._VariableFunctionsClass.tanh",
    "torch.nn.modules.linear.Linear",
    "collections.OrderedDict",
    "functools.partial",
    "http.HTTPStatus",
    "re.RegexFlag",
    "builtins.str.upper",
]


@pytest.mark.parametrize("name", DANGEROUS_CALLS)
def test_called_sinks_are_dangerous(name):
    assert policy.judge("call", name)[0] == policy.DANGEROUS, policy.judge("call", name)


@pytest.mark.parametrize("name", DATA_CALLS)
def test_data_constructors_are_data(name):
    assert policy.judge("call", name)[0] == policy.DATA, policy.judge("call", name)


def test_references_and_unknown_code():
    assert policy.judge("reference", "yaml.FullLoader")[0] == policy.REFERENCE
    assert policy.judge("reference", "torch.fx._symbolic_trace.CodeType")[0] == policy.DANGEROUS
    assert policy.judge("reference", "os.system")[0] == policy.DANGEROUS
    assert policy.judge("reference", "antigravity.x")[0] == policy.DANGEROUS
    assert policy.judge("new", "__main__.Net")[0] == policy.NEEDS_CODE
    assert policy.judge("call", "torch.nn.functional.softmax")[0] == policy.NEEDS_CODE


def test_generated_lists_come_from_the_source():
    assert "types.CodeType" == ALIASES["torch.fx._symbolic_trace.CodeType"]
    assert ALIASES["numpy.savetxt"].endswith(".savetxt") and ALIASES["numpy.savetxt"] in SINKS
    assert (
        "torch.distributed.elastic.multiprocessing.subprocess_handler.handlers.get_subprocess_handler"
        in SINKS
    )
    assert "sympy.core.sympify.sympify" in SINKS and "http.HTTPStatus" in ENUMS
    assert len(SINKS) > 3000 and len(ALIASES) > 1000


def test_torch_constants_are_one_list_the_reader_adding_only_mkldnn():
    """The torch constants (qschemes, layouts, memory formats) are listed once, in formats;
    the reader's set is that list plus the one difference spelled here, torch._mkldnn, which
    the reader renders by name and the policy does not allow."""
    from inspector.analysis import globals_policy
    from inspector.formats import unpickler
    from inspector.formats.limits import DEFAULT_LIMITS
    from inspector.formats.stubs import NamedConstant

    assert policy.TORCH_CONSTANTS is globals_policy.TORCH_CONSTANTS is unpickler.TORCH_CONSTANTS
    assert unpickler._TORCH_CONSTANTS == globals_policy.TORCH_CONSTANTS | {"_mkldnn"}
    assert "_mkldnn" not in globals_policy.TORCH_CONSTANTS
    for name in unpickler._TORCH_CONSTANTS:
        got = unpickler.unpickle(f"ctorch\n{name}\n.".encode(), what="t", limits=DEFAULT_LIMITS)
        assert isinstance(got, NamedConstant) and got.path == f"torch.{name}"
        want = policy.DATA if name in globals_policy.TORCH_CONSTANTS else policy.NEEDS_CODE
        assert policy.judge("call", f"torch.{name}")[0] == want, name
