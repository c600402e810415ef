// Browser test: logging in and out, and action buttons that follow the session, against the
// real `cascade` binary with Debian's chromium.
//
// Needs the SPA built (`npm run build` in frontend/) and the binary built (`cargo build`);
// CASCADE_BIN overrides the binary, CHROMIUM_PATH the browser. Never downloads a browser.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  assertBinary,
  makeTempDir,
  removeDir,
  startMaster,
  writeConfig,
} from "../lib/master.mjs";
import { hashPassword, launchBrowser } from "../lib/browser.mjs";

const PASSWORD = "correct horse battery staple";

const config = (hash) => `title = "Auth browser test"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
[auth]
users = [{ username = "admin", password_hash = "${hash}" }]
[authz]
force_build = "auth"
stop_build = "auth"
show_users_page = "auth"
manage_users = "auth"
[[workers]]
name = "local"
embedded = true
[[builders]]
name = "quick"
workers = ["local"]
steps = [ { name = "hello", command = ["sh", "-c", "echo hello from cascade; sleep 1; echo done"] } ]
[[builders]]
name = "slow"
workers = ["local"]
steps = [ { name = "wait", command = ["sh", "-c", "echo waiting; sleep 120"] } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["quick", "slow"]
`;

let dir;
let server;
let baseUrl;
let browser;

before(async () => {
  assertBinary();
  const hash = await hashPassword(PASSWORD);
  dir = await makeTempDir("cascade-browser-auth-");
  server = await startMaster(await writeConfig(dir, config(hash)));
  baseUrl = server.url;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  await removeDir(dir);
});

const boxesOf = (builder) =>
  `[data-testid="build-box"][data-builder="${builder}"]`;

/** Force `builder` from the waterfall; resolves with the new build's number. */
async function forceFromWaterfall(page, builder) {
  const header = page.locator(
    `[data-testid="builder-header"][data-builder="${builder}"]`,
  );
  const known = await page.$$eval(boxesOf(builder), (els) =>
    els.map((e) => Number(e.dataset.build)),
  );
  await header.getByRole("button", { name: "Force", exact: true }).click();
  const handle = await page.waitForFunction(
    ({ sel, known }) =>
      [...document.querySelectorAll(sel)]
        .map((e) => Number(e.dataset.build))
        .find((n) => !known.includes(n)),
    { sel: boxesOf(builder), known },
    { timeout: 30_000 },
  );
  const number = await handle.jsonValue();
  assert.ok(Number.isInteger(number), `new build number: ${number}`);
  return number;
}

