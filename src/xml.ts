/**
 * A strict, tiny XML reader for AWS Query API answers (STS, EC2). It knows elements, attributes
 * (read and dropped: AWS puts only xmlns there) and text; DTDs, entities beyond the predefined
 * five, CDATA, comments and processing instructions are refused outright, so no entity expansion
 * or external fetch can happen (DESIGN §3.1).
 */

export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

/** The document is not one this reader accepts; the message completes "<the answer> …". */
export class XmlRefused extends Error {
  override readonly name = 'XmlRefused';
}

const XML_DECLARATION = /^\uFEFF?<\?xml\s[^<>?]*\?>/;
const XML_TAG =
  /<(\/?)([A-Za-z_][A-Za-z0-9._-]*)((?:\s+[A-Za-z_:][A-Za-z0-9._:-]*\s*=\s*(?:"[^"<&]*"|'[^'<&]*'))*)\s*(\/?)>/y;
const XML_TEXT = /[^<]+/y;
const XML_ENTITY = /&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));/g;
const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};

/** Well-formed elements and text only, one root; throws XmlRefused otherwise. */
export function parseStrictXml(body: string): XmlElement {
  const start = XML_DECLARATION.exec(body)?.[0].length ?? 0;
  if (body.includes('<!')) throw new XmlRefused('contains a DOCTYPE, ENTITY, CDATA or comment');
  if (body.includes('<?', start)) throw new XmlRefused('contains a processing instruction');
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let pos = start;
  while (pos < body.length) {
    const token = body[pos] === '<' ? XML_TAG : XML_TEXT;
    token.lastIndex = pos;
    const m = token.exec(body);
    if (!m) throw malformed();
    pos = token.lastIndex;
    const parent = stack[stack.length - 1];
    if (token === XML_TEXT) {
      if (parent) parent.text += decodeText(m[0]);
      else if (m[0].trim() !== '') throw malformed();
    } else if (m[1] === '/') {
      if (parent?.name !== m[2] || m[3] !== '' || m[4] !== '') throw malformed();
      stack.pop();
    } else {
      const el: XmlElement = { name: m[2] ?? '', children: [], text: '' };
      if (parent) parent.children.push(el);
      else if (root) throw malformed();
      else root = el;
      if (m[4] !== '/') stack.push(el);
    }
  }
  if (!root || stack.length > 0) throw malformed();
  return root;
}

/** The first child element with this name. */
export function childElement(parent: XmlElement | undefined, name: string): XmlElement | undefined {
  return parent?.children.find((c) => c.name === name);
}

/** The text of the first child element with this name; undefined when there is none. */
export function childText(parent: XmlElement | undefined, name: string): string | undefined {
  return childElement(parent, name)?.text;
}

function decodeText(raw: string): string {
  if (/&(?!(?:lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)/.test(raw)) {
    throw new XmlRefused('uses an entity other than the predefined XML ones');
  }
  return raw.replace(
    XML_ENTITY,
    (_m, named: string | undefined, dec: string | undefined, hex: string | undefined) => {
      if (named) return PREDEFINED_ENTITIES[named] ?? '';
      const cp = dec ? Number.parseInt(dec, 10) : Number.parseInt(hex ?? '', 16);
      if (cp < 1 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw malformed();
      return String.fromCodePoint(cp);
    },
  );
}

function malformed(): XmlRefused {
  return new XmlRefused('is not well-formed XML');
}
