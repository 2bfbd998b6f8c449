// Rendering one turn of a conversation: a user question or an assistant reply with its Markdown
// text, help resources from the safety layer, sources, suggestions, the routing decision, and
// the ‹ n/m › versions control. Model and document text only ever goes through textContent.

import { renderMarkdown } from "./markdown.js";
import { h, safeHref } from "./dom.js";

const RESOURCE_LINE = /^\s*[-*]\s+([^:\n]{2,80}):\s+(.+)$/;

// The safety layer's support answer lists its help resources as "- Name: contact. description"
// lines: they are lifted out of the text and shown first, prominently.
export function splitResources(text) {
  const resources = [];
  const kept = [];
  for (const line of String(text || "").split("\n")) {
    const match = RESOURCE_LINE.exec(line);
    if (match) {
      const [contact, ...rest] = match[2].split(/\.\s+/);
      resources.push({ name: match[1].trim(), contact: contact.replace(/\.$/, ""), description: rest.join(". ") });
    } else {
      kept.push(line);
    }
  }
  return { resources, text: kept.join("\n").replace(/You can reach someone now:\s*\n/, "") };
}

function helpPanel(resources) {
  return h("section", { class: "help", role: "alert", "aria-label": "Help resources" },
    h("h4", { text: "Help is available now" }),
    h("ul", {}, resources.map((r) => h("li", {},
      h("strong", { text: r.name }),
      h("span", { class: "contact", text: r.contact }),
      r.description ? h("span", { class: "muted small", text: r.description }) : null))));
}

function sourcesList(turn) {
  const sources = turn.sources || [];
  if (!sources.length) return null;
  return h("section", { class: "sources", "aria-label": "Sources" },
    h("h4", { text: "Sources" }),
    h("ol", {}, sources.map((source, n) => {
      const title = source.item_title || source.title || source.item_id || `Source ${n + 1}`;
      const href = safeHref(source.url);
      const name = href
        ? h("a", { href, rel: "noopener noreferrer nofollow", target: "_blank", text: title })
        : h("span", { class: "title", text: title });
      const snippet = source.snippet ? h("p", { class: "snippet", text: String(source.snippet).slice(0, 280) }) : null;
      return h("li", { id: sourceId(turn, n + 1) }, name,
        source.publisher ? h("span", { class: "muted small", text: ` · ${source.publisher}` }) : null, snippet);
    })));
}

function sourceId(turn, number) {
  return `src-${turn.message_id || "new"}-${number}`;
}

function routingDetails(turn) {
  const routing = turn.routing || (turn.model ? { model: turn.model } : null);
  if (!routing || !routing.model) return null;
  const rows = [
    ["Model", routing.model], ["Provider", routing.provider], ["Tier", routing.tier?.replace("_", " ")],
    ["Confidence", routing.confidence != null ? `${Math.round(routing.confidence * 100)}%` : null],
    ["Mechanism", routing.mechanism?.replaceAll("_", " ")], ["Reason", routing.reason],
  ].filter(([, value]) => value);
  const layer = ["support", "refuse"].includes(turn.safety?.action);
  if (layer) {
    // No model wrote this answer: the safety layer did (routing still ran before it judged).
    rows.unshift(["Answered by", `the safety layer (${turn.safety.action}: ${(turn.safety.categories || []).join(", ")})`]);
  }
  const summary = layer ? "safety layer"
    : [routing.model, routing.tier?.replace("_", " ")].filter(Boolean).join(" · ");
  return h("details", { class: layer ? "routing layer" : "routing" },
    h("summary", { text: summary, "aria-label": `Routing: ${summary}` }),
    h("dl", {}, rows.flatMap(([key, value]) => [h("dt", { text: key }), h("dd", { text: String(value) })])));
}

function versionsControl(turn, actions) {
  const v = turn.versions;
  if (!v || v.count < 2) return null;
  const label = turn.role === "user" ? "question" : "answer";
  return h("span", { class: "versions", role: "group", "aria-label": `Versions of this ${label}` },
    h("button", { type: "button", class: "icon small", text: "‹", "aria-label": "Previous version",
      disabled: v.position <= 1, onclick: () => actions.switchTo(v.ids[v.position - 2]) }),
    h("span", { class: "versions-label", text: `${v.position}/${v.count}` }),
    h("button", { type: "button", class: "icon small", text: "›", "aria-label": "Next version",
      disabled: v.position >= v.count, onclick: () => actions.switchTo(v.ids[v.position]) }));
}

