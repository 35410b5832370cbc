// Contoso Shop: the demo page of erpsync's storefront API. State lives in the URL
// (?webshop=&as=&customer=&q=&category=&color=&size=&lang=&sort=&product=), so every view can be
// linked to: webshop and as (guest, customer, contact or agent) name the demo account signed in
// as, customer the customer a sales agent acts for. The page signs in through the storefront's
// demo login (/demo/accounts, /demo/token), which issues shopper tokens for the webshops' demo
// accounts only, and sends the token with every call (Authorization: Bearer), as a webshop's
// backend does for its users.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { params: new URLSearchParams(location.search), next: "", currency: "", token: "", me: null, shops: null };
const LANGUAGES = { en: "English", de: "Deutsch", nl: "Nederlands", fr: "Français" };
const KINDS = { guest: "Guest", customer: "Customer", contact: "Contact person", agent: "Sales agent" };
// PAGE_PARAMS are the page's own parameters, not the API's.
const PAGE_PARAMS = ["as", "product"];
const COLORS = { Black: "#1d1d1f", White: "#fafafa", Red: "#d92d20", Blue: "#2563eb", Green: "#16a34a",
  Yellow: "#facc15", Grey: "#9ca3af", Gray: "#9ca3af", Silver: "#cbd5e1", Orange: "#f97316", Brown: "#92400e",
  Navy: "#1e3a8a", Pink: "#ec4899", Purple: "#7c3aed", Beige: "#e7d8b9" };
const FACET_TITLES = { category: "Category", color: "Colour", size: "Size", style: "Style", configuration: "Configuration", price: "Price" };

// h builds an element: h("div", {class: "x", style: {background: "red"}}, child, "text"). Styles
// go through the CSSOM, which the page's Content-Security-Policy allows (style attributes it
// does not).
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style") Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}

// webURL returns u resolved when it is an http(s) URL, else null: links and images use only
// those, whatever a document holds (the import keeps only such URLs; an older index may not).
function webURL(u) {
  if (!u) return null;
  try {
    const p = new URL(u, location.href);
    return p.protocol === "https:" || p.protocol === "http:" ? p.href : null;
  } catch (e) { return null; }
}

// api calls the storefront with the shopper's token (a guest's calls name the webshop instead).
// A token the storefront no longer takes (expired) is replaced once through the demo login.
async function api(path, params, retried) {
  const p = new URLSearchParams(params || "");
  for (const k of PAGE_PARAMS) p.delete(k);
  if (!state.token && state.params.get("webshop")) p.set("webshop", state.params.get("webshop"));
  const qs = p.toString();
  const headers = state.token ? { Authorization: "Bearer " + state.token } : {};
  const res = await fetch(qs ? path + "?" + qs : path, { credentials: "same-origin", headers });
  const body = await res.json();
  const code = body.error && body.error.code;
  if (res.status === 401 && code === "invalid_token" && !retried && state.token) {
    await signIn();
    return api(path, params, true);
  }
  if (res.status === 401) { showLogin(); throw new Error("unauthorized"); }
  if (res.status === 403) { showRefused(code, body.error.message); throw new Error("refused"); }
  if (!res.ok) throw new Error((body.error && body.error.message) || res.statusText);
  return body;
}

function money(amount, currency) {
  // Intl formats from the exact decimal text; no arithmetic happens here.
  try {
    return new Intl.NumberFormat(state.params.get("lang") || (state.me && state.me.language) || "en", { style: "currency", currency }).format(amount);
  } catch (e) { return currency + " " + amount; }
}

// below reports whether decimal text a is below b, comparing the exact text (no floats): both are
// canonical decimals from the API.
function below(a, b) {
  const [ai, af = ""] = a.split("."), [bi, bf = ""] = b.split(".");
  if (ai.length !== bi.length) return ai.length < bi.length;
  if (ai !== bi) return ai < bi;
  const n = Math.max(af.length, bf.length);
  return af.padEnd(n, "0") < bf.padEnd(n, "0");
}

