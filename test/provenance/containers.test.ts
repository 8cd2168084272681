/**
 * The chunk and segment parsers on files built here: PNG text chunks, JPEG APPn, WebP RIFF, EXIF
 * IFDs; malformed chunks, lying lengths, a 100 MB text chunk, a zTXt bomb, bad UTF-16, IFD loops.
 * Every case ends with partial results and coded issues, never a throw or a hang.
 */
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inspectMetadata } from '../../src/provenance/inspect.js';
import { readContainer } from '../../src/provenance/metadata.js';
import { decodeUtf16, utf16Order } from '../../src/provenance/text.js';
import {
  exifApp1,
  iTXt,
  jpegWith,
  pngChunk,
  pngWith,
  superbox,
  tEXt,
  tiff,
  u32be,
  userComment,
  utf16,
  webpWith,
  zTXt,
} from './build.js';

const INFOTEXT =
  'a red bicycle\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model hash: 0123456789, Model: testModel_v1';
const ascii = (s: string) => Buffer.from(s, 'latin1');

describe('PNG', () => {
  it('reads tEXt, zTXt and iTXt (plain and compressed), keeping UTF-8', async () => {
    const png = await pngWith([
      tEXt('parameters', INFOTEXT),
      zTXt('z', 'zipped'),
      iTXt('i', 'ユニコード'),
      iTXt('ic', 'compressed ü', true),
    ]);
    const m = readContainer(png);
    expect(m?.texts.map((t) => [t.key, t.value, t.where])).toEqual([
      ['parameters', INFOTEXT, 'png:tEXt'],
      ['z', 'zipped', 'png:zTXt'],
      ['i', 'ユニコード', 'png:iTXt'],
      ['ic', 'compressed ü', 'png:iTXt'],
    ]);
    expect(m?.issues).toEqual([]);
    const r = inspectMetadata(png);
    expect(r.prompt).toBe('a red bicycle');
    expect(r.resources).toEqual([
      { type: 'checkpoint', name: 'testModel_v1', hashes: { autov2: '0123456789' }, source: 'PNG tEXt "parameters"' },
    ]);
  });

  it('a chunk whose length points past the end: issue, earlier chunks kept, the text read up to the end', async () => {
    const good = tEXt('first', 'kept');
    const liar = pngChunk('tEXt', Buffer.concat([ascii('parameters\0'), ascii(INFOTEXT)]), 1_000_000);
    const png = Buffer.concat([(await pngWith([good])).subarray(0, 8 + 25 + good.length), liar]);
    const m = readContainer(png);
    expect(m?.texts[0]).toMatchObject({ key: 'first', value: 'kept' });
    expect(m?.texts[1]).toMatchObject({ key: 'parameters', truncated: true });
    expect(m?.issues[0]?.code).toBe('WARD_ERR_METADATA_CORRUPT');
    expect(inspectMetadata(png).aiGenerated).toBe('yes');
  });

  it('an invalid chunk type or a header cut short ends the walk with an issue', async () => {
    const png = await pngWith([tEXt('a', 'b')]);
    const bad = Buffer.from(png);
    bad.write('\x01\x02\x03\x04', 8 + 25 + 4, 'latin1');
    expect(readContainer(bad)?.issues[0]?.code).toBe('WARD_ERR_METADATA_CORRUPT');
    expect(readContainer(png.subarray(0, 8 + 25 + 6))?.issues[0]?.message).toMatch(/ends inside a chunk header/);
  });

  it('a 100 MB tEXt chunk is truncated to the limit and flagged, quickly', async () => {
    const big = Buffer.alloc(100 * 1024 * 1024, 0x61);
    big.write('parameters\0', 0, 'latin1');
    const png = await pngWith([pngChunk('tEXt', big)]);
    const t0 = performance.now();
    const r = inspectMetadata(png);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(r.issues?.[0]).toMatchObject({ code: 'WARD_ERR_LIMIT_METADATA' });
    expect(r.issues?.[0]?.message).toMatch(/truncated to 8388608/);
    const m = readContainer(png);
    expect(m?.texts[0]?.truncated).toBe(true);
    expect(m?.texts[0]?.value.length).toBe(8 * 1024 * 1024);
  });

  it('a zTXt that inflates past the limit (a bomb) is refused; corrupt zlib is an issue', async () => {
    const bomb = Buffer.concat([ascii('parameters\0\0'), deflateSync(Buffer.alloc(64 * 1024 * 1024))]);
    const png = await pngWith([
      pngChunk('zTXt', bomb),
      pngChunk('zTXt', Buffer.concat([ascii('x\0\0'), ascii('not zlib')])),
    ]);
    const m = readContainer(png);
    expect(m?.texts).toEqual([]);
    expect(m?.issues.map((i) => i.code)).toEqual(['WARD_ERR_LIMIT_METADATA', 'WARD_ERR_METADATA_CORRUPT']);
  });

  it('the per-file text budget bounds many large chunks', async () => {
    const chunk = tEXt('k', 'x'.repeat(4 * 1024 * 1024));
    const png = await pngWith(Array.from({ length: 12 }, () => chunk));
    const m = readContainer(png);
    const kept = (m?.texts ?? []).reduce((n, t) => n + t.value.length, 0);
    expect(kept).toBeLessThanOrEqual(32 * 1024 * 1024);
    expect(m?.issues.some((i) => i.code === 'WARD_ERR_LIMIT_METADATA')).toBe(true);
  });

  it('reads caBX as the C2PA store, and a corrupt store is an issue, not a throw', async () => {
    const store = superbox('6332706100110010800000aa00389b71', 'c2pa', [Buffer.from('garbage')]);
    const r = inspectMetadata(await pngWith([pngChunk('caBX', store)]));
    expect(r.issues?.[0]).toMatchObject({ code: 'WARD_ERR_METADATA_CORRUPT' });
    expect(r.issues?.[0]?.message).toMatch(/^C2PA manifest store/);
    expect(r.aiGenerated).toBe('no-evidence');
  });
});

