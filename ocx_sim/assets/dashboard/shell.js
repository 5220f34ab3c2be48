// The dashboard's live state: the world's event stream, its clock, and the page lifetime
// that ties a page's listeners, timers and streams to it being on screen.
import { BASE, api } from "./lib.js";

// The world's events as they happen: `GET /_sim/events/stream` (one frame per change).
export const live = {
  seq: 0,
  connected: false,
  listeners: new Set(),
  resyncs: new Set(),
  status: new Set(),
  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  },
  onResync(fn) {
    this.resyncs.add(fn);
    return () => this.resyncs.delete(fn);
  },
  onStatus(fn) {
    this.status.add(fn);
    fn(this.connected);
  },
  setConnected(value) {
    this.connected = value;
    for (const fn of this.status) fn(value);
  },
};

export function connectLive() {
  const source = new EventSource(`${BASE}/_sim/events/stream`);
  let opened = false;
  source.addEventListener("snapshot", (message) => {
    const { payload } = JSON.parse(message.data);
    const again = opened; // a reconnection: the world may have been reset or restored
    opened = true;
    live.seq = payload.seq;
    live.setConnected(true);
    if (again) for (const fn of live.resyncs) fn();
  });
  source.addEventListener("update", (message) => {
    const { payload } = JSON.parse(message.data);
    // A frame that does not move past the last seq: a restore took the log back (or to another
    // log as long), so everything on screen is read again.
    const back = payload.seq <= live.seq;
    live.seq = payload.seq;
    if (back) for (const fn of live.resyncs) fn();
    else for (const fn of live.listeners) fn(payload.events);
  });
  // The stream ends when the world is reset or restored (an `event: error` frame) or the server
  // goes; EventSource reconnects by itself unless the world is gone (a 404).
  source.addEventListener("error", () => live.setConnected(false));
  return source;
}

// The world's clock, read from `GET /_sim/clock`; a realtime clock's now is carried forward
// between reads from the real time that passed.
export const clock = {
  view: null,
  readAt: 0,
  listeners: new Set(),
  async refresh() {
    this.view = await api("/_sim/clock");
    this.readAt = performance.now();
    for (const fn of this.listeners) fn(this.view);
    return this.view;
  },
  nowMs() {
    if (!this.view) return null;
    if (this.view.mode !== "realtime") return this.view.nowMs;
    return this.view.nowMs + Math.floor((performance.now() - this.readAt) * this.view.speed);
  },
  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  },
};

// One page on screen: what it subscribed to is undone when another replaces it.
export class Page {
  constructor(root) {
    this.root = root;
    this.disposers = [];
    this.alive = true;
  }

  onEvents(fn) {
    this.disposers.push(live.on(fn));
  }

  onClock(fn) {
    this.disposers.push(clock.on(fn));
  }

  every(fn, ms) {
    const timer = setInterval(fn, ms);
    this.disposers.push(() => clearInterval(timer));
  }

  // An SSE stream of this world, closed when the page goes: {snapshot(payload), update(payload)}.
  stream(path, handlers) {
    const source = new EventSource(BASE + path);
    for (const [event, fn] of Object.entries(handlers)) {
      source.addEventListener(event, (message) => fn(JSON.parse(message.data).payload));
    }
    this.disposers.push(() => source.close());
    return source;
  }

  dispose() {
    this.alive = false;
    for (const fn of this.disposers) fn();
    this.disposers = [];
  }
}