// The kinds of agreement, by the API's price source and the line discount relations (D365's
// PriceParameters field names).
const SOURCES = { customer: "your price", price_group: "your group's price", all: "price for all customers" };
const RELATIONS = {
  SalesLineAccountItem: "your discount on this item", SalesLineAccountGroup: "your discount on this product group",
  SalesLineAccountAll: "your discount on everything", SalesLineGroupItem: "your group's discount on this item",
  SalesLineGroupGroup: "your group's discount on this product group", SalesLineGroupAll: "your group's discount on everything",
  SalesLineAllItem: "discount on this item", SalesLineAllGroup: "discount on this product group", SalesLineAllAll: "volume discount",
};

// agreement says which trade agreements gave a price: "your group's price · −5 % your group's
// discount on this product group"; "" for the list price.
function agreement(quote) {
  const parts = [];
  if (SOURCES[quote.source]) parts.push(SOURCES[quote.source]);
  const discounts = (quote.discounts || []).map((d) => RELATIONS[d.relation] || d.relation);
  if (discounts.length && quote.discount_percent && quote.discount_percent !== "0") parts.push("−" + quote.discount_percent + " % " + discounts.join(" + "));
  else if (discounts.length) parts.push(discounts.join(" + "));
  return parts.join(" · ");
}

// priceEl shows what the shopper pays, the list price struck through when they pay less, and
// the kind of agreement that gave their price.
function priceEl(quote) {
  if (!quote || !quote.available) {
    const why = quote && quote.reason === "blocked" ? "Account on hold — no prices" : "Price on request";
    return h("span", { class: "price none", dataset: { reason: (quote && quote.reason) || "" } }, why);
  }
  const reduced = quote.list_price && below(quote.price, quote.list_price);
  const kind = agreement(quote);
  return h("span", { class: "quote" },
    h("span", { class: "price" + (reduced ? " special" : ""), dataset: { price: quote.price, currency: quote.currency, source: quote.source } }, money(quote.price, quote.currency)),
    reduced ? h("s", { class: "list-price", dataset: { listPrice: quote.list_price } }, money(quote.list_price, quote.currency)) : null,
    kind ? h("span", { class: "agreement", dataset: { relations: (quote.discounts || []).map((d) => d.relation).join(" ") } }, kind) : null);
}

function media(item, name, image) {
  const initials = (name || item).split(/\s+/).filter(Boolean).slice(-3, -1).map((w) => w[0]).join("").toUpperCase();
  const box = h("div", { class: "media" },
    h("div", { class: "ph" }, h("span", {}, initials || "•"), h("small", {}, "No image")));
  const src = webURL(image);
  if (src) {
    const img = h("img", { src, alt: name, loading: "lazy", onerror: () => img.remove() });
    box.append(img);
  }
  return box;
}

function card(hit) {
  const dots = (hit.colors || []).slice(0, 6).map((c) => h("i", { title: c, style: { background: COLORS[c] || "#d0d5dd" } }));
  return h("article", { class: "card product", dataset: { item: hit.item_number }, onclick: () => openProduct(hit.item_number) },
    media(hit.item_number, hit.name, hit.image_url),
    h("div", { class: "body" },
      h("span", { class: "sku" }, "Item " + hit.item_number),
      h("span", { class: "name" }, hit.name),
      dots.length ? h("div", { class: "dots" }, dots) : null,
      h("div", { class: "price-row" }, priceEl(hit.price))));
}

function setParam(k, v) {
  if (v === "" || v === null || v === undefined) state.params.delete(k); else state.params.set(k, v);
}

function syncURL() {
  const qs = state.params.toString();
  history.replaceState(null, "", qs ? "?" + qs : location.pathname);
}

function selectedValues(name) {
  return state.params.getAll(name).flatMap((v) => v.split(",")).filter(Boolean);
}

function toggle(name, value, on) {
  const vs = selectedValues(name).filter((v) => v !== value);
  if (on) vs.push(value);
  state.params.delete(name);
  vs.forEach((v) => state.params.append(name, v));
  search();
}

function renderFacets(facets) {
  const box = $("facets");
  box.replaceChildren();
  for (const f of facets) {
    if (!f.values.length) continue;
    const sec = h("section", { class: "facet", dataset: { facet: f.name } }, h("h3", {}, FACET_TITLES[f.name] || f.name));
    for (const v of f.values) {
      if (f.name === "price" && v.count === 0 && !v.selected) continue;
      const label = f.name === "price" ? priceLabel(v.value) : v.label;
      const input = h("input", { type: f.name === "price" ? "radio" : "checkbox", name: "f-" + f.name, checked: v.selected, dataset: { value: v.value },
        onchange: (e) => f.name === "price" ? pickPrice(v.value, !v.selected) : toggle(f.name, v.value, e.target.checked) });
      const sw = f.name === "color" ? h("i", { class: "swatch", style: { background: COLORS[v.value] || "#d0d5dd" } }) : null;
      sec.append(h("label", {}, input, sw, label, h("span", { class: "n" }, v.count)));
    }
    box.append(sec);
  }
}

