// Browser-test support: Debian's chromium driven by playwright-core (never a downloaded
// browser), a check that no page broke the master's Content-Security-Policy, and the
// password hashes the auth configurations need.

import assert from "node:assert/strict";
import { afterEach } from "node:test";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { BIN, REPO, withDeadline } from "./master.mjs";

const require = createRequire(join(REPO, "frontend", "package.json"));
const { chromium } = require("playwright-core");

/** Where Debian installs chromium (CHROMIUM_PATH overrides). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** What chromium reported as refused by a Content-Security-Policy since the last test ended. */
const cspViolations = [];

// Every page the master serves runs under its CSP (no inline script, nothing from elsewhere):
// a test whose pages tripped it fails, whatever else it checked.
afterEach(() => {
  const seen = cspViolations.splice(0);
  assert.deepEqual(
    seen,
    [],
    `the browser reported CSP violations:\n${seen.join("\n")}`,
  );
});

/** Takes the violations reported so far that match `pattern` out of the check after the
 * test, for a test that provokes them on purpose, and returns them. */
export function takeCspViolations(pattern) {
  const taken = cspViolations.filter((v) => pattern.test(v));
  const kept = cspViolations.filter((v) => !pattern.test(v));
  cspViolations.splice(0, cspViolations.length, ...kept);
  return taken;
}

/** Launches headless chromium with the flags this machine needs; every context it opens
 * (`newPage` opens one too) reports CSP violations from its console to the check above. */
export async function launchBrowser() {
  assert.ok(
    existsSync(CHROMIUM),
    `chromium not found at ${CHROMIUM} (apt-get install -y chromium)`,
  );
  const browser = await launchChromium();
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const context = await newContext(...args);
    context.on("console", (message) => {
      if (/Content[- ]Security[- ]Policy/i.test(message.text()))
        cspViolations.push(
          `${message.page()?.url() ?? message.location().url}: ${message.text()}`,
        );
    });
    return context;
  };
  return browser;
}

function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** `cascade hash-password`, which reads the password on stdin and prints its argon2id hash. */
export function hashPassword(password) {
  const child = spawn(BIN, ["hash-password"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (c) => (out += c));
  child.stderr.on("data", (c) => (err += c));
  child.stdin.end(password);
  const done = new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 && out.trim().startsWith("$argon2id$")
        ? resolve(out.trim())
        : reject(
            new Error(
              `cascade hash-password failed (exit ${code}): ${err}${out}`,
            ),
          ),
    );
  });
  return withDeadline(done, 30_000, "cascade hash-password").finally(() => {
    if (child.exitCode == null) child.kill("SIGKILL");
  });
}

/** A page in a browser context of its own (closed when test `t` ends), opened at `base + path`
 * when a path is given; its uncaught errors are collected in `errors`. */
export async function openPage(browser, base, t, path, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  t.after(() => context.close());
  if (path) await page.goto(base + path);
  return { page, errors };
}

/** Logs `page` in through the login form and waits to land on `next`. */
export async function logInAs(page, base, username, password, next) {
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await page.waitForURL((u) => u.pathname === next.split("?")[0]);
}
