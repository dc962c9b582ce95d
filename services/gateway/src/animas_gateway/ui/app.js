// The AnimaWorks web UI: hash routes, one live feed shared by the views.

import { LiveFeed, setToken, token } from "./api.js";
import { clear, failure } from "./dom.js";
import { renderOrg } from "./org.js";
import { renderChat } from "./chat.js";
import { renderCycle, renderTimeline } from "./timeline.js";
import { renderMemory } from "./memory.js";
import { renderDeadLetters, renderSchedules, renderTasks } from "./work.js";

const VIEWS = {
  org: renderOrg,
  chat: renderChat,
  timeline: renderTimeline,
  cycle: renderCycle,
  memory: renderMemory,
  tasks: renderTasks,
  schedules: renderSchedules,
  deadletters: renderDeadLetters,
};
const NAV_OF = { cycle: "timeline" };

const live = document.getElementById("live");
const feed = new LiveFeed((status, text) => {
  live.className = `live ${status}`;
  live.textContent = status === "on" ? "live" : status === "unavailable" ? "no live feed" : "reconnecting";
  live.title = text;
  live.dataset.status = status;
});

let cleanup = null;
let generation = 0;

function decoded(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part; // a stray "%" in an address typed by hand
  }
}

/** "#/memory/alice?path=x" → {view: "memory", args: ["alice"], query: URLSearchParams} */
export function parseRoute(hash) {
  const text = (hash || "").replace(/^#\/?/, "");
  const [pathPart, queryPart = ""] = text.split("?", 2);
  const [view = "org", ...args] = pathPart.split("/").filter(Boolean).map(decoded);
  return { view: VIEWS[view] ? view : "org", args, query: new URLSearchParams(queryPart) };
}

async function show(event) {
  const route = parseRoute(location.hash);
  const root = document.getElementById("view");
  const mine = ++generation;
  if (cleanup) {
    try {
      cleanup();
    } catch (err) {
      console.error(err);
    }
    cleanup = null;
  }
  clear(root);
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.view === (NAV_OF[route.view] || route.view)) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  root.dataset.view = route.view;
  if (event) root.focus({ preventScroll: true }); // keyboard and screen-reader users land on the new view
  // Each render draws into its own element: a view still loading when the reader moves on draws
  // into an element no longer on the page, never over the next view.
  const body = document.createElement("div");
  body.className = "view-body";
  root.append(body);
  try {
    const done = await VIEWS[route.view](body, { ...route, feed, isCurrent: () => mine === generation });
    if (mine === generation) cleanup = typeof done === "function" ? done : null;
    else if (typeof done === "function") done();
  } catch (err) {
    if (mine === generation) body.append(failure(err));
  }
}

document.getElementById("token-button").addEventListener("click", () => {
  const value = prompt("API token (leave empty on this machine: loopback needs none)", token());
  if (value !== null) {
    setToken(value.trim());
    location.reload();
  }
});

window.addEventListener("hashchange", show);
show(null);
feed.start();
