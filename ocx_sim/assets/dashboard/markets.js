// The markets: a list with each one's prices and 24-hour figures, and a market's page with its
// candles, its live book ladder and its tape. Read from the OCX market data and streams, the
// same public calls any client makes, and from the world's event stream (the tape).
import { api, attempt, card, field, formValues, h, link, num, replace, signed, table, throttle, time, toast } from "./lib.js";
import { live } from "./shell.js";

async function marketRows() {
  const [markets, stats] = await Promise.all([api("/perps/markets"), api("/perps/market-stats")]);
  const byId = Object.fromEntries(stats.map((s) => [s.marketId, s]));
  return markets.map((m) => ({ ...m, stats: byId[m.marketId] || {} }));
}

export async function listPage(page) {
  const body = h("div");
  const load = async () => {
    const rows = await marketRows();
    replace(
      body,
      table(
        [
          { title: "market", cell: (m) => link(`#/market/${m.marketId}`, m.marketId) },
          { title: "type", cell: (m) => m.marketType },
          { title: "status", cell: (m) => m.tradingStatus },
          { title: "mark", cell: (m) => num(m.stats.markPrice), num: true },
          { title: "index", cell: (m) => num(m.stats.indexPrice), num: true },
          { title: "last", cell: (m) => num(m.stats.last), num: true },
          { title: "24 h", cell: (m) => signed(m.stats.change24hPct), num: true },
          { title: "24 h high", cell: (m) => num(m.stats.high24h), num: true },
          { title: "24 h low", cell: (m) => num(m.stats.low24h), num: true },
          { title: "24 h volume", cell: (m) => num(m.stats.volume24hUsd), num: true },
          { title: "open interest", cell: (m) => num(m.stats.openInterest), num: true },
          { title: "funding rate", cell: (m) => num(m.stats.fundingRate), num: true },
          { title: "next funding", cell: (m) => (m.stats.nextFundingAt ? time(m.stats.nextFundingAt).slice(11, 19) : "–") },
        ],
        rows,
        { testid: "markets", empty: "This world lists no market." },
      ),
    );
  };
  const board = h("div", { testid: "board" });
  page.root.append(h("h1", {}, "Markets"), card(null, body), card("BTC options board", board));
  await load();
  page.onEvents(throttle(() => attempt(load), 1000));
  await optionsBoard(page, board);
}

// `GET /markets/board`: one expiry's chain, calls left and puts right of the strike.
async function optionsBoard(page, box) {
  const expiry = h("select", { name: "expiry" });
  const chain = h("div");
  const load = async () => {
    let answer;
    try {
      answer = await api("/markets/board?underlying=BTC");
    } catch (error) {
      replace(box, h("p", { class: "empty" }, `No board: ${error.message}`));
      return;
    }
    if (!expiry.options.length) {
      replace(expiry, answer.expiries.map((e) => h("option", { value: e }, e)));
      expiry.value = answer.expiries[Math.min(1, answer.expiries.length - 1)] || "";
    }
    const forward = answer.expiryForwards[expiry.value];
    const rows = new Map();
    for (const option of answer.options.filter((o) => o.expiry === expiry.value)) {
      const row = rows.get(option.strike) || { strike: option.strike };
      row[option.type] = option;
      rows.set(option.strike, row);
    }
    const side = (type, field) => ({ title: `${type} ${field}`, num: true, cell: (r) => (r[type] ? num(r[type][field]) : "–") });
    replace(
      chain,
      h("p", { class: "hint" }, `index ${num(answer.underlyingPrice)}, forward ${forward ? num(forward.forwardPrice) : "–"}`),
      table(
        [
          side("call", "iv"),
          side("call", "bid"),
          side("call", "mark"),
          side("call", "ask"),
          { title: "strike", cell: (r) => h("strong", {}, num(r.strike)), num: true },
          side("put", "bid"),
          side("put", "mark"),
          side("put", "ask"),
          side("put", "iv"),
        ],
        [...rows.values()],
        { empty: "No option of this expiry." },
      ),
    );
  };
  expiry.addEventListener("change", () => attempt(load));
  replace(box, h("div", { class: "toolbar" }, field("expiry", expiry)), chain);
  await load();
  page.onEvents(throttle(() => attempt(load), 2000));
}

// -- a market --------------------------------------------------------------------------------

const RESOLUTIONS = [["1", "1 min"], ["5", "5 min"], ["15", "15 min"], ["60", "1 h"], ["D", "1 day"]];
const DEPTH = 12;
const TAPE = 60;

