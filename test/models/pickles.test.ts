/**
 * Pickle walking and rating. Against picklescan's test files (../shared/fixtures/pickles, never
 * loaded by a real unpickler): every malicious file is rated dangerous, every benign one is not,
 * and the globals the manifest lists are found. Against pickles assembled here opcode by opcode:
 * every protocol, memo tricks, STACK_GLOBAL type confusion, BUILD on an import, extension codes,
 * pickles appended after STOP, and the legacy torch layout (pickles, then raw storage bytes).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectModel, inspectModelBytes, sniffModel } from '../../src/models/inspect.js';
import { sniffPickle, walkPickle } from '../../src/models/pickle.js';
import { rateGlobal } from '../../src/models/pickle-policy.js';
import { bytesSource } from '../../src/models/source.js';
import { readZipDirectory, type ZipEntry, zipEntrySource } from '../../src/models/zip.js';
import { zipOf } from '../helpers/archives.js';
import { readManifest, SHARED, SKIP_REASON, sharedAvailable } from '../helpers/fixtures.js';
import { pk, sbu, torchStateDictPickle } from './build.js';

const PICKLES = join(SHARED, 'fixtures', 'pickles');
const rows = sharedAvailable ? readManifest(PICKLES) : [];
const walk = (bytes: Uint8Array) => walkPickle(bytesSource(bytes));

/** The names in a manifest cell such as `PKL ['os.system', '42.os']` or `ZIP ['a/data.pkl:x,y']`. */
function expectedGlobals(cell: string): string[] {
  const list = /\[(.*)\]/.exec(cell)?.[1] ?? '';
  const names = [...list.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => (m[1] ?? m[2]) as string);
  return names
    .flatMap((n) => (cell.startsWith('ZIP') ? (n.split(':')[1] ?? '').split(',') : [n]))
    .filter((n) => n !== '' && n !== 'ZIPERR' && !n.startsWith('PARSE_ERR') && !n.includes('unknown'));
}

