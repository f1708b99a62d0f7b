/**
 * A strict, single-pass reader for the XML subset XML-RPC uses: elements,
 * text, CDATA, comments and processing instructions. It never expands
 * entities beyond the five predefined ones and character references, and
 * refuses any DOCTYPE, so "billion laughs" and external-entity tricks cannot
 * happen. The codec walks the document through it directly (no tree is built:
 * a 1,000-VM answer decodes in milliseconds). Pure; no I/O.
 */
import { VemError } from '../errors.js';

export class XmlRpcParseError extends VemError {}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Replaces the predefined entities and character references; anything else is an error. */
export function decodeEntities(s: string, at = 0): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&<]{0,12});?/g, (m, body: string, off: number) => {
    if (!m.endsWith(';')) throw new XmlRpcParseError(`malformed XML at offset ${at + off}: "&" must start an entity like &amp;`);
    const named = PREDEFINED[body];
    if (named !== undefined) return named;
    let code: number;
    if (/^#[0-9]{1,8}$/.test(body)) code = Number(body.slice(1));
    else if (/^#x[0-9A-Fa-f]{1,6}$/.test(body)) code = parseInt(body.slice(2), 16);
    else throw new XmlRpcParseError(`malformed XML at offset ${at + off}: unknown entity &${body}; (entities are not expanded)`);
    if (!(code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff))) {
      throw new XmlRpcParseError(`malformed XML at offset ${at + off}: character reference ${m} is not allowed in XML`);
    }
    return String.fromCodePoint(code);
  });
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x3a || c === 0x2d || c === 0x2e;
}

/** A cursor over one document. Names and text come out as plain strings. */
export class XmlReader {
  i = 0;
  private readonly n: number;
  depth = 0;

  constructor(
    readonly text: string,
    readonly maxDepth = 64,
  ) {
    this.n = text.length;
    if (text.charCodeAt(0) === 0xfeff) this.i = 1;
  }

  fail(msg: string, at = this.i): never {
    throw new XmlRpcParseError(`malformed XML at offset ${at}: ${msg}`);
  }

  /** Skips whitespace, comments and processing instructions; refuses declarations. */
  skipMisc(): void {
    const t = this.text;
    for (;;) {
      while (this.i < this.n && isSpace(t.charCodeAt(this.i))) this.i++;
      if (t.charCodeAt(this.i) !== 0x3c) return;
      const c1 = t.charCodeAt(this.i + 1);
      if (c1 === 0x3f) {
        const end = t.indexOf('?>', this.i + 2);
        if (end < 0) this.fail('unterminated processing instruction');
        this.i = end + 2;
      } else if (c1 === 0x21) {
        if (!t.startsWith('<!--', this.i)) this.fail('DOCTYPE and other declarations are not allowed');
        const end = t.indexOf('-->', this.i + 4);
        if (end < 0) this.fail('unterminated comment');
        this.i = end + 3;
      } else return;
    }
  }

  atEnd(): boolean {
    return this.i >= this.n;
  }

  private readName(): string {
    const t = this.text;
    const start = this.i;
    const c0 = t.charCodeAt(start);
    if (!((c0 >= 0x61 && c0 <= 0x7a) || (c0 >= 0x41 && c0 <= 0x5a) || c0 === 0x5f || c0 === 0x3a)) this.fail('expected a tag name');
    let j = start + 1;
    while (j < this.n && isNameChar(t.charCodeAt(j))) j++;
    this.i = j;
    return t.slice(start, j);
  }

  /** After skipMisc: the name of the start tag here, or undefined (end tag, text or end of input). */
  peekOpen(): string | undefined {
    const t = this.text;
    if (t.charCodeAt(this.i) !== 0x3c) return undefined;
    const c1 = t.charCodeAt(this.i + 1);
    if (c1 === 0x2f || c1 === 0x21 || c1 === 0x3f) return undefined;
    const save = this.i;
    this.i++;
    const name = this.readName();
    this.i = save;
    return name;
  }