export async function marketPage(page, marketId) {
  const rows = await marketRows();
  const market = rows.find((m) => m.marketId === marketId);
  if (!market) {
    page.root.append(h("h1", {}, marketId), h("p", {}, "This world lists no such market."));
    return;
  }
  const stats = h("dl", { class: "facts row", testid: "market-stats" });
  const showStats = (m) =>
    replace(
      stats,
      ...[
        ["mark", num(m.stats.markPrice)],
        ["index", num(m.stats.indexPrice)],
        ["last", num(m.stats.last)],
        ["24 h", signed(m.stats.change24hPct)],
        ["volume 24 h", num(m.stats.volume24hUsd)],
        ["funding", num(m.stats.fundingRate)],
        ["status", m.tradingStatus],
      ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
    );
  showStats(market);

  const chartBox = h("div", { class: "chart", testid: "candles" });
  const resolution = h("select", {}, RESOLUTIONS.map(([v, t]) => h("option", { value: v }, t)));
  const ladder = h("div", { testid: "ladder" });
  const tape = h("div", { class: "scroll", testid: "tape" });
  page.root.append(
    h("h1", {}, marketId, h("small", {}, ` ${market.marketType}, tick ${market.tickSize}, step ${market.stepSize}`)),
    stats,
    h(
      "div",
      { class: "market" },
      card("Candles", h("div", { class: "toolbar" }, resolution), chartBox),
      card("Book", ladder),
      card("Tape", tape),
    ),
    card("Move this market", controls(marketId)),
  );

  const chart = candleChart(chartBox);
  const loadCandles = async () => {
    const answer = await api(`/perps/ohlc?symbol=${encodeURIComponent(marketId)}&resolution=${resolution.value}`);
    const seconds = resolution.value === "D" ? 86400 : Number(resolution.value) * 60;
    chart.show(answer.s === "ok" ? answer : { t: [], o: [], h: [], l: [], c: [] }, seconds);
  };
  resolution.addEventListener("change", () => attempt(loadCandles));
  await loadCandles();

  // The ladder: the book stream's snapshot, then the levels that change (size 0: gone).
  const book = { bids: new Map(), asks: new Map() };
  const apply = (side, levels) => {
    for (const level of levels) {
      if (Number(level.size) === 0) book[side].delete(level.price);
      else book[side].set(level.price, level.size);
    }
  };
  const drawLadder = throttle(() => replace(ladder, ladderTable(book)), 100);
  page.stream(`/perps/book-stream?marketId=${encodeURIComponent(marketId)}&depth=${DEPTH}`, {
    snapshot: (payload) => {
      book.bids.clear();
      book.asks.clear();
      apply("bids", payload.bids);
      apply("asks", payload.asks);
      drawLadder();
    },
    update: (payload) => {
      apply("bids", payload.bids);
      apply("asks", payload.asks);
      drawLadder();
    },
  });

  // The tape: this market's trades from the world's event stream, the recent ones first.
  let trades = [];
  const drawTape = throttle(() => replace(tape, tapeTable(trades)), 100);
  const take = (events) => {
    const mine = events.filter((e) => e.type === "TradeExecuted" && e.marketId === marketId);
    if (!mine.length) return;
    trades = trades.concat(mine).slice(-TAPE);
    drawTape();
  };
  page.stream(`/_sim/events/stream?since=${Math.max(0, live.seq - 20000)}&types=TradeExecuted`, {
    snapshot: (payload) => {
      trades = payload.events.filter((e) => e.marketId === marketId).slice(-TAPE);
      drawTape();
    },
    update: (payload) => take(payload.events),
  });

  const refresh = throttle(async () => {
    const fresh = (await marketRows()).find((m) => m.marketId === marketId);
    if (fresh) showStats(fresh);
    await loadCandles();
  }, 1000);
  page.onEvents(() => attempt(refresh));
  window.addEventListener("resize", chart.fit);
  page.disposers.push(() => window.removeEventListener("resize", chart.fit), () => chart.destroy());
}

function ladderTable(book) {
  const asks = [...book.asks.entries()].sort((a, b) => Number(a[0]) - Number(b[0])).slice(0, DEPTH);
  const bids = [...book.bids.entries()].sort((a, b) => Number(b[0]) - Number(a[0])).slice(0, DEPTH);
  const total = (levels) => {
    let sum = 0;
    return levels.map(([price, size]) => [price, size, (sum += Number(size))]);
  };
  const row = (side) => ([price, size, cumulative]) =>
    h(
      "tr",
      { class: side, "data-price": price },
      h("td", { class: "num" }, num(price)),
      h("td", { class: "num" }, size),
      h("td", { class: "num dim" }, cumulative.toFixed(4).replace(/\.?0+$/, "")),
    );
  const spread = asks.length && bids.length ? (Number(asks[0][0]) - Number(bids[0][0])).toFixed(2) : "–";
  return h(
    "table",
    { class: "ladder" },
    h("thead", {}, h("tr", {}, h("th", { class: "num" }, "price"), h("th", { class: "num" }, "size"), h("th", { class: "num" }, "total"))),
    h(
      "tbody",
      {},
      total(asks).reverse().map(row("ask")),
      h("tr", { class: "spread" }, h("td", { colspan: 3 }, `spread ${spread}`)),
      total(bids).map(row("bid")),
    ),
  );
}

function tapeTable(trades) {
  return table(
    [
      { title: "time", cell: (t) => time(t.ts).slice(11) },
      { title: "price", cell: (t) => h("span", { class: t.takerSide === "buy" ? "up" : "down" }, num(t.price)), num: true },
      { title: "size", cell: (t) => t.quantity, num: true },
      { title: "taker", cell: (t) => t.takerSide },
    ],
    [...trades].reverse(),
    { empty: "No trade yet." },
  );
}

// The levers of `POST /_sim/markets/{id}/…`: pin the index or the mark, trade as an outsider,
// halt and resume.
function controls(marketId) {
  const path = `/_sim/markets/${encodeURIComponent(marketId)}`;
  const send = (suffix, body, said) =>
    attempt(async () => {
      const answer = await api(`${path}/${suffix}`, { method: "POST", body });
      toast(said(answer));
    });
  const priceForm = (what) => {
    const form = h(
      "form",
      { class: "inline" },
      field(what, h("input", { name: "price", placeholder: "68000.00", required: true, size: 10 })),
      h("button", { type: "submit" }, `Pin ${what}`),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send(what, formValues(form), (a) => `${marketId}: index ${a.index}, mark ${a.mark}`);
    });
    return form;
  };
  const trade = h(
    "form",
    { class: "inline" },
    field("side", h("select", { name: "side" }, h("option", {}, "buy"), h("option", {}, "sell"))),
    field("price", h("input", { name: "price", required: true, size: 10 })),
    field("quantity", h("input", { name: "quantity", required: true, size: 8 })),
    h("button", { type: "submit" }, "Trade as an outsider"),
  );
  trade.addEventListener("submit", (event) => {
    event.preventDefault();
    send("trade", formValues(trade), (a) => `${a.fills.length} fills`);
  });
  return h(
    "div",
    { class: "row" },
    priceForm("index"),
    priceForm("mark"),
    trade,
    h("button", { onclick: () => send("halt", undefined, () => `${marketId} halted`) }, "Halt"),
    h("button", { onclick: () => send("resume", undefined, () => `${marketId} resumed`) }, "Resume"),
  );
}