describe('EXIF UserComment and UTF-16', () => {
  for (const tiffOrder of ['le', 'be'] as const)
    for (const textOrder of ['le', 'be'] as const)
      it(`UNICODE text in ${textOrder.toUpperCase()} inside a ${tiffOrder === 'le' ? 'II' : 'MM'} TIFF: byte order from the text`, async () => {
        const block = tiff({
          le: tiffOrder === 'le',
          exif: [[0x9286, 7, userComment(`${INFOTEXT} テスト`, textOrder)]],
        });
        const m = readContainer(await jpegWith([exifApp1(block)]));
        expect(m?.texts).toEqual([
          expect.objectContaining({ key: 'UserComment', value: `${INFOTEXT} テスト`, where: 'exif' }),
        ]);
        expect(m?.issues).toEqual([]);
      });

  it('UserComment without a character code (raw JSON) is read as UTF-8', async () => {
    const block = tiff({ le: true, exif: [[0x9286, 7, Buffer.from('{"prompt": "x"}')]] });
    expect(readContainer(await jpegWith([exifApp1(block)]))?.texts[0]?.value).toBe('{"prompt": "x"}');
  });

  it('bad UTF-16 (an unpaired surrogate, an odd byte) is replaced and flagged', async () => {
    const text = Buffer.concat([utf16('Steps: 1', 'be'), Buffer.of(0xd8, 0x00, 0x00, 0x41), Buffer.of(0x42)]);
    const block = tiff({ le: true, exif: [[0x9286, 7, Buffer.concat([ascii('UNICODE\0'), text])]] });
    const m = readContainer(await jpegWith([exifApp1(block)]));
    expect(m?.texts[0]?.value).toBe('Steps: 1\ufffdA');
    expect(m?.issues[0]).toMatchObject({ code: 'WARD_ERR_METADATA_CORRUPT' });
    expect(m?.issues[0]?.message).toMatch(/invalid UTF-16/);
  });

  it('decides the order from zeros, a BOM or surrogate validity', () => {
    expect(utf16Order(utf16('abc', 'be'), 'le')).toBe('be');
    expect(utf16Order(utf16('abc', 'le'), 'be')).toBe('le');
    expect(utf16Order(Buffer.concat([Buffer.of(0xfe, 0xff), utf16('テスト', 'be')]), 'le')).toBe('be');
    expect(decodeUtf16(utf16('日本語テキスト', 'be'), 'le').text).toBe('日本語テキスト');
    expect(decodeUtf16(utf16('😀😀', 'le'), 'be')).toMatchObject({ text: '😀😀', order: 'le', invalid: 0 });
  });

  it('IFD loops, offsets past the end and lying counts end with issues', async () => {
    // IFD0 whose next-IFD pointer and Exif pointer both point back at itself.
    const loop = Buffer.from(
      'MM\0\x2a\0\0\0\x08\0\x02\x87\x69\0\x04\0\0\0\x01\0\0\0\x08\x01\x0e\0\x02\0\0\0\x40\0\0\xff\xff\0\0\0\x08',
      'latin1',
    );
    const m = readContainer(await jpegWith([exifApp1(loop)]));
    expect(m?.issues.some((i) => /past the end/.test(i.message))).toBe(true);
    const lying = Buffer.from('II\x2a\0\x08\0\0\0\xff\xff', 'latin1');
    expect(readContainer(await jpegWith([exifApp1(lying)]))?.issues[0]?.code).toBe('WARD_ERR_METADATA_CORRUPT');
  });
});

