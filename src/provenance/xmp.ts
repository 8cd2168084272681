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
  const facts: XmpFacts = { digitalSourceTypes: [] };
  for (const raw of packets) {
    const xmp = raw.length > MAX_SCAN ? raw.slice(0, MAX_SCAN) : raw;
    for (const v of values(xmp, 'DigitalSourceType'))
      if (!facts.digitalSourceTypes.includes(v)) facts.digitalSourceTypes.push(v);
    const prov = values(xmp, 'provenance')[0];
    if (prov && !facts.remoteManifest) facts.remoteManifest = prov;
    const tool = values(xmp, 'CreatorTool')[0];
    if (tool && !facts.creatorTool) facts.creatorTool = tool;
  }
  return facts;
}