// -- candles with uPlot (ocx_sim/assets/uplot): four series scale the y axis, drawn as candles
// by a draw hook, as uPlot's own candlestick demo does.

function candleChart(box) {
  let resolution = 60;
  const step = () => resolution;
  const candles = (u) => {
    const [t, o, hi, lo, c] = u.data;
    const ctx = u.ctx;
    const width = Math.max(1, Math.abs(u.valToPos(t[0] + step(), "x", true) - u.valToPos(t[0], "x", true)) * 0.7);
    ctx.save();
    for (let i = 0; i < t.length; i++) {
      const x = Math.round(u.valToPos(t[i], "x", true));
      const up = c[i] >= o[i];
      ctx.strokeStyle = ctx.fillStyle = up ? "#2fb67c" : "#e0565b";
      ctx.beginPath();
      ctx.moveTo(x, u.valToPos(hi[i], "y", true));
      ctx.lineTo(x, u.valToPos(lo[i], "y", true));
      ctx.stroke();
      const top = u.valToPos(Math.max(o[i], c[i]), "y", true);
      const bottom = u.valToPos(Math.min(o[i], c[i]), "y", true);
      ctx.fillRect(x - width / 2, top, width, Math.max(1, bottom - top));
    }
    ctx.restore();
  };
  const xRange = (u) => {
    const t = u.data[0];
    if (!t.length) return [0, 1];
    return [t[0] - step() / 2, t[t.length - 1] + step() / 2];
  };
  const yRange = (u) => {
    const [, , hi, lo] = u.data;
    if (!hi.length) return [0, 1];
    const top = Math.max(...hi);
    const bottom = Math.min(...lo);
    const pad = Math.max((top - bottom) * 0.08, top * 0.0005);
    return [bottom - pad, top + pad];
  };
  const hidden = (label) => ({ label, paths: () => null, points: { show: false } });
  const size = () => ({ width: Math.max(300, box.clientWidth - 8), height: 300 });
  const axis = { stroke: "#9aa4b2", grid: { stroke: "#2a3140" }, ticks: { stroke: "#2a3140" } };
  const plot = new uPlot(
    {
      ...size(),
      legend: { show: false },
      // The simulated clock is UTC, as every other time on the page.
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"),
      cursor: { points: { show: false } },
      series: [{}, hidden("open"), hidden("high"), hidden("low"), hidden("close")],
      // Ranges from the bars themselves (uPlot's own widen a single bar to years): half a
      // bar's room at either end, so the first and last candles are whole, and a margin above
      // the highest high and below the lowest low.
      scales: { x: { time: true, range: xRange }, y: { range: yRange } },
      axes: [axis, { ...axis, size: 70 }],
      hooks: { draw: [candles] },
    },
    [[], [], [], [], []],
    box,
  );
  return {
    show(answer, seconds) {
      resolution = seconds;
      plot.setData([answer.t, answer.o.map(Number), answer.h.map(Number), answer.l.map(Number), answer.c.map(Number)]);
      box.dataset.candles = String(answer.t.length);
    },
    fit: () => plot.setSize(size()),
    destroy: () => plot.destroy(),
  };
}
