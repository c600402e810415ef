// Shared helpers for tests that run the real `cascade` binary (tests/browser, tests/system).
//
// Every master binds 127.0.0.1 only (the configs say so), every wait has a deadline, and every
// process started here is tracked by PID so a test's `after`/`finally` can kill it; a last-resort
// `exit` hook SIGKILLs whatever is still running if a test forgot.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, "../..");
export const BIN =
  process.env.CASCADE_BIN ?? join(REPO, "target", "debug", "cascade");
export const START_DEADLINE_MS = 60_000;
export const STOP_DEADLINE_MS = 10_000;

/** PIDs of processes started here and not yet seen to exit. */
const live = new Set();
process.on("exit", () => {
  for (const pid of live) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** Fails unless the binary exists, with the hint to build it. */
export function assertBinary() {
  if (!existsSync(BIN))
    throw new Error(`cascade binary not found at ${BIN} (run cargo build)`);
}

/** A fresh temporary directory; remove it with `removeDir`. */
export function makeTempDir(prefix = "cascade-test-") {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir) {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** Writes `text` to DIR/cascade.toml and returns its path. */
export async function writeConfig(dir, text, name = "cascade.toml") {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

function childEnv(extra) {
  return {
    ...process.env,
    RUST_LOG: process.env.RUST_LOG ?? "info",
    NO_COLOR: "1",
    ...extra,
  };
}

/** Resolves `promise`, or rejects with `message` after `ms`. */
export function withDeadline(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${message} (deadline ${ms} ms)`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Thrown by a `waitFor` probe to give up at once. */
export class StopWaiting extends Error {}

/**
 * Calls `probe` until it returns a truthy value, which it resolves with; rejects after
 * `timeoutMs` with `what` and the last value or error seen.
 */
export async function waitFor(
  probe,
  { timeoutMs = 30_000, intervalMs = 100, what = "condition" } = {},
) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (e) {
      if (e instanceof StopWaiting) throw e;
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail =
        last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last: ${detail}`,
      );
    }
    await sleep(intervalMs);
  }
}

/**
 * Runs `cascade ARGS…` to completion and resolves with `{ code, signal, stdout, stderr }`;
 * kills it and rejects if it outlives `timeoutMs`.
 */
export function runCli(args, { cwd, timeoutMs = 30_000, env } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(BIN, args, {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: childEnv(env),
    });
    live.add(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // gone
      }
      reject(
        new Error(
          `cascade ${args.join(" ")} still running after ${timeoutMs} ms:\n${stdout}${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      live.delete(child.pid);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      live.delete(child.pid);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** A running `cascade start`. */
export class Master {
  constructor(child) {
    this.child = child;
    this.pid = child.pid;
    this.output = "";
    this.url = undefined;
    /** Resolves with `{ code, signal }` once the process has exited and its pipes closed. */
    this.exited = new Promise((r) => {
      child.on("close", (code, signal) => {
        live.delete(child.pid);
        r({ code, signal });
      });
    });
  }

  get running() {
    return this.child.exitCode == null && this.child.signalCode == null;
  }

  /** Sends `signal` and resolves with the exit; rejects if it outlives `deadlineMs`. */
  async signal(signal, deadlineMs = STOP_DEADLINE_MS) {
    if (this.running) process.kill(this.pid, signal);
    return withDeadline(
      this.exited,
      deadlineMs,
      `cascade (pid ${this.pid}) did not exit after ${signal}:\n${this.output}`,
    );
  }

  /** SIGTERM, then SIGKILL past the deadline; never throws. For `after`/`finally`. */
  async stop(deadlineMs = STOP_DEADLINE_MS) {
    if (!this.running) return this.exited;
    try {
      return await this.signal("SIGTERM", deadlineMs);
    } catch {
      return this.kill();
    }
  }

  /** SIGKILL and wait for the exit. */
  async kill() {
    if (this.running) {
      try {
        process.kill(this.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    return withDeadline(
      this.exited,
      STOP_DEADLINE_MS,
      `cascade (pid ${this.pid}) survived SIGKILL`,
    );
  }

  /** GET `path` (relative to the master's URL) and parse JSON; throws on a non-2xx status. */
  async getJson(path) {
    const res = await fetch(this.url + path);
    const text = await res.text();
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  }

  /** POST JSON to `path`; resolves with `{ status, body }` (body parsed when JSON). */
  async postJson(path, body) {
    const res = await fetch(this.url + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    let parsed = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  }
}

/**
 * Spawns `cascade start --config CONFIG` without waiting for it; the returned Master's `exited`
 * tells how it ended. Use `startMaster` to wait until it serves.
 */
export function spawnMaster(
  configPath,
  { cwd = dirname(configPath), env } = {},
) {
  const child = spawn(BIN, ["start", "--config", configPath], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: childEnv(env),
  });
  if (child.pid === undefined) {
    // spawn failed (e.g. ENOENT); the error event carries the reason.
    return new Promise((_, reject) => child.once("error", reject));
  }
  live.add(child.pid);
  const master = new Master(child);
  const onData = (chunk) => {
    master.output += chunk.toString();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  child.on("error", (e) => {
    master.output += `\n[spawn error] ${e.message}\n`;
  });
  return master;
}

/**
 * Starts `cascade start --config CONFIG` and resolves once it printed its
 * `listening on http://…` line and answers `/healthz`. On failure the process is killed.
 */
export async function startMaster(
  configPath,
  { deadlineMs = START_DEADLINE_MS, ...opts } = {},
) {
  const master = await spawnMaster(configPath, opts);
  const deadline = Date.now() + deadlineMs;
  try {
    const url = await new Promise((resolvePromise, reject) => {
      let done = false;
      const finish = (fn, value) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        master.child.stdout.off("data", check);
        master.child.stderr.off("data", check);
        fn(value);
      };
      const check = () => {
        const m = master.output.match(/listening on (http:\/\/\S+)/);
        if (m) finish(resolvePromise, m[1].replace(/\/$/, ""));
      };
      const timer = setTimeout(
        () =>
          finish(
            reject,
            new Error(
              `no "listening on" line within ${deadlineMs} ms:\n${master.output}`,
            ),
          ),
        deadlineMs,
      );
      // Registered after spawnMaster's own listeners, so `output` already holds the chunk.
      master.child.stdout.on("data", check);
      master.child.stderr.on("data", check);
      master.exited.then(({ code, signal }) =>
        finish(
          reject,
          new Error(
            `cascade exited early (${code ?? signal}):\n${master.output}`,
          ),
        ),
      );
      check();
    });
    master.url = url;
    await waitFor(
      async () => {
        if (!master.running)
          throw new StopWaiting(
            `cascade exited before /healthz answered:\n${master.output}`,
          );
        return (await fetch(`${url}/healthz`)).ok;
      },
      {
        timeoutMs: Math.max(1000, deadline - Date.now()),
        intervalMs: 50,
        what: `${url}/healthz`,
      },
    );
    return master;
  } catch (e) {
    await master.kill().catch(() => undefined);
    throw e;
  }
}
