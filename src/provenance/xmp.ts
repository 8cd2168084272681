/**
 * @module provenance/xmp
 * What provenance needs from an XMP packet, read without an XML parser (attribute and element forms,
 * any namespace prefix): the IPTC `DigitalSourceType`, `dcterms:provenance` (a remote C2PA manifest:
 * reported, never fetched) and `xmp:CreatorTool`.
 */

export interface XmpFacts {
  digitalSourceTypes: string[];
  /** A remote manifest URL (`dcterms:provenance`). */
  remoteManifest?: string;
  creatorTool?: string;
  /**
   * Properties outside the standard namespaces (a generator's own: `sd:model`, `ai:parameters`),
   * local name to value, per packet: the generic provenance pass reads them (first 1,000).
   */
  fields: Record<string, string>[];
}

/** Namespaces of cameras, editors and standards: their properties (`tiff:Model`) are not a generator's. */
const STANDARD_PREFIXES = new Set(
  (
    'rdf x xmlns xml tiff exif exifEX aux photoshop crs crd dc xmp xmpMM xmpRights xmpDM xmpTPg xmpG xmpBJ xmpidq ' +
    'stEvt stRef stDim stVer stJob stFnt stArea Iptc4xmpCore Iptc4xmpExt plus dcterms pdf pdfx GPano lr mwg-rs ' +
    'mwg-kw MicrosoftPhoto MP MPRI MPReg hdrgm GCamera GImage GDepth Container Item apple-fi illustrator c2pa'
  ).split(' '),
);
const MAX_FIELDS = 1000;
const MAX_FIELD_SCAN = 1024 * 1024;

const isNameChar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) ||
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x61 && c <= 0x7a) ||
  c === 0x2d ||
  c === 0x2e ||
  c === 0x5f;

/**
 * `prefix:Name="value"` attributes and `<prefix:Name>value</prefix:Name>` elements outside the
 * standard namespaces. A hand-written scan: each position is looked at a bounded number of times.
 */
export function xmpFields(xmp: string): Record<string, string> {
  const text = xmp.length > MAX_FIELD_SCAN ? xmp.slice(0, MAX_FIELD_SCAN) : xmp;
  const out: Record<string, string> = {};
  let n = 0;
  const put = (qname: string, value: string) => {
    const colon = qname.indexOf(':');
    if (colon <= 0 || STANDARD_PREFIXES.has(qname.slice(0, colon))) return;
    const local = qname.slice(colon + 1);
    const v = decodeEntities(value).trim();
    if (!local || !v || Object.hasOwn(out, local) || n >= MAX_FIELDS) return;
    out[local] = v;
    n++;
  };
  // Attributes: find `=`, read the name before it, the quoted value after it.
  let at = 0;
  while (n < MAX_FIELDS) {
    const eq = text.indexOf('=', at);
    if (eq < 0) break;
    at = eq + 1;
    let q = eq + 1;
    while (q < text.length && (text[q] === ' ' || text[q] === '\t' || text[q] === '\n' || text[q] === '\r')) q++;
    const quote = text[q];
    if (quote !== '"' && quote !== "'") continue;
    let e = eq - 1;
    while (e >= 0 && (text[e] === ' ' || text[e] === '\t' || text[e] === '\n' || text[e] === '\r')) e--;
    let b = e;
    while (b >= 0 && b > e - 128 && (isNameChar(text.charCodeAt(b)) || text[b] === ':')) b--;
    const close = text.indexOf(quote, q + 1);
    if (close < 0) break;
    put(text.slice(b + 1, e + 1), text.slice(q + 1, close));
    at = close + 1;
  }
  // Elements with text content.
  at = 0;
  while (n < MAX_FIELDS) {
    const lt = text.indexOf('<', at);
    if (lt < 0) break;
    at = lt + 1;
    let e = lt + 1;
    while (e < text.length && e < lt + 129 && (isNameChar(text.charCodeAt(e)) || text[e] === ':')) e++;
    const qname = text.slice(lt + 1, e);
    if (!qname.includes(':')) continue;
    const gt = text.indexOf('>', e);
    if (gt < 0) break;
    if (text[gt - 1] === '/') continue;
    const next = text.indexOf('<', gt + 1);
    if (next < 0) break;
    if (text.startsWith(`</${qname}>`, next)) put(qname, text.slice(gt + 1, next));
    at = next;
  }
  return out;
}

const MAX_SCAN = 4 * 1024 * 1024;

function decodeEntities(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(Number.parseInt(h, 16) % 0x110000))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d) % 0x110000))
    .replace(/&amp;/g, '&');
}

/** Values of a property in attribute (`p:Name="v"`) or element (`<p:Name>v</p:Name>`, `rdf:resource`) form. */
function values(xmp: string, name: string): string[] {
  const out: string[] = [];
  const attr = new RegExp(`[\\s<][\\w.-]+:${name}\\s*=\\s*(["'])(.*?)\\1`, 'g');
  for (const m of xmp.matchAll(attr)) out.push(decodeEntities(m[2] as string));
  const elem = new RegExp(`<([\\w.-]+:${name})(\\s[^>]*)?>([^<]*)</\\1>`, 'g');
  for (const m of xmp.matchAll(elem)) if ((m[3] as string).trim()) out.push(decodeEntities(m[3] as string));
  const res = new RegExp(`<[\\w.-]+:${name}\\s[^>]*rdf:resource\\s*=\\s*(["'])(.*?)\\1`, 'g');
  for (const m of xmp.matchAll(res)) out.push(decodeEntities(m[2] as string));
  return out.map((v) => v.trim()).filter((v) => v.length > 0);
}

export function readXmp(packets: readonly string[]): XmpFacts {
  const facts: XmpFacts = { digitalSourceTypes: [], fields: [] };
  for (const raw of packets) {
    const xmp = raw.length > MAX_SCAN ? raw.slice(0, MAX_SCAN) : raw;
    for (const v of values(xmp, 'DigitalSourceType'))
      if (!facts.digitalSourceTypes.includes(v)) facts.digitalSourceTypes.push(v);
    const prov = values(xmp, 'provenance')[0];
    if (prov && !facts.remoteManifest) facts.remoteManifest = prov;
    const tool = values(xmp, 'CreatorTool')[0];
    if (tool && !facts.creatorTool) facts.creatorTool = tool;
    const fields = xmpFields(xmp);
    if (Object.keys(fields).length > 0) facts.fields.push(fields);
  }
  return facts;
}
