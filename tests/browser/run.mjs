// Console browser tests: Playwright (playwright-core) driving Debian's Chromium against a
// real `quanzi serve` on port 0 over a fresh SQLite database holding a demo brand. Exits non-zero on the
// first failed check; screenshots of the main pages land in tests/browser/artifacts/.
//
//   QUANZI_BIN=target/debug/quanzi node tests/browser/run.mjs
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.QUANZI_BIN || join(here, "../../target/debug/quanzi");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const artifacts = join(here, "artifacts");
mkdirSync(artifacts, { recursive: true });

/// Creates a demo brand (smaller than the default, to keep CI quick) in a fresh SQLite
/// file, then starts the server on port 0; resolves with its URL and the demo's login.
function startServer() {
  const dir = mkdtempSync(join(tmpdir(), "quanzi-browser-"));
  const env = { ...process.env, QUANZI__DATABASE__URL: `sqlite://${join(dir, "quanzi.db")}`, RUST_LOG: "warn" };
  const members = process.env.QUANZI_DEMO_MEMBERS || "1500";
  const demo = spawnSync(bin, ["demo", "--members", members, "--days", "60"], { env, encoding: "utf8" });
  if (demo.status !== 0) throw new Error("quanzi demo failed:\n" + demo.stdout + demo.stderr);
  const email = demo.stdout.match(/^login\s+(\S+@\S+)/m);
  const password = demo.stdout.match(/^password\s+(\S+)/m);
  if (!email || !password) throw new Error("no login in the demo's output:\n" + demo.stdout);
  const child = spawn(bin, ["serve", "--listen", "127.0.0.1:0"], { env, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start:\n" + out)), 60_000);
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const url = out.match(/listening on (http:\/\/[^\s]+)/);
      if (url) {
        clearTimeout(timer);
        resolve({ child, dir, url: url[1].replace(/\/$/, ""), email: email[1], password: password[1] });
      }
    });
  });
}

const server = await startServer();
const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
const failures = [];
async function check(name, body) {
  try {
    await body();
    console.log("ok   " + name);
  } catch (e) {
    failures.push(name);
    console.log("FAIL " + name + "\n     " + String(e.stack || e).split("\n").slice(0, 4).join("\n     "));
  }
}

