// The library view: upload files (picker or drag and drop, each with its progress), list and
// delete documents, and the publishers this client can read.

import { $, ask, formatNumber, h, toast } from "./dom.js";

export class Library {
  constructor(api, { onPublishers }) {
    this.api = api;
    this.onPublishers = onPublishers;
    const zone = $("#dropzone");
    $("#upload-file").addEventListener("change", (event) => {
      this.uploadAll([...event.target.files]);
      event.target.value = "";
    });
    zone.addEventListener("click", () => $("#upload-file").click());
    zone.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); $("#upload-file").click(); }
    });
    zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      this.uploadAll([...event.dataTransfer.files]);
    });
    $("#upload-form").addEventListener("submit", (event) => event.preventDefault());
  }

  async uploadAll(files) {
    const publisher = $("#upload-publisher").value.trim();
    if (!publisher) { toast("Name a publisher first."); return; }
    await Promise.all(files.map((file) => this.upload(file, publisher)));
    await this.refresh();
  }

  async upload(file, publisher) {
    const bar = h("progress", { max: 1, value: 0, "aria-label": `Uploading ${file.name}` });
    const status = h("span", { class: "muted small", text: "uploading…" });
    const row = h("li", { dataset: { file: file.name } }, h("span", { text: file.name }), " ", bar, " ", status);
    $("#uploads").prepend(row);
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("publisher", publisher);
    const link = $("#upload-url").value.trim();
    if (link) form.append("url", link);
    try {
      const result = await this.api.upload("/ai/v2/library/documents", form, (done) => { bar.value = done; });
      bar.value = 1;
      status.textContent = `${result.status}: ${result.document.chunk_count} passages`;
      row.classList.add("done");
    } catch (error) {
      status.textContent = error.message;
      status.className = "error small";
      row.classList.add("failed");
    }
  }

  async refresh() {
    const [documents, publishers] = await Promise.all([
      this.api.get("/ai/v2/library/documents", { limit: 500 }),
      this.api.get("/ai/v2/library/publishers"),
    ]);
    const body = $("#documents tbody");
    body.replaceChildren(...documents.data.map((doc) => h("tr", { dataset: { id: doc.document_id } },
      h("td", { text: doc.title || doc.source }),
      h("td", { text: doc.publisher }),
      h("td", { text: doc.kind }),
      h("td", { text: `${formatNumber(doc.size_bytes / 1024, 1)} KiB` }),
      h("td", { text: String(doc.chunk_count) }),
      h("td", {}, h("button", { type: "button", class: "subtle small", text: "Delete",
        "aria-label": `Delete ${doc.title || doc.source}`, onclick: () => this.remove(doc) })))));
    if (!documents.data.length) {
      body.append(h("tr", {}, h("td", { colSpan: 6, class: "muted", text: "No documents yet." })));
    }
    $("#publishers").replaceChildren(...publishers.data.map((p) =>
      h("li", { class: "pill", text: p.shared ? `${p.name} (shared)` : p.name })));
    $("#publisher-names").replaceChildren(...publishers.data.map((p) => h("option", { value: p.name })));
    this.onPublishers(publishers.data);
  }

  async remove(doc) {
    const name = doc.title || doc.source;
    if (!await ask({ title: "Delete this document?", text: `“${name}” will no longer ground answers.`,
      ok: "Delete", danger: true })) return;
    try {
      await this.api.call("DELETE", `/ai/v2/library/documents/${encodeURIComponent(doc.document_id)}`);
      toast(`Deleted ${name}`);
    } catch (error) {
      toast(error.message);
    }
    await this.refresh();
  }
}
