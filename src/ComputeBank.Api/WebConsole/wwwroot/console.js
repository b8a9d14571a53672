// The ComputeBank console: one page over /api/v1, with the bearer token the person signs in with (kept in
// sessionStorage: this tab only). Everything it shows comes from the API and every refusal shows the problem's title,
// detail and code. No framework and no build step; every value is written with textContent, never as HTML.

const TOKEN = "computebank.token";
const $ = (selector) => document.querySelector(selector);

// ---------------------------------------------------------------------------------------------------------------
// Session and API

function claimsOf(token) {
  const part = token.split(".")[1];
  if (!part) throw new Error("This is not a JWT (three parts separated by dots).");
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
  return JSON.parse(json);
}

const session = {
  get token() { return sessionStorage.getItem(TOKEN); },
  get claims() { return this.token ? claimsOf(this.token) : null; },
  get role() { return this.claims?.role ?? null; },
  get owner() { return this.claims?.owner ?? null; },
};

class Problem extends Error {
  constructor(status, body) {
    super(body?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.title = body?.title ?? `HTTP ${status}`;
    this.code = body?.code ?? "unknown";
    this.errors = body?.errors ?? null;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${session.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Problem(response.status, json);
  return json;
}

// ---------------------------------------------------------------------------------------------------------------
// Small DOM helpers

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let fieldIds = 0;

/** A form of labelled fields; onSubmit gets the values by name. Refusals are shown as problems. */
function form(name, fields, submit, onSubmit) {
  const inputs = {};
  const node = el("form", { "aria-label": name, novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    clearMessages();
    const values = Object.fromEntries(Object.entries(inputs).map(([key, input]) => [key, input.value.trim()]));
    try { await onSubmit(values); } catch (error) { showProblem(error); }
  } });
  for (const field of fields) {
    const id = `f${++fieldIds}`;
    const input = field.options
      ? el("select", { id, name: field.name }, field.options.map((o) => el("option", { value: o, selected: o === field.value }, o)))
      : el("input", { id, name: field.name, type: field.type ?? "text", value: field.value ?? "", placeholder: field.placeholder, required: field.required !== false,
        inputmode: field.numeric ? "decimal" : undefined, autocomplete: "off" });
    inputs[field.name] = input;
    node.append(el("label", { for: id }, field.label, input));
  }
  node.append(el("button", { type: "submit" }, submit));
  return node;
}

function table(caption, columns, rows) {
  return el("div", { class: "table-wrap" }, el("table", {},
    el("caption", { class: "muted" }, caption),
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.number ? "number" : null }, c.label)))),
    el("tbody", {}, rows.length === 0
      ? el("tr", {}, el("td", { colspan: columns.length, class: "muted" }, "none"))
      : rows.map((row) => el("tr", {}, columns.map((c) => el("td", { class: c.number ? "number" : null }, c.cell(row))))))));
}

/** A bar chart in SVG, drawn here (no chart library to fetch); the table beside it holds the same figures. */
function barChart(title, bars, unit) {
  const width = 560, barHeight = 22, gap = 6, left = 170, height = bars.length * (barHeight + gap) + 10;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${Math.max(height, 30)}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${title}: ${bars.map((b) => `${b.label} ${b.value} ${unit}`).join(", ")}`);
  const titleNode = document.createElementNS(ns, "title");
  titleNode.textContent = title;
  svg.append(titleNode);
  bars.forEach((bar, i) => {
    const y = 5 + i * (barHeight + gap);
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", "0"); label.setAttribute("y", String(y + 15)); label.textContent = bar.label;
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("x", String(left)); rect.setAttribute("y", String(y));
    rect.setAttribute("width", String(Math.max(1, (width - left - 80) * bar.value / max))); rect.setAttribute("height", String(barHeight));
    rect.setAttribute("fill", bar.color ?? "#1f5fbf");
    const value = document.createElementNS(ns, "text");
    value.setAttribute("x", String(left + 6 + (width - left - 80) * bar.value / max)); value.setAttribute("y", String(y + 15));
    value.textContent = `${bar.value} ${unit}`;
    svg.append(label, rect, value);
  });
  return el("figure", { class: "chart" }, el("figcaption", {}, title), svg);
}

function clearMessages() {
  $("#problem").hidden = true;
  $("#problem").replaceChildren();
  $("#notice").textContent = "";
}

function showProblem(error) {
  const box = $("#problem");
  if (error instanceof Problem) {
    box.replaceChildren(el("strong", {}, error.title), ` (${error.code}, HTTP ${error.status}): ${error.message}`);
    if (error.errors) {
      box.append(el("ul", {}, Object.entries(error.errors).map(([field, messages]) => el("li", {}, `${field}: ${[].concat(messages).join("; ")}`))));
    }
  } else {
    box.replaceChildren(el("strong", {}, "Error"), `: ${error.message}`);
  }
  box.hidden = false;
}

function notice(text) { $("#notice").textContent = text; }

const now = () => new Date();
const period = (offset = 0) => { const d = now(); d.setUTCDate(1); d.setUTCMonth(d.getUTCMonth() + offset); return d.toISOString().slice(0, 7); };
const hours = (text) => Number.parseFloat(text);

/** "12:34 left" until an instant, or "due" once it has passed; the page ticks every second (data-deadline). */
function countdown(deadline) {
  return el("span", { "data-deadline": deadline }, remaining(deadline));
}

function remaining(deadline) {
  const seconds = Math.floor((Date.parse(deadline) - Date.now()) / 1000);
  if (seconds <= 0) return "due";
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")} left`;
}