test("log in, force a build, stop one, log out and lose the Force button", async (t) => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  t.after(() => page.close());
  const topbar = page.locator("header.topbar");
  const loginLink = topbar.getByRole("link", { name: "Log in", exact: true });
  const forceButtons = page.getByRole("button", { name: "Force", exact: true });

  // Anonymous: no Force button, a "Log in" link.
  await page.goto(`${baseUrl}/waterfall`);
  await page
    .locator('[data-testid="builder-header"][data-builder="quick"]')
    .waitFor({ timeout: 15_000 });
  await loginLink.waitFor({ timeout: 15_000 });
  assert.equal(await forceButtons.count(), 0, "Force shown to anonymous");

  // Log in through the form; it comes back to the waterfall.
  await loginLink.click();
  await page.waitForURL("**/login?next=%2Fwaterfall");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await page.waitForURL((u) => u.pathname === "/waterfall");
  await topbar.getByRole("button", { name: "Log out" }).waitFor();
  await topbar.getByText("admin", { exact: true }).waitFor();
  await forceButtons.first().waitFor({ timeout: 15_000 });
  await page.evaluate(() => {
    window.__noReload = true;
  });

  // Force a build: it appears and turns green without a reload.
  const number = await forceFromWaterfall(page, "quick");
  const box = page.locator(`${boxesOf("quick")}[data-build="${number}"]`);
  await page.waitForFunction(
    (sel) => document.querySelector(sel)?.dataset.results === "success",
    `${boxesOf("quick")}[data-build="${number}"]`,
    { timeout: 60_000 },
  );
  assert.equal(
    await page.evaluate(() => window.__noReload),
    true,
    "the page was reloaded",
  );

  // Its build page: finished, so no Stop button.
  await box.locator(".build-head").click();
  await page.waitForURL(`**/builders/quick/builds/${number}`);
  await page.getByTestId("build-state-text").waitFor();
  await page.locator("ol.steps li").filter({ hasText: "hello" }).waitFor();
  const stopButton = page.getByRole("button", { name: "Stop", exact: true });
  assert.equal(await stopButton.count(), 0, "Stop shown for a finished build");

  // A running build can be stopped from its page; it ends cancelled.
  await topbar.getByRole("link", { name: "Waterfall" }).click();
  const slow = await forceFromWaterfall(page, "slow");
  await page
    .locator(`${boxesOf("slow")}[data-build="${slow}"] .build-head`)
    .click();
  await page.waitForURL(`**/builders/slow/builds/${slow}`);
  await stopButton.click({ timeout: 15_000 });
  // Stopping asks for a reason; the default one will do.
  await page.locator("form.action-form button[type=submit]").click();
  await page.waitForFunction(
    () =>
      document.querySelector(".build-header h1 .status-box")?.dataset
        .results === "cancelled",
    null,
    { timeout: 30_000 },
  );
  assert.equal(await stopButton.count(), 0, "Stop shown after the build ended");

  // Log out: the Force button goes, "Log in" comes back.
  await topbar.getByRole("link", { name: "Waterfall" }).click();
  await forceButtons.first().waitFor();
  await topbar.getByRole("button", { name: "Log out" }).click();
  await loginLink.waitFor();
  await forceButtons.first().waitFor({ state: "detached" });
  assert.equal(await forceButtons.count(), 0, "Force shown after logging out");
  assert.equal(
    await page.evaluate(() => window.__noReload),
    true,
    "the page was reloaded",
  );

  // The server agrees: forcing is refused without a session.
  const refused = await page.request.post(
    `${baseUrl}/api/v1/builders/quick/force`,
    { data: { reason: "after logout" } },
  );
  assert.equal(refused.status(), 401);

  assert.deepEqual(errors, [], "no uncaught page errors");
});

test("a wrong password shows the server's message", async (t) => {
  const page = await browser.newPage();
  t.after(() => page.close());
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor({ timeout: 15_000 });
  // The server's own words ("wrong user name or password").
  assert.match(await alert.textContent(), /password/i);
  assert.equal(new URL(page.url()).pathname, "/login");
  await page
    .locator("header.topbar")
    .getByRole("button", { name: "Log out" })
    .waitFor({ state: "detached", timeout: 1000 })
    .catch(() => assert.fail("logged in with a wrong password"));
});

test("the users pages: login prompt, old URLs, adding and deleting a user", async (t) => {
  const page = await browser.newPage();
  t.after(() => page.close());
  await page.goto(`${baseUrl}/users/table`);
  await page.waitForURL((u) => u.pathname === "/users");
  await page
    .getByRole("heading", { name: "You need to log in to see users" })
    .waitFor({ timeout: 15_000 });
  await page.getByRole("main").getByRole("link", { name: "Log in" }).click();
  await page.waitForURL("**/login?next=%2Fusers");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await page.waitForURL((u) => u.pathname === "/users");
  await page.getByRole("heading", { name: "Users", exact: true }).waitFor();

  // manage_users: add a user, open their page, delete them.
  await page.getByLabel("Identifier").fill("bob");
  await page.getByRole("button", { name: "Add user" }).click();
  const bob = page.getByTestId("users").getByRole("link", { name: "bob" });
  await bob.click();
  await page.getByRole("heading", { name: "bob" }).waitFor();
  assert.match(new URL(page.url()).pathname, /^\/users\/\d+$/);
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Delete user" }).click();
  await page.waitForURL((u) => u.pathname === "/users");
  await page.getByText("No users are known yet.").waitFor();
});
