// Talking to the Emmaus server: the OAuth2 token (kept for this tab only: in memory and in
// sessionStorage, never in a URL or localStorage), JSON calls, uploads with progress, and the
// v1 SSE stream. Every request goes to this page's own origin.

const KEY = "emmaus.studio.session";  // sessionStorage: {clientId, token, expiresAt}
const RENEW_BEFORE = 60_000;  // ms before expiry the token is renewed

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// The words of any Emmaus error shape: v1/v2 {"error": {"message"}}, OAuth
// {"error", "error_description"}, auth {"error", "code"}, FastAPI {"detail": [...]}.
export function errorText(status, body) {
  if (body && typeof body === "object") {
    const error = body.error;
    if (error && typeof error === "object" && error.message) return String(error.message);
    if (typeof body.error_description === "string") {
      if (body.error === "invalid_client") return "Wrong client ID or secret: the server did not accept them.";
      return body.error_description;
    }
    if (typeof error === "string") return error;
    if (Array.isArray(body.detail)) {
      return body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    }
    if (typeof body.detail === "string") return body.detail;
  }
  if (status === 0) return "The server cannot be reached.";
  return `The server answered ${status}.`;
}

async function readBody(response) {
  const text = await response.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return text; }
}

export class Api {
  constructor({ onSignedOut }) {
    this.onSignedOut = onSignedOut;
    this.clientId = null;
    this.token = null;
    this.expiresAt = 0;
    this.secret = null;  // memory only: lets the tab renew its token
    this.timer = null;
    const saved = sessionStorage.getItem(KEY);
    if (saved) {
      try {
        const { clientId, token, expiresAt } = JSON.parse(saved);
        if (token && expiresAt > Date.now() + 5_000) Object.assign(this, { clientId, token, expiresAt });
        else this.clientId = clientId || null;
      } catch { sessionStorage.removeItem(KEY); }
    }
    if (this.token) this.schedule();
  }

  get signedIn() { return Boolean(this.token); }

  async signIn(clientId, secret) {
    const form = new URLSearchParams({ grant_type: "client_credentials", scope: "api/access",
      client_id: clientId, client_secret: secret });
    let response;
    try {
      // Credentials in the form (not Basic) and no cookies: no browser login prompt on a 401.
      response = await fetch("/oauth2/token", { method: "POST", body: form, credentials: "omit",
        cache: "no-store" });
    } catch {
      throw new ApiError(0, errorText(0));
    }
    const body = await readBody(response);
    if (!response.ok) throw new ApiError(response.status, errorText(response.status, body), body);
    this.clientId = clientId;
    this.secret = secret;
    this.token = body.access_token;
    this.expiresAt = Date.now() + (Number(body.expires_in) || 3600) * 1000;
    sessionStorage.setItem(KEY, JSON.stringify({ clientId, token: this.token, expiresAt: this.expiresAt }));
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    const wait = Math.max(1_000, this.expiresAt - Date.now() - RENEW_BEFORE);
    this.timer = setTimeout(() => this.renew(), wait);
  }

  async renew() {
    if (!this.secret) {  // reopened tab: the secret was never stored, sign in again at expiry
      if (Date.now() >= this.expiresAt - 5_000) this.signOut("Your session ended. Sign in again.");
      else this.timer = setTimeout(() => this.renew(), this.expiresAt - Date.now() - 4_000);
      return;
    }
    try {
      await this.signIn(this.clientId, this.secret);
    } catch (error) {
      this.signOut(`Your session could not be renewed: ${error.message}`);
    }
  }

  signOut(reason = "") {
    clearTimeout(this.timer);
    this.token = null;
    this.secret = null;
    this.expiresAt = 0;
    sessionStorage.setItem(KEY, JSON.stringify({ clientId: this.clientId }));
    this.onSignedOut(reason);
  }

  headers(extra = {}) {
    return { Authorization: `Bearer ${this.token}`, ...extra };
  }

  url(path, query) {
    const url = new URL(path, location.origin);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    return url.pathname + url.search;
  }

  async raw(method, path, { query, json, signal, accept } = {}) {
    const init = { method, headers: this.headers(), signal, credentials: "omit", cache: "no-store" };
    if (accept) init.headers.Accept = accept;
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    }
    let response;
    try {
      response = await fetch(this.url(path, query), init);
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, errorText(0));
    }
    if (response.status === 401) {
      const body = await readBody(response);
      this.signOut(errorText(401, body));
      throw new ApiError(401, errorText(401, body), body);
    }
    return response;
  }

  async call(method, path, options = {}) {
    const response = await this.raw(method, path, options);
    const body = response.status === 204 ? null : await readBody(response);
    if (!response.ok) throw new ApiError(response.status, errorText(response.status, body), body);
    return body;
  }

  get(path, query) { return this.call("GET", path, { query }); }

  // Yields the parsed `data:` events of a v1 SSE answer; `onOpen(headers)` runs first with the
  // response headers (the X-Emmaus-* ids arrive there, before any piece).
  async *stream(path, json, { signal, onOpen } = {}) {
    const response = await this.raw("POST", path, { json, signal, accept: "text/event-stream" });
    if (!response.ok) {
      const body = await readBody(response);
      throw new ApiError(response.status, errorText(response.status, body), body);
    }
    onOpen?.(response.headers);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
        const data = block.split(/\r?\n/).filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
        if (!data) continue;
        if (data === "[DONE]") return;
        try { yield JSON.parse(data); } catch { /* a malformed event is skipped */ }
      }
    }
  }

  // A multipart upload with progress (fetch has no upload progress: XMLHttpRequest does).
  upload(path, form, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      xhr.setRequestHeader("Authorization", `Bearer ${this.token}`);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      };
      xhr.onload = () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch { body = null; }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else reject(new ApiError(xhr.status, errorText(xhr.status, body), body));
      };
      xhr.onerror = () => reject(new ApiError(0, errorText(0)));
      xhr.send(form);
    });
  }
}
