// The memory browser: an anima's files as a tree, one file's text, search, and the priming an answer used.

import { get, withQuery } from "./api.js";
import { enc, failure, h, json, link, when } from "./dom.js";

async function picker(root, target) {
  root.append(h("h1", {}, "Memory"));
  const animas = (await get("/api/org")).animas || [];
  root.append(
    h("p", {}, "Whose memory?"),
    h("ul", { class: "results" }, animas.map((a) => h("li", {}, link(`#/${target}/${enc(a.name)}`, a.name)))),
  );
}

function route(name, params) {
  return withQuery(`#/memory/${enc(name)}`, params);
}

async function branch(name, dir) {
  const list = h("ul", { "aria-label": dir ? `Files in ${dir}` : "Memory files" });
  let items;
  try {
    items = (await get(withQuery(`/api/animas/${enc(name)}/memory`, { dir }))).items || [];
  } catch (err) {
    list.append(h("li", {}, failure(err)));
    return list;
  }
  const sorted = [...items].sort((a, b) => (a.kind === b.kind ? a.path.localeCompare(b.path) : a.kind === "dir" ? -1 : 1));
  for (const item of sorted) {
    const label = item.path.split("/").filter(Boolean).pop() || item.path;
    if (item.kind === "dir") {
      const toggle = h("button", { type: "button", "aria-expanded": "false", "data-dir": item.path }, `▸ ${label}/`);
      const li = h("li", {}, toggle);
      toggle.addEventListener("click", async () => {
        const open = toggle.getAttribute("aria-expanded") === "true";
        if (open) {
          li.querySelector("ul")?.remove();
          toggle.setAttribute("aria-expanded", "false");
          toggle.textContent = `▸ ${label}/`;
        } else {
          toggle.setAttribute("aria-expanded", "true");
          toggle.textContent = `▾ ${label}/`;
          li.append(await branch(name, item.path));
        }
      });
      list.append(li);
    } else {
      const size = item.size !== undefined && item.size !== null ? ` (${item.size} B)` : "";
      list.append(h("li", {}, link(route(name, { path: item.path }), label, { "data-path": item.path }), h("span", { class: "muted" }, size)));
    }
  }
  if (!sorted.length) list.append(h("li", { class: "muted" }, "(empty)"));
  return list;
}

async function fileView(name, path) {
  const box = h("section", { "aria-label": "File" }, h("h2", { class: "mono" }, path));
  try {
    const file = await get(withQuery(`/api/animas/${enc(name)}/memory/file`, { path }));
    box.append(h("pre", { id: "memory-file" }, file.text ?? ""));
    if (file.truncated) box.append(h("p", { class: "muted" }, "Only the beginning of this file is shown."));
  } catch (err) {
    box.append(failure(err));
  }
  return box;
}

async function searchView(name, q) {
  const box = h("section", { "aria-label": "Search results" }, h("h2", {}, `Search: ${q}`));
  try {
    const items = (await get(withQuery(`/api/animas/${enc(name)}/memory/search`, { q, limit: 20 }))).items || [];
    if (!items.length) box.append(h("p", { class: "muted" }, "No matches."));
    box.append(
      h(
        "ol",
        { class: "results", id: "memory-results" },
        items.map((r) =>
          h(
            "li",
            { class: "card" },
            link(route(name, { path: r.path }), r.path),
            r.heading ? h("strong", {}, ` ${r.heading}`) : "",
            h("span", { class: "muted" }, ` ${r.memory_type || ""} ${typeof r.score === "number" ? r.score.toFixed(3) : ""}`),
            h("div", {}, r.text || ""),
          ),
        ),
      ),
    );
  } catch (err) {
    box.append(failure(err));
  }
  return box;
}

async function primingView(name, correlationId) {
  const box = h("section", { "aria-label": "Priming", id: "priming" }, h("h2", {}, "Memory this answer used"));
  box.append(h("p", { class: "muted" }, "Conversation ", link(`#/timeline?correlation_id=${enc(correlationId)}`, correlationId)));
  try {
    const priming = await get(withQuery(`/api/animas/${enc(name)}/priming`, { correlation_id: correlationId }));
    const cycles = Array.isArray(priming.items) ? priming.items : null;
    if (!cycles) box.append(json(priming));
    else if (!cycles.length) box.append(h("p", { class: "muted" }, "No cycle of this conversation recorded its priming."));
    for (const cycle of cycles || []) {
      const part = h(
        "article",
        { class: "card", "data-cycle": cycle.cycle_id },
        h("h3", {}, link(`#/cycle/${enc(cycle.cycle_id)}`, `Cycle ${cycle.cycle_id}`), h("span", { class: "muted" }, ` ${cycle.trigger || ""} `), when(cycle.time)),
      );
      const sections = [["Priming", cycle.priming], ["Recent activity", cycle.recent_activity], ["Recalled", cycle.recalled]];
      for (const [title, text] of sections) if (text) part.append(h("h4", {}, title), h("pre", {}, text));
      if (cycle.stored) part.append(h("p", { class: "muted" }, `The inputs were large and are kept in the object store (${cycle.digest || "digest unknown"}).`));
      if (!sections.some(([, text]) => text) && !cycle.stored) part.append(h("p", { class: "muted" }, "Nothing was primed."));
      box.append(part);
    }
  } catch (err) {
    box.append(failure(err));
  }
  return box;
}

export async function renderMemory(root, { args, query }) {
  const name = args[0];
  if (!name) {
    await picker(root, "memory");
    return;
  }
  root.append(h("h1", {}, "Memory of ", h("span", { class: "mono" }, name)));
  const q = h("input", { type: "search", name: "q", value: query.get("q") || "", placeholder: "Search memory", "aria-label": "Search memory" });
  const form = h("form", { class: "row", role: "search" }, q, h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = route(name, { q: q.value.trim() });
  });
  root.append(form);
  const left = h("nav", { class: "card", "aria-label": "Files" });
  const right = h("div", {});
  root.append(h("div", { class: "split" }, left, right));
  const tree = branch(name, "");
  const path = query.get("path");
  const priming = query.get("priming");
  if (priming) right.append(await primingView(name, priming));
  if (query.get("q")) right.append(await searchView(name, query.get("q")));
  if (path) right.append(await fileView(name, path));
  if (!priming && !query.get("q") && !path) right.append(h("p", { class: "muted" }, "Choose a file, or search."));
  left.classList.add("tree");
  left.append(await tree);
}
