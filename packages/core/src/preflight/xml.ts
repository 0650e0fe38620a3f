/**
 * A small XML well-formedness reader for report files (Cobertura): it checks that tags nest and close,
 * that attributes are `name="value"` and not repeated, and returns the root element's name and attributes.
 * No DTD or namespace processing: a report only needs to be read, and a broken one named at its line.
 */
import { lineOf, ReportError, type ReportFile } from './reports';

export interface XmlRoot {
  name: string;
  attributes: Record<string, string>;
  line: number;
}

const NAME = /[A-Za-z_:][\w.:-]*/y;
const ATTRIBUTE = /\s+([A-Za-z_:][\w.:-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;
const ENTITY = /&(?:[A-Za-z_][\w.-]*|#\d+|#x[0-9A-Fa-f]+);/y;
const CLOSE_END = /\s*>/y;
const OPEN_END = /\s*(\/?)>/y;

/** The root element of a well-formed document, or a ReportError naming the file and the line of the first problem. */
export function readXmlRoot(report: ReportFile): XmlRoot {
  const text = report.text;
  const fail = (offset: number, problem: string): never => {
    throw new ReportError(report.shown, lineOf(text, offset).line, problem);
  };
  const open: { name: string; offset: number }[] = [];
  let root: XmlRoot | undefined;
  let closedRoot = false;
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const textEnd = lt < 0 ? text.length : lt;
    checkText(text, i, textEnd, open.length === 0, fail);
    if (lt < 0) break;
    i = lt;
    if (text.startsWith('<?', i)) i = skipPast(text, i, '?>', 'processing instruction', fail);
    else if (text.startsWith('<!--', i)) i = skipPast(text, i, '-->', 'comment', fail);
    else if (text.startsWith('<![CDATA[', i)) {
      if (open.length === 0) fail(i, 'CDATA outside the root element');
      i = skipPast(text, i, ']]>', 'CDATA section', fail);
    } else if (text.startsWith('<!DOCTYPE', i)) {
      if (root !== undefined) fail(i, '<!DOCTYPE> after the root element');
      i = skipPast(
        text,
        i,
        text.indexOf('[', i) >= 0 && text.indexOf('[', i) < text.indexOf('>', i) ? ']>' : '>',
        'DOCTYPE',
        fail,
      );
    } else if (text.startsWith('</', i)) {
      NAME.lastIndex = i + 2;
      const name = NAME.exec(text)?.[0] ?? fail(i, 'a closing tag without a name');
      const end = CLOSE_END;
      end.lastIndex = i + 2 + name.length;
      if (!end.test(text)) fail(i, `the closing tag </${name} is not closed with >`);
      const top = open.pop();
      if (top === undefined) fail(i, `</${name}> closes nothing`);
      else if (top.name !== name)
        fail(i, `</${name}> closes <${top.name}> opened on line ${lineOf(text, top.offset).line}`);
      if (open.length === 0) closedRoot = true;
      i = end.lastIndex;
    } else {
      NAME.lastIndex = i + 1;
      const name =
        NAME.exec(text)?.[0] ?? fail(i, `"<" that starts no element: ${JSON.stringify(text.slice(i, i + 20))}`);
      if (closedRoot) fail(i, `<${name}> after the root element was closed (one root element only)`);
      const attributes: Record<string, string> = {};
      let at = i + 1 + name.length;
      for (;;) {
        ATTRIBUTE.lastIndex = at;
        const match = ATTRIBUTE.exec(text);
        if (match === null) break;
        const [, key, double, single] = match;
        if (key! in attributes) fail(at, `<${name}> has the attribute ${key} twice`);
        // Only the root's values are read back; the rest are checked for form alone.
        attributes[key!] = root === undefined ? decodeEntities(double ?? single ?? '') : '';
        at = ATTRIBUTE.lastIndex;
      }
      const end = OPEN_END;
      end.lastIndex = at;
      const closing = end.exec(text);
      if (closing === null) {
        const rest = text.slice(at).trimStart();
        fail(
          at,
          rest === ''
            ? `the file ends inside <${name}> (is it cut short?)`
            : `<${name}> has a malformed attribute or is not closed with >: ${JSON.stringify(rest.slice(0, 30))}`,
        );
      }
      if (root === undefined) root = { name, attributes, line: lineOf(text, i).line };
      if (closing![1] === '/') {
        if (open.length === 0) closedRoot = true;
      } else open.push({ name, offset: i });
      i = end.lastIndex;
    }
  }
  const unclosed = open.at(-1);
  if (unclosed !== undefined) {
    const last = text.trimEnd().split('\n').length;
    throw new ReportError(
      report.shown,
      last,
      `the file ends before <${unclosed.name}> (line ${lineOf(text, unclosed.offset).line}) is closed (is it cut short?)`,
    );
  }
  if (root === undefined) throw new ReportError(report.shown, 1, 'has no XML element');
  return root;
}

function skipPast(
  text: string,
  from: number,
  terminator: string,
  what: string,
  fail: (at: number, p: string) => never,
) {
  const end = text.indexOf(terminator, from);
  if (end < 0) fail(from, `the ${what} is never closed with ${terminator}`);
  return end + terminator.length;
}

/** Character data: only whitespace outside the root, and every `&` starts an entity or character reference. */
function checkText(
  text: string,
  from: number,
  to: number,
  outside: boolean,
  fail: (at: number, problem: string) => never,
): void {
  if (outside) {
    const stray = text.slice(from, to).search(/\S/);
    if (stray >= 0)
      fail(
        from + stray,
        `text outside the root element: ${JSON.stringify(text.slice(from + stray, from + stray + 20))}`,
      );
    return;
  }
  // Search the segment only: indexOf over the rest of the file for every text node is quadratic.
  const segment = text.slice(from, to);
  for (let at = segment.indexOf('&'); at >= 0; at = segment.indexOf('&', at + 1)) {
    const amp = from + at;
    ENTITY.lastIndex = amp;
    if (!ENTITY.test(text))
      fail(amp, `"&" that starts no entity (write &amp;): ${JSON.stringify(text.slice(amp, amp + 12))}`);
  }
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9A-Fa-f]+|#\d+|\w+);/g, (whole, name: string) =>
    name.startsWith('#x')
      ? String.fromCodePoint(Number.parseInt(name.slice(2), 16))
      : name.startsWith('#')
        ? String.fromCodePoint(Number(name.slice(1)))
        : (ENTITIES[name] ?? whole),
  );
}
