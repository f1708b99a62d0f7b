/**
 * libvirt's XML (domain, device, pool, volume, network, snapshot) read and
 * written one way everywhere: one parser configuration, one escape, one
 * entity decoder, one refusal of DTDs. Pure.
 *
 * Entities are never expanded by the parser (no billion laughs, no external
 * entities); attributes and text come back raw and are decoded by
 * decodeEntities, which knows only the five standard entities and character
 * references.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

/** Attribute keys carry this prefix in a parsed tree (`node['@_type']`). */
export const ATTR = '@_';

/** The one parser configuration; each caller says only which tags may repeat. */
const OPTIONS = {
  ignoreAttributes: false,
  attributeNamePrefix: ATTR,
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
} as const;

/** A parser for libvirt XML whose `repeated` tags always come back as arrays (one <disk> as [disk]). */
export function xmlParser(repeated: Iterable<string> = []): XMLParser {
  const tags = new Set(repeated);
  return new XMLParser({ ...OPTIONS, isArray: (tag: string) => tags.has(tag) });
}

/**
 * The same configuration in document order, with comments and whitespace kept,
 * for XML that is edited and written back (a clone's domain XML keeps its
 * shape); xmlBuilder() writes such a tree.
 */
export function orderedXmlParser(): XMLParser {
  return new XMLParser({ ...OPTIONS, preserveOrder: true, commentPropName: '#comment', trimValues: false });
}

export function xmlBuilder(): XMLBuilder {
  return new XMLBuilder({ ...OPTIONS, preserveOrder: true, commentPropName: '#comment', suppressEmptyNode: true });
}

/** True when the document declares a DTD or entities, which libvirt XML never needs; such input is refused. */
export function hasDtd(xml: string): boolean {
  return /<!DOCTYPE|<!ENTITY/i.test(xml);
}

/** Why `xml` is not well-formed, and on which line; undefined when it is. */
export function xmlProblem(xml: string): { line: number; message: string } | undefined {
  const v = XMLValidator.validate(xml);
  return v === true ? undefined : { line: v.err.line, message: v.err.msg };
}

/** The one XML escape, for text and attribute values alike. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the five standard entities and character references; anything else is left as written. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#')) {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[e] ?? m;
  });
}
