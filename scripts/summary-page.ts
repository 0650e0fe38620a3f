/**
 * Job summaries as one HTML page, rendered the way GitHub renders them on a run's page: GitHub
 * Flavored Markdown (tables, task lists, raw <details>) with `marked`, and ```mermaid blocks drawn by
 * the `mermaid` package (inlined, so the page works offline). `npm run demo -- --html out.html`
 * writes it; test/summaries-browser.test.ts opens it in Chromium and fails on a diagram that does
 * not render or a table that breaks.
 *
 * When the page has loaded, `window.summaryCheck` resolves to what a reader would see go wrong:
 * `{ diagrams, tables, errors: [{ section, kind, message, source }] }`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Marked, type Tokens } from 'marked';

export interface SummarySection {
  /** Heading of the section (the step's name). */
  title: string;
  /** The job summary markdown the step wrote. */
  markdown: string;
}

const escapeHtml = (text: string): string =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** Cells a GFM table row splits into: every `|` not escaped with a backslash separates (code spans too). */
function cellCount(row: string): number {
  const trimmed = row
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '');
  return trimmed.split(/(?<!\\)\|/).length;
}

/**
 * Tables whose rows have more cells than their header: GitHub drops the extra cells without a word,
 * so a value with an unescaped `|` in it silently loses its end. Returns one message per such row.
 */
export function brokenTableRows(markdown: string): string[] {
  const problems: string[] = [];
  const lexer = new Marked({ gfm: true }).lexer(markdown);
  const visit = (tokens: readonly Tokens.Generic[]) => {
    for (const token of tokens) {
      if (token.type === 'table') {
        const lines = token.raw.trimEnd().split('\n');
        const width = cellCount(lines[0] ?? '');
        for (const line of lines.slice(2)) {
          const cells = cellCount(line);
          if (cells > width) problems.push(`row has ${cells} cells, header ${width}: ${line.trim()}`);
        }
      }
      if ('tokens' in token && Array.isArray(token.tokens)) visit(token.tokens as Tokens.Generic[]);
    }
  };
  visit(lexer as unknown as Tokens.Generic[]);
  return problems;
}

/** Markdown → HTML as GitHub shows it, with ```mermaid blocks left for mermaid to draw. */
function renderMarkdown(markdown: string): string {
  const marked = new Marked({ gfm: true, breaks: false });
  marked.use({
    renderer: {
      code(token: Tokens.Code) {
        if (token.lang === 'mermaid') return `<pre class="mermaid">${escapeHtml(token.text)}</pre>\n`;
        return false;
      },
    },
  });
  return marked.parse(markdown, { async: false });
}

const STYLE = `
body { font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
  color: #1f2328; max-width: 1012px; margin: 24px auto; padding: 0 16px; }
section { border: 1px solid #d1d9e0; border-radius: 6px; padding: 8px 24px 16px; margin: 16px 0; }
section > h1.step { font-size: 13px; color: #59636e; border-bottom: 1px solid #d1d9e0; padding-bottom: 4px; }
table { border-collapse: collapse; display: block; overflow: auto; margin: 0 0 16px; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
tr:nth-child(2n) { background: #f6f8fa; }
code { background: #eff1f3; border-radius: 6px; padding: .2em .4em; font-size: 85%; }
pre { background: #f6f8fa; padding: 16px; overflow: auto; border-radius: 6px; }
pre.mermaid-error { outline: 2px solid #d1242f; }
`;

/** The whole page: one section per summary, mermaid inlined, and the checks a test reads. */
export function summaryPage(title: string, sections: readonly SummarySection[]): string {
  const require = createRequire(import.meta.url);
  const mermaid = readFileSync(require.resolve('mermaid/dist/mermaid.min.js'), 'utf8');
  const tableProblems = sections.flatMap((section, index) =>
    brokenTableRows(section.markdown).map((message) => ({ section: index, kind: 'table', message, source: '' })),
  );
  const body = sections
    .map(
      (section, index) =>
        `<section data-index="${index}"><h1 class="step">${escapeHtml(section.title)}</h1>\n${renderMarkdown(section.markdown)}</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
<script>${mermaid.replaceAll('</script', '<\\/script')}</script>
<script>
window.summaryCheck = (async () => {
  const errors = ${JSON.stringify(tableProblems).replaceAll('<', '\\u003c')};
  // A table GitHub could not parse shows as a paragraph of pipes.
  for (const p of document.querySelectorAll('section p')) {
    const lines = p.textContent.split('\\n').filter((line) => /^\\s*\\|.*\\|\\s*$/.test(line));
    if (lines.length >= 2) errors.push({ section: Number(p.closest('section').dataset.index), kind: 'table',
      message: 'table shown as text', source: lines.join('\\n') });
  }
  mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
  const diagrams = [...document.querySelectorAll('pre.mermaid')];
  for (const [i, node] of diagrams.entries()) {
    const source = node.textContent;
    try {
      const { svg } = await mermaid.render('diagram' + i, source);
      const figure = document.createElement('div');
      figure.className = 'mermaid-diagram';
      figure.innerHTML = svg;
      node.replaceWith(figure);
    } catch (error) {
      node.classList.add('mermaid-error');
      errors.push({ section: Number(node.closest('section').dataset.index), kind: 'mermaid',
        message: String((error && error.message) || error), source });
    }
  }
  // mermaid leaves an error graphic in the body when a render fails outside the try.
  for (const stray of document.querySelectorAll('body > div[id^="ddiagram"]')) stray.remove();
  return { diagrams: diagrams.length, tables: document.querySelectorAll('table').length, errors };
})();
</script>
</body></html>
`;
}