describe('JPEG', () => {
  it('a segment length past the end is an issue; COM is read', async () => {
    const jpg = await jpegWith([[0xfe, ascii('hello')]]);
    expect(readContainer(jpg)?.texts[0]).toMatchObject({ key: 'Comment', value: 'hello', where: 'jpeg:COM' });
    const cut = Buffer.concat([jpg.subarray(0, 2), Buffer.of(0xff, 0xe1, 0xff, 0xff, 0x45)]);
    expect(readContainer(cut)?.issues[0]?.message).toMatch(/claims 65535 bytes/);
  });

  it('reassembles a JUMBF box split over APP11 segments', async () => {
    const store = superbox('6332706100110010800000aa00389b71', 'c2pa', [
      superbox('63326d6100110010800000aa00389b71', 'urn:x', []),
    ]);
    const cutAt = 20;
    const seg = (seq: number, data: Buffer) =>
      [0xeb, Buffer.concat([ascii('JP'), Buffer.of(0, 1), u32be(seq), data])] as [number, Buffer];
    const jpg = await jpegWith([
      seg(1, store.subarray(0, cutAt)),
      seg(2, Buffer.concat([store.subarray(0, 8), store.subarray(cutAt)])),
    ]);
    const m = readContainer(jpg);
    expect(Buffer.from(m?.c2pa?.jumbf ?? []).equals(store)).toBe(true);
  });

  it('reads XMP DigitalSourceType (attribute and element forms) and a remote manifest reference', async () => {
    const ns = 'http://cv.iptc.org/newscodes/digitalsourcetype/';
    const xmp = (body: string) =>
      [
        0xe1,
        ascii(`http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><rdf:RDF><rdf:Description ${body}</rdf:RDF></x:xmpmeta>`),
      ] as [number, Buffer];
    const attr = await jpegWith([xmp(`Iptc4xmpExt:DigitalSourceType="${ns}trainedAlgorithmicMedia"/>`)]);
    expect(inspectMetadata(attr)).toMatchObject({ aiGenerated: 'yes', evidence: [{ kind: 'digital-source-type' }] });
    const elem = await jpegWith([
      xmp(
        `><Iptc4xmpExt:DigitalSourceType>${ns}compositeWithTrainedAlgorithmicMedia</Iptc4xmpExt:DigitalSourceType></rdf:Description>`,
      ),
    ]);
    expect(inspectMetadata(elem).aiGenerated).toBe('yes');
    const capture = await jpegWith([xmp(`Iptc4xmpExt:DigitalSourceType="${ns}digitalCapture"/>`)]);
    expect(inspectMetadata(capture).aiGenerated).toBe('no-evidence');
    const remote = await jpegWith([xmp('dcterms:provenance="https://example.invalid/m.c2pa"/>')]);
    expect(inspectMetadata(remote).c2pa).toMatchObject({
      remoteManifest: 'https://example.invalid/m.c2pa',
      validation: { state: 'unverified' },
    });
  });
});

describe('WebP', () => {
  it('reads EXIF (with or without the Exif prefix) and XMP chunks; a lying chunk size is an issue', async () => {
    const block = tiff({ le: false, exif: [[0x9286, 7, userComment(INFOTEXT, 'be')]] });
    for (const data of [block, Buffer.concat([ascii('Exif\0\0'), block])]) {
      const r = inspectMetadata(await webpWith([['EXIF', data]]));
      expect(r).toMatchObject({ aiGenerated: 'yes', prompt: 'a red bicycle' });
    }
    const webp = await webpWith([['EXIF', block]]);
    const liar = Buffer.from(webp);
    liar.writeUInt32LE(0x7fffffff, webp.length - block.length - (block.length % 2) - 4);
    expect(readContainer(liar)?.issues[0]?.code).toBe('WARD_ERR_METADATA_CORRUPT');
  });
});

describe('truncated files', () => {
  it('every prefix of a metadata-rich PNG, JPEG and WebP inspects without throwing', async () => {
    const block = tiff({
      le: true,
      ifd0: [[0x0131, 2, ascii('ComfyUI\0')]],
      exif: [[0x9286, 7, userComment(INFOTEXT, 'be')]],
    });
    const files = [
      await pngWith([
        tEXt('parameters', INFOTEXT),
        iTXt('prompt', '{"1": {"class_type": "KSampler", "inputs": {}}}', true),
      ]),
      await jpegWith([exifApp1(block)]),
      await webpWith([['EXIF', block]]),
    ];
    for (const f of files) for (let n = 0; n <= Math.min(f.length, 700); n += 3) inspectMetadata(f.subarray(0, n));
  });
});