function priceLabel(key) {
  const [lo, hi] = key.split("-");
  return hi ? lo + " – " + hi : lo + " and more";
}

function pickPrice(key, on) {
  const [lo, hi] = key.split("-");
  setParam("price_min", on ? lo : "");
  setParam("price_max", on ? hi : "");
  search();
}

function renderChips() {
  const chips = $("chips");
  chips.replaceChildren();
  for (const name of ["category", "color", "size", "style", "configuration"]) {
    for (const v of selectedValues(name)) chips.append(h("button", { class: "chip", onclick: () => toggle(name, v, false) }, (FACET_TITLES[name] || name) + ": " + (state.labels[v] || v)));
  }
  if (state.params.get("price_min")) chips.append(h("button", { class: "chip", onclick: () => pickPrice("", false) }, "Price: " + priceLabel(state.params.get("price_min") + "-" + (state.params.get("price_max") || ""))));
}

async function search(append) {
  const p = new URLSearchParams(state.params);
  p.delete("product");
  p.set("per_page", "24");
  if (append && state.next) p.set("after", state.next);
  if (!append) syncURL();
  const res = await api("/api/search", p);
  state.next = res.next || "";
  state.labels = {};
  for (const f of res.facets) for (const v of f.values) state.labels[v.value] = v.label;
  const grid = $("grid");
  if (!append) grid.replaceChildren();
  res.hits.forEach((hit) => grid.append(card(hit)));
  if (!append && !res.hits.length) grid.append(h("div", { class: "empty" }, "No products match your search."));
  const q = state.params.get("q");
  $("title").textContent = q ? "Results for “" + q + "”" : "All products";
  $("count").textContent = res.total.toLocaleString() + " products";
  $("more").hidden = !state.next;
  renderFacets(res.facets);
  renderChips();
  document.body.dataset.ready = "search";
}

async function openProduct(item) {
  setParam("product", item);
  syncURL();
  const p = new URLSearchParams();
  for (const k of ["customer", "lang"]) if (state.params.get(k)) p.set(k, state.params.get(k));
  const d = await api("/api/products/" + encodeURIComponent(state.me.company) + "/" + encodeURIComponent(item), p);
  const facts = h("dl", { class: "facts" });
  const fact = (k, v) => v && facts.append(h("dt", {}, k), h("dd", {}, v));
  fact("Item number", d.item_number);
  fact("Unit", d.unit);
  fact("Packaging", (d.unit_conversions || []).map((c) => "1 " + c.from + " = " + c.quantity + " " + c.to).join(", "));
  fact("Category", (d.categories || []).map((c) => c.name).join(", "));
  fact("Bar code", (d.barcodes || []).slice(0, 3).join(", "));
  if (d.order) {
    fact("Minimum order", d.order.minimum);
    fact("Maximum order", d.order.maximum);
    fact("Order in multiples of", d.order.multiple);
  }
  const variants = (d.variants || []).length ? [h("h3", { class: "section-title" }, "Variants"),
    h("table", { class: "variants" },
      h("tr", {}, h("th", {}, "Variant"), h("th", {}, "Colour"), h("th", {}, "Size"), h("th", {}, "Bar code"), h("th", {}, "Price")),
      d.variants.map((v) => h("tr", { dataset: { variant: v.variant_number } }, h("td", {}, v.variant_number), h("td", {}, v.color_description || v.color || "—"),
        h("td", {}, v.size_description || v.size || "—"), h("td", {}, (v.barcodes || []).join(", ") || "—"), h("td", { class: "num" }, priceEl(v.price)))))] : [];
  const related = (d.related || []).length ? [h("h3", { class: "section-title" }, "You may also like"),
    h("div", { class: "related" }, d.related.map((r) => h("article", { class: "card product", onclick: () => openProduct(r.item_number) },
      media(r.item_number, r.name, r.image_url), h("div", { class: "body" }, h("span", { class: "sku" }, r.relation_type), h("span", { class: "name" }, r.name), priceEl(r.price)))))] : [];
  const docs = (d.attachments || []).filter((a) => a.document_type !== "Image");
  $("detail").replaceChildren(
    h("button", { class: "close", "aria-label": "Close", onclick: closeProduct }, "×"),
    h("div", { class: "detail detail-top" },
      media(d.item_number, d.name, d.image_url),
      h("div", {},
        h("span", { class: "sku" }, "Item " + d.item_number),
        h("h2", {}, d.name),
        h("div", { class: "price-row" }, priceEl(d.price)),
        h("p", {}, d.description),
        facts,
        docs.length ? h("ul", { class: "attachments" }, docs.map((a) => h("li", {}, webURL(a.url) ? h("a", { href: webURL(a.url), target: "_blank", rel: "noopener" }, "📄 " + (a.title || a.file_name)) : "📄 " + (a.title || a.file_name)))) : null)),
    ...variants, ...related);
  $("modal").hidden = false;
  document.body.dataset.ready = "product";
}

