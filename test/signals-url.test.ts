/** The url-sha256 signal type: the normalisation list providers must follow, and its properties. */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { activeRegistry } from '../src/registry.js';
import { normalizeUrl, urlSha256, urlSha256Signal } from '../src/signals/url.js';

describe('url-sha256', () => {
  it('normalises the ways one address is written to one form', () => {
    const same = [
      'http://Example.COM/a/b?x=1#frag',
      'https://example.com:443/a/./c/../b?x=1',
      'example.com/a/b?x=1',
      '//user:pw@example.com./a/%62?x=1',
      'HTTP://EXAMPLE.com:80/a/b?x=1',
    ];
    for (const u of same) expect(normalizeUrl(u), u).toBe('example.com/a/b?x=1');
    expect(normalizeUrl('http://example.com')).toBe('example.com/');
    expect(normalizeUrl('http://example.com/?')).toBe('example.com/');
    expect(normalizeUrl('http://example.com:8080/p')).toBe('example.com:8080/p');
    expect(normalizeUrl('http://www.example.com/')).toBe('www.example.com/');
    expect(normalizeUrl('http://bücher.example/%7euser/%2f')).toBe('xn--bcher-kva.example/~user/%2F');
  });

  it('refuses what is not an http(s) URL', () => {
    for (const u of [
      '',
      '   ',
      'mailto:a@example.com',
      'javascript:alert(1)',
      'ftp://example.com/x',
      'http://',
      'a'.repeat(9000),
    ])
      expect(normalizeUrl(u), u).toBeUndefined();
  });

  it('hashes the normalised form with SHA-256', () => {
    expect(urlSha256('https://Example.com/a')).toBe(createHash('sha256').update('example.com/a').digest('hex'));
  });

  it('is idempotent and never throws on any string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const n = normalizeUrl(s);
        if (n !== undefined) expect(normalizeUrl(n)).toBe(n);
      }),
    );
    fc.assert(
      fc.property(fc.webUrl(), (u) => {
        const n = normalizeUrl(u);
        expect(n).toBeDefined();
        expect(normalizeUrl(n as string)).toBe(n);
      }),
    );
  });

  it('is a registered exact signal type that parses URLs and hashes alike', () => {
    const t = activeRegistry().requireSignalType('url-sha256');
    expect(t).toBe(urlSha256Signal);
    const h = urlSha256('example.com/x') as string;
    expect(t.parse('HTTP://example.com/x')).toBe(h);
    expect(t.parse(h.toUpperCase())).toBe(h);
    expect(t.compare('example.com/x', h).match).toBe(true);
    expect(() => t.parse('not a url at all ::')).toThrow(/url-sha256/);
    expect(t.queries?.([h, 'junk'], {}, {}).queries).toEqual([{ target: 'url-sha256', query: h }]);
  });
});
