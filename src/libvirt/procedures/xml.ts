/**
 * Tiny, dependency-free readers for the few flat fields we take from libvirt's
 * XML (snapshot, pool, volume, network descriptions). Callers pass the part of
 * the document that holds the field; the full XML stays available unparsed.
 */

import { decodeEntities } from '../../common/xml.js';

/** The one entity decoder (src/common/xml.ts), under the name this module's readers use. */
export const unescapeXml = decodeEntities;

/** Text of the first <tag>…</tag> (no nested elements), or undefined. */
export function tagText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}(?:\\s[^>]*)?>([^<]*)</${tag}>`).exec(xml);
  return m ? unescapeXml(m[1] as string) : undefined;
}

/** Value of attribute `attr` on the first <tag ...>, or undefined. */
export function tagAttr(xml: string, tag: string, attr: string): string | undefined {
  const m = new RegExp(`<${tag}\\s[^>]*?\\b${attr}=(['"])(.*?)\\1`).exec(xml);
  return m ? unescapeXml(m[2] as string) : undefined;
}

/** The inside of the first <tag>…</tag> element (may hold nested elements). */
export function section(xml: string, tag: string): string | undefined {
  const open = new RegExp(`<${tag}(?:\\s[^>]*)?>`).exec(xml);
  if (!open) return undefined;
  const from = open.index + open[0].length;
  const end = xml.indexOf(`</${tag}>`, from);
  return end < 0 ? undefined : xml.slice(from, end);
}
