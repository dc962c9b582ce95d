// The organization's work: tasks and boards, schedules (with "trigger now"), dead letters.

import { get, post, withQuery } from "./api.js";
import { enc, failure, h, link, more, when } from "./dom.js";

function table(headers, rows, attrs = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h("table", attrs, h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))), rows instanceof HTMLTableSectionElement ? rows : h("tbody", {}, rows)),
  );
}

async function section(root, title, build) {
  const box = h("section", {}, h("h2", {}, title));
  root.append(box);
  try {
    await build(box);
  } catch (err) {
    box.append(failure(err));
  }
}

function reportText(report) {
  if (!report) return "";
  if (typeof report === "string") return report;
  return `${report.outcome ? `${report.outcome}: ` : ""}${report.summary || ""}`;
}

/** A paged table: rows from `path` (cursor-paged), `row(item)` each; a "Load more" while there are more. */
async function pagedTable(box, path, params, headers, row, empty, attrs = {}) {
  const body = h("tbody", {});
  let cursor = null;
  const load = async () => {
    const page = await get(withQuery(path, { ...params, cursor }));
    for (const item of page.items || []) body.append(row(item));
    cursor = page.next_cursor;
    return Boolean(cursor);
  };
  const again = await load();
  if (!body.children.length) {
    box.append(h("p", { class: "muted" }, empty));
    return;
  }
  box.append(table(headers, body, attrs));
  if (again) box.append(more(() => load().catch((err) => (box.append(failure(err)), false))));
}

export async function renderTasks(root, { query }) {
  root.append(h("h1", {}, "Tasks & boards"));
  const anima = query.get("anima") || "";
  const state = query.get("state") || "";
  const who = h("input", { name: "anima", value: anima, placeholder: "anima", "aria-label": "anima" });
  const what = h("input", { name: "state", value: state, placeholder: "state (delegated, done, failed, blocked)", "aria-label": "state" });
  const form = h("form", { class: "row", role: "search" }, who, what, h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = withQuery("#/tasks", { anima: who.value.trim(), state: what.value.trim() });
  });
  root.append(form);
  await section(root, "Delegated tasks", (box) =>
    pagedTable(
      box,
      "/api/tasks",
      { anima, state },
      ["Task", "From", "To", "Title", "State", "Delegated", "Report"],
      (t) =>
        h("tr", { "data-task": t.task_id },
          h("td", { class: "mono" }, t.task_id), h("td", {}, t.from), h("td", {}, t.to), h("td", {}, t.title),
          h("td", {}, h("span", { class: "state" }, t.state)), h("td", {}, when(t.time)), h("td", {}, reportText(t.report))),
      "No delegated tasks.",
      { id: "tasks" },
    ),
  );
  await section(root, "Boards", async (box) => {
    const boards = (await get("/api/boards")).items || [];
    if (!boards.length) return box.append(h("p", { class: "muted" }, "No boards."));
    const posts = h("div", {});
    box.append(
      h("ul", { class: "results" }, boards.map((b) => {
        const open = h("button", { type: "button", class: "quiet", "data-board": b.board }, b.board);
        open.addEventListener("click", () => showBoard(posts, b.board));
        const members = b.everyone ? "everyone" : (b.members || []).join(", ");
        return h("li", {}, open, h("span", { class: "muted" }, ` ${b.description || ""} · ${members || "no members"} · ${b.posts ?? 0} posts`));
      })),
      posts,
    );
  });
  await section(root, "Consolidation runs", (box) =>
    pagedTable(
      box,
      "/api/consolidations",
      { anima },
      ["Anima", "Kind", "Day", "Started", "Finished", "Outcome", "Summary"],
      (r) =>
        h("tr", { "data-run": r.run_id },
          h("td", {}, r.anima), h("td", {}, r.kind), h("td", {}, r.date || ""), h("td", {}, when(r.started)),
          h("td", {}, when(r.finished)), h("td", {}, h("span", { class: "state" }, r.outcome)),
          h("td", {}, r.summary || "", r.error ? h("span", { class: "notice error" }, r.error) : "")),
      "No consolidation runs yet.",
    ),
  );
}