  /** Reads a start tag (attributes are skipped); returns its name and whether it closed itself. */
  open(): { name: string; empty: boolean } {
    const t = this.text;
    if (t.charCodeAt(this.i) !== 0x3c) this.fail(this.i >= this.n ? 'expected an element, found the end' : 'expected an element');
    this.i++;
    const name = this.readName();
    for (;;) {
      while (this.i < this.n && isSpace(t.charCodeAt(this.i))) this.i++;
      const c = t.charCodeAt(this.i);
      if (c === 0x3e) {
        this.i++;
        if (++this.depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
        return { name, empty: false };
      }
      if (c === 0x2f && t.charCodeAt(this.i + 1) === 0x3e) {
        this.i += 2;
        return { name, empty: true };
      }
      if (this.i >= this.n) this.fail(`unterminated tag <${name}>`);
      this.readName();
      while (this.i < this.n && isSpace(t.charCodeAt(this.i))) this.i++;
      if (t.charCodeAt(this.i) !== 0x3d) this.fail('expected = after attribute name');
      this.i++;
      while (this.i < this.n && isSpace(t.charCodeAt(this.i))) this.i++;
      const q = t[this.i];
      if (q !== '"' && q !== "'") this.fail('attribute value must be quoted');
      const end = t.indexOf(q, this.i + 1);
      if (end < 0) this.fail('unterminated attribute value');
      if (t.slice(this.i + 1, end).includes('<')) this.fail('"<" in attribute value');
      this.i = end + 1;
    }
  }

  /** Reads the end tag of `name` (after skipMisc). */
  close(name: string): void {
    const t = this.text;
    if (!t.startsWith('</', this.i)) {
      if (this.i >= this.n) this.fail(`unterminated element <${name}>`);
      const other = this.peekOpen();
      this.fail(other ? `unexpected <${other}> in <${name}>` : `expected </${name}>`);
    }
    const at = this.i;
    this.i += 2;
    const got = this.readName();
    while (this.i < this.n && isSpace(t.charCodeAt(this.i))) this.i++;
    if (t.charCodeAt(this.i) !== 0x3e) this.fail('expected > in end tag');
    this.i++;
    if (got !== name) this.fail(`</${got}> closes <${name}>`, at);
    this.depth--;
  }

  /**
   * Reads character data (text, CDATA, comments) up to the next tag; returns it
   * decoded. Stops before a start or end tag.
   */
  text_(): string {
    const t = this.text;
    const lt0 = t.indexOf('<', this.i);
    // fast path: plain text up to a tag that is not CDATA, a comment or a PI
    if (lt0 >= 0 && t.charCodeAt(lt0 + 1) !== 0x21 && t.charCodeAt(lt0 + 1) !== 0x3f) {
      const raw = t.slice(this.i, lt0);
      if (raw.includes(']]>')) this.fail('"]]>" in text');
      const at = this.i;
      this.i = lt0;
      return decodeEntities(raw, at);
    }
    let out = '';
    for (;;) {
      const lt = t.indexOf('<', this.i);
      if (lt < 0) {
        if (this.i < this.n) this.fail('text outside of any element');
        return out;
      }
      if (lt > this.i) {
        const raw = t.slice(this.i, lt);
        if (raw.includes(']]>')) this.fail('"]]>" in text');
        out += decodeEntities(raw, this.i);
      }
      this.i = lt;
      if (t.startsWith('<![CDATA[', lt)) {
        const end = t.indexOf(']]>', lt + 9);
        if (end < 0) this.fail('unterminated CDATA section');
        out += t.slice(lt + 9, end);
        this.i = end + 3;
      } else if (t.startsWith('<!--', lt)) {
        const end = t.indexOf('-->', lt + 4);
        if (end < 0) this.fail('unterminated comment');
        this.i = end + 3;
      } else if (t.startsWith('<?', lt)) {
        const end = t.indexOf('?>', lt + 2);
        if (end < 0) this.fail('unterminated processing instruction');
        this.i = end + 2;
      } else if (t.charCodeAt(lt + 1) === 0x21) {
        this.fail('declarations are not allowed inside elements');
      } else {
        return out;
      }
    }
  }

  /** The whole text content of an element just opened (no child elements allowed). */
  textContent(name: string): string {
    const s = this.text_();
    if (this.peekOpen() !== undefined) this.fail(`<${name}> must hold text, found <${this.peekOpen()}>`);
    this.close(name);
    return s;
  }

  /** Skips whitespace-only text and comments between elements; other text is an error. */
  between(parent: string): void {
    const t = this.text;
    let j = this.i;
    while (j < this.n && isSpace(t.charCodeAt(j))) j++;
    // fast path: the next thing is a tag (what our own encoder always sends)
    if (t.charCodeAt(j) === 0x3c && t.charCodeAt(j + 1) !== 0x21 && t.charCodeAt(j + 1) !== 0x3f) {
      this.i = j;
      return;
    }
    const at = this.i;
    const s = this.text_();
    if (s.trim() !== '') this.fail(`unexpected text in <${parent}>`, at);
  }

  /** After between(): whether an end tag comes next (the parent's content is over). */
  atClose(): boolean {
    return this.text.charCodeAt(this.i) === 0x3c && this.text.charCodeAt(this.i + 1) === 0x2f;
  }
}
