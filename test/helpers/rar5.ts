/**
 * RAR 5 archives built byte by byte from the format's specification (rarlab.com, "RAR 5.0
 * archive format"), for tests: no free tool writes RAR. Only stored entries (method 0), which is
 * enough to test how Ward lists, limits and reads them; an entry can carry the file-encryption
 * extra record (its data is then random bytes: nothing is ever decrypted) or lie about its size.
 */
import { crc32 } from '@node-rs/crc32';

const SIGNATURE = Buffer.from([0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x01, 0x00]);

/** A RAR 5 variable-length integer: 7 bits per byte, low first, high bit = more. */
export function vint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return Buffer.from(out);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** One block: CRC32, header size, then `body` (type, flags, fields...), then `data`. */
function block(body: Buffer, data: Buffer = Buffer.alloc(0)): Buffer {
  const size = vint(body.length);
  const crc = crc32(Buffer.concat([size, body]));
  return Buffer.concat([u32(crc), size, body, data]);
}

export interface Rar5Entry {
  name: string;
  bytes?: Uint8Array;
  /** A directory record (no data). */
  directory?: boolean;
  /** Declared unpacked size, when it should differ from the bytes' length. */
  declaredSize?: number;
  /** Adds the file-encryption extra record (AES-256); the data is not really encrypted. */
  encrypted?: boolean;
  /** Compression method field (0 = store; others make a compressed entry with bogus data). */
  method?: number;
  /** Dictionary size field (bits 10-14 of the compression information: 128 KiB << n). */
  dictionaryLog?: number;
  /** Stores a wrong data CRC32. */
  badCrc?: boolean;
}

function fileHeader(e: Rar5Entry): Buffer {
  const data = Buffer.from(e.bytes ?? new Uint8Array(0));
  const extra: Buffer[] = [];
  if (e.encrypted) {
    // Type 1 (file encryption): version 0 (AES-256), flags 0, KDF count 15, salt, IV.
    const rec = Buffer.concat([vint(1), vint(0), vint(0), Buffer.from([15]), Buffer.alloc(16, 7), Buffer.alloc(16, 9)]);
    extra.push(Buffer.concat([vint(rec.length), rec]));
  }
  const extraArea = Buffer.concat(extra);
  const fileFlags = (e.directory ? 0x1 : 0) | 0x4; // data CRC32 present
  const unpacked = e.declaredSize ?? data.length;
  const crc = e.badCrc ? (crc32(data) ^ 0xffffffff) >>> 0 : crc32(data);
  // Version 0, not solid, method, dictionary 128 KiB << dictionaryLog.
  const compression = ((e.method ?? 0) & 7) * 0x80 + ((e.dictionaryLog ?? 0) & 0x1f) * 0x400;
  const name = Buffer.from(e.name, 'utf8');
  const headerFlags = 0x2 | (extraArea.length > 0 ? 0x1 : 0);
  const body = Buffer.concat([
    vint(2), // file header
    vint(headerFlags),
    ...(extraArea.length > 0 ? [vint(extraArea.length)] : []),
    vint(data.length), // data size
    vint(fileFlags),
    vint(unpacked),
    vint(e.directory ? 0x10 : 0x20), // attributes (Windows: directory / archive)
    u32(crc),
    vint(compression),
    vint(0), // host OS: Windows
    vint(name.length),
    name,
    extraArea,
  ]);
  return block(body, data);
}

/** A RAR 5 archive holding `entries` in order. */
export function rar5Of(entries: readonly Rar5Entry[]): Buffer {
  const main = block(Buffer.concat([vint(1), vint(0), vint(0)])); // main header, archive flags 0
  const end = block(Buffer.concat([vint(5), vint(0), vint(0)])); // end of archive
  return Buffer.concat([SIGNATURE, main, ...entries.map(fileHeader), end]);
}

/** A RAR 1.5–4.x ("RAR 4") archive of stored entries, from the same specification's older part. */
export function rar4Of(
  entries: readonly { name: string; bytes: Uint8Array; encrypted?: boolean }[],
  opts: { encryptedHeaders?: boolean } = {},
): Buffer {
  const u16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(n);
    return b;
  };
  // Each header: HEAD_CRC (low 16 bits of the CRC32 of the rest of the header), then the rest.
  const header = (rest: Buffer) => Buffer.concat([u16(crc32(rest) & 0xffff), rest]);
  const main = header(
    Buffer.concat([Buffer.from([0x73]), u16(opts.encryptedHeaders ? 0x0080 : 0), u16(13), Buffer.alloc(6)]),
  );
  const files = entries.map((e) => {
    const name = Buffer.from(e.name, 'latin1');
    const data = Buffer.from(e.bytes);
    const rest = Buffer.concat([
      Buffer.from([0x74]),
      u16(0x8000 | (e.encrypted ? 0x0004 : 0)), // LONG_BLOCK (+ password)
      u16(32 + name.length),
      u32(data.length), // PACK_SIZE
      u32(data.length), // UNP_SIZE
      Buffer.from([0]), // HOST_OS: MS-DOS
      u32(crc32(data)),
      u32(0x5a210000), // FTIME (DOS date/time)
      Buffer.from([20, 0x30]), // UNP_VER 2.0, METHOD store
      u16(name.length),
      u32(0x20), // ATTR: archive
      name,
    ]);
    return Buffer.concat([header(rest), data]);
  });
  const end = header(Buffer.concat([Buffer.from([0x7b]), u16(0x4000), u16(7)]));
  return Buffer.concat([Buffer.from('Rar!\x1a\x07\x00', 'latin1'), main, ...files, end]);
}
