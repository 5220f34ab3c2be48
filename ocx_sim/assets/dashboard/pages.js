// The world's own pages: its clock, request journal, events, faults, scenario, health, and the
// server's worlds. Each reads and acts through the /_sim control API only.
import {
  BASE,
  WORLD,
  api,
  attempt,
  card,
  eventDetail,
  field,
  formValues,
  h,
  link,
  replace,
  select,
  shortId,
  table,
  throttle,
  time,
  toast,
} from "./lib.js";
import { clock, live } from "./shell.js";

// -- clock -----------------------------------------------------------------------------------

export async function clockPage(page) {
  const facts = h("dl", { class: "facts", testid: "clock-facts" });
  const show = (view) =>
    replace(
      facts,
      h("dt", {}, "now"),
      h("dd", {}, time(view.now)),
      h("dt", {}, "mode"),
      h("dd", {}, view.mode),
      h("dt", {}, "speed"),
      h("dd", {}, `×${view.speed}`),
      h("dt", {}, "next funding"),
      h("dd", {}, time(view.nextFundingAt)),
      h("dt", {}, "next expiry"),
      h("dd", {}, view.nextExpiryAt ? time(view.nextExpiryAt) : "none listed"),
    );
  page.onClock(show);

  const modeForm = h(
    "form",
    { class: "inline" },
    field("mode", select("mode", ["manual", "realtime"], clock.view && clock.view.mode)),
    field("speed", h("input", { name: "speed", type: "number", step: "any", min: "0", placeholder: "1" })),
    h("button", { type: "submit" }, "Set"),
  );
  modeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formValues(modeForm);
    const body = { mode: values.mode };
    if (values.speed && values.mode === "realtime") body.speed = Number(values.speed);
    attempt(async () => {
      await api("/_sim/clock/mode", { method: "POST", body });
      await clock.refresh();
    });
  });

  const advanceForm = h(
    "form",
    { class: "inline" },
    field("by (ms)", h("input", { name: "ms", type: "number", min: "0", placeholder: "300000" })),
    field("or to (ISO)", h("input", { name: "to", placeholder: "2026-01-02T01:00:00.000Z" })),
    h("button", { type: "submit" }, "Advance"),
  );
  const fired = h("div", { testid: "advance-events" });
  advanceForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formValues(advanceForm);
    const body = values.to ? { to: values.to } : { ms: Number(values.ms || 0) };
    attempt(async () => {
      const answer = await api("/_sim/clock/advance", { method: "POST", body });
      await clock.refresh();
      replace(fired, eventList(answer.events.filter((e) => !CHURN.has(e.type)).slice(-50)));
    });
  });

  page.root.append(
    h("h1", {}, "Clock"),
    h(
      "div",
      { class: "grid" },
      card("The world's instant", facts),
      card("Mode", modeForm, h("p", { class: "hint" }, "A manual clock moves only when told; a realtime one runs at speed × real time.")),
      card("Advance", advanceForm, fired),
    ),
  );
  show(await clock.refresh());
}

// -- events ----------------------------------------------------------------------------------

// The order flow of the house's market maker: most of the log, hidden unless asked for.
const CHURN = new Set(["OrderAccepted", "OrderCancelled", "OrderModified", "OrderExpired"]);
const KEPT = 500;

function eventList(events, testid) {
  return table(
    [
      { title: "seq", cell: (e) => e.seq, num: true },
      { title: "time", cell: (e) => time(e.ts) },
      { title: "type", cell: (e) => h("span", { class: `type ${e.type}` }, e.type) },
      { title: "detail", cell: (e) => eventDetail(e) },
    ],
    [...events].reverse(),
    { empty: "No events.", testid, rowProps: (e) => ({ "data-type": e.type }) },
  );
}

