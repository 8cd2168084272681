/**
 * `ward inspect` for images, in process: NDJSON/JSON records from the image inspector, `--redact`,
 * `--metadata-only`, and a table that never prints prompts. Files are built here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { pngWith, stealthPixels, tEXt } from './build.js';

const dir = mkdtempSync(join(tmpdir(), 'ward-inspect-images-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const INFOTEXT =
  'a tall ship\nNegative prompt: storm\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 3, Size: 8x8, Model hash: 0123456789, Model: ships_v1, Lora hashes: "sails: abcdefabcdef", Version: v1.10.1';

async function ward(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write: (c, _e, cb) => {
        f(String(c));
        cb();
      },
    });
  const code = await main(args, {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    stdoutIsTTY: false,
  });
  return { code, out, err };
}

describe('ward inspect (images)', () => {
  it('writes one NDJSON record per image, with generator, prompts and resources', async () => {
    const a = join(dir, 'a.png');
    const b = join(dir, 'b.png');
    writeFileSync(a, await pngWith([tEXt('parameters', INFOTEXT)]));
    writeFileSync(b, await pngWith([]));
    const { code, out } = await ward(['inspect', '--format', 'ndjson', a, b]);
    expect(code).toBe(0);
    const [ra, rb] = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(ra).toMatchObject({
      inspector: 'image',
      path: a,
      format: 'png',
      provenance: {
        aiGenerated: 'yes',
        generator: 'AUTOMATIC1111 v1.10.1',
        prompt: 'a tall ship',
        negativePrompt: 'storm',
        resources: [
          { type: 'checkpoint', name: 'ships_v1', hashes: { autov2: '0123456789' } },
          { type: 'lora', name: 'sails', hashes: { autov3: 'abcdefabcdef' } },
        ],
      },
      findings: [],
    });
    expect(rb).toMatchObject({
      inspector: 'image',
      provenance: { aiGenerated: 'no-evidence', evidence: [], resources: [] },
    });
  });

  it('--redact leaves prompts out; the table never prints them', async () => {
    const a = join(dir, 'r.png');
    writeFileSync(a, await pngWith([tEXt('parameters', INFOTEXT)]));
    const redacted = await ward(['inspect', '--redact', '--format', 'json', a]);
    const [rec] = JSON.parse(redacted.out);
    expect(rec.provenance.redacted).toBe(true);
    expect(redacted.out).not.toContain('tall ship');
    const table = await ward(['inspect', '--format', 'table', a]);
    expect(table.out).toContain('AI-generated: yes');
    expect(table.out).toContain('autov3:abcdefabcdef');
    expect(table.out).not.toContain('tall ship');
    expect(table.out).not.toContain('storm');
  });

  it('--metadata-only skips the pixel checks (stealth metadata is not seen)', async () => {
    const px = stealthPixels(INFOTEXT, 'alpha', true, 64, 64);
    const file = join(dir, 's.png');
    writeFileSync(
      file,
      await sharp(Buffer.from(px.data), { raw: { width: 64, height: 64, channels: 4 } })
        .png()
        .toBuffer(),
    );
    const full = JSON.parse((await ward(['inspect', '--format', 'ndjson', file])).out);
    expect(full.provenance).toMatchObject({ aiGenerated: 'yes', evidence: [{ kind: 'stealth-metadata' }] });
    const meta = JSON.parse((await ward(['inspect', '--format', 'ndjson', '--metadata-only', file])).out);
    expect(meta.provenance).toMatchObject({ aiGenerated: 'no-evidence' });
    expect(meta.provenance.watermark).toBeUndefined();
  });
});