function closeProduct() {
  $("modal").hidden = true;
  setParam("product", "");
  syncURL();
}

let suggestTimer = 0;
async function suggest() {
  const q = $("q").value.trim();
  const list = $("suggest");
  if (q.length < 2) { list.hidden = true; return; }
  const p = new URLSearchParams({ q });
  for (const k of ["customer", "lang"]) if (state.params.get(k)) p.set(k, state.params.get(k));
  const res = await api("/api/autocomplete", p);
  list.replaceChildren(...res.suggestions.map((s) => h("li", { onmousedown: (e) => { e.preventDefault(); list.hidden = true; openProduct(s.item_number); } },
    h("span", {}, s.name), h("span", { class: "sku" }, s.item_number))));
  list.hidden = !res.suggestions.length;
}

function show(id) {
  for (const s of ["shop", "login", "accounts", "refused"]) $(s).hidden = s !== id;
  document.querySelector(".account").hidden = id === "login" || id === "accounts";
}

function showLogin() { show("login"); }

// showRefused tells why the storefront refused the shopper (403: blocked, unknown_account,
// not_in_webshop, not_your_customer) and offers another account.
function showRefused(code, message) {
  show("refused");
  $("refused").dataset.refused = code || "";
  $("refused-text").textContent = message;
  document.body.dataset.ready = "refused";
}

// login starts a session with key; it returns "" or what to tell the user.
async function login(key) {
  const res = await fetch("/api/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ key }) });
  if (res.ok) return "";
  return res.status === 429 ? "Too many wrong keys: try again in " + (res.headers.get("Retry-After") || "a few") + " seconds." : "That key is not right.";
}

// demoShops reads the webshops and their demo accounts; without the demo login (a storefront
// not in demo mode) only guests of the first webshop can shop here.
async function demoShops() {
  const res = await fetch("/demo/accounts", { credentials: "same-origin" });
  if (res.status === 401) { showLogin(); throw new Error("unauthorized"); }
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(res.statusText);
  return (await res.json()).webshops;
}

// showAccounts is the demo login's screen: each webshop with its demo accounts, one of each kind.
function showAccounts() {
  const box = $("shops");
  box.replaceChildren(...state.shops.map((w) => h("section", { class: "shop", dataset: { webshop: w.id } },
    h("h2", {}, w.id), h("p", { class: "muted" }, w.company + " · " + w.languages.map((l) => LANGUAGES[l] || l).join(", ") + " · " + w.currencies.join(", ")),
    w.accounts.map((a) => h("button", { class: "btn", type: "button", dataset: { kind: a.kind, id: a.id || "" },
      onclick: () => { state.params = new URLSearchParams({ webshop: w.id, as: a.kind }); syncURL(); start(); } },
      (KINDS[a.kind] || a.kind) + (a.id ? " " + a.id : ""))))));
  show("accounts");
  document.body.dataset.ready = "accounts";
}

// signIn gets a shopper token for the URL's demo account from the demo login (none for a guest).
async function signIn() {
  state.token = "";
  const kind = state.params.get("as");
  if (kind === "guest") return;
  const res = await fetch("/demo/token", { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ webshop: state.params.get("webshop"), kind }) });
  const body = await res.json();
  if (!res.ok) throw new Error((body.error && body.error.message) || res.statusText);
  state.token = body.token;
}

