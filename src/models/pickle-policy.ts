/**
 * @module models/pickle-policy
 * What the globals a pickle imports say about it. Loading a pickle calls every global it names
 * (functions through REDUCE, classes through NEWOBJ/OBJ/INST, anything through BUILD's
 * `__setstate__`), so the imports are the attack surface. Ward rates each import:
 *
 * - **safe**: on the allow list, the globals that model checkpoints legitimately need: PyTorch's
 *   tensor and storage rebuild functions, dtypes and sizes, `collections.OrderedDict`, NumPy's
 *   array and dtype reconstruction, `_codecs.encode` (NumPy bytes under protocol 2), a few plain
 *   builtin types, `copyreg` reconstructors, `argparse.Namespace` and Lightning's
 *   `ModelCheckpoint` (in the original Stable Diffusion checkpoints). The list follows AUTOMATIC1111's
 *   safe unpickler and PyTorch's `weights_only` defaults.
 * - **dangerous**: on the deny list (a module and everything under it, or one name): code
 *   execution and process control (`os`, `posix`, `subprocess`, `pty`, `runpy`, `builtins.eval`,
 *   `exec`, `compile`, `__import__`, `getattr`...), nested unpicklers (`pickle`, `dill`,
 *   `torch.load`), file and network access (`shutil`, `socket`, `urllib`, `requests`, `ssl`...),
 *   importers and debuggers (`importlib`, `pkgutil`, `pdb`, `bdb`, `cProfile`, `timeit`...), and
 *   the known gadget modules from published advisories (`idlelib`, `lib2to3`, `doctest`,
 *   `torch.utils`, `torch._inductor`, `numpy.f2py`...). Any name path with a dunder attribute
 *   (`x.__class__`, `__globals__`) is dangerous too.
 * - **suspicious**: everything else: unknown code would run on load (a custom class, a full
 *   `nn.Module`), which a weights-only loader refuses. Review before loading.
 */

export type PickleRating = 'safe' | 'suspicious' | 'dangerous';

/** Old and private module names that mean the same module. */
const MODULE_ALIASES: Readonly<Record<string, string>> = {
  __builtin__: 'builtins',
  copy_reg: 'copyreg',
  'numpy._core': 'numpy.core',
  'numpy._core.multiarray': 'numpy.core.multiarray',
  'numpy._core.numeric': 'numpy.core.numeric',
};

const TORCH_STORAGES = [
  'Float',
  'Double',
  'Half',
  'BFloat16',
  'Long',
  'Int',
  'Short',
  'Char',
  'Byte',
  'Bool',
  'ComplexFloat',
  'ComplexDouble',
  'QUInt8',
  'QInt8',
  'QInt32',
  'QUInt4x2',
  'QUInt2x4',
].map((t) => `torch.${t}Storage`);

const TORCH_DTYPES = [
  'float16',
  'float32',
  'float64',
  'bfloat16',
  'half',
  'float',
  'double',
  'complex64',
  'complex128',
  'uint8',
  'int8',
  'int16',
  'int32',
  'int64',
  'bool',
  'float8_e4m3fn',
  'float8_e5m2',
  'strided',
  'sparse_coo',
  'Size',
  'device',
  'Tensor',
].map((t) => `torch.${t}`);

/** Exact `module.name` globals that checkpoints legitimately import. */
export const PICKLE_ALLOW: ReadonlySet<string> = new Set([
  'collections.OrderedDict',
  'collections.defaultdict',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._utils._rebuild_sparse_tensor',
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_device_tensor_from_numpy',
  'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_wrapper_subclass',
  'torch._tensor._rebuild_from_type_v2',
  'torch.nn.parameter.Parameter',
  'torch.nn.modules.container.ParameterDict',
  'torch.storage.UntypedStorage',
  'torch.storage.TypedStorage',
  'torch.UntypedStorage',
  'torch.serialization._get_layout',
  ...TORCH_STORAGES,
  ...TORCH_DTYPES,
  'numpy.core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy.core.numeric._frombuffer',
  'numpy.ndarray',
  'numpy.dtype',
  ...['Float64DType', 'Float32DType', 'Float16DType', 'Int64DType', 'Int32DType', 'UInt8DType', 'BoolDType'].map(
    (d) => `numpy.dtypes.${d}`,
  ),
  '_codecs.encode',
  'builtins.set',
  'builtins.frozenset',
  'builtins.bytearray',
  'builtins.slice',
  'builtins.complex',
  'builtins.object',
  'builtins.int',
  'builtins.float',
  'builtins.bool',
  'builtins.str',
  'builtins.bytes',
  'builtins.dict',
  'builtins.list',
  'builtins.tuple',
  'copyreg._reconstructor',
  'copyreg.__newobj__',
  'copyreg.__newobj_ex__',
  'argparse.Namespace',
  'types.SimpleNamespace',
  'datetime.datetime',
  'datetime.date',
  'datetime.time',
  'datetime.timedelta',
  'datetime.timezone',
  'decimal.Decimal',
  'uuid.UUID',
  'pathlib.PosixPath',
  'pathlib.WindowsPath',
  'pathlib.PurePosixPath',
  'pathlib.PureWindowsPath',
  'pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint',
]);

