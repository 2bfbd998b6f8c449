// Emmaus Studio: sign in, the chats sidebar, the views (#/chat/<id>, #/library, #/usage), the
// theme and the keyboard shortcuts. Hand-written modules, no build step; every request goes to
// this server.

import { Api } from "./api.js";
import { Conversation } from "./chat.js";
import { $, ask, h, toast } from "./dom.js";
import { Library } from "./library.js";
import { showUsage } from "./usage.js";

const THEME_KEY = "emmaus.studio.theme";

const api = new Api({ onSignedOut: (reason) => showSignIn(reason) });
let chats = [];
let chatsCursor = null;

const conversation = new Conversation(api, {
  onChatCreated: (chatId) => {
    history.replaceState(null, "", `#/chat/${encodeURIComponent(chatId)}`);
    loadChats();
  },
  onActivity: () => loadChats(),
});
const library = new Library(api, { onPublishers: (list) => fillPublishers(list) });

// -- sign in ---------------------------------------------------------------------------------

function showSignIn(reason = "") {
  $("#studio").hidden = true;
  $("#signin").hidden = false;
  $("#signin-error").textContent = reason;
  $("#client-id").value = api.clientId || $("#client-id").value;
  $("#client-secret").value = "";
  ($("#client-id").value ? $("#client-secret") : $("#client-id")).focus();
}

$("#signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const clientId = $("#client-id").value.trim();
  const secret = $("#client-secret").value;
  const error = $("#signin-error");
  if (!clientId || !secret) { error.textContent = "Enter the client ID and the client secret."; return; }
  error.textContent = "";
  const button = event.submitter || $("#signin-form button");
  button.disabled = true;
  try {
    await api.signIn(clientId, secret);
    $("#client-secret").value = "";
    await enter();
  } catch (failure) {
    error.textContent = failure.message;
    $("#client-secret").select();
  } finally {
    button.disabled = false;
  }
});

$("#signout").addEventListener("click", () => {
  api.signOut("You are signed out.");
  conversation.reset();
});

async function enter() {
  $("#signin").hidden = true;
  $("#studio").hidden = false;
  // The chat first (its newest page is what the person waits for), then the sidebar, the
  // catalog and the library, so they do not compete with it for the server.
  await route()?.catch(() => {});
  const shown = (error) => toast(error.message);  // signed in all the same: say it, go on
  await Promise.all([loadChats().catch(shown), loadModels().catch(shown),
    library.refresh().catch(() => {})]);
  renderChats();
}

// -- chats sidebar ---------------------------------------------------------------------------

async function loadChats(more = false) {
  const page = await api.get("/ai/v1/chats", { limit: 100, cursor: more ? chatsCursor : null });
  chats = more ? chats.concat(page.chats) : page.chats;
  chatsCursor = page.next_cursor;
  $("#more-chats").hidden = !chatsCursor;
  renderChats();
}

function renderChats() {
  const filter = $("#chat-filter").value.trim().toLowerCase();
  // Pinned first; otherwise the server's order (newest activity first).
  const shown = chats
    .map((chat, index) => ({ chat, index }))
    .filter(({ chat }) => !filter || (chat.title || "Untitled chat").toLowerCase().includes(filter))
    .sort((a, b) => (b.chat.pin - a.chat.pin) || (a.index - b.index))
    .map(({ chat }) => chat);
  const current = conversation.chatId;
  // A refresh (a new title, a pin) must not drop keyboard focus from the list: remember which
  // chat's link or tool had it, and give it back to the same one after the list is rebuilt.
  const list = $("#chat-list");
  const active = list.contains(document.activeElement) ? document.activeElement : null;
  const kept = active && { id: active.closest(".chat-item")?.dataset.id, action: active.dataset.action };
  list.replaceChildren(...shown.map((chat) => {
    const title = chat.title || "Untitled chat";
    return h("li", { class: `chat-item${chat.chat_id === current ? " current" : ""}${chat.pin ? " pinned" : ""}`,
      dataset: { id: chat.chat_id, pinned: String(chat.pin) } },
      h("a", { href: `#/chat/${encodeURIComponent(chat.chat_id)}`, class: "chat-link",
        "aria-current": chat.chat_id === current ? "page" : null },
        chat.pin ? h("span", { class: "pin-mark", text: "★", "aria-label": "Pinned" }) : null,
        h("span", { class: "chat-title", text: title })),
      h("span", { class: "chat-tools" },
        h("button", { type: "button", class: "icon small", text: "✎", "aria-label": `Rename ${title}`,
          title: "Rename", dataset: { action: "rename" }, onclick: () => renameChat(chat) }),
        h("button", { type: "button", class: "icon small", text: chat.pin ? "★" : "☆",
          "aria-label": `${chat.pin ? "Unpin" : "Pin"} ${title}`, title: chat.pin ? "Unpin" : "Pin",
          "aria-pressed": String(chat.pin), dataset: { action: "pin" }, onclick: () => pinChat(chat) }),
        h("button", { type: "button", class: "icon small", text: "✕", "aria-label": `Delete ${title}`,
          title: "Delete", dataset: { action: "delete" }, onclick: () => deleteChat(chat) })));
  }));
  if (kept?.id) {
    const item = [...list.children].find((li) => li.dataset.id === kept.id);
    item?.querySelector(kept.action ? `[data-action="${kept.action}"]` : ".chat-link")?.focus();
  }
  if (!shown.length) {
    $("#chat-list").append(h("li", { class: "muted small pad-s", text: filter ? "No chat matches." : "No chats yet." }));
  }
}

