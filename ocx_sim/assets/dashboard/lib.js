// What every page of the dashboard shares: the world's address, calls to it, a small DOM
// builder, number and time formats, tables. No framework and no build step: the files are
// served as they are written.

// The page lives at {world prefix}/_sim/ui/: "" for the default world, "/w/{id}" for another.
export const BASE = location.pathname.replace(/\/_sim\/ui\/.*$/, "");
export const WORLD = BASE === "" ? "default" : BASE.slice(3);

export class ApiError extends Error {
  constructor(status, body, text) {
    const message = body && body.message ? `${body.code}: ${body.message}` : `${status} ${text}`;
    super(message);
    this.status = status;
    this.body = body;
  }
}

// One call to this world's server: JSON in and out, the error body turned into an ApiError.
export async function api(path, { method = "GET", body, base = BASE } = {}) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(base + path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data, text);
  return data;
}

// h("td", {class: "num", onclick: f}, "text", node, …): an element; null children are skipped.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "testid") el.dataset.testid = value;
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A table of `rows`, one column per {title, cell(row), num?}; `empty` when there is no row.
export function table(columns, rows, { empty = "Nothing yet.", testid, rowProps } = {}) {
  if (!rows.length) return h("p", { class: "empty", testid }, empty);
  return h(
    "table",
    { testid },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : null }, c.title)))),
    h(
      "tbody",
      {},
      rows.map((row) =>
        h(
          "tr",
          rowProps ? rowProps(row) : {},
          columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(row))),
        ),
      ),
    ),
  );
}

export function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...children);
}

// "2026-01-02T00:05:00.000Z" → "2026-01-02 00:05:00.000"
export function time(iso) {
  return iso ? iso.replace("T", " ").replace("Z", "") : "–";
}

export function timeOfMs(ms) {
  return time(new Date(ms).toISOString());
}

// A decimal string as the server sent it, with thousands separated; "–" for null.
export function num(text) {
  if (text === null || text === undefined) return "–";
  const [whole, fraction] = String(text).split(".");
  const sign = whole.startsWith("-") ? "-" : "";
  const digits = whole.replace("-", "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return sign + digits + (fraction !== undefined ? "." + fraction : "");
}

// A signed amount, coloured by its sign.
export function signed(text) {
  if (text === null || text === undefined) return "–";
  const value = Number(text);
  return h("span", { class: value > 0 ? "up" : value < 0 ? "down" : null }, num(text));
}

export function shortId(id) {
  return id && id.length > 12 ? `${id.slice(0, 6)}…${id.slice(-4)}` : id || "–";
}

export function link(href, text) {
  return h("a", { href }, text);
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const el = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  box.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}

// Run `action`; a failure is shown, not thrown (a button's click handler).
export async function attempt(action) {
  try {
    return await action();
  } catch (error) {
    toast(error.message, "error");
    return undefined;
  }
}

// `fn` at most once per `ms`, the last call of a burst always run.
export function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  return (...args) => {
    const wait = last + ms - Date.now();
    clearTimeout(timer);
    if (wait <= 0) {
      last = Date.now();
      fn(...args);
    } else {
      timer = setTimeout(() => {
        last = Date.now();
        fn(...args);
      }, wait);
    }
  };
}

// The values of a form's named fields, empty ones left out.
export function formValues(form) {
  const out = {};
  for (const [key, value] of new FormData(form).entries()) {
    if (typeof value === "string" && value.trim() !== "") out[key] = value.trim();
  }
  return out;
}

export function field(label, input) {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

export function select(name, options, value) {
  return h(
    "select",
    { name },
    options.map((o) => {
      const [v, text] = Array.isArray(o) ? o : [o, o];
      return h("option", { value: v, selected: v === value }, text);
    }),
  );
}

// The events an account took part in: its own, or a trade on either side.
export function concerns(event, userId) {
  return event.userId === userId || event.makerUserId === userId || event.takerUserId === userId;
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

// An event's fields other than its seq, time and type, as "name=value" text, ids shortened
// (the whole event is the element's title).
export function eventDetail(event) {
  const text = Object.entries(event)
    .filter(([key, value]) => !["seq", "ts", "type"].includes(key) && value !== null)
    .map(([key, value]) => {
      const shown = typeof value === "object" ? JSON.stringify(value) : String(value);
      return `${key}=${ULID.test(shown) ? shortId(shown) : shown}`;
    })
    .join("  ");
  return h("span", { class: "detail", title: JSON.stringify(event, null, 1) }, text);
}