// loadMe reads who is shopping and for whom (GET /api/me), and for a sales agent every page of
// their customers, the only ones they can switch between.
async function loadMe() {
  const p = new URLSearchParams();
  if (state.params.get("customer")) p.set("customer", state.params.get("customer"));
  const me = await api("/api/me", p);
  state.me = me;
  document.documentElement.lang = me.language;
  const lang = $("lang");
  lang.replaceChildren(...me.languages.map((l) => h("option", { value: l }, LANGUAGES[l] || l)));
  lang.value = state.params.get("lang") || me.language;
  const who = me.shopper.kind === "guest" ? "Guest" : (KINDS[me.shopper.kind] || me.shopper.kind) + " " + (me.shopper.name || me.shopper.id);
  $("who-name").textContent = who + " · " + me.webshop + " · " + me.acting.currency;
  $("who").dataset.kind = me.shopper.kind;
  $("who").dataset.acting = me.acting.account;
  $("who").dataset.currency = me.acting.currency;
  $("acting-for").hidden = !me.customers;
  if (me.customers) {
    const sel = $("customer");
    sel.replaceChildren(h("option", { value: "" }, "No customer (guest prices)"));
    let page = me.customers;
    for (let n = 1; ; n++) {
      page.items.forEach((c) => sel.append(h("option", { value: c.account, disabled: c.blocked, dataset: { account: c.account } },
        c.name + " (" + c.account + ")" + (c.blocked ? " — on hold" : ""))));
      if (n * page.per_page >= page.total || n >= 20) break;
      page = (await api("/api/me", new URLSearchParams({ page: String(n + 1), per_page: String(page.per_page) }))).customers;
    }
    sel.value = me.acting.template ? "" : me.acting.account;
  }
}

async function start() {
  // A key in the fragment (#key=...) logs in without a form: the fragment never reaches a server log.
  const frag = new URLSearchParams(location.hash.slice(1));
  if (frag.get("key")) {
    await login(frag.get("key"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  $("q").value = state.params.get("q") || "";
  $("sort").value = state.params.get("sort") || "relevance";
  try {
    state.shops = await demoShops();
    if (state.shops && !state.params.get("as")) { showAccounts(); return; }
    if (!state.shops) state.params.set("as", "guest");
    await signIn();
    await loadMe();
    show("shop");
    await search();
    if (state.params.get("product")) await openProduct(state.params.get("product"));
  } catch (e) {
    // A refusal or a missing session is on screen already; anything else goes to the console.
    if (e.message !== "refused" && e.message !== "unauthorized") console.error(e);
  }
}

$("search-form").addEventListener("submit", (e) => { e.preventDefault(); $("suggest").hidden = true; setParam("q", $("q").value.trim()); search(); });
$("q").addEventListener("input", () => { clearTimeout(suggestTimer); suggestTimer = setTimeout(suggest, 150); });
$("q").addEventListener("blur", () => setTimeout(() => { $("suggest").hidden = true; }, 100));
$("sort").addEventListener("change", (e) => { setParam("sort", e.target.value === "relevance" ? "" : e.target.value); search(); });
$("lang").addEventListener("change", (e) => { setParam("lang", e.target.value); search(); });
$("customer").addEventListener("change", async (e) => { setParam("customer", e.target.value); syncURL(); await loadMe(); search(); });
$("switch").addEventListener("click", () => { state.params = new URLSearchParams(); state.token = ""; syncURL(); start(); });
$("more").addEventListener("click", () => search(true));
$("modal").addEventListener("click", (e) => { if (e.target.dataset.close !== undefined) closeProduct(); });
document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("modal").hidden) closeProduct(); });
$("home").addEventListener("click", (e) => {
  e.preventDefault();
  const keep = new URLSearchParams();
  for (const k of ["webshop", "as", "customer", "lang"]) if (state.params.get(k)) keep.set(k, state.params.get(k));
  state.params = keep;
  $("q").value = "";
  search();
});
$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const problem = await login($("key").value);
  $("login-error").textContent = problem;
  $("login-error").hidden = !problem;
  if (!problem) start();
});
start();
