// Talking to the gateway: JSON calls with problem details, server-sent events over fetch, the live feed.
// fetch (not EventSource) reads the SSE so that a token, when one is set, goes in the Authorization header.

const TOKEN_KEY = "animaworks.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const out = { Accept: "application/json", ...extra };
  const t = token();
  if (t) out.Authorization = `Bearer ${t}`;
  return out;
}

/** A failed call: status, the problem's detail, and whether the route itself is missing (404). */
export class ApiError extends Error {
  constructor(method, path, status, detail) {
    super(detail);
    this.method = method;
    this.path = path;
    this.status = status;
  }

  /** A sentence for the page: a 404 may mean this gateway has no such route yet. */
  describe() {
    if (this.status === 404) {
      return `${this.method} ${this.path} answered 404: ${this.message}. ` +
        "If this gateway does not offer this part of the API yet, this view cannot show it.";
    }
    if (this.status === 401 || this.status === 403) {
      return `${this.method} ${this.path} answered ${this.status}: ${this.message}. Set an API token (Token button).`;
    }
    if (this.status === 0) return `${this.method} ${this.path} failed: ${this.message}`;
    return `${this.method} ${this.path} answered ${this.status}: ${this.message}`;
  }
}

async function failure(method, path, response) {
  let detail = response.statusText || "error";
  try {
    const text = await response.text();
    try {
      const body = JSON.parse(text);
      detail = body.detail || body.error || text;
    } catch {
      if (text) detail = text.slice(0, 300);
    }
  } catch {
    // the body could not be read: keep the status text
  }
  return new ApiError(method, path, response.status, detail);
}

/** Call the API; the decoded JSON, or an {@link ApiError}. */
export async function call(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(method, path, 0, String(err));
  }
  if (!response.ok) throw await failure(method, path, response);
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body ?? {});

/** A path with a query string made of the entries of `params` that are set. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** Splits a byte stream of server-sent events into frames {event, data, id}; comments are dropped. */
export class SseParser {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.buffer = "";
    this.decoder = new TextDecoder();
  }

  push(chunk) {
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    const blocks = this.buffer.split(/\r\n\r\n|\n\n|\r\r/);
    this.buffer = blocks.pop();
    for (const block of blocks) this.frame(block);
  }

  frame(block) {
    let event = "message";
    let id = null;
    const data = [];
    for (const line of block.split(/\r\n|\n|\r/)) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
    if (data.length === 0) return;
    let parsed;
    try {
      parsed = JSON.parse(data.join("\n"));
    } catch {
      parsed = data.join("\n");
    }
    this.onFrame({ event, data: parsed, id });
  }
}

/** Reads an SSE response body to its end, calling onFrame for each frame. */
export async function readEvents(response, onFrame, signal) {
  const parser = new SseParser(onFrame);
  const reader = response.body.getReader();
  try {
    for (;;) {
      if (signal && signal.aborted) break;
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
  } finally {
    reader.releaseLock();
  }
}

/** POST a chat message and stream the answer: onFrame gets delta, reply and error frames. */
export async function chatStream(name, message, onFrame, onOpen) {
  const path = `/api/animas/${encodeURIComponent(name)}/chat/stream`;
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify({ message }),
    });
  } catch (err) {
    throw new ApiError("POST", path, 0, String(err));
  }
  if (!response.ok) throw await failure("POST", path, response);
  if (onOpen) {
    onOpen({
      messageId: response.headers.get("X-Message-Id"),
      correlationId: response.headers.get("X-Correlation-Id"),
    });
  }
  await readEvents(response, onFrame);
}

/**
 * The live activity feed (GET /api/events/stream): one connection for the whole page, resumed after
 * the last seen sequence when it drops, so no item is missed or seen twice.
 */
export class LiveFeed {
  constructor(onStatus) {
    this.listeners = new Set();
    this.onStatus = onStatus;
    this.lastId = null;
    this.stopped = false;
    this.retryMs = 1000;
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start() {
    while (!this.stopped) {
      const path = withQuery("/api/events/stream", { last_event_id: this.lastId });
      try {
        const response = await fetch(path, { headers: headers({ Accept: "text/event-stream" }) });
        if (response.status === 404) {
          this.onStatus("unavailable", "the gateway has no live feed (GET /api/events/stream answered 404)");
          return;
        }
        if (!response.ok) throw await failure("GET", path, response);
        this.onStatus("on", "live");
        this.retryMs = 1000;
        await readEvents(response, (frame) => this.dispatch(frame));
        this.onStatus("off", "live feed ended; reconnecting");
      } catch (err) {
        this.onStatus("off", err instanceof ApiError ? err.describe() : String(err));
      }
      await new Promise((resolve) => setTimeout(resolve, this.retryMs));
      this.retryMs = Math.min(this.retryMs * 2, 15000);
    }
  }

  dispatch(frame) {
    if (frame.id) this.lastId = frame.id;
    if (frame.event !== "activity" || typeof frame.data !== "object") return;
    for (const listener of [...this.listeners]) {
      try {
        listener(frame.data);
      } catch (err) {
        console.error("live feed listener failed", err);
      }
    }
  }
}