// Fills `body` with the reply's text (the safety layer's resources lifted out when present).
export function renderReplyText(turn, body, help) {
  let text = turn.message || "";
  help.replaceChildren();
  if (turn.safety?.action === "support") {
    // The structured list when the server sends one (safety.resources); else read from the text.
    const split = splitResources(text);
    const listed = turn.safety.resources?.length ? turn.safety.resources : split.resources;
    if (listed.length) {
      help.append(helpPanel(listed));
      text = split.text;
    }
  }
  const cite = (turn.sources || []).length
    ? (n) => (n >= 1 && n <= turn.sources.length ? `#${sourceId(turn, n)}` : null) : null;
  renderMarkdown(text, body, { cite });
}

// A turn's element. `turn`: a /ai/v1/chat/page turn (or a streaming one being built).
export function turnElement(turn, actions) {
  const role = turn.role === "user" ? "user" : "assistant";
  const node = h("li", { class: `turn ${role}`, dataset: { role, id: turn.message_id || "" } });
  fillTurn(node, turn, actions);
  return node;
}

export function fillTurn(node, turn, actions) {
  const role = turn.role === "user" ? "user" : "assistant";
  node.dataset.id = turn.message_id || "";
  node.dataset.status = turn.status || (turn.success === false ? "partial" : "complete");
  node.turn = turn;
  const tools = h("div", { class: "turn-tools" });
  const versions = versionsControl(turn, actions);
  if (role === "user") {
    const body = h("div", { class: "text user-text", text: turn.message });
    if (turn.message_id) {
      tools.append(h("button", { type: "button", class: "subtle small", text: "Edit",
        "aria-label": "Edit question", onclick: () => actions.edit(node) }));
    }
    if (versions) tools.prepend(versions);
    node.replaceChildren(h("div", { class: "bubble" }, body), tools);
    return;
  }
  const help = h("div", { class: "help-slot" });
  const body = h("div", { class: "text md" });
  renderReplyText(turn, body, help);
  if (turn.safety?.action === "support") node.classList.add("crisis");
  const parts = [help, body];
  if (turn.status === "partial" || (turn.error && turn.error.code === 2008)) {
    parts.push(h("p", { class: "muted small", text: "Stopped: the answer was cut short." }));
  } else if (turn.status === "failed") {
    parts.push(h("p", { class: "error small", text: turn.error?.message || "This answer failed." }));
  }
  parts.push(sourcesList(turn));
  if ((turn.suggestions || []).length) {
    parts.push(h("div", { class: "suggestions", role: "group", "aria-label": "Suggestions" },
      turn.suggestions.map((text) => h("button", { type: "button", class: "chip", text,
        onclick: () => actions.send(text) }))));
  }
  if (versions) tools.append(versions);
  if (turn.message_id && turn.status !== "pending") {
    tools.append(h("button", { type: "button", class: "subtle small", text: "Regenerate",
      "aria-label": "Regenerate answer", onclick: () => actions.regenerate(node) }));
  }
  const routing = routingDetails(turn);
  if (routing) tools.append(routing);
  node.replaceChildren(h("div", { class: "bubble" }, ...parts), tools);
}

// A reply element that streams: `append(piece)` re-renders at most once per frame.
export function streamingReply(actions) {
  const turn = { role: "kallm", message: "", status: "pending" };
  const node = turnElement(turn, actions);
  node.classList.add("streaming");
  node.setAttribute("aria-busy", "true");
  const body = node.querySelector(".text");
  const help = node.querySelector(".help-slot");
  let queued = false;
  return {
    node,
    turn,
    append(piece) {
      turn.message += piece;
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => { queued = false; renderReplyText(turn, body, help); actions.follow?.(); });
    },
    finish(final) {
      node.classList.remove("streaming");
      node.removeAttribute("aria-busy");
      Object.assign(turn, final, { role: "kallm" });
      turn.status = final.success === false ? (turn.message ? "partial" : "failed") : "complete";
      fillTurn(node, turn, actions);
    },
  };
}