describe.skipIf(!sharedAvailable)(`pickle fixtures (${sharedAvailable ? `${rows.length} files` : SKIP_REASON})`, () => {
  it('lists malicious and benign files', () => {
    expect(rows.filter((r) => r.kind === 'MALICIOUS').length).toBeGreaterThan(60);
    expect(rows.filter((r) => r.kind === 'benign').length).toBeGreaterThanOrEqual(7);
  });

  for (const row of rows) {
    const file = row.file as string;
    const cell = row.globals_found_by_opcode_walk as string;
    it(`${file}: ${row.kind}`, async () => {
      const path = join(PICKLES, file);
      if (row.kind === 'not-pickle') {
        // Random bytes: not taken for a model at all.
        expect(sniffModel(readFileSync(path))).toBeUndefined();
        await expect(inspectModel(path)).rejects.toMatchObject({ code: 'WARD_ERR_MODEL_UNSUPPORTED' });
        return;
      }
      const report = await inspectModel(path, { hashes: false, screener: null });
      expect(report.pickle).toBeDefined();
      const verdict = report.pickle?.verdict;
      if (row.kind === 'MALICIOUS') expect(verdict).toBe('dangerous');
      else expect(verdict).not.toBe('dangerous');
      for (const g of expectedGlobals(cell)) expect(report.pickle?.globals).toContain(g);
    });
  }

  it('finds what scanners stopping at the first STOP miss, and what a broken pickle ran before breaking', async () => {
    const six = await inspectModel(join(PICKLES, 'data__malicious6.pkl'), { hashes: false });
    expect(six.pickle).toMatchObject({ pickles: 2, globals: ['requests.api.get'] });
    const bypass = await inspectModel(join(PICKLES, 'data__pytorch_magic_bypass.pt'), { hashes: false });
    expect(bypass.pickle?.globals).toEqual(['__builtin__.eval', 'posix.system']);
    const broken = await inspectModel(join(PICKLES, 'data__broken_model.pkl'), { hashes: false });
    expect(broken.pickle?.globals).toEqual(['builtins.exec']);
    expect(broken.pickle?.errors?.[0]).toMatch(/runs past the end/);
  });

  it('reads zips leniently: a bad CRC, an encryption flag, names that disagree, a pickle under another name', async () => {
    for (const [file, name] of [
      ['data2__malicious1_crc.zip', 'data.pkl'],
      ['data__malicious1_0x1.zip', 'model/config.pkl'],
      ['data__malicious1_0x20.zip', 'model/config.pkl'],
      ['data__malicious1_central_directory.zip', 'data.pkl (local header: datap.kl)'],
      ['data__malicious1_wrong_ext.zip', 'data.txt'],
    ] as const) {
      const r = await inspectModel(join(PICKLES, file), { hashes: false });
      expect(r.format).toBe('torch');
      expect(r.pickle?.entries?.map((e) => e.name)).toEqual([name]);
      expect(r.pickle?.dangerous).toContain('builtins.eval');
    }
  });

  it('a benign torch.save zip: the allow-listed rebuild globals only, safe', async () => {
    const r = await inspectModel(join(PICKLES, 'data__new_pytorch_model.bin'), { hashes: false });
    expect(r).toMatchObject({ format: 'torch', pickle: { verdict: 'safe' } });
    expect(r.pickle?.globals.sort()).toEqual(
      ['collections.OrderedDict', 'torch.FloatStorage', 'torch._utils._rebuild_tensor_v2'].sort(),
    );
  });

  it('follows the ZIP64 end of central directory torch writes, and walks local headers when the directory is gone', () => {
    const bytes = readFileSync(join(PICKLES, 'data__new_pytorch_model.bin'));
    const eocd = bytes.lastIndexOf(Buffer.from('PK\x05\x06', 'latin1'));
    const forced = Buffer.from(bytes);
    forced.writeUInt16LE(0xffff, eocd + 10); // entry count: see the ZIP64 record
    forced.writeUInt32LE(0xffffffff, eocd + 16); // central directory offset: likewise
    const dir = readZipDirectory(bytesSource(forced));
    expect(dir.via).toBe('central-directory');
    expect(dir.entries.map((e) => e.name)).toEqual(['archive/data.pkl', 'archive/data/0', 'archive/version']);
    const cut = bytes.subarray(0, bytes.indexOf(Buffer.from('PK\x01\x02', 'latin1')));
    const local = readZipDirectory(bytesSource(cut));
    expect(local.via).toBe('local-headers');
    expect(local.entries.map((e) => e.name)).toEqual(['archive/data.pkl', 'archive/data/0', 'archive/version']);
    const scan = walkPickle(zipEntrySource(bytesSource(cut), local.entries[0] as ZipEntry));
    expect(scan).toMatchObject({ verdict: 'safe', pickles: 1 });
  });

  it('NumPy: an object array is a pickle (dns exfiltration through ssl); plain arrays have none', async () => {
    const bad = await inspectModel(join(PICKLES, 'data2__dns_exfiltration.npy'), { hashes: false });
    expect(bad).toMatchObject({ format: 'npy', pickle: { verdict: 'dangerous' } });
    expect(bad.pickle?.dangerous).toContain('ssl.get_server_certificate');
    const plain = await inspectModel(join(PICKLES, 'data2__int_arrays_compressed.npz'), { hashes: false });
    expect(plain).toMatchObject({ format: 'npz', pickle: { verdict: 'safe', globals: [] } });
  });
});

