// Chat with an anima: the reply streams in piece by piece; its tool calls show as the live feed reports them.

import { ApiError, chatStream, get, withQuery } from "./api.js";
import { enc, failure, h, link, stateBadge, when } from "./dom.js";

const THREAD = "dm:human"; // the gateway's thread for a person who names none (sender "human")
const HISTORY = 20; // earlier messages shown when a chat opens
const HISTORY_PAGES = 4;

const logs = new Map(); // anima → the bubbles of this page's session, kept across view changes
const toolLists = new Map(); // correlation id → the tool-call list of the reply it belongs to

async function animaList() {
  try {
    return (await get("/api/org")).animas || [];
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return (await get("/api/animas")).animas || [];
    throw err;
  }
}

async function renderPicker(root) {
  root.append(h("h1", {}, "Chat"));
  const animas = await animaList();
  if (!animas.length) {
    root.append(h("p", { class: "muted" }, "No animas yet."));
    return;
  }
  root.append(
    h("p", {}, "Choose an anima:"),
    h(
      "ul",
      { class: "results" },
      animas.map((a) =>
        h("li", {}, link(`#/chat/${enc(a.name)}`, a.name), " ", h("span", { class: "muted" }, a.role || ""), " ",
          a.state ? stateBadge(a.enabled === false ? "disabled" : a.state) : null),
      ),
    ),
  );
}

/** The thread's last messages, oldest first (pages run forward, so read a few and keep the tail). */
async function history(name) {
  let kept = [];
  let cursor = null;
  for (let page = 0; page < HISTORY_PAGES; page++) {
    const path = withQuery(`/api/animas/${enc(name)}/conversations/${enc(THREAD)}`, { limit: 500, cursor });
    const answer = await get(path);
    kept = kept.concat(answer.messages || []).slice(-HISTORY);
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  return kept;
}

async function showHistory(name, log) {
  let messages;
  try {
    messages = await history(name);
  } catch (err) {
    // No conversation yet (404), or a gateway without the route: the chat works without it.
    if (!(err instanceof ApiError && err.status === 404)) log.prepend(failure(err));
    return;
  }
  const past = messages.map((m) =>
    h(
      "div",
      { class: `bubble past${m.direction === "in" ? " mine" : ""}`, "data-seq": m.seq },
      m.text,
      h("span", { class: "meta" }, m.direction === "in" ? `${m.from} · ` : "", when(m.time)),
    ),
  );
  if (past.length) log.prepend(...past, h("p", { class: "muted past-end" }, "earlier in this conversation ↑"));
}

function toolLine(item) {
  const event = item.event || {};
  const tool = event.tool || "tool";
  const status = event.status || "";
  const args = event.arguments ? JSON.stringify(event.arguments) : "";
  return h(
    "li",
    { "data-tool": tool, "data-seq": item.seq, title: event.result || "" },
    h("span", { class: "mono" }, tool),
    status ? ` (${status})` : "",
    args ? h("span", { class: "muted mono" }, " ", args.length > 160 ? `${args.slice(0, 160)}…` : args) : "",
  );
}

export async function renderChat(root, { args, feed }) {
  const name = args[0];
  if (!name) {
    await renderPicker(root);
    return undefined;
  }
  root.append(h("h1", {}, "Chat with ", h("span", { class: "mono" }, name)));
  if (!logs.has(name)) {
    const fresh = h("div", { class: "chat-log", "aria-live": "polite", id: "chat-log" });
    logs.set(name, fresh);
    showHistory(name, fresh); // not awaited: the form is usable at once
  }
  const log = logs.get(name);
  root.append(log);

  const input = h("textarea", {
    id: "chat-input",
    name: "message",
    rows: 2,
    required: true,
    "aria-label": `Message to ${name}`,
    placeholder: "Write a message (Enter sends, Shift+Enter for a new line)",
  });
  const send = h("button", { type: "submit", id: "chat-send" }, "Send");
  const form = h("form", { class: "chat-form" }, input, send);
  root.append(form);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  let pending = null; // {bubble, tools, correlationId}
  // A tool call is recorded when it returns, and the feed may bring it after the reply itself:
  // it goes to the reply of its conversation, whenever it comes.
  const unsubscribe = feed.subscribe((item) => {
    if (item.anima !== name || item.type !== "tool.used") return;
    let tools = toolLists.get(item.correlation_id);
    if (!tools && pending && !pending.correlationId) tools = pending.tools;
    if (!tools || tools.querySelector(`li[data-seq="${CSS.escape(String(item.seq))}"]`)) return;
    tools.append(toolLine(item));
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const message = input.value.trim();
    if (!message || pending) return;
    input.value = "";
    send.disabled = true;
    log.append(h("div", { class: "bubble mine" }, message));
    const text = h("span", { class: "text" });
    const tools = h("ul", { class: "tools", "aria-label": "Tool calls" });
    const meta = h("span", { class: "meta" }, "thinking…");
    const bubble = h("div", { class: "bubble reply streaming", "data-state": "streaming" }, text, tools, meta);
    log.append(bubble);
    pending = { bubble, tools, correlationId: null };
    let attempt = 1;
    let pieces = "";
    try {
      await chatStream(
        name,
        message,
        (frame) => {
          const data = frame.data || {};
          if (frame.event === "delta") {
            if (data.attempt && data.attempt !== attempt) {
              attempt = data.attempt;
              pieces = "";
            }
            if (data.kind === "text") {
              pieces += data.text || "";
              text.textContent = pieces;
              meta.textContent = "answering…";
            } else if (data.kind === "tool_start") {
              meta.textContent = `using ${data.text || "a tool"}…`;
            }
          } else if (frame.event === "reply") {
            text.textContent = data.reply ?? pieces;
            meta.replaceChildren(
              `${data.outcome || "replied"}${data.model ? ` · ${data.model}` : ""}`,
              data.notice ? ` · ${data.notice}` : "",
              " · ",
              link(`#/timeline?correlation_id=${enc(data.correlation_id)}`, "timeline"),
              " · ",
              link(`#/memory/${enc(name)}?priming=${enc(data.correlation_id)}`, "memory it used"),
            );
            bubble.dataset.state = "replied";
          } else if (frame.event === "error") {
            meta.replaceChildren(h("span", { class: "notice error" }, data.error || "error"));
            bubble.dataset.state = "error";
          }
        },
        (opened) => {
          pending.correlationId = opened.correlationId;
          bubble.dataset.correlationId = opened.correlationId || "";
          if (opened.correlationId) toolLists.set(opened.correlationId, tools);
        },
      );
      if (bubble.dataset.state === "streaming") {
        meta.textContent = "the stream ended without a reply";
        bubble.dataset.state = "error";
      }
    } catch (err) {
      meta.replaceChildren(failure(err));
      bubble.dataset.state = "error";
    } finally {
      bubble.classList.remove("streaming");
      pending = null;
      send.disabled = false;
      input.focus();
    }
  });
  input.focus();
  return unsubscribe;
}