setInterval(() => document.querySelectorAll("[data-deadline]").forEach((n) => { n.textContent = remaining(n.dataset.deadline); }), 1000);

// ---------------------------------------------------------------------------------------------------------------
// Views

const CLASSES = ["gpu.h100", "gpu.a100", "npu.ascend910b", "cpu.vcpu"];
const REGIONS = ["beijing", "xiongan", "tianjin", "shanghai"];

function historyTable(accountId, events) {
  return table(`Events of ${accountId} with the balance after each`, [
    { label: "Version", number: true, cell: (e) => e.version },
    { label: "Time", cell: (e) => e.time },
    { label: "Event", cell: (e) => e.type },
    { label: "Hours", number: true, cell: (e) => e.data.hours ?? "" },
    { label: "Balance after", cell: (e) => e.balances.map((b) => `${b.resourceClass}/${b.region}/${b.period}: posted ${b.posted}, pending ${b.pending}, available ${b.available}`).join("; ") },
  ], events);
}

async function accountsView(main) {
  main.append(el("h2", {}, "Your accounts"));
  const kind = session.role === "provider" ? "provider" : "consumer";
  main.append(form("Open an account", [
    { name: "accountId", label: "New account id", placeholder: `${session.owner}-main` },
  ], "Open account", async (v) => {
    await api("POST", "/accounts", { accountId: v.accountId, ownerId: session.owner, kind });
    notice(`Account ${v.accountId} opened.`);
    await render();
  }));
  const list = await api("GET", `/accounts?ownerId=${encodeURIComponent(session.owner)}`);
  for (const summary of list.accounts) {
    const account = await api("GET", `/accounts/${encodeURIComponent(summary.accountId)}`);
    main.append(el("h3", {}, `${account.accountId} (${account.kind}, ${account.status}, version ${account.version})`));
    main.append(table(`Balances of ${account.accountId}`, [
      { label: "Bucket", cell: (b) => `${b.resourceClass}/${b.region}/${b.period}` },
      { label: "Posted", number: true, cell: (b) => b.posted },
      { label: "Pending", number: true, cell: (b) => b.pending },
      { label: "Available", number: true, cell: (b) => b.available },
    ], account.balances));
    if (account.balances.length > 0) {
      main.append(barChart(`Posted hours of ${account.accountId} per period and region`,
        account.balances.map((b) => ({ label: `${b.period} ${b.region}`, value: hours(b.posted) })), "h"));
    }

    const history = el("div", {});
    main.append(el("button", { type: "button", class: "secondary", onclick: async () => {
      clearMessages();
      try {
        const page = await api("GET", `/accounts/${encodeURIComponent(account.accountId)}/history?limit=1000`);
        history.replaceChildren(historyTable(account.accountId, page.events));
      } catch (error) { showProblem(error); }
    } }, `History of ${account.accountId}`), history);
  }

  if (list.accounts.length === 0) main.append(el("p", { class: "muted" }, "No account yet: open one above."));
}

