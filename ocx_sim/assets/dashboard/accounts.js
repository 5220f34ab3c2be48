// The accounts: every user of the world with its equity, and an account's page with its
// balances, positions (liquidation price included), open orders, ledger and what happens to it.
// Read through `GET /_sim/accounts` and `GET /_sim/accounts/{userId}`.
import { api, attempt, card, concerns, eventDetail, h, link, num, replace, shortId, signed, table, throttle, time } from "./lib.js";

export async function listPage(page) {
  const body = h("div");
  const load = async () => {
    const { accounts } = await api("/_sim/accounts");
    replace(
      body,
      table(
        [
          { title: "user", cell: (a) => link(`#/account/${a.userId}`, a.userId) },
          { title: "wallet", cell: (a) => h("code", {}, a.walletAddress) },
          { title: "kind", cell: (a) => a.kind },
          { title: "equity (USDC)", cell: (a) => num(a.equity), num: true },
        ],
        accounts,
        { testid: "accounts", empty: "No account yet: sign in, or POST /_sim/accounts." },
      ),
    );
  };
  page.root.append(h("h1", {}, "Accounts"), body);
  await load();
  page.onEvents(throttle(() => attempt(load), 2000));
}

const ACTIVITY = 100;

export async function accountPage(page, userId) {
  const summary = h("dl", { class: "facts row", testid: "account-summary" });
  const balances = h("div", { testid: "balances" });
  const positions = h("div", { testid: "positions" });
  const orders = h("div", { testid: "orders" });
  const ledger = h("div", { testid: "ledger" });
  const activity = h("div", { testid: "activity" });
  page.root.append(
    h("h1", {}, "Account ", h("small", {}, userId)),
    summary,
    h("div", { class: "grid" }, card("Balances", balances), card("What happened to it (live)", activity)),
    card("Positions", positions),
    card("Open orders", orders),
    card("Ledger", ledger),
  );

  const load = async () => {
    const a = await api(`/_sim/accounts/${encodeURIComponent(userId)}`);
    replace(
      summary,
      ...[
        ["wallet", h("code", {}, a.walletAddress)],
        ["kind", a.kind],
        ["equity", h("span", { testid: "equity" }, num(a.equity))],
        ["margin usage", a.perps.marginUsage],
        ["available margin", num(a.perps.availableMargin)],
      ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
    );
    replace(balances, balanceTable(a));
    replace(
      positions,
      table(
        [
          { title: "market", cell: (p) => link(`#/market/${p.marketId}`, p.marketId) },
          { title: "side", cell: (p) => p.side },
          { title: "quantity", cell: (p) => p.quantity, num: true },
          { title: "entry", cell: (p) => num(p.entryPrice), num: true },
          { title: "mark", cell: (p) => num(p.markPrice), num: true },
          { title: "unrealized PnL", cell: (p) => signed(p.unrealizedPnl), num: true },
          { title: "funding", cell: (p) => signed(p.fundingPayment), num: true },
          { title: "liquidation price", cell: (p) => num(p.liquidationPrice), num: true },
          { title: "leverage", cell: (p) => p.leverage || "–", num: true },
          { title: "margin", cell: (p) => p.marginMode },
        ],
        a.positions,
        { empty: "No open position." },
      ),
    );
    replace(
      orders,
      table(
        [
          { title: "order", cell: (o) => shortId(o.id) },
          { title: "market", cell: (o) => o.marketId },
          { title: "side", cell: (o) => o.side },
          { title: "type", cell: (o) => o.type },
          { title: "price", cell: (o) => num(o.price), num: true },
          { title: "quantity", cell: (o) => o.quantity, num: true },
          { title: "filled", cell: (o) => o.filledQuantity, num: true },
          { title: "status", cell: (o) => o.status },
        ],
        a.openOrders,
        { empty: "No open order." },
      ),
    );
    replace(
      ledger,
      table(
        [
          { title: "time", cell: (e) => time(e.createdAt) },
          { title: "type", cell: (e) => e.type },
          { title: "bucket", cell: (e) => e.bucket },
          { title: "asset", cell: (e) => e.asset },
          { title: "amount", cell: (e) => signed(e.amount), num: true },
        ],
        a.ledger,
        { empty: "No ledger entry.", rowProps: (e) => ({ "data-type": e.type }) },
      ),
    );
  };

  let events = [];
  const drawActivity = () =>
    replace(
      activity,
      table(
        [
          { title: "time", cell: (e) => time(e.ts) },
          { title: "event", cell: (e) => e.type },
          { title: "detail", cell: (e) => eventDetail(e) },
        ],
        [...events].reverse(),
        { empty: "Nothing since this page opened.", rowProps: (e) => ({ "data-type": e.type }) },
      ),
    );
  drawActivity();
  await load();
  const reload = throttle(() => attempt(load), 500);
  page.onEvents((fresh) => {
    const mine = fresh.filter((e) => concerns(e, userId));
    if (mine.length) {
      events = events.concat(mine).slice(-ACTIVITY);
      drawActivity();
    }
    // A mark moving moves its equity and PnL too, whoever's event it was.
    reload();
  });
}

function balanceTable(account) {
  const b = account.balances;
  const rows = [
    ["wallet", b.walletBalance],
    ["perps", b.perpsBalance],
    ["options", b.optionsBalance],
    ["spot (USDC)", b.spotBalance],
    ...b.assets.filter((x) => x.asset !== "USDC").map((x) => [`spot ${x.asset}`, x.total]),
  ];
  return table(
    [
      { title: "bucket", cell: (r) => r[0] },
      { title: "balance", cell: (r) => h("span", { testid: `balance-${r[0].replace(/\W+/g, "-").replace(/-$/, "")}` }, num(r[1])), num: true },
    ],
    rows,
  );
}