describe('pickle opcode walker', () => {
  it('protocol 0: GLOBAL, PUT/GET through the memo, text strings, INST', () => {
    const r = walk(pk('cos\nsystem\np0\n(Vls\np1\ntp2\nRp3\n0g0\n(S\x27x\x27\ntR(ibuiltins\nprint\n.'));
    expect(r.globals).toEqual(['os.system', 'builtins.print']);
    expect(r.details.map((d) => d.opcode)).toEqual(['GLOBAL', 'INST']);
    expect(r).toMatchObject({ verdict: 'dangerous', pickles: 1, protocol: 0 });
    expect(r.error).toBeUndefined();
  });

  it('protocol 4: STACK_GLOBAL with names from the memo (MEMOIZE, BINGET)', () => {
    const r = walk(
      pk(0x80, 4, sbu('subprocess'), 0x94, sbu('run'), 0x94, '0', '0', 'h', 0, 'h', 1, 0x93, ')', 'R', '.'),
    );
    expect(r.globals).toEqual(['subprocess.run']);
    expect(r.verdict).toBe('dangerous');
  });

  it('protocol 5 opcodes (FRAME, BYTEARRAY8, NEXT_BUFFER, READONLY_BUFFER) are walked, not misread', () => {
    const frame = pk(0x95, Buffer.alloc(8));
    const bytearray = pk(0x96, Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]), 'abc');
    const r = walk(pk(0x80, 5, frame, bytearray, 0x97, 0x98, 0x86, '.'));
    expect(r).toMatchObject({ verdict: 'safe', pickles: 1, protocol: 5, globals: [] });
    expect(r.error).toBeUndefined();
  });

  it('STACK_GLOBAL on a non-string is type confusion: dangerous', () => {
    const r = walk(pk(0x80, 4, 'J', Buffer.from([42, 0, 0, 0]), 0x94, sbu('os'), 0x94, 'h', 0, 'h', 1, 0x93, '.'));
    expect(r.globals).toEqual(['42.os']);
    expect(r.issues.map((i) => i.kind)).toEqual(['type-confusion']);
    expect(r.verdict).toBe('dangerous');
  });

  it('BUILD on an imported object overwrites its attributes: dangerous even when every import is allowed', () => {
    const r = walk(pk(0x80, 2, 'ctorch._utils\n_rebuild_tensor_v2\n', '}', sbu('x'), 'N', 's', 'b', '.'));
    expect(r.details[0]?.rating).toBe('safe');
    expect(r.issues.map((i) => i.kind)).toEqual(['build-on-global']);
    expect(r.verdict).toBe('dangerous');
  });

  it('extension codes and calls on computed objects are suspicious', () => {
    expect(walk(pk(0x80, 2, 0x82, 7, ')', 'R', '.'))).toMatchObject({
      verdict: 'suspicious',
      globals: ['copyreg.extension.7'],
    });
    const r = walk(pk(0x80, 2, 'ccollections\nOrderedDict\n', ')', 'R', ')', 'R', '.'));
    expect(r.issues.map((i) => i.kind)).toEqual(['call-on-result']);
    expect(r.verdict).toBe('suspicious');
  });

  it('continues after STOP; raw bytes after the last pickle are trailing data, not an error', () => {
    const legacy = pk(
      0x80,
      2,
      'K',
      1,
      '.',
      0x80,
      2,
      'ccollections\nOrderedDict\n',
      ')',
      'R',
      '.',
      Buffer.from([0xff, 0xfe, 0, 1]),
    );
    const r = walk(legacy);
    expect(r).toMatchObject({ pickles: 2, trailingBytes: 4, verdict: 'safe' });
    expect(r.error).toBeUndefined();
    const appended = walk(pk(0x80, 2, 'N', '.', 'cposix\nsystem\n', ')', 'R', '.'));
    expect(appended).toMatchObject({ pickles: 2, verdict: 'dangerous', globals: ['posix.system'] });
  });

  it('damage stops the walk with what was seen before: underflow, missing memo, unknown opcode, truncation', () => {
    expect(walk(pk(0x80, 2, 'R', '.')).error?.message).toMatch(/underflow/);
    expect(walk(pk(0x80, 2, 'h', 9, '.')).error?.message).toMatch(/Memo key 9/);
    expect(walk(pk(0x80, 2, 'cos\nsystem\n', 0xff)).error?.message).toMatch(/Unknown opcode 0xff/);
    const cut = walk(pk(0x80, 2, 'cos\nsystem\n', 'X', Buffer.from([0xff, 0xff, 0, 0])));
    expect(cut).toMatchObject({ verdict: 'dangerous', truncated: true });
    expect(walk(pk(0x80, 9, '.')).error?.message).toMatch(/protocol 9/);
  });

  it('a torch.save state dict: safe, and its keys name the tensors', () => {
    const r = walkPickle(
      bytesSource(torchStateDictPickle(['model.diffusion_model.input_blocks.0.0.weight'])),
      {},
      {
        collectStrings: 100,
      },
    );
    expect(r).toMatchObject({ verdict: 'safe', pickles: 1 });
    expect(r.error).toBeUndefined();
    expect(r.strings).toContain('model.diffusion_model.input_blocks.0.0.weight');
  });

  it('rates globals by the allow and deny lists', () => {
    expect(rateGlobal('torch._utils', '_rebuild_tensor_v2').rating).toBe('safe');
    expect(rateGlobal('numpy._core.multiarray', '_reconstruct').rating).toBe('safe');
    expect(rateGlobal('__builtin__', 'set').rating).toBe('safe');
    for (const [m, n] of [
      ['os', 'system'],
      ['posix', 'system'],
      ['subprocess', 'Popen'],
      ['builtins', 'eval'],
      ['__builtin__', 'getattr'],
      ['builtins', '__import__'],
      ['runpy', 'run_path'],
      ['socket', 'socket'],
      ['shutil', 'rmtree'],
      ['webbrowser', 'open'],
      ['pty', 'spawn'],
      ['importlib', 'import_module'],
      ['pickle', 'loads'],
      ['sys', 'modules'],
      ['torch', 'load'],
      ['builtins', 'object.__subclasses__'],
    ]) {
      expect(rateGlobal(m as string, n as string).rating, `${m}.${n}`).toBe('dangerous');
    }
    expect(rateGlobal('mylib.models', 'Net').rating).toBe('suspicious');
    expect(rateGlobal('osmosis', 'x').rating).toBe('suspicious');
  });
});