async function patchChat(chat, field, value) {
  await api.call("PATCH", "/ai/v1/chat", { query: { chat_id: chat.chat_id, chat_field: field },
    json: { new_value: value } });
}

async function renameChat(chat) {
  const title = await ask({ title: "Rename chat", ok: "Save", input: chat.title || "" });
  if (!title) return;
  try {
    await patchChat(chat, "title", title);
    if (chat.chat_id === conversation.chatId) $("#chat-title").textContent = title;
    await loadChats();
  } catch (error) { toast(error.message); }
}

async function pinChat(chat) {
  try {
    await patchChat(chat, "pin", !chat.pin);
    await loadChats();
  } catch (error) { toast(error.message); }
}

async function deleteChat(chat) {
  const title = chat.title || "Untitled chat";
  const sure = await ask({ title: "Delete this chat?", text: `“${title}” and all its messages will be deleted.`,
    ok: "Delete", danger: true });
  if (!sure) return;
  try {
    await api.call("DELETE", "/ai/v1/chat", { query: { chat_id: chat.chat_id } });
    toast(`Deleted “${title}”`);
    if (chat.chat_id === conversation.chatId) location.hash = "#/";
    await loadChats();
  } catch (error) { toast(error.message); }
}

$("#chat-filter").addEventListener("input", renderChats);
$("#more-chats").addEventListener("click", () => loadChats(true));
$("#new-chat").addEventListener("click", () => {
  if (location.hash === "#/" || location.hash === "") { conversation.reset(); renderChats(); }
  else location.hash = "#/";
  $("#message").focus();
  closeSidebar();
});

// -- models and publishers for the chat settings ---------------------------------------------

async function loadModels() {
  const select = $("#set-routing");
  const catalog = await api.get("/ai/v2/models").catch(() => ({ data: [] }));
  const families = [...new Set(catalog.data.map((m) => m.family))].sort();
  select.replaceChildren(
    h("option", { value: "auto", text: "Auto (trained router)" }),
    h("optgroup", { label: "Model family" },
      families.map((family) => h("option", { value: `family:${family.toLowerCase()}`, text: `Best ${family} model` }))),
    h("optgroup", { label: "Model" },
      catalog.data.map((m) => h("option", { value: `model:${m.id}`, text: `${m.id} (${m.tier.replace("_", " ")})` }))));
  conversation.loadSettings(conversation.chatId);
}

function fillPublishers(list) {
  const select = $("#set-publisher");
  const value = select.value;
  select.replaceChildren(h("option", { value: "", text: "All readable" }),
    ...list.map((p) => h("option", { value: p.name, text: p.name })));
  select.value = list.some((p) => p.name === value) ? value : "";
}

// -- views -----------------------------------------------------------------------------------

function show(view) {
  for (const name of ["chat", "library", "usage"]) $(`#view-${name}`).hidden = name !== view;
  for (const link of document.querySelectorAll(".views a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.body.dataset.view = view;
}

function route() {
  if (!api.signedIn) return;
  const hash = location.hash || "#/";
  if (!hash.startsWith("#/")) return;  // an in-page anchor
  closeSidebar();
  if (hash === "#/library") { show("library"); library.refresh().catch((e) => toast(e.message)); return; }
  if (hash === "#/usage") { show("usage"); showUsage(api); return; }
  show("chat");
  const match = /^#\/chat\/(.+)$/.exec(hash);
  const chatId = match ? decodeURIComponent(match[1]) : null;
  if (chatId && chatId !== conversation.chatId) return conversation.open(chatId).then(renderChats);
  if (!chatId && conversation.chatId) { conversation.reset(); renderChats(); }
  return null;
}

window.addEventListener("hashchange", route);

// -- layout, theme and keyboard --------------------------------------------------------------

function closeSidebar() {
  document.body.classList.remove("sidebar-open");
  $("#toggle-sidebar").setAttribute("aria-expanded", "false");
}

$("#toggle-sidebar").addEventListener("click", () => {
  const open = document.body.classList.toggle("sidebar-open");
  $("#toggle-sidebar").setAttribute("aria-expanded", String(open));
  if (open) $("#new-chat").focus();
});

function applyTheme(theme) {
  const dark = theme ? theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  $("#theme").setAttribute("aria-pressed", String(dark));
}

$("#theme").addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem(THEME_KEY, next);
  applyTheme(next);
});
applyTheme(localStorage.getItem(THEME_KEY));

document.addEventListener("keydown", (event) => {
  const mod = event.ctrlKey || event.metaKey;
  if (event.key === "Escape" && conversation.running) { event.preventDefault(); conversation.stop(); }
  else if (mod && event.key.toLowerCase() === "k") { event.preventDefault(); $("#chat-filter").focus(); }
  // By physical key: on a Mac, Alt (Option) changes the character typed.
  else if (event.altKey && event.code === "KeyN") { event.preventDefault(); $("#new-chat").click(); }
  else if (event.altKey && event.code === "KeyM") { event.preventDefault(); $("#message").focus(); }
});

// In-page citation links scroll to their source without touching the location.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href^='#src-']");
  if (!link) return;
  event.preventDefault();
  const target = document.getElementById(link.getAttribute("href").slice(1));
  target?.scrollIntoView({ block: "nearest", behavior: "smooth" });
  target?.classList.add("flash");
  setTimeout(() => target?.classList.remove("flash"), 1200);
});

if (api.signedIn) enter().catch((error) => showSignIn(error.message));
else showSignIn();
