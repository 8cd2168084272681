/**
 * @module models/pickle
 * Walks a pickle's opcodes without unpickling anything: nothing is imported, called or
 * constructed. A small symbolic stack follows just enough of the machine to see which globals
 * the pickle imports and how it uses them: GLOBAL, INST (protocol 0), STACK_GLOBAL (protocol 4,
 * whose module and name come from the stack, often through the memo: PUT/GET/MEMOIZE), REDUCE,
 * NEWOBJ, OBJ, BUILD. All protocols 0-5. After a STOP the walk goes on: files can carry several
 * pickles (legacy `torch.save` writes five, and an attacker can append one a scanner stopping at
 * the first STOP would miss).
 *
 * Each global is rated by models/pickle-policy; structural tricks are rated too:
 * STACK_GLOBAL on a non-string (type confusion), BUILD applied straight to an imported object
 * (overwrites a module's or class's attributes: an allow-listed name can be hijacked), a call on
 * the result of another call, extension-registry codes.
 */
import { WardError } from '../errors.js';
import { type PickleRating, rateGlobal, worstRating } from './pickle-policy.js';
import { type ByteSource, bytesSource, Cursor, decodeLatin1, decodeUtf8Strict } from './source.js';

export interface PickleLimits {
  /** Values on the symbolic stack (marks included). */
  maxStack: number;
  /** Memo entries. */
  maxMemo: number;
  /** Bytes of one text line (protocol 0 arguments). */
  maxLineBytes: number;
  /** Distinct globals recorded (the walk continues; further ones are counted). */
  maxGlobals: number;
}

export interface WalkOptions {
  /** Also collect up to this many distinct short strings (state-dict keys name the tensors). */
  collectStrings?: number;
}

export const DEFAULT_PICKLE_LIMITS: Readonly<PickleLimits> = Object.freeze({
  maxStack: 1_000_000,
  maxMemo: 1_000_000,
  maxLineBytes: 8 * 1024 * 1024,
  maxGlobals: 10_000,
});

/** One imported global (first occurrence). */
export interface PickleGlobal {
  /** `module.name`, module names normalised (`__builtin__` → `builtins`). */
  name: string;
  rating: PickleRating;
  reason: string;
  opcode: 'GLOBAL' | 'STACK_GLOBAL' | 'INST' | 'EXT';
  offset: number;
}

/** A structural trick, independent of which globals are involved. */
export interface PickleIssue {
  kind: 'type-confusion' | 'build-on-global' | 'call-on-result' | 'extension-code';
  rating: PickleRating;
  message: string;
  offset: number;
}

export interface PickleScan {
  /** The worst rating of any global or issue (an incomplete walk is at least `suspicious`). */
  verdict: PickleRating;
  /** Imported globals, unique, in order of first appearance. */
  globals: string[];
  details: PickleGlobal[];
  issues: PickleIssue[];
  /** Complete pickles (ended by STOP). */
  pickles: number;
  /** Highest PROTO seen (0 when none). */
  protocol: number;
  opcodes: number;
  /** Where a pickle broke off (truncated, bad opcode, stack underflow) or a limit stopped the walk. */
  error?: { code: string; message: string; offset: number };
  /** The walk ran out of bytes (a truncated file, or a prefix of one). */
  truncated?: boolean;
  /** Bytes after the last complete pickle that do not start another one (legacy torch storages). */
  trailingBytes?: number;
  /** Short strings seen (with `collectStrings`), in order, unique. */
  strings?: string[];
}

type Val =
  | { k: 'mark' }
  | { k: 'str'; s: string }
  | { k: 'int'; n: number }
  | { k: 'global'; name: string }
  | { k: 'obj'; from?: string }
  | { k: 'other' };

const MARK: Val = { k: 'mark' };
const OTHER: Val = { k: 'other' };
/** Strings longer than this are not kept (only short ones can be module or attribute names). */
const KEEP_STRING = 1024;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

class PickleError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** First bytes of a pickle: PROTO 2-5 (0x80 0x02..0x05). Protocol 0/1 pickles have no magic. */
export function hasPickleMagic(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x80 && (head[1] as number) >= 2 && (head[1] as number) <= 5;
}

/**
 * Protocol 0 pickles that start with a GLOBAL (`c<module>\n<name>\n`, the usual exploit shape)
 * followed by an opcode that follows an import (MARK, PUT, a tuple, an argument...), so that a
 * text file starting with two words on two lines is not taken for one.
 */
