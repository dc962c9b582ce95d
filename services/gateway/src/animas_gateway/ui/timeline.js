// The timeline: what happened, newest first, a cycle's events grouped by correlation id; live.

import { get, post, withQuery } from "./api.js";
import { enc, failure, h, json, link, more, when } from "./dom.js";

const FILTERS = ["anima", "type", "correlation_id"];
const CYCLE_EVENTS = new Set(["cycle.finished", "llm.called", "tool.used"]);

/** Group items by correlation id, keeping the groups in the order their first item came. */
export function groupItems(items) {
  const groups = new Map();
  for (const item of items) {
    const key = item.correlation_id || item.id || String(item.seq);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(item);
  }
  return groups;
}

function cycleOf(items) {
  const started = items.find((i) => i.type === "cycle.started");
  if (started) return started.id;
  // Events a cycle made name it; a heartbeat that found nothing names one that never ran.
  const withCycle = items.find((i) => CYCLE_EVENTS.has(i.type) && i.event && i.event.cycle_id);
  return withCycle ? withCycle.event.cycle_id : null;
}

function eventLine(item) {
  return h(
    "li",
    { "data-seq": item.seq, "data-type": item.type, "data-id": item.id },
    when(item.time),
    " ",
    h("span", { class: "type" }, item.type),
    " ",
    h("span", { class: "mono" }, item.anima || ""),
    " ",
    item.summary || "",
    h("details", {}, h("summary", { class: "muted" }, "event"), json(item.event ?? item)),
  );
}

function diffView(diff) {
  const pre = h("pre", { class: "diff mono" });
  for (const line of (diff || "").split("\n")) {
    const cls = line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : "";
    pre.append(h("span", { class: cls }, line), "\n");
  }
  return pre;
}

