// The dashboard's frame: the header (world, clock, advance buttons, stream status) and the
// router that puts one page at a time under it (#/markets, #/market/BTC-PERP, …).
import * as accounts from "./accounts.js";
import { WORLD, api, attempt, replace, timeOfMs, toast } from "./lib.js";
import * as markets from "./markets.js";
import * as pages from "./pages.js";
import { Page, clock, connectLive, live } from "./shell.js";

const ROUTES = [
  [/^\/?$/, pages.clockPage],
  [/^\/markets$/, markets.listPage],
  [/^\/market\/([^/]+)$/, markets.marketPage],
  [/^\/accounts$/, accounts.listPage],
  [/^\/account\/([^/]+)$/, accounts.accountPage],
  [/^\/journal$/, pages.journalPage],
  [/^\/events$/, pages.eventsPage],
  [/^\/faults$/, pages.faultsPage],
  [/^\/scenario$/, pages.scenarioPage],
  [/^\/health$/, pages.healthPage],
  [/^\/worlds$/, pages.worldsPage],
];

let current = null;

function route() {
  if (current) current.dispose();
  const path = decodeURIComponent(location.hash.replace(/^#/, "")) || "/";
  const root = replace(document.getElementById("page"));
  current = new Page(root);
  for (const link of document.querySelectorAll("nav.tabs a")) {
    const target = link.getAttribute("href").slice(1);
    const section = path.split("/")[1] || "";
    const active = target === path || (target !== "/" && target.startsWith(`/${section}`) && section);
    link.classList.toggle("active", Boolean(active));
  }
  for (const [pattern, render] of ROUTES) {
    const match = pattern.exec(path);
    if (match) {
      attempt(() => render(current, ...match.slice(1)));
      return;
    }
  }
  root.append(`No page at ${path}.`);
}

// -- the header ------------------------------------------------------------------------------

function showClock() {
  const now = clock.nowMs();
  if (now === null) return;
  document.querySelector("[data-testid=clock-now]").textContent = timeOfMs(now);
  const view = clock.view;
  document.querySelector("[data-testid=clock-mode]").textContent =
    view.mode === "realtime" ? `realtime ×${view.speed}` : "manual";
}

// The advance buttons: a fixed step, or to the instant the clock names as the next funding or
// expiry, each one `POST /_sim/clock/advance` as a test would send it.
async function advance(what) {
  const view = await clock.refresh();
  let body;
  if (what === "funding") body = { to: view.nextFundingAt };
  else if (what === "expiry") {
    if (!view.nextExpiryAt) throw new Error("No market expires after now.");
    body = { to: view.nextExpiryAt };
  } else body = { ms: Number(what) };
  const answer = await api("/_sim/clock/advance", { method: "POST", body });
  await clock.refresh();
  toast(`Advanced to ${answer.now}: ${answer.events.length} events`);
}

function header() {
  document.querySelector("[data-testid=world-name]").textContent =
    WORLD === "default" ? "default world" : `world ${WORLD}`;
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      await attempt(() => advance(button.dataset.advance));
      button.disabled = false;
    });
  }
  const status = document.querySelector("[data-testid=live]");
  live.onStatus((connected) => {
    status.textContent = connected ? "● live" : "○ reconnecting";
    status.classList.toggle("on", connected);
  });
  setInterval(showClock, 250);
  clock.on(showClock);
}

async function main() {
  header();
  connectLive();
  await attempt(() => clock.refresh());
  // Frames move the clock on a manual world; a realtime one is re-read now and then to
  // correct the carried-forward instant.
  let refreshing = false;
  live.on(async () => {
    if (refreshing) return;
    refreshing = true;
    await attempt(() => clock.refresh());
    setTimeout(() => (refreshing = false), 500);
  });
  // A reset or a restore changes the world under every page: the page is drawn again.
  live.onResync(() => {
    attempt(() => clock.refresh());
    route();
  });
  setInterval(() => attempt(() => clock.refresh()), 5000);
  window.addEventListener("hashchange", route);
  route();
}

main();