export function looksLikeProtocol0Global(head: Uint8Array): boolean {
  if (head[0] !== 0x63) return false;
  const text = decodeLatin1(head.subarray(1, Math.min(head.length, 512)));
  const m = /^[A-Za-z_][\w.]{0,127}\n[A-Za-z_][\w.]{0,127}\n/.exec(text);
  if (!m) return false;
  const next = text.charCodeAt(m[0].length);
  return Number.isNaN(next) || AFTER_GLOBAL.has(next);
}

/** Opcodes that follow a GLOBAL in real pickles. */
const AFTER_GLOBAL = new Set([...'(pq)}]NVSXIJKLFhgrc.', '\x85', '\x86', '\x87', '\x94'].map((c) => c.charCodeAt(0)));

/**
 * Whether the first bytes of a file parse as a pickle of any protocol (protocol 0/1 pickles have
 * no magic): the walk must reach a STOP, or run to the end of `head` when the file is longer,
 * without a bad opcode, an underflow or a missing memo entry. Text almost never does.
 */
export function sniffPickle(head: Uint8Array, fileSize = head.length): boolean {
  if (hasPickleMagic(head) || looksLikeProtocol0Global(head)) return true;
  if (head.length < 2 || !PROTOCOL0_FIRST.has(head[0] as number)) return false;
  const scan = walkPickle(bytesSource(head), { maxStack: 4096, maxMemo: 4096, maxLineBytes: 4096 });
  if (scan.opcodes < 3) return false;
  if (!scan.error) return scan.pickles > 0;
  // Cut off by the end of the sniffed bytes, not by a length the bytes declare early on.
  return scan.truncated === true && fileSize > head.length && scan.error.offset >= head.length - 64;
}

/** Opcodes a protocol 0/1 pickle can start with. */
const PROTOCOL0_FIRST = new Set([...'(c]})ldNVSILFg'].map((c) => c.charCodeAt(0)));

/**
 * Walks every pickle in `source` from offset 0. Never throws for bad bytes: damage ends the walk
 * and is reported in `error` with what was found before it (an unpickler would have run that part).
 */