async function depositView(main) {
  main.append(el("h2", {}, "Deposit idle capacity"));
  main.append(form("Deposit", [
    { name: "accountId", label: "Provider account" },
    { name: "resourceClass", label: "Resource class", options: CLASSES, value: "gpu.h100" },
    { name: "region", label: "Region", options: REGIONS, value: "beijing" },
    { name: "period", label: "Period", value: period() },
    { name: "hours", label: "Hours", numeric: true },
  ], "Deposit", async (v) => {
    const result = await api("POST", "/deposits", { depositId: `console-${crypto.randomUUID()}`, ...v });
    const bucket = result.accounts[0].balances[0];
    notice(`Deposited: ${v.accountId} now has ${bucket.posted} h posted, ${bucket.available} h available in ${bucket.resourceClass}/${bucket.region}/${bucket.period}.`);
  }));
}

async function offersView(main) {
  main.append(el("h2", {}, "List capacity on the market"));
  main.append(form("List an offer", [
    { name: "accountId", label: "Provider account" },
    { name: "resourceClass", label: "Resource class", options: CLASSES, value: "gpu.h100" },
    { name: "region", label: "Region", options: REGIONS, value: "beijing" },
    { name: "period", label: "Period", value: period() },
    { name: "hours", label: "Hours", numeric: true },
    { name: "unitPrice", label: "Unit price (CNY per hour)", numeric: true },
    { name: "validHours", label: "Valid for (hours)", value: "24", numeric: true },
  ], "List offer", async (v) => {
    const validUntil = new Date(Date.now() + hours(v.validHours) * 3600_000).toISOString();
    const offer = await api("POST", "/market/offers", {
      offerId: `offer-${crypto.randomUUID()}`, accountId: v.accountId, resourceClass: v.resourceClass, region: v.region, period: v.period,
      hours: v.hours, unitPrice: v.unitPrice, validUntil,
    });
    notice(`Offer ${offer.offerId} listed: ${offer.hoursLeft} h at ${offer.unitPrice} CNY/h, ${offer.status}.`);
  }));
  main.append(el("h2", {}, "Withdraw an offer"));
  main.append(form("Withdraw an offer", [{ name: "offerId", label: "Offer id" }], "Withdraw", async (v) => {
    const offer = await api("POST", `/market/offers/${encodeURIComponent(v.offerId)}/withdraw`);
    notice(`Offer ${offer.offerId} ${offer.status}: ${offer.hoursReleased} h released.`);
  }));
}

async function marketView(main) {
  main.append(el("h2", {}, "The book"));
  const results = el("div", { id: "book" });
  const show = async (v) => {
    const query = `resourceClass=${encodeURIComponent(v.resourceClass)}&period=${encodeURIComponent(v.period)}`;
    const [book, stats] = await Promise.all([api("GET", `/market/offers?${query}&limit=100`), api("GET", `/market/stats?${query}`)]);
    const best = new Map();
    for (const offer of book.offers) if (!best.has(offer.region)) best.set(offer.region, offer);
    results.replaceChildren(
      barChart(`Best price per region, ${v.resourceClass} ${v.period} (CNY per hour)`, [...best.values()].map((o) => ({ label: o.region, value: Number(o.unitPrice) })), "CNY/h"),
      table(`Open offers of ${v.resourceClass} in ${v.period}, in matching order`, [
        { label: "Offer", cell: (o) => o.offerId },
        { label: "Region", cell: (o) => o.region },
        { label: "Unit price", number: true, cell: (o) => o.unitPrice },
        { label: "Hours left", number: true, cell: (o) => o.hoursLeft },
        { label: "Min hours", number: true, cell: (o) => o.minHours },
        { label: "Valid until", cell: (o) => o.validUntil },
      ], book.offers),
      table("Settled trades per region", [
        { label: "Region", cell: (r) => r.region },
        { label: "Last price", number: true, cell: (r) => r.lastPrice },
        { label: "VWAP", number: true, cell: (r) => r.vwap },
        { label: "Hours", number: true, cell: (r) => r.volumeHours },
        { label: "Trades", number: true, cell: (r) => r.tradeCount },
      ], stats.regions));
  };
  main.append(form("Show the book", [
    { name: "resourceClass", label: "Resource class", options: CLASSES, value: "gpu.h100" },
    { name: "period", label: "Period", value: period() },
  ], "Show book", show), results);

  if (session.role !== "consumer") return;
  main.append(el("h2", {}, "Buy"));
  const bought = el("div", { id: "bought" });
  main.append(form("Place an order", [
    { name: "accountId", label: "Your account" },
    { name: "resourceClass", label: "Resource class", options: CLASSES, value: "gpu.h100" },
    { name: "period", label: "Period", value: period() },
    { name: "regions", label: "Regions (comma separated, empty: all)", required: false },
    { name: "hours", label: "Hours", numeric: true },
    { name: "maxUnitPrice", label: "Highest unit price (CNY per hour)", numeric: true },
    { name: "paymentWindowSeconds", label: "Seconds to pay", value: "900", numeric: true },
  ], "Buy", async (v) => {
    const regions = v.regions ? v.regions.split(",").map((r) => r.trim()).filter((r) => r) : [];
    const order = await api("POST", "/market/orders", {
      orderId: `order-${crypto.randomUUID()}`, accountId: v.accountId, resourceClass: v.resourceClass, period: v.period, regions,
      hours: v.hours, maxUnitPrice: v.maxUnitPrice, paymentWindowSeconds: Number.parseInt(v.paymentWindowSeconds, 10),
    });
    notice(`Order ${order.status}: ${order.hoursFilled} h in ${order.trades.length} trade(s). Pay each by its deadline.`);
    bought.replaceChildren(tradesTable("Trades of the order: what to pay by when", order.trades, false));
  }), bought);
}

