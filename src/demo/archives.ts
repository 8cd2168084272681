/**
 * @module demo/archives
 * Minimal archive writers for the demo folder: a stored (uncompressed) zip and a tar.gz. Ward
 * only reads archives; these exist so the demo has archives to scan.
 */
import { crc32, gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';

/** A zip of stored entries (method 0), enough for any unzip tool and for Ward's reader. */
export function storedZip(entries: { name: string; bytes: Uint8Array }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(e.bytes);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.bytes.length, 18);
    local.writeUInt32LE(e.bytes.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(e.bytes.length, 20);
    central.writeUInt32LE(e.bytes.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, Buffer.from(e.bytes));
    centrals.push(central, name);
    offset += 30 + name.length + e.bytes.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** A gzipped tar of regular files. */
export async function tarGz(entries: { name: string; bytes: Uint8Array }[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((ok, fail) => {
    pack.on('end', ok);
    pack.on('error', fail);
  });
  for (const e of entries) pack.entry({ name: e.name, size: e.bytes.length, mtime: new Date(0) }, Buffer.from(e.bytes));
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}