export async function eventsPage(page) {
  let events = [];
  const churn = h("input", { type: "checkbox", name: "churn" });
  const filter = h("input", { name: "type", placeholder: "type contains…" });
  const list = h("div");
  const render = () => {
    const text = filter.value.trim().toLowerCase();
    const shown = events.filter(
      (e) => (churn.checked || !CHURN.has(e.type)) && e.type.toLowerCase().includes(text),
    );
    replace(list, eventList(shown.slice(-200), "events"));
  };
  const later = throttle(render, 300);
  const take = (fresh) => {
    events = events.concat(fresh).slice(-KEPT * 4);
    later();
  };
  churn.addEventListener("change", render);
  filter.addEventListener("input", render);
  page.root.append(
    h("h1", {}, "Live events"),
    h(
      "div",
      { class: "toolbar" },
      filter,
      h("label", {}, churn, " show order churn (accepted, cancelled, modified, expired)"),
    ),
    list,
  );
  // The recent past from the stream's own snapshot, then what the world's stream brings.
  const since = Math.max(0, live.seq - 5000);
  page.stream(`/_sim/events/stream?since=${since}`, {
    snapshot: (payload) => {
      events = payload.events;
      render();
      page.onEvents(take);
    },
  });
}

// -- journal ---------------------------------------------------------------------------------

export async function journalPage(page) {
  const form = h(
    "form",
    { class: "inline", testid: "journal-filter" },
    field("path", h("input", { name: "path", placeholder: "/perps/orders" })),
    field("status", h("input", { name: "status", placeholder: "4xx or 429", size: 6 })),
    field("account", h("input", { name: "account", placeholder: "userId or 0x…" })),
    h("label", {}, h("input", { type: "checkbox", name: "control", checked: false }), " show /_sim calls"),
    h("button", { type: "submit" }, "Filter"),
  );
  const list = h("div");
  let entries = [];
  let last = 0;
  let query = "";
  const render = () => {
    const showControl = form.elements.control.checked;
    const shown = entries.filter((e) => showControl || !e.path.startsWith("/_sim"));
    replace(
      list,
      table(
        [
          { title: "seq", cell: (e) => e.seq, num: true },
          { title: "time", cell: (e) => time(e.time) },
          { title: "method", cell: (e) => e.method },
          { title: "path", cell: (e) => e.path },
          { title: "account", cell: (e) => (e.account ? link(`#/account/${e.account}`, shortId(e.account)) : "–") },
          { title: "status", cell: (e) => h("span", { class: `status s${String(e.status)[0]}` }, e.status) },
          { title: "ms", cell: (e) => e.latencyMs, num: true },
          { title: "bodies", cell: (e) => bodies(e) },
        ],
        shown.slice(-300).reverse(),
        { empty: "No request matches.", testid: "journal" },
      ),
    );
  };
  const load = async (fresh) => {
    if (fresh) {
      entries = [];
      last = 0;
    }
    const { entries: more } = await api(`/_sim/journal?since=${last}${query}`);
    if (more.length) {
      entries = entries.concat(more).slice(-3000);
      last = more[more.length - 1].seq;
    }
    if (more.length || fresh) render();
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formValues(form);
    delete values.control;
    query = Object.entries(values)
      .map(([k, v]) => `&${k}=${encodeURIComponent(v)}`)
      .join("");
    attempt(() => load(true));
  });
  form.elements.control.addEventListener("change", render);
  page.root.append(
    h("h1", {}, "Request journal"),
    h("p", { class: "hint" }, "Every request the world answered, newest first. A world made with journalBodies shows each request's and answer's JSON."),
    form,
    list,
  );
  await load(true);
  // The journal has no stream (it is not the event log): it is read again every second.
  page.every(() => attempt(() => load(false)), 1000);
}

function bodies(entry) {
  if (!("request" in entry) && !("response" in entry)) return "";
  return h(
    "details",
    {},
    h("summary", {}, "show"),
    h("pre", {}, "request: ", JSON.stringify(entry.request, null, 2)),
    h("pre", {}, "response: ", JSON.stringify(entry.response, null, 2)),
  );
}

// -- faults ----------------------------------------------------------------------------------

const ACTIONS = ["error", "latency", "drop", "ambiguous", "stream_drop", "stream_gap", "stream_duplicate", "stream_stall"];