try {
  const context = await browser.newContext({ locale: "zh-CN", viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: join(artifacts, name + ".png"), fullPage: true });

  await check("log in and land on the dashboard", async () => {
    await page.goto(server.url + "/console/dashboard");
    assert.match(page.url(), /\/console\/login/);
    await page.fill("#email", server.email);
    await page.fill("#password", server.password);
    await page.click("button[type=submit]");
    await page.waitForURL(/\/console\/dashboard/);
    assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
    await shot("dashboard");
  });

  await check("the dashboard's numbers equal the API's", async () => {
    const from = await page.getAttribute("#period", "data-from");
    const to = await page.getAttribute("#period", "data-to");
    const api = await page.request.get(`${server.url}/api/v1/analytics/overview?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    assert.equal(api.status(), 200);
    const overview = (await api.json()).current;
    assert.ok(overview.orders > 0, "the demo brand has orders in the period");
    const yuan = (fen) => "¥" + Math.floor(fen / 100).toLocaleString("en-US") + "." + String(fen % 100).padStart(2, "0");
    const text = (key) => page.locator(`[data-metric=${key}] .value`).innerText();
    assert.equal(await text("gmv"), yuan(overview.gmv_fen));
    assert.equal(await text("orders"), overview.orders.toLocaleString("en-US"));
    assert.equal(await text("active_members"), overview.active_members.toLocaleString("en-US"));
    assert.equal(await text("new_members"), overview.new_members.toLocaleString("en-US"));
  });

  await check("create a coupon template and find it in the list", async () => {
    await page.goto(server.url + "/console/promotions/coupons");
    const name = "浏览器测试券 " + Date.now();
    await page.fill("#new-template [name=name]", name);
    await page.selectOption("#new-template [name=kind]", "amount_off");
    await page.fill("#new-template [name=threshold_fen]", "199");
    await page.fill("#new-template [name=amount_fen]", "30");
    // The API's own error shows next to the field first: a budget (¥1) that cannot pay
    // for one ¥30 coupon.
    await page.fill("#new-template [name=budget_fen]", "1");
    await page.click("#new-template button[type=submit]");
    await page.locator("#new-template .field-error").first().waitFor();
    await page.fill("#new-template [name=budget_fen]", "5000");
    await page.click("#new-template button[type=submit]");
    await page.waitForLoadState("load");
    await page.locator("#templates", { hasText: name }).waitFor();
    await shot("coupons");
  });

  await check("build a segment and see its count", async () => {
    await page.goto(server.url + "/console/segments");
    const row = page.locator(".builder-row").first();
    await row.locator(".kind").selectOption("order");
    await row.locator(".op").selectOption("gte");
    await row.locator(".c").fill("1");
    await page.click("#segment-preview button[type=submit]");
    await page.locator("#preview-count").filter({ hasText: /\d/ }).waitFor();
    const shown = Number((await page.innerText("#preview-count")).replace(/,/g, ""));
    const condition = JSON.parse(await page.inputValue("#condition"));
    const api = await page.request.post(server.url + "/api/v1/segments/preview", {
      data: { condition },
      headers: { "x-csrf-token": await page.getAttribute("meta[name=csrf-token]", "content") },
    });
    assert.equal(api.status(), 200);
    assert.equal(shown, (await api.json()).count);
    assert.ok(shown > 0, "demo members have orders");
    await page.fill("#segment-save [name=name]", "下过单的会员");
    await page.click("#segment-save button[type=submit]");
    await page.locator("#segments", { hasText: "下过单的会员" }).waitFor();
    await shot("segments");
  });

  await check("switch the language", async () => {
    await page.click("a.lang");
    await page.waitForLoadState("load");
    assert.equal(await page.getAttribute("html", "lang"), "en");
    await page.locator("nav.side", { hasText: "Members" }).waitFor();
    await page.click("a.lang");
    await page.waitForLoadState("load");
    assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  });

  await check("rescore RFM and follow the job to its end", async () => {
    await page.goto(server.url + "/console/analytics/rfm");
    const button = page.locator("form[data-api='/api/v1/members/rfm/refresh'] button");
    // The page reloads once the job is done; a failed job leaves an error instead.
    const polls = [];
    const watch = (r) => { if (r.url().includes("/api/v1/jobs/")) polls.push(r.url()); };
    page.on("request", watch);
    await Promise.all([page.waitForNavigation({ timeout: 30000 }), button.click()]);
    page.off("request", watch);
    assert.ok(polls.length >= 1, "the console asked for the job's state before reloading");
    assert.equal(await page.locator(".form-error").count(), 0);
    await page.locator("#rfm-grid").waitFor();
  });

  await check("screenshots of the main pages", async () => {
    for (const path of ["members", "loyalty", "promotions/pricing", "promotions/flash-sales", "social", "social/distribution", "analytics/funnel", "analytics/retention?by=channel", "analytics/rfm", "analytics/attribution", "analytics/clv", "analytics/experiments", "analytics/alerts", "settings"]) {
      const response = await page.goto(server.url + "/console/" + path);
      assert.equal(response.status(), 200, path);
      await shot(path.replace(/\?.*/, "").replace(/\//g, "-"));
    }
  });
} finally {
  await browser.close();
  server.child.kill("SIGTERM");
  rmSync(server.dir, { recursive: true, force: true });
}

if (failures.length) {
  console.log(`${failures.length} browser check(s) failed; screenshots in ${artifacts}`);
  process.exit(1);
}
console.log(`all browser checks passed; screenshots in ${artifacts}`);
