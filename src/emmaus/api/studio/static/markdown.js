// A small, safe Markdown renderer: it builds DOM nodes and sets text with textContent only, so
// no HTML written by a model or found in a document ever reaches the page as HTML. Supported:
// paragraphs, headings, bullet and numbered lists, block quotes, fenced code, rules, and inline
// code, **bold**, *italic*, [links](url) (http, https and mailto only) and citation
// markers [1] (linked to the answer's sources when `cite` is given).

const SAFE_LINK = /^(https?:|mailto:)/i;

function el(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

// Inline spans: code first (its content is literal), then links, emphasis and citations.
const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\[([^\]\n]+)\]\(([^)\s]+)\)|\*\*([^*\n]+)\*\*|__([^_\n]+)__|\*([^*\n]+)\*|(?<![\w])_([^_\n]+)_(?![\w])|\[(\d{1,2})\]/g;

export function renderInline(text, parent, cite) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.append(text.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[2] !== undefined) {
      const code = el("code");
      code.textContent = match[2];
      parent.append(code);
    } else if (match[3] !== undefined) {
      const href = match[4];
      if (SAFE_LINK.test(href)) {
        const a = el("a");
        a.href = href;
        a.rel = "noopener noreferrer nofollow";
        a.target = "_blank";
        renderInline(match[3], a, cite);
        parent.append(a);
      } else {
        parent.append(match[0]);
      }
    } else if (match[5] !== undefined || match[6] !== undefined) {
      const strong = el("strong");
      renderInline(match[5] ?? match[6], strong, cite);
      parent.append(strong);
    } else if (match[7] !== undefined || match[8] !== undefined) {
      const em = el("em");
      renderInline(match[7] ?? match[8], em, cite);
      parent.append(em);
    } else if (match[9] !== undefined) {
      const target = cite ? cite(Number(match[9])) : null;
      if (target) {
        const sup = el("sup", "cite");
        const a = el("a");
        a.href = target;
        a.textContent = `[${match[9]}]`;
        sup.append(a);
        parent.append(sup);
      } else {
        parent.append(match[0]);
      }
    }
  }
  if (last < text.length) parent.append(text.slice(last));
}

const FENCE = /^\s{0,3}(```|~~~)\s*([\w+-]*)\s*$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
const NUMBERED = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;

// Renders `text` into `container` (replacing what it held).
export function renderMarkdown(text, container, { cite } = {}) {
  const root = document.createDocumentFragment();
  const lines = String(text ?? "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  let paragraph = [];
  const flush = () => {
    if (!paragraph.length) return;
    const p = el("p");
    paragraph.forEach((line, n) => {
      if (n) p.append(el("br"));
      renderInline(line, p, cite);
    });
    root.append(p);
    paragraph = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if ((m = FENCE.exec(line))) {
      flush();
      const fence = m[1];
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) body.push(lines[i++]);
      i += 1;
      const pre = el("pre");
      const code = el("code");
      if (m[2]) code.dataset.lang = m[2];
      code.textContent = body.join("\n");
      pre.append(code);
      root.append(pre);
      continue;
    }
    if (!line.trim()) { flush(); i += 1; continue; }
    if ((m = HEADING.exec(line))) {
      flush();
      const h = el(`h${Math.min(6, m[1].length + 2)}`);  // inside an answer: below the page's
      renderInline(m[2], h, cite);
      root.append(h);
      i += 1;
      continue;
    }
    if (RULE.test(line)) { flush(); root.append(el("hr")); i += 1; continue; }
    if (QUOTE.test(line)) {
      flush();
      const quoted = [];
      while (i < lines.length && (m = QUOTE.exec(lines[i]))) { quoted.push(m[1]); i += 1; }
      const q = el("blockquote");
      renderMarkdown(quoted.join("\n"), q, { cite });
      root.append(q);
      continue;
    }
    if (BULLET.test(line) || NUMBERED.test(line)) {
      flush();
      const ordered = !BULLET.test(line);
      const list = el(ordered ? "ol" : "ul");
      if (ordered) {
        const start = Number(NUMBERED.exec(line)[1]);
        if (start !== 1) list.start = start;
      }
      const pattern = ordered ? NUMBERED : BULLET;
      while (i < lines.length && (m = pattern.exec(lines[i]))) {
        const li = el("li");
        renderInline(ordered ? m[2] : m[1], li, cite);
        i += 1;
        // Continuation lines (indented, not a new item) belong to the item.
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !pattern.test(lines[i])) {
          li.append(" ");
          renderInline(lines[i].trim(), li, cite);
          i += 1;
        }
        list.append(li);
      }
      root.append(list);
      continue;
    }
    paragraph.push(line);
    i += 1;
  }
  flush();
  container.replaceChildren(root);
}