function tradesTable(caption, trades, cancellable) {
  return table(caption, [
    { label: "Trade", cell: (t) => t.tradeId },
    { label: "Hours", number: true, cell: (t) => `${t.hours} (${t.region})` },
    { label: "Unit price", number: true, cell: (t) => t.unitPrice },
    { label: "Amount (CNY)", number: true, cell: (t) => t.amount },
    { label: "Status", cell: (t) => t.status },
    { label: "Pay by", cell: (t) => t.status === "awaiting_payment" ? [t.payBy, " ", countdown(t.payBy)] : t.payBy },
    { label: "", cell: (t) => cancellable && t.status === "awaiting_payment"
      ? el("button", { type: "button", class: "secondary", onclick: async () => {
        clearMessages();
        try { const done = await api("POST", `/market/trades/${encodeURIComponent(t.tradeId)}/cancel`); notice(`Trade ${done.tradeId} ${done.status}.`); await render(); }
        catch (error) { showProblem(error); }
      } }, "Cancel")
      : "" },
  ], trades);
}

async function holdsView(main) {
  main.append(el("h2", {}, "Reserve credits for a job"));
  const shown = el("div", { id: "hold" });
  const showHold = (hold) => shown.replaceChildren(table(`Hold ${hold.holdId}`, [
    { label: "Hold", cell: (h) => h.holdId }, { label: "Account", cell: (h) => h.accountId },
    { label: "Bucket", cell: (h) => `${h.resourceClass}/${h.region}/${h.period}` },
    { label: "Hours", number: true, cell: (h) => h.hours }, { label: "Captured", number: true, cell: (h) => h.capturedHours },
    { label: "Status", cell: (h) => h.status }, { label: "Expires", cell: (h) => h.status === "pending" ? [h.expiresAt, " ", countdown(h.expiresAt)] : h.expiresAt },
  ], [hold]), hold.status === "pending" ? el("p", {},
    el("button", { type: "button", onclick: () => endHold(hold.holdId, "capture", showHold) }, "Capture all"), " ",
    el("button", { type: "button", class: "secondary", onclick: () => endHold(hold.holdId, "release", showHold) }, "Release")) : "");
  main.append(form("Place a hold", [
    { name: "accountId", label: "Your account" },
    { name: "resourceClass", label: "Resource class", options: CLASSES, value: "gpu.h100" },
    { name: "region", label: "Region", options: REGIONS, value: "beijing" },
    { name: "period", label: "Period", value: period() },
    { name: "hours", label: "Hours", numeric: true },
    { name: "minutes", label: "Expires in (minutes)", value: "60", numeric: true },
  ], "Place hold", async (v) => {
    const holdId = `hold-${crypto.randomUUID()}`;
    await api("POST", "/holds", {
      holdId, accountId: v.accountId, resourceClass: v.resourceClass, region: v.region, period: v.period, hours: v.hours,
      expiresAt: new Date(Date.now() + hours(v.minutes) * 60_000).toISOString(),
    });
    notice(`Hold ${holdId} placed.`);
    showHold(await api("GET", `/holds/${encodeURIComponent(holdId)}`));
  }));
  main.append(form("Find a hold", [{ name: "holdId", label: "Hold id" }], "Find hold", async (v) => {
    showHold(await api("GET", `/holds/${encodeURIComponent(v.holdId)}`));
  }), shown);
}

