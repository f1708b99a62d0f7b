/**
 * A minimal, strict XML reader for the XML-RPC subset: elements, text, CDATA,
 * comments and processing instructions. It never expands entities beyond the
 * five predefined ones and character references, and refuses any DOCTYPE, so
 * "billion laughs" and external-entity tricks cannot happen. Pure; no I/O.
 */
import { VemError } from '../errors.js';

export class XmlRpcParseError extends VemError {}

export interface XmlElement {
  name: string;
  children: Array<XmlElement | string>;
}

export interface XmlLimits {
  /** Deepest element nesting accepted. */
  maxDepth?: number;
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function fail(msg: string, at: number): never {
  throw new XmlRpcParseError(`malformed XML at offset ${at}: ${msg}`);
}

/** Replaces the predefined entities and character references; anything else is an error. */
export function decodeEntities(s: string, at = 0): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&<]{0,12});?/g, (m, body: string, off: number) => {
    if (!m.endsWith(';')) fail('"&" must start an entity like &amp;', at + off);
    const named = PREDEFINED[body];
    if (named !== undefined) return named;
    let code = NaN;
    if (/^#[0-9]{1,8}$/.test(body)) code = Number(body.slice(1));
    else if (/^#x[0-9A-Fa-f]{1,6}$/.test(body)) code = parseInt(body.slice(2), 16);
    else fail(`unknown entity &${body}; (entities are not expanded)`, at + off);
    if (!(code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff))) {
      fail(`character reference ${m} is not allowed in XML`, at + off);
    }
    return String.fromCodePoint(code);
  });
}

/** Parses a document and returns its root element. */
export function parseXml(text: string, limits: XmlLimits = {}): XmlElement {
  const maxDepth = limits.maxDepth ?? 64;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  const skipMisc = (): void => {
    for (;;) {
      while (i < n && /\s/.test(text[i] as string)) i++;
      if (text.startsWith('<?', i)) {
        const end = text.indexOf('?>', i + 2);
        if (end < 0) fail('unterminated processing instruction', i);
        i = end + 2;
      } else if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment', i);
        i = end + 3;
      } else if (text.startsWith('<!', i)) {
        fail('DOCTYPE and other declarations are not allowed', i);
      } else return;
    }
  };

  const readName = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(text);
    if (!m) fail('expected a tag name', i);
    i += m[0].length;
    return m[0];
  };

  // Reads "<name attr='..'>" or "<name/>" starting at '<'; returns whether it self-closed.
  const openTag = (): boolean => {
    i++;
    const name = readName();
    for (;;) {
      while (i < n && /\s/.test(text[i] as string)) i++;
      const c = text[i];
      if (c === undefined) fail(`unterminated tag <${name}>`, i);
      if (c === '>' || (c === '/' && text[i + 1] === '>')) break;
      readName();
      while (i < n && /\s/.test(text[i] as string)) i++;
      if (text[i] !== '=') fail('expected = after attribute name', i);
      i++;
      while (i < n && /\s/.test(text[i] as string)) i++;
      const q = text[i];
      if (q !== '"' && q !== "'") fail('attribute value must be quoted', i);
      const end = text.indexOf(q, i + 1);
      if (end < 0) fail('unterminated attribute value', i);
      if (text.slice(i + 1, end).includes('<')) fail('"<" in attribute value', i);
      i = end + 1;
    }
    const el: XmlElement = { name, children: [] };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else root = el;
    const selfClosed = text[i] === '/';
    i += selfClosed ? 2 : 1;
    if (!selfClosed) {
      if (stack.length >= maxDepth) fail(`nesting deeper than ${maxDepth}`, i);
      stack.push(el);
    }
    return selfClosed;
  };

  const addText = (s: string): void => {
    const top = stack[stack.length - 1] as XmlElement;
    const last = top.children[top.children.length - 1];
    if (typeof last === 'string') top.children[top.children.length - 1] = last + s;
    else top.children.push(s);
  };

  skipMisc();
  if (text[i] !== '<') fail('expected the root element', i);
  if (!openTag()) {
    while (stack.length > 0) {
      const lt = text.indexOf('<', i);
      if (lt < 0) fail(`unterminated element <${(stack[stack.length - 1] as XmlElement).name}>`, n);
      if (lt > i) {
        const raw = text.slice(i, lt);
        if (raw.includes(']]>')) fail('"]]>" in text', i);
        addText(decodeEntities(raw, i));
      }
      i = lt;
      if (text.startsWith('</', i)) {
        i += 2;
        const name = readName();
        while (i < n && /\s/.test(text[i] as string)) i++;
        if (text[i] !== '>') fail('expected > in end tag', i);
        i++;
        const top = stack.pop() as XmlElement;
        if (top.name !== name) fail(`</${name}> closes <${top.name}>`, i);
      } else if (text.startsWith('<![CDATA[', i)) {
        const end = text.indexOf(']]>', i + 9);
        if (end < 0) fail('unterminated CDATA section', i);
        addText(text.slice(i + 9, end));
        i = end + 3;
      } else if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment', i);
        i = end + 3;
      } else if (text.startsWith('<?', i)) {
        const end = text.indexOf('?>', i + 2);
        if (end < 0) fail('unterminated processing instruction', i);
        i = end + 2;
      } else if (text.startsWith('<!', i)) {
        fail('declarations are not allowed inside elements', i);
      } else {
        openTag();
      }
    }
  }
  skipMisc();
  if (i < n) fail('content after the root element', i);
  return root as XmlElement;
}

/** Child elements only (whitespace between them ignored; other text is an error). */
export function elementChildren(el: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (typeof c === 'string') {
      if (c.trim() !== '') throw new XmlRpcParseError(`unexpected text in <${el.name}>`);
    } else out.push(c);
  }
  return out;
}

/** The text content of an element that must hold text only. */
export function textOf(el: XmlElement): string {
  let s = '';
  for (const c of el.children) {
    if (typeof c !== 'string') throw new XmlRpcParseError(`<${el.name}> must hold text, found <${c.name}>`);
    s += c;
  }
  return s;
}
