// The usage view: this month's requests, tokens and cost from GET /platform/v2/usage, per model
// and per day, with a bar chart drawn as SVG elements (no library, nothing inline).

import { $, formatNumber, h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function chart(days) {
  const width = 640;
  const height = 200;
  const pad = { left: 48, bottom: 28, top: 12 };
  const max = Math.max(1, ...days.map((d) => d.total_tokens));
  const step = (width - pad.left) / Math.max(1, days.length);
  const scale = (v) => ((height - pad.bottom - pad.top) * v) / max;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "bars", "aria-hidden": "true" });
  root.append(svg("line", { x1: pad.left, x2: width, y1: height - pad.bottom, y2: height - pad.bottom, class: "axis" }));
  root.append(svg("text", { x: pad.left - 6, y: pad.top + 8, class: "tick end" }, formatNumber(max)));
  root.append(svg("text", { x: pad.left - 6, y: height - pad.bottom, class: "tick end" }, "0"));
  days.forEach((day, i) => {
    const bar = Math.min(step * 0.7, 40);
    const x = pad.left + i * step + (step - bar) / 2;
    const prompt = scale(day.prompt_tokens);
    const completion = scale(day.completion_tokens);
    const base = height - pad.bottom;
    const g = svg("g", {});
    g.append(svg("title", {}, `${day.key}: ${formatNumber(day.total_tokens)} tokens, ${day.requests} requests`));
    g.append(svg("rect", { x, width: bar, y: base - prompt, height: prompt, class: "bar prompt" }));
    g.append(svg("rect", { x, width: bar, y: base - prompt - completion, height: completion, class: "bar completion" }));
    if (days.length <= 16 || i % Math.ceil(days.length / 8) === 0) {
      g.append(svg("text", { x: x + bar / 2, y: height - 8, class: "tick middle" }, (day.key || "").slice(5)));
    }
    root.append(g);
  });
  return root;
}

export async function showUsage(api) {
  $("#usage-error").textContent = "";
  let byModel;
  let byDay;
  try {
    [byModel, byDay] = await Promise.all([
      api.get("/platform/v2/usage", { group_by: "model" }),
      api.get("/platform/v2/usage", { group_by: "day" }),
    ]);
  } catch (error) {
    $("#usage-error").textContent = `Usage is not available: ${error.message}`;
    return;
  }
  const total = byModel.total;
  $("#usage-totals").replaceChildren(
    ...[["Requests", formatNumber(total.requests)], ["Tokens", formatNumber(total.total_tokens)],
      ["Cost", `$${formatNumber(total.cost_usd, 4)}`], ["Errors", formatNumber(total.errors)],
      ["Average latency", `${formatNumber(total.avg_latency_ms)} ms`]]
      .map(([label, value]) => h("div", { class: "total" }, h("span", { class: "muted small", text: label }),
        h("strong", { text: value }))));
  const days = byDay.data.slice().sort((a, b) => String(a.key).localeCompare(String(b.key)));
  const box = $("#usage-chart");
  box.replaceChildren(days.length ? chart(days) : h("p", { class: "muted", text: "No usage yet this month." }));
  box.setAttribute("aria-label", `Tokens per day: ${days.map((d) => `${d.key} ${d.total_tokens}`).join(", ") || "none"}`);
  $("#usage-models tbody").replaceChildren(...byModel.data.map((row) => h("tr", {},
    h("td", { text: row.key || "(none)" }), h("td", { text: formatNumber(row.requests) }),
    h("td", { text: formatNumber(row.prompt_tokens) }), h("td", { text: formatNumber(row.completion_tokens) }),
    h("td", { text: formatNumber(row.cost_usd, 4) }), h("td", { text: formatNumber(row.errors) }))));
}