async function endHold(holdId, action, showHold) {
  clearMessages();
  try {
    await api("POST", `/holds/${encodeURIComponent(holdId)}/${action}`, { operationId: `console-${crypto.randomUUID()}` });
    const hold = await api("GET", `/holds/${encodeURIComponent(holdId)}`);
    notice(`Hold ${holdId} ${hold.status}.`);
    showHold(hold);
  } catch (error) { showProblem(error); }
}

async function tradesView(main) {
  main.append(el("h2", {}, "Trades"));
  const list = await api("GET", `/accounts?ownerId=${encodeURIComponent(session.owner)}`);
  for (const account of list.accounts) {
    const page = await api("GET", `/market/trades?accountId=${encodeURIComponent(account.accountId)}&limit=100`);
    main.append(tradesTable(`Trades of ${account.accountId}, newest first`, page.trades, session.role === "consumer"));
  }
}

async function paymentsView(main) {
  main.append(el("h2", {}, "Confirm a payment"));
  const shown = el("div", { id: "trade" });
  main.append(form("Find a trade", [{ name: "tradeId", label: "Trade id" }], "Find trade", async (v) => {
    const trade = await api("GET", `/market/trades/${encodeURIComponent(v.tradeId)}`);
    shown.replaceChildren(tradesTable(`Trade ${trade.tradeId}`, [trade], false),
      form("Confirm the payment", [
        { name: "paymentReference", label: "Payment reference" },
        { name: "amount", label: "Amount (CNY)", value: trade.amount, numeric: true },
        { name: "rail", label: "Rail", options: ["e-cny", "bank-transfer"], value: "e-cny" },
      ], "Confirm payment", async (p) => {
        const paid = await api("POST", `/market/trades/${encodeURIComponent(trade.tradeId)}/payments`, { ...p, currency: "CNY" });
        notice(`Trade ${paid.tradeId} ${paid.status}: ${paid.hours} h delivered to ${paid.buyerAccountId}, reference ${paid.settlement.paymentReference}.`);
      }));
  }), shown);
}