async function showBoard(box, board) {
  box.replaceChildren(h("h3", {}, board));
  const list = h("ol", { class: "results" });
  box.append(list);
  let cursor = null;
  const load = async () => {
    try {
      const page = await get(withQuery(`/api/boards/${enc(board)}/posts`, { cursor }));
      for (const p of page.items || []) {
        const author = p.anima || p.author || p.from || "";
        list.append(h("li", { class: "card" }, when(p.time), " ", h("strong", {}, author), h("div", {}, p.text ?? JSON.stringify(p))));
      }
      cursor = page.next_cursor;
      return Boolean(cursor);
    } catch (err) {
      box.append(failure(err));
      return false;
    }
  };
  if (await load()) box.append(more(load));
}

function triggerButton(name, body, label) {
  const button = h("button", { type: "button", "data-trigger": `${name}:${body.kind}${body.task ? `:${body.task}` : ""}` }, label);
  const out = h("span", { class: "muted", role: "status" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.textContent = " sending…";
    try {
      const answer = await post(`/api/animas/${enc(name)}/trigger`, body);
      out.replaceChildren(" triggered (", link(`#/timeline?anima=${enc(name)}`, "timeline"), ")");
      out.dataset.eventId = answer && answer.event_id ? answer.event_id : "";
    } catch (err) {
      out.replaceChildren(failure(err));
    } finally {
      button.disabled = false;
    }
  });
  return h("span", {}, button, out);
}

export async function renderSchedules(root) {
  root.append(h("h1", {}, "Schedules"));
  const animas = (await get("/api/org")).animas || [];
  if (!animas.length) root.append(h("p", { class: "muted" }, "No animas."));
  await Promise.all(animas.map((anima) =>
    section(root, anima.name, async (box) => {
      box.dataset.anima = anima.name;
      box.append(h("div", { class: "row" }, triggerButton(anima.name, { kind: "heartbeat" }, "Trigger heartbeat now")));
      const schedule = await get(withQuery(`/api/animas/${enc(anima.name)}/schedule`, { count: 5 }));
      const beats = (schedule.heartbeat && schedule.heartbeat.next) || [];
      box.append(
        h("p", { class: "next" }, "Heartbeat next: ", beats.length ? beats.map((t, i) => [i ? ", " : "", when(t)]) : h("span", { class: "muted" }, "none")),
      );
      const cron = schedule.cron || [];
      if (cron.length) {
        box.append(
          table(
            ["Task", "Next", ""],
            cron.map((c) =>
              h("tr", {}, h("td", {}, c.task), h("td", {}, (c.next || []).map((t, i) => [i ? ", " : "", when(t)])),
                h("td", {}, triggerButton(anima.name, { kind: "cron", task: c.task }, "Trigger now"))),
            ),
          ),
        );
      }
    }),
  ));
}

export async function renderDeadLetters(root) {
  root.append(h("h1", {}, "Dead letters"));
  root.append(h("p", { class: "muted" }, "Messages a service gave up on, with the reason."));
  const body = h("tbody", {});
  root.append(
    h("div", { class: "table-wrap" }, h("table", { id: "deadletters" },
      h("thead", {}, h("tr", {}, ["Seq", "Time", "Service", "Reason", "Subject", "Payload"].map((x) => h("th", { scope: "col" }, x)))),
      body)),
  );
  let cursor = null;
  const load = async () => {
    const page = await get(withQuery("/api/deadletters", { cursor, limit: 50 }));
    for (const d of page.items || []) {
      body.append(h("tr", {}, h("td", {}, String(d.seq)), h("td", {}, when(d.time)), h("td", {}, d.service),
        h("td", {}, d.reason), h("td", { class: "mono" }, d.subject), h("td", { class: "mono" }, d.payload_preview || "")));
    }
    if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No dead letters.")));
    cursor = page.next_cursor;
    return Boolean(cursor);
  };
  if (await load()) root.append(more(() => load().catch((err) => (root.append(failure(err)), false))));
}