export function walkPickle(
  source: ByteSource,
  limits: Partial<PickleLimits> = {},
  options: WalkOptions = {},
): PickleScan {
  const lim = { ...DEFAULT_PICKLE_LIMITS, ...limits };
  const maxStrings = options.collectStrings ?? 0;
  const strings = new Set<string>();
  const str = (s: string): Val => {
    if (strings.size < maxStrings && s.length <= 256) strings.add(s);
    return { k: 'str', s };
  };
  const result: PickleScan = {
    verdict: 'safe',
    globals: [],
    details: [],
    issues: [],
    pickles: 0,
    protocol: 0,
    opcodes: 0,
  };
  const seen = new Set<string>();
  const cur = new Cursor(source, 0, 'pickle');
  let stack: Val[] = [];
  let memo = new Map<number, Val>();
  let pickleStart = 0;

  const fail = (message: string, offset = cur.pos): never => {
    throw new PickleError(message, offset);
  };
  const push = (v: Val): void => {
    if (stack.length >= lim.maxStack) {
      throw new WardError('WARD_ERR_MODEL_LIMIT', `Pickle stack deeper than ${lim.maxStack}`, { limit: lim.maxStack });
    }
    stack.push(v);
  };
  const pop = (): Val => {
    const v = stack.pop();
    if (v === undefined || v.k === 'mark') fail('Stack underflow');
    return v as Val;
  };
  const top = (): Val => {
    const v = stack[stack.length - 1];
    if (v === undefined || v.k === 'mark') fail('Stack underflow');
    return v as Val;
  };
  const popMark = (): Val[] => {
    const items: Val[] = [];
    for (;;) {
      const v = stack.pop();
      if (v === undefined) return fail('No MARK on the stack');
      if (v.k === 'mark') return items.reverse();
      items.push(v);
    }
  };
  const memoPut = (index: number): void => {
    if (!Number.isSafeInteger(index) || index < 0) fail('Negative or huge memo index');
    if (!memo.has(index) && memo.size >= lim.maxMemo) {
      throw new WardError('WARD_ERR_MODEL_LIMIT', `Pickle memo larger than ${lim.maxMemo}`, { limit: lim.maxMemo });
    }
    memo.set(index, top());
  };
  const memoGet = (index: number): void => {
    const v = memo.get(index);
    if (v === undefined) fail(`Memo key ${index} was never stored`);
    push(v as Val);
  };
  const rate = (rating: PickleRating): void => {
    result.verdict = worstRating(result.verdict, rating);
  };
  const recordGlobal = (
    name: string,
    rating: { rating: PickleRating; reason: string },
    opcode: PickleGlobal['opcode'],
    offset: number,
  ): void => {
    rate(rating.rating);
    if (seen.has(name)) return;
    seen.add(name);
    if (result.details.length >= lim.maxGlobals) return;
    result.globals.push(name);
    result.details.push({ name, rating: rating.rating, reason: rating.reason, opcode, offset });
  };
  const addGlobal = (module: string, name: string, opcode: PickleGlobal['opcode'], offset: number): string => {
    const r = rateGlobal(module, name);
    const full = `${module}.${name}`;
    recordGlobal(full, r, opcode, offset);
    return full;
  };
  const issue = (kind: PickleIssue['kind'], rating: PickleRating, message: string, offset: number): void => {
    rate(rating);
    if (result.issues.length < 100) result.issues.push({ kind, rating, message, offset });
  };
  /** A text line (protocol 0 argument), without its `\n`. */
  const line = (): Uint8Array => {
    const l = cur.line(lim.maxLineBytes);
    if (l === undefined) {
      if (cur.remaining > lim.maxLineBytes) {
        throw new WardError('WARD_ERR_MODEL_LIMIT', `Pickle text argument longer than ${lim.maxLineBytes} bytes`, {
          limit: lim.maxLineBytes,
        });
      }
      throw new WardError('WARD_ERR_MODEL_CORRUPT', 'Truncated text argument', { offset: source.size });
    }
    return l as Uint8Array;
  };
  const nameLine = (what: string): string => {
    const s = decodeUtf8Strict(line());
    if (s === undefined || !IDENT.test(s)) fail(`${what} is not a Python name`);
    return s as string;
  };
  /** A length-prefixed string: kept when short, skipped otherwise. */
  const lengthString = (n: number, text: 'utf8' | 'latin1' | 'bytes'): Val => {
    if (!Number.isFinite(n) || n > cur.remaining) {
      throw new WardError('WARD_ERR_MODEL_CORRUPT', `Declared length ${n} runs past the end`, { offset: cur.pos });
    }
    if (n > KEEP_STRING || text === 'bytes') {
      cur.skip(n);
      return OTHER;
    }
    const b = cur.bytes(n);
    const s = text === 'utf8' ? decodeUtf8Strict(b) : decodeLatin1(b);
    if (s === undefined) fail('String is not valid UTF-8');
    return str(s as string);
  };

  for (;;) {
    if (cur.remaining === 0) {
      if (stack.length > 0 || memo.size > 0 || cur.pos > pickleStart) {
        // EOF inside a pickle (no STOP).
        result.error = { code: 'WARD_ERR_MODEL_CORRUPT', message: 'Pickle ends without STOP', offset: cur.pos };
        result.truncated = true;
      }
      break;
    }
    const at = cur.pos;
    try {
      const op = cur.u8();
      result.opcodes++;
      switch (op) {
        case 0x80: {
          // PROTO
          const p = cur.u8();
          if (p > 5) fail(`Unsupported pickle protocol ${p}`, at);
          result.protocol = Math.max(result.protocol, p);
          break;
        }
        case 0x95: // FRAME
          cur.u64();
          break;
        case 0x2e: // STOP
          pop();
          result.pickles++;
          stack = [];
          memo = new Map();
          pickleStart = cur.pos;
          break;
        case 0x28: // MARK
          push(MARK);
          break;
        case 0x30: // POP (pops a mark when the stack above it is empty)
          if (stack.length === 0) fail('Stack underflow', at);
          stack.pop();
          break;
        case 0x31: // POP_MARK
          popMark();
          break;
        case 0x32: // DUP
          push(top());
          break;
        // numbers and constants
        case 0x4a: // BININT
          push({ k: 'int', n: cur.i32() });
          break;
        case 0x4b: // BININT1
          push({ k: 'int', n: cur.u8() });
          break;
        case 0x4d: // BININT2
          push({ k: 'int', n: cur.u16() });
          break;
        case 0x49: {
          // INT (text; 00/01 are False/True)
          const t = decodeLatin1(line()).trim();
          if (!/^[+-]?\d+L?$/.test(t)) fail('INT argument is not a number', at);
          push(t.length < 16 ? { k: 'int', n: Number.parseInt(t, 10) } : OTHER);
          break;
        }
        case 0x4c: // LONG (text)
          if (!/^[+-]?\d+L?$/.test(decodeLatin1(line()).trim())) fail('LONG argument is not a number', at);
          push(OTHER);
          break;
        case 0x46: // FLOAT (text)
          line();
          push(OTHER);
          break;
        case 0x47: // BINFLOAT
          cur.skip(8);
          push(OTHER);
          break;
        case 0x8a: // LONG1
          cur.skip(cur.u8());
          push(OTHER);
          break;
        case 0x8b: {
          // LONG4
          const n = cur.i32();
          if (n < 0) fail('Negative LONG4 length', at);
          cur.skip(n);
          push(OTHER);
          break;
        }
        case 0x4e: // NONE
        case 0x88: // NEWTRUE
        case 0x89: // NEWFALSE
          push(OTHER);
          break;
        // strings and bytes
        case 0x53: // STRING (quoted text)
          push(quotedString(decodeLatin1(line())) ?? fail('STRING argument is not quoted', at));
          break;
        case 0x54: {
          // BINSTRING
          const n = cur.i32();
          if (n < 0) fail('Negative BINSTRING length', at);
          push(lengthString(n, 'latin1'));
          break;
        }
        case 0x55: // SHORT_BINSTRING
          push(lengthString(cur.u8(), 'latin1'));
          break;
        case 0x56: {
          // UNICODE (raw-unicode-escape text)
          const l = line();
          push(l.length > KEEP_STRING ? OTHER : str(rawUnicodeEscape(decodeLatin1(l))));
          break;
        }
        case 0x58: // BINUNICODE
          push(lengthString(cur.u32(), 'utf8'));
          break;
        case 0x8c: // SHORT_BINUNICODE
          push(lengthString(cur.u8(), 'utf8'));
          break;
        case 0x8d: // BINUNICODE8
          push(lengthString(cur.u64(), 'utf8'));
          break;
        case 0x42: // BINBYTES
          push(lengthString(cur.u32(), 'bytes'));
          break;
        case 0x43: // SHORT_BINBYTES
          push(lengthString(cur.u8(), 'bytes'));
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          push(lengthString(cur.u64(), 'bytes'));
          break;
        case 0x97: // NEXT_BUFFER
          push(OTHER);
          break;
        case 0x98: // READONLY_BUFFER
          top();
          break;
        // containers
        case 0x29: // EMPTY_TUPLE
        case 0x5d: // EMPTY_LIST
        case 0x7d: // EMPTY_DICT
        case 0x8f: // EMPTY_SET
          push(OTHER);
          break;
        case 0x74: // TUPLE
        case 0x6c: // LIST
        case 0x64: // DICT
        case 0x91: // FROZENSET
          popMark();
          push(OTHER);
          break;
        case 0x85: // TUPLE1
          pop();
          push(OTHER);
          break;
        case 0x86: // TUPLE2
          pop();
          pop();
          push(OTHER);
          break;
        case 0x87: // TUPLE3
          pop();
          pop();
          pop();
          push(OTHER);
          break;
        case 0x61: // APPEND
          pop();
          top();
          break;
        case 0x65: // APPENDS
        case 0x75: // SETITEMS
        case 0x90: // ADDITEMS
          popMark();
          top();
          break;
        case 0x73: // SETITEM
          pop();
          pop();
          top();
          break;
        // memo
        case 0x70: // PUT
          memoPut(textIndex(line()) ?? fail('PUT argument is not a number', at));
          break;
        case 0x71: // BINPUT
          memoPut(cur.u8());
          break;
        case 0x72: // LONG_BINPUT
          memoPut(cur.u32());
          break;
        case 0x94: // MEMOIZE
          memoPut(memo.size);
          break;
        case 0x67: // GET
          memoGet(textIndex(line()) ?? fail('GET argument is not a number', at));
          break;
        case 0x68: // BINGET
          memoGet(cur.u8());
          break;
        case 0x6a: // LONG_BINGET
          memoGet(cur.u32());
          break;
        // imports and calls
        case 0x63: {
          // GLOBAL
          const module = nameLine('GLOBAL module');
          const name = nameLine('GLOBAL name');
          push({ k: 'global', name: addGlobal(module, name, 'GLOBAL', at) });
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = pop();
          const module = pop();
          if (module.k === 'str' && name.k === 'str' && IDENT.test(module.s) && IDENT.test(name.s)) {
            push({ k: 'global', name: addGlobal(module.s, name.s, 'STACK_GLOBAL', at) });
          } else {
            const shown = `${show(module)}.${show(name)}`;
            recordGlobal(
              shown,
              { rating: 'dangerous', reason: 'STACK_GLOBAL on a non-string (type confusion)' },
              'STACK_GLOBAL',
              at,
            );
            issue('type-confusion', 'dangerous', `STACK_GLOBAL with operands that are not names (${shown})`, at);
            push({ k: 'global', name: shown });
          }
          break;
        }
        case 0x69: {
          // INST
          const module = nameLine('INST module');
          const name = nameLine('INST name');
          const full = addGlobal(module, name, 'INST', at);
          popMark();
          push({ k: 'obj', from: full });
          break;
        }
        case 0x6f: {
          // OBJ
          const items = popMark();
          const cls = items[0];
          if (cls === undefined) fail('OBJ without a class', at);
          push({ k: 'obj', from: cls?.k === 'global' ? cls.name : undefined });
          break;
        }
        case 0x52: {
          // REDUCE
          pop();
          const fn = pop();
          if (fn.k !== 'global')
            issue('call-on-result', 'suspicious', 'REDUCE calls something that is not an import', at);
          push({ k: 'obj', from: fn.k === 'global' ? fn.name : undefined });
          break;
        }
        case 0x81: {
          // NEWOBJ
          pop();
          const cls = pop();
          push({ k: 'obj', from: cls.k === 'global' ? cls.name : undefined });
          break;
        }
        case 0x92: {
          // NEWOBJ_EX
          pop();
          pop();
          const cls = pop();
          push({ k: 'obj', from: cls.k === 'global' ? cls.name : undefined });
          break;
        }
        case 0x62: {
          // BUILD
          pop();
          const target = top();
          if (target.k === 'global') {
            issue(
              'build-on-global',
              'dangerous',
              `BUILD sets attributes on the imported ${target.name} (hijacks a module or class)`,
              at,
            );
          }
          break;
        }
        case 0x50: // PERSID
          line();
          push(OTHER);
          break;
        case 0x51: // BINPERSID
          pop();
          push(OTHER);
          break;
        case 0x82: // EXT1
        case 0x83: // EXT2
        case 0x84: {
          // EXT4
          const code = op === 0x82 ? cur.u8() : op === 0x83 ? cur.u16() : cur.u32();
          const name = `copyreg.extension.${code}`;
          recordGlobal(name, { rating: 'suspicious', reason: 'extension registry code' }, 'EXT', at);
          issue('extension-code', 'suspicious', `Imports through the extension registry (code ${code})`, at);
          push({ k: 'global', name });
          break;
        }
        default:
          fail(`Unknown opcode 0x${op.toString(16).padStart(2, '0')}`, at);
      }
    } catch (e) {
      const offset =
        e instanceof PickleError
          ? e.offset
          : WardError.is(e) && typeof e.details.offset === 'number'
            ? e.details.offset
            : at;
      const limit = WardError.is(e) && e.code === 'WARD_ERR_MODEL_LIMIT';
      if (!limit && at === pickleStart && result.pickles > 0) {
        // Not another pickle: bytes after the last one (raw storages of a legacy torch file).
        result.trailingBytes = source.size - at;
        break;
      }
      const message = e instanceof Error ? e.message : String(e);
      result.error = {
        code: limit ? 'WARD_ERR_MODEL_LIMIT' : 'WARD_ERR_MODEL_CORRUPT',
        message: `${message} (offset ${offset})`,
        offset,
      };
      if (WardError.is(e) && e.code === 'WARD_ERR_MODEL_CORRUPT') result.truncated = true;
      // An unfinished walk cannot vouch for the rest.
      if (limit) rate('suspicious');
      break;
    }
  }
  if (maxStrings > 0) result.strings = [...strings];
  return result;
}

