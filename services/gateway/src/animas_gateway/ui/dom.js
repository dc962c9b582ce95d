// Small DOM helpers: elements are built, never parsed from strings, so no text can become markup.

import { ApiError } from "./api.js";

/** h("a", {href: "#/x", class: "y"}, "text", child...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** A notice explaining a failed call (a missing route says so plainly). */
export function failure(err) {
  const text = err instanceof ApiError ? err.describe() : String(err && err.message ? err.message : err);
  return h("p", { class: "notice error", role: "alert" }, text);
}

export function notice(text) {
  return h("p", { class: "notice" }, text);
}

/** A time as the reader's locale shows it; the ISO text stays in the title. */
export function when(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const date = new Date(iso);
  const shown = Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
  return h("time", { datetime: iso, title: iso }, shown);
}

export function stateBadge(state) {
  const value = state || "unknown";
  return h("span", { class: `state state-${value}`, "data-state": value }, value.replace("_", " "));
}

export function link(href, text, attrs = {}) {
  return h("a", { href, ...attrs }, text);
}

export const enc = encodeURIComponent;

export function json(value) {
  return h("pre", { class: "mono" }, JSON.stringify(value, null, 2));
}

/** A "Load more" button that calls next() until it returns false. */
export function more(next) {
  const button = h("button", { type: "button", class: "quiet" }, "Load more");
  button.addEventListener("click", async () => {
    button.disabled = true;
    const again = await next();
    if (again) button.disabled = false;
    else button.remove();
  });
  return button;
}