/** A "Replay this cycle" button whose answer (match or diff) appears in `out`. */
export function replayButton(cycleId, out) {
  const button = h("button", { type: "button", class: "replay", "data-cycle": cycleId }, "Replay this cycle");
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.replaceChildren(h("p", { class: "muted" }, "replaying…"));
    try {
      const result = await post(`/api/cycles/${enc(cycleId)}/replay`, {});
      const { matches, diff, ...rest } = result;
      out.replaceChildren(
        h(
          "p",
          { class: `verdict ${matches ? "ok" : "bad"}`, "data-matches": String(Boolean(matches)) },
          matches ? "The replay matches the recorded cycle." : "The replay differs from the recorded cycle:",
        ),
        diff ? diffView(diff) : h("p", { class: "muted" }, "(empty diff)"),
        Object.keys(rest).length ? h("details", {}, h("summary", {}, "details"), json(rest)) : null,
      );
    } catch (err) {
      out.replaceChildren(failure(err));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

class Group {
  constructor(key, items) {
    this.key = key;
    this.items = [];
    this.list = h("ul", { class: "events" });
    this.head = h("span");
    this.actions = h("div", { class: "row" });
    this.out = h("div", { class: "replay-out" });
    this.el = h(
      "li",
      { class: "card group-item" },
      h("details", { class: "group", "data-correlation-id": key }, h("summary", {}, this.head), this.actions, this.list, this.out),
    );
    this.cycle = null;
    for (const item of items) this.add(item, false);
  }

  add(item, fresh) {
    if (this.items.some((i) => i.seq === item.seq)) return;
    this.items.push(item);
    this.items.sort((a, b) => Number(a.seq) - Number(b.seq));
    const line = eventLine(item);
    if (fresh) line.classList.add("fresh");
    const after = [...this.list.children].find((li) => Number(li.dataset.seq) > Number(item.seq));
    this.list.insertBefore(line, after || null);
    this.refresh(fresh);
  }

  refresh(fresh) {
    const first = this.items[0];
    const last = this.items[this.items.length - 1];
    const animas = [...new Set(this.items.map((i) => i.anima).filter(Boolean))].join(", ");
    const types = this.items.map((i) => i.type);
    this.head.replaceChildren(
      when(last.time),
      " ",
      h("span", { class: "mono" }, animas || "—"),
      " · ",
      h("span", { class: "type" }, first.type),
      ` · ${this.items.length} event${this.items.length === 1 ? "" : "s"}`,
      first.summary ? h("span", { class: "muted" }, ` · ${first.summary}`) : "",
    );
    this.el.dataset.types = types.join(" ");
    if (fresh) {
      this.el.classList.remove("fresh");
      void this.el.offsetWidth;
      this.el.classList.add("fresh");
    }
    const cycle = cycleOf(this.items);
    if (cycle && cycle !== this.cycle) {
      this.cycle = cycle;
      this.el.dataset.cycle = cycle;
      this.actions.replaceChildren(link(`#/cycle/${enc(cycle)}`, "Open cycle"), replayButton(cycle, this.out));
    }
  }
}

export async function renderTimeline(root, { query, feed }) {
  const filters = Object.fromEntries(FILTERS.map((f) => [f, query.get(f) || ""]));
  root.append(h("h1", {}, "Timeline"));
  const inputs = FILTERS.map((f) => h("input", { name: f, value: filters[f], placeholder: f.replace("_", " "), "aria-label": f }));
  const form = h("form", { class: "row", role: "search" }, inputs, h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const params = new URLSearchParams();
    for (const input of inputs) if (input.value.trim()) params.set(input.name, input.value.trim());
    location.hash = `#/timeline${params.toString() ? `?${params}` : ""}`;
  });
  root.append(form);
  const list = h("ul", { class: "groups", id: "timeline" });
  const groups = new Map();
  root.append(list);

  let cursor = null;
  const load = async () => {
    const page = await get(withQuery("/api/events", { ...filters, order: "desc", limit: 100, cursor }));
    const items = page.items || [];
    for (const [key, members] of groupItems(items)) {
      if (groups.has(key)) {
        for (const item of members) groups.get(key).add(item, false);
      } else {
        const group = new Group(key, members);
        groups.set(key, group);
        list.append(group.el);
      }
    }
    cursor = page.next_cursor;
    return Boolean(cursor);
  };
  try {
    if (await load()) root.append(more(() => load().catch((err) => (root.append(failure(err)), false))));
  } catch (err) {
    root.append(failure(err));
  }
  if (!groups.size) list.append(h("li", { class: "muted empty" }, "Nothing yet; new events appear here as they happen."));

  return feed.subscribe((item) => {
    if (filters.anima && item.anima !== filters.anima) return;
    if (filters.type && item.type !== filters.type) return;
    if (filters.correlation_id && item.correlation_id !== filters.correlation_id) return;
    list.querySelector(".empty")?.remove();
    const key = item.correlation_id || item.id || String(item.seq);
    let group = groups.get(key);
    if (group) group.add(item, true);
    else {
      group = new Group(key, [item]);
      groups.set(key, group);
      group.el.classList.add("fresh");
    }
    list.prepend(group.el); // the group that moved comes to the top
  });
}

export async function renderCycle(root, { args, feed }) {
  const id = args[0];
  root.append(h("h1", {}, "Cycle ", h("span", { class: "mono" }, id || "")));
  if (!id) return undefined;
  const cycle = await get(`/api/cycles/${enc(id)}`);
  root.append(
    h(
      "p",
      {},
      "Anima ",
      link(`#/timeline?anima=${enc(cycle.anima)}`, cycle.anima),
      cycle.trigger ? ` · woken by ${typeof cycle.trigger === "string" ? cycle.trigger : JSON.stringify(cycle.trigger)}` : "",
      " · ",
      link(`#/timeline?correlation_id=${enc(cycle.correlation_id)}`, "whole conversation"),
      " · ",
      link(`#/memory/${enc(cycle.anima)}?priming=${enc(cycle.correlation_id)}`, "memory it used"),
    ),
  );
  const out = h("div", { class: "replay-out", id: "replay-out" });
  root.append(h("div", { class: "row" }, replayButton(id, out)), out);
  const list = h("ul", { class: "events card", id: "cycle-events" }, (cycle.events || []).map(eventLine));
  root.append(h("h2", {}, "Events"), list);
  const seen = new Set((cycle.events || []).map((e) => e.seq));
  return feed.subscribe((item) => {
    const ofCycle = item.id === id || (item.event && item.event.cycle_id === id);
    if (!ofCycle || seen.has(item.seq)) return;
    seen.add(item.seq);
    const line = eventLine(item);
    line.classList.add("fresh");
    list.append(line);
  });
}