export async function faultsPage(page) {
  const list = h("div");
  const load = async () => {
    const { faults } = await api("/_sim/faults");
    replace(
      list,
      table(
        [
          { title: "fault", cell: (f) => shortId(f.faultId) },
          { title: "match", cell: (f) => `${f.match.method} ${f.match.path}${f.match.account ? ` (${shortId(f.match.account)})` : ""}` },
          { title: "action", cell: (f) => actionText(f.action) },
          { title: "remaining", cell: (f) => (f.remaining === null ? "∞" : f.remaining), num: true },
          {
            title: "",
            cell: (f) =>
              h("button", { class: "danger", onclick: () => attempt(() => remove(f.faultId)) }, "Remove"),
          },
        ],
        faults,
        { empty: "No fault is armed.", testid: "faults" },
      ),
    );
  };
  const remove = async (faultId) => {
    try {
      await api(`/_sim/faults/${faultId}`, { method: "DELETE" });
      toast("Fault removed");
    } finally {
      await load(); // gone already (its last hit) or not, the list says what is armed
    }
  };
  const form = faultForm(async (body) => {
    const made = await api("/_sim/faults", { method: "POST", body });
    toast(`Fault ${shortId(made.faultId)} armed`);
    await load();
  });
  page.root.append(
    h("h1", {}, "Faults"),
    h("div", { class: "grid wide" }, card("Armed", list), card("Add a fault", form)),
  );
  await load();
  // A fault's hits are no events: the list is read again every second.
  page.every(() => attempt(load), 1000);
}

function actionText(action) {
  const parts = Object.entries(action)
    .filter(([key, value]) => key !== "type" && value !== null && value !== undefined)
    .map(([key, value]) => `${key}=${value}`);
  return `${action.type}${parts.length ? ` (${parts.join(", ")})` : ""}`;
}

// The form of `POST /_sim/faults`: the rule's match, its action and how often it hits.
function faultForm(submit) {
  const form = h(
    "form",
    { class: "stack", testid: "fault-form" },
    h(
      "div",
      { class: "row" },
      field("method", select("method", ["POST", "GET", "DELETE", "*"], "POST")),
      field("path", h("input", { name: "path", value: "/perps/orders", required: true })),
      field("account", h("input", { name: "account", placeholder: "any" })),
    ),
    h(
      "div",
      { class: "row" },
      field("action", select("type", ACTIONS, "error")),
      field("status", h("input", { name: "status", type: "number", value: "503", min: 400, max: 599 })),
      field("code", h("input", { name: "code", value: "SERVICE_UNAVAILABLE" })),
      field("message", h("input", { name: "message", placeholder: "the catalog's" })),
    ),
    h(
      "div",
      { class: "row" },
      field("ms", h("input", { name: "ms", type: "number", min: 0, placeholder: "latency, stall" })),
      field("afterFrames", h("input", { name: "afterFrames", type: "number", min: 1, placeholder: "stream_drop" })),
      field("times", h("input", { name: "times", type: "number", min: 1, value: "1" })),
      field("probability", h("input", { name: "probability", type: "number", step: "any", min: 0, max: 1, placeholder: "1" })),
    ),
    h("button", { type: "submit" }, "Add fault"),
  );
  // Only the fields the chosen action takes are offered.
  const uses = {
    status: ["error", "ambiguous"],
    code: ["error"],
    message: ["error"],
    ms: ["latency", "stream_stall"],
    afterFrames: ["stream_drop"],
  };
  const showFields = () => {
    const type = form.elements.type.value;
    for (const [name, types] of Object.entries(uses)) {
      form.elements[name].closest("label").hidden = !types.includes(type);
    }
  };
  form.elements.type.addEventListener("change", showFields);
  showFields();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formValues(form);
    const match = { method: v.method, path: v.path };
    if (v.account) match.account = v.account;
    const action = { type: v.type };
    for (const name of Object.keys(uses)) {
      if (v[name] !== undefined && uses[name].includes(v.type)) {
        action[name] = ["status", "ms", "afterFrames"].includes(name) ? Number(v[name]) : v[name];
      }
    }
    const body = { match, action };
    if (v.times) body.times = Number(v.times);
    if (v.probability) body.probability = Number(v.probability);
    attempt(() => submit(body));
  });
  return form;
}

// -- scenario --------------------------------------------------------------------------------