describe('pickle sniffing and PyTorch zips built here', () => {
  it('recognises pickles of every protocol by their first bytes, and not text', () => {
    expect(sniffPickle(pk(0x80, 2, 'N', '.'))).toBe(true);
    expect(sniffPickle(pk('(lp0\nVa\np1\na.'))).toBe(true);
    expect(sniffPickle(pk('cos\nsystem\n(Vx\ntR.'))).toBe(true);
    // A long protocol 0 pickle: only its first 4 KiB are sniffed, cut in the middle of a line.
    const long = pk('(lp0\n', ...Array.from({ length: 400 }, (_, i) => `Vitem number ${i}\np${i + 1}\na`), '.');
    expect(long.length).toBeGreaterThan(8192);
    expect(sniffPickle(long.subarray(0, 4096), long.length)).toBe(true);
    expect(sniffPickle(long.subarray(0, 4096), 4096)).toBe(false);
    for (const text of [
      'hello world\n',
      'Version 1.0\nThis is text\n',
      'cat\ndog\nother\n',
      '{"a": 1}',
      'import os\n',
      '0,1,2\n',
    ]) {
      expect(sniffPickle(Buffer.from(text)), text).toBe(false);
    }
  });

  it('a torch zip with a benign state dict: format torch, safe, kind from the keys', async () => {
    const keys = [
      'model.diffusion_model.input_blocks.0.0.weight',
      'cond_stage_model.transformer.text_model.final_layer_norm.weight',
    ];
    const zip = zipOf([
      { name: 'archive/data.pkl', data: torchStateDictPickle(keys), method: 'store' },
      { name: 'archive/data/0', data: Buffer.from([0x80, 0x02, 1, 2, 3]), method: 'store' },
      { name: 'archive/version', data: Buffer.from('3\n'), method: 'store' },
    ]);
    expect(sniffModel(zip)).toBe('torch');
    const r = await inspectModelBytes(zip, 'model.ckpt', { screener: null });
    expect(r).toMatchObject({ format: 'torch', kind: 'checkpoint', baseModel: 'sd1', pickle: { verdict: 'safe' } });
    expect(r.pickle?.entries?.map((e) => e.name)).toEqual(['archive/data.pkl']);
    expect(r.metadata).toMatchObject({ zipEntries: 3, pickleEntries: ['archive/data.pkl'] });
  });

  it('a deflated data.pkl that inflates past the budget is refused (zip bomb), not inflated', async () => {
    const bomb = zipOf([{ name: 'archive/data.pkl', data: Buffer.alloc(8 * 1024 * 1024), method: 'deflate' }]);
    const r = await inspectModelBytes(bomb, 'bomb.pt', {
      limits: { zip: { maxInflatedBytes: 1024 * 1024, maxEntries: 10, maxRatio: 1000 } },
    });
    expect(r.issues?.join(' ')).toMatch(/over 1048576|inflates past/);
    const lying = zipOf([
      { name: 'archive/data.pkl', data: Buffer.alloc(4 * 1024 * 1024), method: 'deflate', declaredSize: 10 },
    ]);
    const l = await inspectModelBytes(lying, 'lying.pt', {
      limits: { zip: { maxInflatedBytes: 64 * 1024 * 1024, maxEntries: 10, maxRatio: 100 } },
    });
    expect(l.issues?.join(' ')).toMatch(/zip bomb guard/);
  });
});
