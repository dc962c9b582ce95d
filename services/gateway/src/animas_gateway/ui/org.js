// The organization chart: animas under their supervisors, each with its live state.

import { get } from "./api.js";
import { enc, h, link, stateBadge, when } from "./dom.js";

/** Animas as a forest: roots are those without a (known) supervisor; children sorted by name. */
export function forest(animas) {
  const names = new Set(animas.map((a) => a.name));
  const children = new Map();
  const roots = [];
  for (const anima of [...animas].sort((x, y) => x.name.localeCompare(y.name))) {
    if (anima.supervisor && names.has(anima.supervisor) && anima.supervisor !== anima.name) {
      if (!children.has(anima.supervisor)) children.set(anima.supervisor, []);
      children.get(anima.supervisor).push(anima);
    } else {
      roots.push(anima);
    }
  }
  // Animas whose supervisors form a loop hang under no root: show them at the top rather than not at all.
  const reached = new Set();
  const visit = (anima) => {
    if (reached.has(anima.name)) return;
    reached.add(anima.name);
    for (const child of children.get(anima.name) || []) visit(child);
  };
  roots.forEach(visit);
  for (const anima of [...animas].sort((x, y) => x.name.localeCompare(y.name))) {
    if (!reached.has(anima.name)) {
      roots.push(anima);
      visit(anima);
    }
  }
  return { roots, children };
}

function node(anima, children, seen) {
  const state = anima.enabled === false ? "disabled" : anima.state;
  const badge = stateBadge(state);
  const since = h("span", { class: "muted since" }, anima.state_since ? when(anima.state_since) : "");
  const item = h(
    "li",
    { "data-anima": anima.name },
    h(
      "div",
      { class: "card anima" },
      h("span", { class: "name" }, anima.name),
      h("span", { class: "muted" }, anima.role || "no role"),
      badge,
      since,
      anima.model ? h("span", { class: "muted mono" }, anima.model) : null,
      h(
        "span",
        { class: "links" },
        link(`#/chat/${enc(anima.name)}`, "Chat", { "aria-label": `Chat with ${anima.name}` }),
        link(`#/timeline?anima=${enc(anima.name)}`, "Timeline", { "aria-label": `Timeline of ${anima.name}` }),
        link(`#/memory/${enc(anima.name)}`, "Memory", { "aria-label": `Memory of ${anima.name}` }),
      ),
    ),
  );
  seen.add(anima.name);
  const below = (children.get(anima.name) || []).filter((c) => !seen.has(c.name));
  if (below.length) item.append(h("ul", {}, below.map((c) => node(c, children, seen))));
  return item;
}

const RESHAPING = new Set(["anima.created", "anima.status.changed"]);
const RELOAD_AFTER_MS = 1000; // memory-writer applies a creation a moment after it is stored

async function chart() {
  const animas = (await get("/api/org")).animas || [];
  if (!animas.length) {
    return h("p", { class: "muted" }, "No animas yet. Create one with `anima create NAME --template general`, or try `anima demo`.");
  }
  const { roots, children } = forest(animas);
  const seen = new Set();
  return h("ul", { class: "org", "aria-label": "Organization chart" }, roots.map((a) => node(a, children, seen)));
}

export async function renderOrg(root, { feed }) {
  root.append(h("h1", {}, "Organization"));
  let tree = await chart();
  root.append(tree);
  let reload = null;
  const unsubscribe = feed.subscribe((item) => {
    if (RESHAPING.has(item.type)) {
      // A new anima or one enabled or disabled: draw the chart again, once, a moment later.
      clearTimeout(reload);
      reload = setTimeout(async () => {
        try {
          const fresh = await chart();
          tree.replaceWith(fresh);
          tree = fresh;
        } catch (err) {
          console.warn("the chart could not be reloaded", err);
        }
      }, RELOAD_AFTER_MS);
      return;
    }
    if (!item.anima || !item.anima_state) return;
    const li = tree.querySelector && tree.querySelector(`li[data-anima="${CSS.escape(item.anima)}"]`);
    if (!li) return;
    const card = li.querySelector(":scope > .anima");
    card.querySelector(".state").replaceWith(stateBadge(item.anima_state));
    card.querySelector(".since").replaceChildren(when(item.time));
  });
  return () => {
    clearTimeout(reload);
    unsubscribe();
  };
}