export async function scenarioPage(page) {
  const runs = h("div");
  const results = h("div");
  const load = async () => {
    const status = await api("/_sim/scenarios/status");
    const now = clock.nowMs();
    replace(
      runs,
      table(
        [
          { title: "scenario", cell: (r) => r.scenario },
          { title: "loaded", cell: (r) => time(r.loadedAt) },
          { title: "ends", cell: (r) => time(r.endsAt) },
          { title: "steps to come", cell: (r) => r.pending, num: true },
          { title: "progress", cell: (r) => progress(r, now) },
        ],
        status.scenarios,
        { empty: "No scenario is loaded in this world.", testid: "scenarios" },
      ),
    );
    const passed = status.expectations.filter((e) => e.ok).length;
    replace(
      results,
      status.expectations.length
        ? h("p", { class: passed === status.expectations.length ? "ok" : "bad" }, `${passed} of ${status.expectations.length} expectations hold`)
        : null,
      table(
        [
          { title: "at", cell: (e) => time(e.at) },
          { title: "", cell: (e) => h("span", { class: e.ok ? "ok" : "bad" }, e.ok ? "✓" : "✗") },
          { title: "expectation", cell: (e) => e.what },
          { title: "detail", cell: (e) => e.detail || "" },
        ],
        status.expectations,
        { empty: "No expectation has been judged yet.", testid: "expectations" },
      ),
    );
  };
  const { scenarios } = await api("/_sim/scenarios");
  const form = h(
    "form",
    { class: "inline" },
    field("bundled scenario", select("name", scenarios.map((s) => [s.name, `${s.name}: ${s.description}`]))),
    h("button", { type: "submit" }, "Load into this world"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      const loaded = await api("/_sim/scenarios", { method: "POST", body: formValues(form) });
      toast(`${loaded.scenario}: ${loaded.steps} steps, ${loaded.expectations} expectations`);
      await load();
    });
  });
  page.root.append(
    h("h1", {}, "Scenario"),
    card("Runs", runs),
    card("Expectations", results),
    card("Load", form, h("p", { class: "hint" }, "Its timeline starts at the world's now; advance the clock to play it.")),
  );
  await load();
  page.onEvents(throttle(() => attempt(load), 1000));
}

function progress(run, nowMs) {
  const from = Date.parse(run.loadedAt);
  const to = Date.parse(run.endsAt);
  const share = to > from ? Math.min(1, Math.max(0, (nowMs - from) / (to - from))) : 1;
  return h("progress", { max: 1, value: share, title: `${Math.round(share * 100)}%` });
}

// -- health ----------------------------------------------------------------------------------

export async function healthPage(page) {
  const invariants = h("div", { testid: "invariants" });
  const digest = h("div", { testid: "digest" });
  const check = async () => {
    const answer = await api("/_sim/invariants");
    replace(
      invariants,
      h("p", { class: answer.ok ? "ok big" : "bad big" }, answer.ok ? "✓ every invariant holds" : `✗ ${answer.failures.length} broken`),
      answer.failures.length ? h("ul", {}, answer.failures.map((f) => h("li", {}, f))) : null,
      h("p", { class: "hint" }, "Ledger conserved, books uncrossed, funding zero-sum, no negative bucket."),
    );
  };
  const hash = async () => {
    const answer = await api("/_sim/digest");
    replace(digest, h("code", { class: "digest" }, answer.digest), h("p", { class: "hint" }, `SHA-256 of the event log up to seq ${answer.seq}. The same config and requests give the same digest.`));
  };
  page.root.append(
    h("h1", {}, "Health"),
    h(
      "div",
      { class: "grid" },
      card("Invariants", invariants, h("button", { onclick: () => attempt(check) }, "Check again")),
      card("Digest", digest, h("button", { onclick: () => attempt(hash) }, "Compute again")),
    ),
  );
  await Promise.all([check(), hash()]);
}

// -- worlds ----------------------------------------------------------------------------------

// A world's dashboard: the default world's at the root, another's under its prefix.
function dashboardOf(world) {
  return `${world.baseUrl === "/" ? "" : world.baseUrl}/_sim/ui/`;
}

