/**
 * @module reporting/xml
 * XML written by hand with correct escaping (no dependency), and a minimal, bounded parser for
 * the small XML documents the CyberTipline answers with (and the fake server reads in tests).
 * Characters XML 1.0 cannot carry (C0 controls other than tab/newline/return, lone surrogates,
 * U+FFFE/U+FFFF) are dropped from text: a report field can never make the document malformed.
 */
import { WardError } from '../errors.js';

const NOT_XML_CHAR =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters XML 1.0 forbids
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text without the characters XML 1.0 cannot carry. */
export function xmlClean(text: string): string {
  return text.replace(NOT_XML_CHAR, '');
}

/** Escapes text content and attribute values (both quote kinds, and CR/TAB/LF in attributes). */
export function xmlEscape(text: string, attribute = false): string {
  const t = xmlClean(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (!attribute) return t.replace(/\r/g, '&#13;');
  return t
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\r/g, '&#13;')
    .replace(/\n/g, '&#10;')
    .replace(/\t/g, '&#9;');
}

/** An element to write: children in order; `undefined` children and attributes are left out. */
export interface XmlNode {
  name: string;
  attrs?: Record<string, string | undefined>;
  text?: string;
  children?: (XmlNode | undefined)[];
}

export function el(
  name: string,
  content?: string | (XmlNode | undefined)[],
  attrs?: Record<string, string | undefined>,
): XmlNode {
  return typeof content === 'string' || content === undefined
    ? { name, ...(content !== undefined ? { text: content } : {}), ...(attrs ? { attrs } : {}) }
    : { name, children: content, ...(attrs ? { attrs } : {}) };
}

/** An element only when the value is present (non-empty text). */
export function opt(name: string, value: string | number | boolean | undefined | null): XmlNode | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(value);
  return s === '' ? undefined : el(name, s);
}

export function writeXml(root: XmlNode, declaration = true): string {
  const out: string[] = declaration ? ['<?xml version="1.0" encoding="UTF-8"?>\n'] : [];
  const write = (n: XmlNode, depth: number) => {
    const pad = '  '.repeat(depth);
    const attrs = Object.entries(n.attrs ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => ` ${k}="${xmlEscape(v as string, true)}"`)
      .join('');
    const kids = (n.children ?? []).filter((c): c is XmlNode => c !== undefined);
    if (kids.length > 0) {
      out.push(`${pad}<${n.name}${attrs}>\n`);
      for (const c of kids) write(c, depth + 1);
      out.push(`${pad}</${n.name}>\n`);
    } else if (n.text !== undefined && n.text !== '') {
      out.push(`${pad}<${n.name}${attrs}>${xmlEscape(n.text)}</${n.name}>\n`);
    } else out.push(`${pad}<${n.name}${attrs}/>\n`);
  };
  write(root, 0);
  return out.join('');
}

/** A parsed element. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (entities decoded, trimmed). */
  text: string;
}

export interface ParseLimits {
  maxBytes?: number;
  maxDepth?: number;
  maxElements?: number;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number.parseInt(e.slice(1), 10));
    const v = ENTITIES[e];
    if (v === undefined) throw bad(`unknown entity ${m}`);
    return v;
  });
}

function bad(why: string): WardError {
  return new WardError('WARD_ERR_REPORT_REJECTED', `Malformed XML from the CyberTipline: ${why}`);
}

/**
 * Parses a small XML document into elements. No DTDs, no entities beyond the five predefined
 * and character references, no namespaces processing (prefixes stay in names); bounded in size,
 * depth and element count. Throws WARD_ERR_REPORT_REJECTED (or `errorCode`) on anything else.
 */
export function parseXml(input: string | Buffer, limits: ParseLimits = {}): XmlElement {
  const maxBytes = limits.maxBytes ?? 1024 * 1024;
  const maxDepth = limits.maxDepth ?? 32;
  const maxElements = limits.maxElements ?? 20_000;
  const text = typeof input === 'string' ? input : input.toString('utf8');
  if (Buffer.byteLength(text) > maxBytes) throw bad('document too large');
  let i = 0;
  let count = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const textParts = new Map<XmlElement, string[]>();
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunk = lt === -1 ? text.slice(i) : text.slice(i, lt);
    if (chunk.trim() !== '') {
      const top = stack[stack.length - 1];
      if (!top) throw bad('text outside the root element');
      textParts.get(top)?.push(decode(chunk));
    }
    if (lt === -1) break;
    if (text.startsWith('<?', lt)) {
      const end = text.indexOf('?>', lt);
      if (end === -1) throw bad('unterminated declaration');
      i = end + 2;
      continue;
    }
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt);
      if (end === -1) throw bad('unterminated comment');
      i = end + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt);
      const top = stack[stack.length - 1];
      if (end === -1 || !top) throw bad('misplaced CDATA');
      textParts.get(top)?.push(text.slice(lt + 9, end));
      i = end + 3;
      continue;
    }
    if (text.startsWith('<!', lt)) throw bad('DTDs are not accepted');
    const gt = text.indexOf('>', lt);
    if (gt === -1) throw bad('unterminated tag');
    const tag = text.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const top = stack.pop();
      if (!top || top.name !== name) throw bad(`unexpected </${name.slice(0, 40)}>`);
      top.text = (textParts.get(top) ?? []).join('').trim();
      textParts.delete(top);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const m = /^([A-Za-z_][\w.:-]*)([\s\S]*)$/.exec(body.trim());
    if (!m) throw bad('bad tag name');
    const attrs: Record<string, string> = Object.create(null);
    const attrText = m[2] ?? '';
    const re = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/gy;
    let pos = 0;
    for (;;) {
      re.lastIndex = pos;
      const a = re.exec(attrText);
      if (!a) break;
      attrs[a[1] as string] = decode(a[3] ?? a[4] ?? '');
      pos = re.lastIndex;
    }
    if (attrText.slice(pos).trim() !== '') throw bad('bad attribute');
    const node: XmlElement = { name: m[1] as string, attrs, children: [], text: '' };
    if (++count > maxElements) throw bad('too many elements');
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(node);
    else if (root) throw bad('more than one root element');
    else root = node;
    if (!selfClosing) {
      if (stack.length + 1 > maxDepth) throw bad('nested too deeply');
      stack.push(node);
      textParts.set(node, []);
    }
  }
  if (stack.length > 0) throw bad(`unclosed <${stack[stack.length - 1]?.name}>`);
  if (!root) throw bad('no root element');
  return root;
}

/** The first child named `name`. */
export function child(e: XmlElement | undefined, name: string): XmlElement | undefined {
  return e?.children.find((c) => c.name === name);
}

export function childText(e: XmlElement | undefined, name: string): string | undefined {
  return child(e, name)?.text;
}