function show(v: Val): string {
  if (v.k === 'str') return v.s;
  if (v.k === 'int') return String(v.n);
  if (v.k === 'global') return v.name;
  return `<${v.k}>`;
}

/** Memo index of PUT/GET (protocol 0: decimal text). */
function textIndex(bytes: Uint8Array): number | undefined {
  const t = decodeLatin1(bytes);
  return /^\d{1,15}$/.test(t) ? Number(t) : undefined;
}

/** A protocol 0 STRING argument: `'text'` or `"text"` with backslash escapes. */
function quotedString(t: string): Val | undefined {
  if (t.length < 2 || (t[0] !== "'" && t[0] !== '"') || t[t.length - 1] !== t[0]) return undefined;
  if (t.length > KEEP_STRING) return OTHER;
  const body = t.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) => {
    if (e.startsWith('x')) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    return ({ n: '\n', t: '\t', r: '\r', '0': '\0' } as Record<string, string>)[e] ?? e;
  });
  return { k: 'str', s: body };
}

/** Python's raw-unicode-escape: latin-1 text with \uXXXX and \UXXXXXXXX escapes. */
function rawUnicodeEscape(t: string): string {
  return t.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (m, u4: string | undefined, u8: string | undefined) => {
    const cp = Number.parseInt((u4 ?? u8) as string, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
  });
}
