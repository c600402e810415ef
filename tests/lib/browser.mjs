// Browser-test support: Debian's chromium driven by playwright-core (never a downloaded
// browser), and the password hashes the auth configurations need.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { BIN, REPO, withDeadline } from "./master.mjs";

const require = createRequire(join(REPO, "frontend", "package.json"));
const { chromium } = require("playwright-core");

/** Where Debian installs chromium (CHROMIUM_PATH overrides). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Launches headless chromium with the flags this machine needs. */
export async function launchBrowser() {
  assert.ok(
    existsSync(CHROMIUM),
    `chromium not found at ${CHROMIUM} (apt-get install -y chromium)`,
  );
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