export async function worldsPage(page) {
  const list = h("div");
  const snapshots = h("div");
  const load = async () => {
    const { worlds } = await api("/_sim/worlds");
    replace(
      list,
      table(
        [
          { title: "world", cell: (w) => (w.worldId === WORLD ? h("strong", {}, `${w.worldId} (this one)`) : w.worldId) },
          { title: "address", cell: (w) => w.baseUrl },
          { title: "seed", cell: (w) => w.seed, num: true },
          { title: "now", cell: (w) => time(w.now) },
          { title: "", cell: (w) => link(dashboardOf(w), "open") },
          {
            title: "",
            cell: (w) =>
              w.worldId === "default"
                ? ""
                : h("button", { class: "danger", onclick: () => attempt(() => remove(w)) }, "Delete"),
          },
        ],
        worlds,
        { testid: "worlds" },
      ),
    );
    const { snapshots: kept } = await api("/_sim/snapshots");
    replace(
      snapshots,
      table(
        [
          { title: "snapshot", cell: (s) => s.snapshotId },
          { title: "taken at", cell: (s) => time(s.now) },
          { title: "size", cell: (s) => `${(s.bytes / 1048576).toFixed(1)} MiB`, num: true },
          {
            title: "",
            cell: (s) => [
              h("button", { onclick: () => attempt(() => restore(s.snapshotId)) }, "Restore"),
              " ",
              h("button", { class: "danger", onclick: () => attempt(() => forget(s.snapshotId)) }, "Delete"),
            ],
          },
        ],
        kept,
        { empty: "No snapshot of this world.", testid: "snapshots" },
      ),
    );
  };
  const remove = async (world) => {
    if (!confirm(`Delete world ${world.worldId}? Its paths answer 404 from then on.`)) return;
    await api(`/_sim/worlds/${world.worldId}`, { method: "DELETE" });
    toast(`World ${world.worldId} deleted`);
    if (world.worldId === WORLD) location.href = "/_sim/ui/#/worlds";
    else await load();
  };
  const forget = async (snapshotId) => {
    await api(`/_sim/snapshots/${snapshotId}`, { method: "DELETE" });
    toast(`Snapshot ${snapshotId} deleted`);
    await load();
  };
  const restore = async (snapshotId) => {
    const answer = await api("/_sim/restore", { method: "POST", body: { snapshotId } });
    await clock.refresh();
    toast(`Restored: the world is back at ${answer.now}`);
  };

  const { scenarios } = await api("/_sim/scenarios");
  const create = h(
    "form",
    { class: "stack", testid: "create-world" },
    h(
      "div",
      { class: "row" },
      field("scenario", select("scenario", [["", "none (an empty exchange)"], ...scenarios.map((s) => [s.name, s.name])], "sandbox")),
      field("seed", h("input", { name: "seed", type: "number", placeholder: "the server's" })),
    ),
    h(
      "div",
      { class: "row" },
      field("clock", select("clock", ["manual", "realtime"], "manual")),
      field("speed", h("input", { name: "speed", type: "number", step: "any", placeholder: "1" })),
      h("label", { class: "field" }, h("span", {}, "journal bodies"), h("input", { type: "checkbox", name: "journalBodies" })),
    ),
    h("button", { type: "submit" }, "Create world"),
  );
  create.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formValues(create);
    const body = { clock: v.clock, journalBodies: Boolean(v.journalBodies) };
    if (v.scenario) body.scenario = v.scenario;
    if (v.seed) body.seed = Number(v.seed);
    if (v.speed && v.clock === "realtime") body.speed = Number(v.speed);
    attempt(async () => {
      const made = await api("/_sim/worlds", { method: "POST", body });
      toast(`World ${made.worldId} created`);
      await load();
    });
  });

  const reset = h(
    "form",
    { class: "inline" },
    field("seed", h("input", { name: "seed", type: "number", placeholder: "the same" })),
    h("button", { type: "submit", class: "danger" }, "Reset this world"),
  );
  reset.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formValues(reset);
    attempt(async () => {
      const answer = await api("/_sim/reset", { method: "POST", body: v.seed ? { seed: Number(v.seed) } : {} });
      await clock.refresh();
      toast(`Reset on seed ${answer.seed}`);
      await load();
    });
  });
  const snap = h(
    "button",
    {
      onclick: () =>
        attempt(async () => {
          const { snapshotId } = await api("/_sim/snapshot", { method: "POST" });
          toast(`Snapshot ${snapshotId} taken`);
          await load();
        }),
    },
    "Take a snapshot",
  );
  page.root.append(
    h("h1", {}, "Worlds"),
    card("On this server", list),
    h(
      "div",
      { class: "grid" },
      card("Create a world", create),
      card(`This world (${WORLD})`, reset, h("p", {}, snap), snapshots),
    ),
    h("p", { class: "hint" }, `This dashboard drives ${BASE || "the default world at /"}.`),
  );
  await load();
}
