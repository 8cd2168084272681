/**
 * @module exchanges/xml
 * A small, strict XML reader for exchange responses (NCMEC hash-sharing): elements, attributes,
 * text, CDATA, comments, the XML declaration and the five predefined entities plus numeric
 * references. No DTDs (a DOCTYPE is refused: no entity expansion), namespaces are stripped from
 * names, depth is capped. Malformed input throws WARD_ERR_EXCHANGE_FAILED.
 */
import { WardError } from '../errors.js';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const MAX_DEPTH = 64;

function bad(why: string): WardError {
  return new WardError('WARD_ERR_EXCHANGE_FAILED', `The exchange sent malformed XML: ${why}`);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&\s]{0,10});?/g, (m, name: string) => {
    if (!m.endsWith(';')) throw bad('a bare &');
    if (name.startsWith('#')) {
      const n = name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
      if (!Number.isInteger(n) || n < 0 || n > 0x10ffff) throw bad('a bad character reference');
      return String.fromCodePoint(n);
    }
    const v = ENTITIES[name];
    if (v === undefined) throw bad(`an unknown entity &${name.slice(0, 10)};`);
    return v;
  });
}

const local = (name: string) => name.slice(name.indexOf(':') + 1);
const NAME = /^[A-Za-z_][\w.:-]*$/;

/** Parses one document; returns its root element. */
export function parseXml(input: string): XmlElement {
  let i = 0;
  const n = input.length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  if (input.charCodeAt(0) === 0xfeff) i = 1;
  while (i < n) {
    const lt = input.indexOf('<', i);
    const textEnd = lt === -1 ? n : lt;
    if (textEnd > i) {
      const text = input.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.text += decode(text);
      else if (text.trim() !== '') throw bad('text outside the root element');
    }
    if (lt === -1) break;
    i = lt;
    if (input.startsWith('<!--', i)) {
      const end = input.indexOf('-->', i + 4);
      if (end === -1) throw bad('an unclosed comment');
      i = end + 3;
    } else if (input.startsWith('<![CDATA[', i)) {
      const end = input.indexOf(']]>', i + 9);
      if (end === -1) throw bad('an unclosed CDATA section');
      const top = stack[stack.length - 1];
      if (!top) throw bad('CDATA outside the root element');
      top.text += input.slice(i + 9, end);
      i = end + 3;
    } else if (input.startsWith('<?', i)) {
      const end = input.indexOf('?>', i + 2);
      if (end === -1) throw bad('an unclosed declaration');
      i = end + 2;
    } else if (input.startsWith('<!', i)) {
      throw bad('DOCTYPE and other declarations are not accepted');
    } else if (input.startsWith('</', i)) {
      const end = input.indexOf('>', i);
      if (end === -1) throw bad('an unclosed end tag');
      const name = input.slice(i + 2, end).trim();
      const top = stack.pop();
      if (!top || top.name !== local(name)) throw bad(`a mismatched end tag </${name.slice(0, 40)}>`);
      i = end + 1;
    } else {
      // A start tag: name, attributes, optional />.
      let j = i + 1;
      const m = /^[^\s/>]+/.exec(input.slice(j, j + 256));
      if (!m || !NAME.test(m[0])) throw bad('a bad element name');
      j += m[0].length;
      const el: XmlElement = { name: local(m[0]), attrs: {}, children: [], text: '' };
      for (;;) {
        while (j < n && /\s/.test(input[j] as string)) j++;
        if (j >= n) throw bad('an unclosed start tag');
        if (input[j] === '>' || input.startsWith('/>', j)) break;
        const a = /^([^\s=/>]+)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/.exec(input.slice(j, j + 64 * 1024));
        if (!a || !NAME.test(a[1] as string)) throw bad('a bad attribute');
        const an = a[1] as string;
        if (!an.startsWith('xmlns')) el.attrs[local(an)] = decode((a[2] ?? a[3]) as string);
        j += a[0].length;
      }
      const selfClosing = input[j] === '/';
      i = j + (selfClosing ? 2 : 1);
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root) throw bad('more than one root element');
      else root = el;
      if (!selfClosing) {
        if (stack.length >= MAX_DEPTH) throw bad('elements nested too deep');
        stack.push(el);
      }
    }
  }
  if (stack.length > 0) throw bad(`an unclosed element <${(stack[stack.length - 1] as XmlElement).name}>`);
  if (!root) throw bad('no root element');
  return root;
}

export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

export function childText(el: XmlElement, name: string): string | undefined {
  const c = child(el, name);
  return c === undefined ? undefined : c.text.trim();
}