/**
 * Modules (with everything under them) and single names that run code, open files or sockets,
 * or unpickle again. Matched on whole dotted components: `os` covers `os.system` and `os.path`,
 * not `osmosis`.
 */
export const PICKLE_DENY: readonly string[] = [
  // processes, shells, the interpreter
  'os',
  'posix',
  'nt',
  'posixpath',
  'ntpath',
  'subprocess',
  'pty',
  'commands',
  'popen2',
  'platform',
  'sys',
  'runpy',
  'code',
  'codeop',
  'ctypes',
  'cffi',
  '_ctypes',
  'multiprocessing',
  '_posixsubprocess',
  'signal',
  '_thread',
  'thread',
  'threading',
  'atexit',
  'gc',
  'site',
  'sysconfig',
  'builtins.eval',
  'builtins.exec',
  'builtins.execfile',
  'builtins.compile',
  'builtins.open',
  'builtins.file',
  'builtins.input',
  'builtins.raw_input',
  'builtins.getattr',
  'builtins.setattr',
  'builtins.delattr',
  'builtins.hasattr',
  'builtins.__import__',
  'builtins.globals',
  'builtins.locals',
  'builtins.vars',
  'builtins.apply',
  'builtins.breakpoint',
  'builtins.help',
  'builtins.reload',
  'builtins.memoryview',
  'builtins.type',
  'builtins.super',
  'builtins.classmethod',
  'builtins.staticmethod',
  'builtins.property',
  'types',
  'operator',
  'functools.reduce',
  'inspect',
  // unpickling again, serialisers that execute
  'pickle',
  '_pickle',
  'cPickle',
  'pickletools',
  'dill',
  'cloudpickle',
  'joblib',
  'marshal',
  'shelve',
  'copyreg.add_extension',
  'torch.load',
  'torch.serialization',
  'torch.storage._load_from_bytes',
  'torch.hub',
  'torch.jit',
  'torch.package',
  'torch._dynamo',
  'torch._inductor',
  'torch.utils',
  'torch.testing',
  'torch.fx',
  'torch.compile',
  'torch._C',
  'numpy.load',
  'numpy.lib.npyio',
  'numpy.f2py',
  'numpy.testing',
  'numpy.distutils',
  'numpy.ctypeslib',
  // files
  'shutil',
  'tempfile',
  'io',
  '_io',
  'fileinput',
  'glob',
  'zipfile',
  'tarfile',
  'zipimport',
  'logging.FileHandler',
  'logging.handlers',
  'logging.config',
  // network
  'socket',
  '_socket',
  'ssl',
  '_ssl',
  'socketserver',
  'http',
  'httplib',
  'urllib',
  'urllib2',
  'urllib3',
  'requests',
  'aiohttp',
  'httpx',
  'ftplib',
  'smtplib',
  'smtpd',
  'poplib',
  'imaplib',
  'nntplib',
  'telnetlib',
  'xmlrpc',
  'xmlrpclib',
  'webbrowser',
  'asyncio',
  'select',
  'selectors',
  // importers, debuggers, profilers, test and build tools (gadgets from published advisories)
  'importlib',
  'imp',
  'pkgutil',
  'pydoc',
  'pdb',
  'bdb',
  'trace',
  'profile',
  'cProfile',
  'timeit',
  'doctest',
  'unittest',
  'test',
  'idlelib',
  'lib2to3',
  'distutils',
  'setuptools',
  'pip',
  'ensurepip',
  'venv',
  '_aix_support',
  '_osx_support',
  'uuid._get_command_stdout',
  'tkinter',
  'turtle',
  'sqlite3',
];

function normaliseModule(module: string): string {
  return MODULE_ALIASES[module] ?? module;
}

const DENY_SET = new Set(PICKLE_DENY);

/** The normalised dotted name of a global (`__builtin__.eval` → `builtins.eval`). */
export function globalName(module: string, name: string): string {
  return `${normaliseModule(module)}.${name}`;
}

/** The rating of one imported global, and why. */
export function rateGlobal(module: string, name: string): { rating: PickleRating; reason: string } {
  const full = globalName(module, name);
  if (PICKLE_ALLOW.has(full)) return { rating: 'safe', reason: 'on the allow list' };
  const parts = full.split('.');
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('.');
    if (DENY_SET.has(prefix)) return { rating: 'dangerous', reason: `${prefix} is on the deny list` };
  }
  if (name.split('.').some((p) => /^__\w+__$/.test(p))) {
    return { rating: 'dangerous', reason: 'reaches a dunder attribute' };
  }
  return { rating: 'suspicious', reason: 'not on the allow list: unknown code would run on load' };
}

const ORDER: Readonly<Record<PickleRating, number>> = { safe: 0, suspicious: 1, dangerous: 2 };

export function worstRating(a: PickleRating, b: PickleRating): PickleRating {
  return ORDER[a] >= ORDER[b] ? a : b;
}
