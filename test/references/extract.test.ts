/**
 * References in text: links (plain, scheme-less, protocol-relative hrefs, JSON-escaped, defanged,
 * HTML entities), hub models (Civitai, Hugging Face, AIR), model files (`<lora:…>` tags, file
 * names), hashes by shape and label; spans in the original text; the new signal types'
 * normalisation; pieces give the same references as one pass (property test); arbitrary input
 * never throws; linear time on 1 and 10 MB texts, adversarial ones included. All names, hashes and
 * hosts here are made up; prompts are benign.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WardError } from '../../src/errors.js';
import {
  findReferences,
  OVERLAP,
  type Reference,
  ReferenceScanner,
  referenceFindings,
  referenceSignals,
} from '../../src/references/index.js';
import {
  modelNameSha256,
  modelNameSignal,
  modelRefSignal,
  modelRefsOf,
  normalizeModelName,
} from '../../src/signals/model-refs.js';
import { urlSha256 } from '../../src/signals/url.js';

const SHA = 'ab12'.repeat(16);
const hf = (repo: string) => `hf:${createHash('sha256').update(repo).digest('hex')}`;
const MD5 = '0f1e'.repeat(8);

const signalsOf = (refs: Reference[]) => refs.flatMap((r) => r.signals.map((s) => `${s.type}:${s.value}`));
const spanText = (text: string, refs: Reference[]) => refs.map((r) => text.slice(r.start, r.end));

describe('references in text', () => {
  it('links: plain, scheme-less, protocol-relative href with entities, JSON-escaped, defanged; trailing punctuation dropped', () => {
    const text =
      'See https://example.org/a/b. and (www.example.net/page), ' +
      '<a href="//example.com/x?a=1&amp;b=2">link</a> ' +
      '{"u": "https:\\/\\/example.org\\/json"} hxxps://bad[.]example/x';
    const refs = findReferences(text).filter((r) => r.kind === 'url');
    expect(spanText(text, refs)).toEqual([
      'https://example.org/a/b',
      'www.example.net/page',
      '//example.com/x?a=1&amp;b=2',
      'https:\\/\\/example.org\\/json',
      'hxxps://bad[.]example/x',
    ]);
    expect(signalsOf(refs)).toEqual(
      [
        'https://example.org/a/b',
        'http://www.example.net/page',
        'http://example.com/x?a=1&b=2',
        'https://example.org/json',
        'https://bad.example/x',
      ].map((u) => `url-sha256:${urlSha256(u)}`),
    );
  });

  it('hub models: Civitai model and version, Hugging Face repos, AIRs; with their file names', () => {
    const text =
      'model https://civitai.com/models/12345/some-slug?modelVersionId=678 or civitai.com/api/download/models/999 ' +
      'https://huggingface.co/example-org/Example-Model/resolve/main/weights.safetensors ' +
      'huggingface.co/datasets/org/set urn:air:sdxl:lora:civitai:111@222 https://huggingface.co/docs/x';
    const refs = findReferences(text).filter((r) => r.kind === 'model-ref');
    expect(refs.map((r) => r.signals.map((s) => s.value))).toEqual([
      ['civitai:model:12345', 'civitai:version:678'],
      ['civitai:version:999'],
      [hf('example-org/example-model')],
      [hf('datasets/org/set')],
      ['civitai:model:111', 'civitai:version:222'],
    ]);
    const names = findReferences(text).filter((r) => r.kind === 'model-name');
    expect(spanText(text, names)).toEqual(['weights.safetensors']);
  });

  it('model files: <lora:…> tags (names with spaces), file names in paths; one normalised name', () => {
    const text = 'a castle <lora:Example Lora-v2:0.8>, uses loras/example_lora_v2.safetensors and base.ckpt, not a.pt3';
    const refs = findReferences(text).filter((r) => r.kind === 'model-name');
    // The tag and the file name are one reference (same value): counted twice, both spans kept.
    expect(spanText(text, refs)).toEqual(['<lora:Example Lora-v2:0.8>', 'base.ckpt']);
    expect(refs[0]?.signals).toEqual([{ type: 'model-name', value: modelNameSha256('example_lora_v2') }]);
    expect(refs[0]?.count).toBe(2);
    expect(refs[0]?.spans.map((s) => text.slice(s.start, s.end))).toEqual([
      '<lora:Example Lora-v2:0.8>',
      'example_lora_v2.safetensors',
    ]);
  });

  it('hashes: labelled short ones, long ones alone, 0x prefixes; never inside words or numbers', () => {
    const text =
      `Model hash: 45a21ea00a, AutoV3 0123456789ab, lora hash 1234567890ab, AutoV1=1a2b3c4d ` +
      `sha256:${SHA} blake3 ${'cd34'.repeat(16)} PDQ ${'ef56'.repeat(16)} md5 ${MD5} bare 0x${SHA.replace('ab', 'cd')} ` +
      `plain 1234567890 word deadbeefcafe1234 x${MD5} ${MD5}z ${'9'.repeat(32)}`;
    const refs = findReferences(text).filter((r) => r.kind === 'hash');
    expect(refs.map((r) => r.signals.map((s) => s.type).join('+'))).toEqual([
      'autov2',
      'autov3',
      'autov3',
      'autov1',
      'sha256',
      'blake3',
      'pdq',
      'md5',
      'sha256+blake3+autov3+pdq',
    ]);
    expect(spanText(text, refs).at(-1)).toBe(`0x${SHA.replace('ab', 'cd')}`);
    expect(refs.at(-1)?.signals[0]?.value).toBe(SHA.replace('ab', 'cd'));
  });

  it('benign prose, code and numbers name nothing', () => {
    for (const text of [
      'a watercolour of a lighthouse at dusk, soft light, 35mm',
      'the decade 1990 to 2000; call 0123456789 tomorrow',
      'facade accessed faded beaded',
      'the .safetensors format, a .ckpt file',
      'ftp://example.org/x mailto:a@example.org javascript:void(0)',
    ])
      expect(findReferences(text), text).toEqual([]);
  });

  it('signals: typed values for resource-match, url-sha256 as a list; findings carry spans and hashes, never the text', () => {
    const text = `a harbour https://example.org/p <lora:secretname:1> sha256 ${SHA} https://example.org/p`;
    const refs = findReferences(text);
    const signals = referenceSignals(refs);
    expect(signals['url-sha256']).toEqual([urlSha256('https://example.org/p')]);
    expect(signals.resourceHashes).toEqual([`model-name:${modelNameSha256('secretname')}`, `sha256:${SHA}`]);
    const findings = referenceFindings(refs, 'text');
    expect(findings.map((f) => [f.type, f.severity])).toEqual([
      ['reference.url', 'info'],
      ['reference.model', 'info'],
      ['reference.hash', 'info'],
    ]);
    expect(findings[0]?.data).toMatchObject({ count: 2, spans: [{ start: 10 }, { start: text.lastIndexOf('https') }] });
    const json = JSON.stringify(findings);
    for (const secret of ['example.org', 'secretname', 'harbour']) expect(json).not.toContain(secret);
  });
});

describe('model-name and model-ref signal types', () => {
  it('model-name: folders, extension, case, separators and width do not matter; banks take names or hashes', () => {
    expect(normalizeModelName('models\\Loras/Example-Lora v2.safetensors')).toBe('example_lora_v2');
    expect(normalizeModelName('ＥＸＡＭＰＬＥ__lora..v2')).toBe('example_lora_v2');
    const h = modelNameSha256('example_lora_v2') as string;
    expect(modelNameSignal.parse('Example Lora V2.ckpt')).toBe(h);
    expect(modelNameSignal.parse(h.toUpperCase())).toBe(h);
    expect(modelNameSignal.compare('a-b.pt', 'A_B').match).toBe(true);
    expect(() => modelNameSignal.parse(' .safetensors')).toThrow(WardError);
  });

  it('model-ref: normalised ids, hub URLs and AIRs; a URL with a model and its version lists the model', () => {
    expect(modelRefSignal.parse('https://civitai.com/models/12/x?modelVersionId=34')).toBe('civitai:model:12');
    expect(modelRefSignal.parse('civitai.com/api/download/models/34')).toBe('civitai:version:34');
    // A repository's name is text: kept as the SHA-256 of `owner/repo`, lower case.
    expect(modelRefSignal.parse('HF:Org/Repo')).toBe(hf('org/repo'));
    expect(modelRefSignal.parse('https://hf.co/Org/Repo/tree/main')).toBe(hf('org/repo'));
    expect(modelRefSignal.parse(hf('org/repo'))).toBe(hf('org/repo'));
    expect(modelRefSignal.parse('urn:air:sd1:checkpoint:civitai:5@6')).toBe('civitai:model:5');
    expect(modelRefsOf('https://civitai.com/api/v1/model-versions/77')).toEqual(['civitai:version:77']);
    for (const bad of ['https://example.org/models/1', 'https://huggingface.co/docs/x', 'civitai:model:x', ''])
      expect(() => modelRefSignal.parse(bad), bad).toThrow(WardError);
  });
});

describe('long texts, pieces and hostile input', () => {
  const FRAGMENTS = [
    ' https://example.org/p?q=1 ',
    '<lora:frag:0.5>',
    ` hash: 45a21ea00a `,
    ` ${SHA} `,
    ' www.example.net/x ',
    ' urn:air:sdxl:lora:civitai:1@2 ',
    ' m.safetensors ',
    ' lorem ipsum ',
    'x'.repeat(700),
    ' '.repeat(300),
  ];

  it('pieces give the same references as one pass, wherever the text is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 20, maxLength: 160 }),
        fc.array(fc.integer({ min: 1, max: 3 * OVERLAP }), { minLength: 1, maxLength: 40 }),
        (parts, cuts) => {
          const text = parts.join('');
          const whole = findReferences(text);
          const scanner = new ReferenceScanner();
          let at = 0;
          for (const c of cuts) {
            if (at >= text.length) break;
            scanner.push(text.slice(at, at + c));
            at += c;
          }
          scanner.push(text.slice(at));
          expect(scanner.end()).toEqual(whole);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('never throws on arbitrary text; spans lie in the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), fc.string({ maxLength: 200 }), (a, b) => {
        for (const text of [a, `${a}https://${b}`, `<lora:${a}`, `${b}${SHA}${a}`, `urn:air:${a}`]) {
          for (const r of findReferences(text)) {
            expect(r.start).toBeGreaterThanOrEqual(0);
            expect(r.end).toBeLessThanOrEqual(text.length);
            expect(r.start).toBeLessThan(r.end);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('linear time: 10 MB takes about 10x 1 MB, adversarial texts included; a reference after 3 MB of padding is found', () => {
    const post = (n: number) => {
      const unit = `a boat on a lake https://example.org/${'p'.repeat(10)} sha256 ${SHA} <lora:x:1> m.ckpt. `;
      return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
    };
    const adversarial = (n: number) =>
      ['://', 'www.', '<lora:', '.safetensors', 'urn:air:', 'a'.repeat(5000), '="//', 'hash ']
        .map((u) => u.repeat(Math.ceil(n / 8 / u.length)))
        .join('');
    for (const make of [post, adversarial]) {
      const time = (n: number) => {
        const text = make(n);
        const t0 = performance.now();
        findReferences(text);
        return performance.now() - t0;
      };
      time(100_000);
      const small = Math.max(time(1_000_000), 5);
      const large = time(10_000_000);
      expect(large / small, `${make.name}: ${small.toFixed(0)} ms, ${large.toFixed(0)} ms`).toBeLessThan(30);
    }
    const padded = `${'\u200b'.repeat(3_000_000)} https://example.org/far`;
    expect(referenceSignals(findReferences(padded))['url-sha256']).toEqual([urlSha256('https://example.org/far')]);
  }, 120_000);
});
