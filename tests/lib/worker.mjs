// Helpers for tests that run `cascade worker` processes against a master started with
// master.mjs. Like the masters, every worker is tracked by PID: `stop`/`kill` in a test's
// `after`, and a last-resort `exit` hook SIGKILLs whatever is still running.
import { spawn } from "node:child_process";
import {
  BIN,
  START_DEADLINE_MS,
  STOP_DEADLINE_MS,
  withDeadline,
} from "./master.mjs";

/** PIDs of workers started here and not yet seen to exit. */
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

/** A running `cascade worker`. */
export class WorkerProcess {
  constructor(child, name) {
    this.child = child;
    this.pid = child.pid;
    this.name = name;
    this.stdout = "";
    this.stderr = "";
    /** Resolves with `{ code, signal }` once the process has exited and its pipes closed. */
    this.exited = new Promise((r) => {
      child.on("close", (code, signal) => {
        live.delete(child.pid);
        r({ code, signal });
      });
    });
  }

  get output() {
    return this.stdout + this.stderr;
  }

  get running() {
    return this.child.exitCode == null && this.child.signalCode == null;
  }

  /** Resolves with the exit; rejects if the process outlives `deadlineMs`. */
  waitExit(deadlineMs = STOP_DEADLINE_MS) {
    return withDeadline(
      this.exited,
      deadlineMs,
      `worker ${this.name} (pid ${this.pid}) did not exit:\n${this.output}`,
    );
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
    return this.waitExit();
  }

  /** SIGTERM, then SIGKILL past the deadline; never throws. For `after`/`finally`. */
  async stop(deadlineMs = STOP_DEADLINE_MS) {
    if (!this.running) return this.exited;
    try {
      process.kill(this.pid, "SIGTERM");
      return await this.waitExit(deadlineMs);
    } catch {
      return this.kill().catch(() => undefined);
    }
  }
}

/**
 * Spawns `cascade worker --master URL --name NAME --password-file FILE --basedir DIR` without
 * waiting for it; `exited` tells how it ended.
 */
export function spawnWorker({
  url,
  name,
  passwordFile,
  basedir,
  maxBuilds,
  cwd,
}) {
  const args = [
    "worker",
    "--master",
    `${url}/`,
    "--name",
    name,
    "--password-file",
    passwordFile,
    "--basedir",
    basedir,
  ];
  if (maxBuilds !== undefined) args.push("--max-builds", String(maxBuilds));
  const child = spawn(BIN, args, {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      RUST_LOG: process.env.RUST_LOG ?? "info",
      NO_COLOR: "1",
    },
  });
  if (child.pid === undefined) {
    return new Promise((_, reject) => child.once("error", reject));
  }
  live.add(child.pid);
  const worker = new WorkerProcess(child, name);
  child.stdout.on("data", (c) => (worker.stdout += c));
  child.stderr.on("data", (c) => (worker.stderr += c));
  child.on("error", (e) => {
    worker.stderr += `\n[spawn error] ${e.message}\n`;
  });
  return worker;
}

/**
 * Starts a worker and resolves once it logged "accepted by the master"; on failure (an early
 * exit or the deadline) the process is killed and the promise rejects with its output.
 */
export async function startWorker(
  opts,
  { deadlineMs = START_DEADLINE_MS } = {},
) {
  const worker = await spawnWorker(opts);
  try {
    await withDeadline(
      new Promise((resolvePromise, reject) => {
        const check = () => {
          if (worker.stderr.includes("accepted by the master")) {
            worker.child.stderr.off("data", check);
            resolvePromise();
          }
        };
        // Registered after spawnWorker's own listener, so `stderr` already holds the chunk.
        worker.child.stderr.on("data", check);
        worker.exited.then(({ code, signal }) =>
          reject(
            new Error(`worker ${opts.name} exited early (${code ?? signal})`),
          ),
        );
        check();
      }),
      deadlineMs,
      `worker ${opts.name} was not accepted by the master`,
    );
    return worker;
  } catch (e) {
    await worker.kill().catch(() => undefined);
    throw new Error(`${e.message}\n${worker.output}`);
  }
}
