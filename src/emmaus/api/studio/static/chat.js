// The conversation view: opening a chat (its newest page first, older pages as you scroll up),
// sending with a streamed answer, stopping it, editing a question, regenerating an answer and
// moving between versions, all on the server's v1 chat and branching routes.

import { $, h, toast } from "./dom.js";
import { fillTurn, streamingReply, turnElement } from "./turns.js";

const PAGE = 40;
const SETTINGS_KEY = "emmaus.studio.chat-settings";  // non-secret preferences per chat

export class Conversation {
  constructor(api, { onChatCreated, onActivity }) {
    this.api = api;
    this.onChatCreated = onChatCreated;
    this.onActivity = onActivity;
    this.chatId = null;
    this.before = null;
    this.loadingOlder = false;
    this.running = null;  // {controller, chatId, replyId}
    this.generation = 0;  // bumps on every open: late answers of an older open are dropped
    this.list = $("#messages");
    this.scroller = $("#scroller");
    this.box = $("#message");
    this.actions = {
      send: (text) => this.send(text),
      edit: (node) => this.beginEdit(node),
      regenerate: (node) => this.regenerate(node),
      switchTo: (id) => this.switchTo(id),
      follow: () => this.follow(),
    };
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadOlder();
    }, { root: this.scroller, rootMargin: "400px 0px 0px 0px" });
    this.observer.observe($("#older-status"));
    $("#composer").addEventListener("submit", (event) => { event.preventDefault(); this.send(); });
    this.box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    $("#stop").addEventListener("click", () => this.stop());
    for (const id of ["set-tradition", "set-routing", "set-grounding", "set-publisher"]) {
      $(`#${id}`).addEventListener("change", () => this.saveSettings());
    }
  }

  // -- settings (per chat, in localStorage: preferences only, never the token) -------------

  allSettings() {
    try { return JSON.parse(localStorage.getItem(SETTINGS_KEY)) || {}; } catch { return {}; }
  }

  saveSettings() {
    const all = this.allSettings();
    all[this.chatId || "draft"] = {
      tradition: $("#set-tradition").value, routing: $("#set-routing").value,
      grounding: $("#set-grounding").checked, publisher: $("#set-publisher").value,
    };
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(all));
  }

  loadSettings(chatId, tradition) {
    const saved = this.allSettings()[chatId || "draft"] || {};
    $("#set-tradition").value = saved.tradition ?? tradition ?? "";
    const routing = $("#set-routing");
    routing.value = saved.routing || "auto";
    if (routing.value === "") routing.value = "auto";  // a model no longer in the catalog
    $("#set-grounding").checked = saved.grounding ?? true;
    $("#set-publisher").value = saved.publisher || "";
  }

  // The request fields the settings give (the same for a message, an edit, a regeneration).
  requestSettings() {
    const fields = {};
    const tradition = $("#set-tradition").value;
    if (tradition) fields.tradition = tradition;
    const routing = $("#set-routing").value;
    if (routing.startsWith("model:")) fields.model = routing.slice(6);
    else if (routing.startsWith("family:")) fields.model_family = routing.slice(7);
    const grounding = $("#set-grounding").checked;
    fields.enable_sources = grounding ? 1 : 0;
    const publisher = $("#set-publisher").value;
    if (grounding && publisher) fields.publishers = [publisher];
    return fields;
  }

  // -- opening and paging ------------------------------------------------------------------

  reset() {
    this.generation += 1;
    this.chatId = null;
    this.before = null;
    this.list.replaceChildren();
    $("#older-status").textContent = "";
    $("#chat-title").textContent = "New chat";
    $("#empty").hidden = false;
    $("#chat-error").textContent = "";
    this.loadSettings(null);
  }

  async open(chatId) {
    if (this.running && this.running.chatId === chatId) return;
    this.reset();
    this.chatId = chatId;
    const generation = this.generation;
    $("#empty").hidden = true;
    const started = performance.now();
    try {
      const page = await this.api.get("/ai/v1/chat/page", { chat_id: chatId, limit: PAGE });
      if (generation !== this.generation) return;
      $("#chat-title").textContent = page.title || "Untitled chat";
      this.loadSettings(chatId, page.tradition);
      this.showPage(page, "replace");
      this.scrollToEnd();
      requestAnimationFrame(() => {
        // Measured by the tests and the benchmark: the newest turns are on screen.
        document.documentElement.dataset.openedMs = String(Math.round(performance.now() - started));
      });
    } catch (error) {
      if (generation !== this.generation) return;
      $("#chat-error").textContent = error.message;
      if (error.status === 404) $("#chat-title").textContent = "Chat not found";
    }
  }

  showPage(page, how) {
    const turns = page.messages.map((turn) => turnElement(turn, this.actions));
    if (how === "replace") this.list.replaceChildren(...turns);
    else this.list.prepend(...turns);
    this.before = page.has_more ? page.before : null;
    $("#older-status").textContent = page.has_more ? "Scroll up for older messages" : "";
    $("#empty").hidden = this.list.children.length > 0;
    this.list.dataset.complete = page.has_more ? "false" : "true";
  }

  async loadOlder() {
    if (!this.before || this.loadingOlder || !this.chatId) return;
    this.loadingOlder = true;
    const generation = this.generation;
    $("#older-status").textContent = "Loading older messages…";
    try {
      const page = await this.api.get("/ai/v1/chat/page",
        { chat_id: this.chatId, limit: PAGE, before: this.before });
      if (generation !== this.generation) return;
      const height = this.scroller.scrollHeight;
      const top = this.scroller.scrollTop;
      this.showPage(page, "prepend");
      this.scroller.scrollTop = top + (this.scroller.scrollHeight - height);  // keep the view
    } catch (error) {
      $("#older-status").textContent = error.message;
    } finally {
      this.loadingOlder = false;
    }
  }

  // After a branch changes: the newest page again (older pages reload as you scroll).
  async reloadNewest() {
    const generation = this.generation;
    const page = await this.api.get("/ai/v1/chat/page", { chat_id: this.chatId, limit: PAGE });
    if (generation !== this.generation) return;
    $("#chat-title").textContent = page.title || "Untitled chat";
    this.showPage(page, "replace");
    this.scrollToEnd();
  }

  scrollToEnd() { this.scroller.scrollTop = this.scroller.scrollHeight; }

  follow() {
    const s = this.scroller;
    if (s.scrollHeight - s.scrollTop - s.clientHeight < 160) this.scrollToEnd();
  }

  // -- generating --------------------------------------------------------------------------

  setBusy(busy) {
    $("#stop").hidden = !busy;
    $("#send").disabled = busy;
    document.body.classList.toggle("busy", busy);
  }

  async send(text) {
    const query = (text ?? this.box.value).trim();
    if (!query || this.running) return;
    if (text === undefined) this.box.value = "";
    $("#empty").hidden = true;
    const user = turnElement({ role: "user", message: query, status: "complete" }, this.actions);
    this.list.append(user);
    const body = { query, stream: true, ...this.requestSettings() };
    if (this.chatId) body.chat_id = this.chatId;
    await this.generate("/ai/v1/message", body, user);
  }

  async generate(path, body, userNode) {
    const reply = streamingReply(this.actions);
    this.list.append(reply.node);
    this.scrollToEnd();
    $("#chat-error").textContent = "";
    const controller = new AbortController();
    const generation = this.generation;  // another chat opened meanwhile: this one is left be
    const running = { controller, chatId: this.chatId, replyId: null, stopped: false };
    this.running = running;
    this.setBusy(true);
    let final = null;
    try {
      const events = this.api.stream(path, body, {
        signal: controller.signal,
        onOpen: (headers) => {
          running.chatId = headers.get("X-Emmaus-Chat-Id") || running.chatId;
          running.replyId = headers.get("X-Emmaus-Message-Id");
          reply.node.dataset.id = running.replyId || "";
          const userId = headers.get("X-Emmaus-User-Message-Id");
          if (userId && userNode) userNode.dataset.id = userId;
          if (!this.chatId && running.chatId && generation === this.generation) {
            this.chatId = running.chatId;
            const all = this.allSettings();
            if (all.draft) { all[this.chatId] = all.draft; localStorage.setItem(SETTINGS_KEY, JSON.stringify(all)); }
            this.onChatCreated(this.chatId);
          }
        },
      });
      for await (const event of events) {
        if ("query_id" in event && "success" in event) final = event;
        else if (typeof event.message === "string") reply.append(event.message);
        else if (event.error) final = { success: false, message: reply.turn.message, error: event.error };
      }
    } catch (error) {
      if (error.name !== "AbortError") {
        $("#chat-error").textContent = error.message;
        final = { success: false, message: reply.turn.message, error: { message: error.message } };
      }
    } finally {
      this.running = null;
      this.setBusy(false);
    }
    reply.finish(final || { success: false, message: reply.turn.message });
    if (running.chatId && running.chatId === this.chatId && generation === this.generation) {
      try { await this.refreshNewest(reply.node, userNode); } catch { /* the text is shown */ }
      this.onActivity();
    }
    this.box.focus();
  }

  // The stored turn (with routing and versions) replaces what was streamed.
  async refreshNewest(replyNode, userNode) {
    const page = await this.api.get("/ai/v1/chat/page", { chat_id: this.chatId, limit: 2 });
    for (const turn of page.messages) {
      const node = turn.role === "user" ? userNode : replyNode;
      if (node && (!node.dataset.id || node.dataset.id === turn.message_id)) fillTurn(node, turn, this.actions);
    }
    if (page.title) $("#chat-title").textContent = page.title;
  }

  async stop() {
    const running = this.running;
    if (!running) return;
    running.stopped = true;
    if (!running.replyId) { running.controller.abort(); return; }  // nothing to name yet
    try {
      await this.api.call("PUT", "/ai/v1/message",
        { query: { task: "stop", chat_id: running.chatId, message_id: running.replyId } });
    } catch (error) {
      running.controller.abort();  // closing the stream stops the model too
      toast(error.message);
    }
  }

  // -- branching ---------------------------------------------------------------------------

  // Everything after `node` belongs to the branch being replaced.
  dropAfter(node) {
    while (node.nextElementSibling) node.nextElementSibling.remove();
  }

  beginEdit(node) {
    if (this.running) return;
    const turn = node.turn;
    const field = h("textarea", { class: "edit-box", value: turn.message, rows: 3,
      "aria-label": "Edited question" });
    const save = async () => {
      const query = field.value.trim();
      if (!query) return;
      this.dropAfter(node);
      fillTurn(node, { ...turn, message: query, versions: null }, this.actions);
      await this.generate("/ai/v1/chat/edit", { chat_id: this.chatId, message_id: turn.message_id,
        query, stream: true, ...this.requestSettings() }, node);
      await this.reloadNewest();
    };
    const form = h("form", { class: "edit", onsubmit: (e) => { e.preventDefault(); save(); } },
      field,
      h("div", { class: "edit-actions" },
        h("button", { type: "button", text: "Cancel", onclick: () => fillTurn(node, turn, this.actions) }),
        h("button", { type: "submit", class: "primary", text: "Save and ask" })));
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") fillTurn(node, turn, this.actions);
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); save(); }
    });
    node.replaceChildren(form);
    field.focus();
  }

  async regenerate(node) {
    if (this.running) return;
    const turn = node.turn;
    const userNode = node.previousElementSibling;
    this.dropAfter(userNode || node);
    if (!userNode) node.remove();
    await this.generate("/ai/v1/chat/regenerate",
      { chat_id: this.chatId, message_id: turn.message_id, stream: true, ...this.requestSettings() }, null);
    await this.reloadNewest();
  }

  async switchTo(messageId) {
    if (this.running || !messageId) return;
    try {
      await this.api.call("POST", "/ai/v1/chat/branch", { json: { chat_id: this.chatId, message_id: messageId } });
      await this.reloadNewest();
    } catch (error) {
      $("#chat-error").textContent = error.message;
    }
  }
}