async function auditView(main) {
  main.append(el("h2", {}, "Verify the ledger"));
  const report = el("div", { id: "verify" });
  main.append(el("button", { type: "button", onclick: async () => {
    clearMessages();
    report.textContent = "Replaying every event...";
    try {
      const r = await api("GET", "/audit/verify");
      report.replaceChildren(el("p", {}, `ok: ${r.ok ? "yes" : "NO"}, ${r.eventsChecked} events in ${r.streamsChecked} streams replayed, ${r.discrepancyCount} discrepancies`),
        table("Discrepancies", [
          { label: "Invariant", cell: (d) => d.invariant }, { label: "Check", cell: (d) => d.check }, { label: "Detail", cell: (d) => d.detail },
        ], r.discrepancies));
    } catch (error) { report.textContent = ""; showProblem(error); }
  } }, "Run audit verify"), report);

  main.append(el("h2", {}, "CSV export"));
  main.append(el("p", { class: "muted" }, "Every event of the ledger in its CSV format (one row per posting), as deploy/local/cli export --all --format csv writes it."));
  main.append(el("button", { type: "button", class: "secondary", onclick: async () => {
    clearMessages();
    try {
      const response = await fetch("/api/v1/events/export.csv", { headers: { Authorization: `Bearer ${session.token}` } });
      if (!response.ok) throw new Problem(response.status, await response.json());
      const url = URL.createObjectURL(await response.blob());
      const link = el("a", { href: url, download: "computebank-ledger.csv" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      notice("CSV export downloaded: computebank-ledger.csv.");
    } catch (error) { showProblem(error); }
  } }, "Download CSV export"));

  main.append(el("h2", {}, "History of an account"));
  const history = el("div", { id: "history" });
  main.append(form("Show history", [{ name: "accountId", label: "Account id" }], "Show history", async (v) => {
    const page = await api("GET", `/accounts/${encodeURIComponent(v.accountId)}/history?limit=1000`);
    history.replaceChildren(historyTable(v.accountId, page.events));
  }), history);

  main.append(el("h2", {}, "Balances as of a time"));
  const asOf = el("div", { id: "as-of" });
  main.append(form("Balances as of", [
    { name: "accountId", label: "Account id" },
    { name: "asOf", label: "As of (ISO 8601)", value: now().toISOString() },
  ], "Show balances", async (v) => {
    const b = await api("GET", `/accounts/${encodeURIComponent(v.accountId)}/balances?asOf=${encodeURIComponent(v.asOf)}`);
    asOf.replaceChildren(table(`Balances of ${b.accountId} as of ${v.asOf} (version ${b.version})`, [
      { label: "Bucket", cell: (x) => `${x.resourceClass}/${x.region}/${x.period}` },
      { label: "Posted", number: true, cell: (x) => x.posted }, { label: "Pending", number: true, cell: (x) => x.pending },
      { label: "Available", number: true, cell: (x) => x.available },
    ], b.balances));
  }), asOf);

  main.append(el("h2", {}, "Event feed"));
  const feed = el("div", { id: "feed" });
  let after = 0;
  const more = async () => {
    const page = await api("GET", `/events?afterSequence=${after}&limit=50`);
    feed.append(table(`Events after sequence ${after}`, [
      { label: "Sequence", number: true, cell: (e) => e.sequence }, { label: "Stream", cell: (e) => e.streamId },
      { label: "Event", cell: (e) => e.type }, { label: "Time", cell: (e) => e.time },
    ], page.events));
    after = page.next;
  };
  main.append(el("button", { type: "button", class: "secondary", onclick: () => more().catch(showProblem) }, "Next 50 events"), feed);

  main.append(el("h2", {}, "Pool of a bucket"));
  const pool = el("div", { id: "pool" });
  main.append(form("Show a pool", [
    { name: "resourceClass", label: "Resource class", options: CLASSES, value: "gpu.h100" },
    { name: "region", label: "Region", options: REGIONS, value: "beijing" },
    { name: "period", label: "Period", value: period() },
  ], "Show pool", async (v) => {
    const p = await api("GET", `/pools/${v.resourceClass}/${v.region}/${v.period}`);
    pool.replaceChildren(table(`Pool ${v.resourceClass}/${v.region}/${v.period} (as of sequence ${p.asOfSequence})`, [
      { label: "Figure", cell: (r) => r[0] }, { label: "Hours", number: true, cell: (r) => r[1] },
    ], Object.entries(p).filter(([k]) => !["resourceClass", "region", "period", "asOfSequence"].includes(k))));
  }), pool);
}

async function operationsView(main) {
  main.append(el("h2", {}, "Freeze or unfreeze an account"));
  main.append(form("Freeze or unfreeze", [
    { name: "accountId", label: "Account id" },
    { name: "action", label: "Action", options: ["freeze", "unfreeze"], value: "freeze" },
  ], "Apply", async (v) => {
    const result = await api("POST", `/accounts/${encodeURIComponent(v.accountId)}/${v.action}`, { operationId: `console-${crypto.randomUUID()}` });
    notice(`${v.accountId} is now ${result.accounts?.[0]?.status ?? v.action}.`);
  }));
  main.append(el("h2", {}, "Credit limit"));
  main.append(form("Set a credit limit", [
    { name: "accountId", label: "Account id" },
    { name: "resourceClass", label: "Resource class", options: CLASSES, value: "gpu.h100" },
    { name: "hours", label: "Limit (hours)", numeric: true },
  ], "Set limit", async (v) => {
    await api("PUT", `/accounts/${encodeURIComponent(v.accountId)}/credit-limits/${encodeURIComponent(v.resourceClass)}`, { hours: v.hours, operationId: `console-${crypto.randomUUID()}` });
    notice(`Credit limit of ${v.accountId} for ${v.resourceClass}: ${v.hours} h.`);
  }));
  main.append(el("h2", {}, "Close a period"));
  main.append(form("Close a period", [
    { name: "period", label: "Period", value: period(-1) },
    { name: "policy", label: "Policy", options: ["expire", "rollover"], value: "expire" },
    { name: "rolloverTo", label: "Roll over to (rollover only)", required: false },
  ], "Close period", async (v) => {
    await api("POST", `/periods/${encodeURIComponent(v.period)}/close`, { policy: v.policy, rolloverTo: v.rolloverTo || undefined, operationId: `console-${crypto.randomUUID()}` });
    notice(`Period ${v.period} closed (${v.policy}).`);
  }));
  main.append(el("h2", {}, "Dead letters"));
  const letters = await api("GET", "/dead-letters?limit=100");
  main.append(table("Commands that failed too often", [
    { label: "Id", number: true, cell: (d) => d.id }, { label: "Operation", cell: (d) => d.operationId }, { label: "Type", cell: (d) => d.type },
    { label: "Attempts", number: true, cell: (d) => d.attempts }, { label: "Last error", cell: (d) => d.error },
    { label: "", cell: (d) => el("button", { type: "button", class: "secondary", onclick: () => replay(d.id) }, "Replay") },
  ], letters.items));
  main.append(form("Discard a dead letter", [
    { name: "id", label: "Dead letter id", numeric: true },
    { name: "reason", label: "Why it is not run again" },
  ], "Discard", async (v) => {
    const done = await api("POST", `/dead-letters/${encodeURIComponent(v.id)}/discard`, { reason: v.reason });
    notice(`Dead letter ${done.deadLetterId} discarded: ${done.reason}.`);
    await render();
  }));
}

async function replay(id) {
  clearMessages();
  try { await api("POST", `/dead-letters/${id}/replay`); notice(`Dead letter ${id} replayed.`); await render(); }
  catch (error) { showProblem(error); }
}

// ---------------------------------------------------------------------------------------------------------------
// Navigation

const VIEWS = {
  accounts: { label: "Accounts", roles: ["provider", "consumer"], render: accountsView },
  deposit: { label: "Deposit", roles: ["provider"], render: depositView },
  offers: { label: "Offers", roles: ["provider"], render: offersView },
  market: { label: "Market", roles: ["provider", "consumer", "auditor", "operator", "settlement"], render: marketView },
  trades: { label: "Trades", roles: ["provider", "consumer"], render: tradesView },
  holds: { label: "Holds", roles: ["consumer"], render: holdsView },
  payments: { label: "Payments", roles: ["settlement", "operator"], render: paymentsView },
  audit: { label: "Audit", roles: ["auditor", "operator"], render: auditView },
  operations: { label: "Operations", roles: ["operator"], render: operationsView },
};

/** Where each role starts. */
const HOME = { provider: "accounts", consumer: "accounts", settlement: "payments", auditor: "audit", operator: "operations" };

function allowedViews() {
  return Object.entries(VIEWS).filter(([, view]) => view.roles.includes(session.role));
}

async function render() {
  const main = $("#main");
  if (!session.token) {
    $("#nav").hidden = true;
    $("#sign-out").hidden = true;
    $("#who").textContent = "";
    $("#sign-in").hidden = false;
    return;
  }

  const views = allowedViews();
  const current = location.hash.replace(/^#\//, "") || HOME[session.role] || views[0]?.[0];
  $("#sign-in").hidden = true;
  $("#sign-out").hidden = false;
  $("#who").textContent = `Signed in as ${session.role}${session.owner ? ` of ${session.owner}` : ""}`;
  const nav = $("#nav");
  nav.hidden = false;
  nav.replaceChildren(...views.map(([key, view]) => el("a", { href: `#/${key}`, "aria-current": key === current ? "page" : null }, view.label)));
  for (const section of main.querySelectorAll("section.view")) section.remove();
  const view = VIEWS[current];
  const section = el("section", { class: "view", "aria-label": view?.label ?? "Not found" });
  main.append(section);
  if (!view || !view.roles.includes(session.role)) {
    section.append(el("p", {}, "This section is not for your role."));
    return;
  }

  try { await view.render(section); } catch (error) { showProblem(error); }
}

$("#sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearMessages();
  const token = $("#token").value.trim();
  try {
    const claims = claimsOf(token);
    if (!claims.role) throw new Error("The token carries no role claim.");
    sessionStorage.setItem(TOKEN, token);
    $("#token").value = "";
    location.hash = `#/${HOME[claims.role] ?? "market"}`;
    await render();
  } catch (error) { showProblem(error); }
});

$("#sign-out").addEventListener("click", () => { sessionStorage.removeItem(TOKEN); location.hash = ""; render(); });
window.addEventListener("hashchange", () => { clearMessages(); render(); });
render();
