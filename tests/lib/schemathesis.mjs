// A master with history for property-based runs of schemathesis (from PyPI, in the virtual
// environment `make test-venv` makes under target/) over the whole OpenAPI document it serves.
// The short run in tests/system/ and the long one of `make soak` share it.
//
// The master has changes, builds with steps and logs, a worker, users, hook deliveries and an
// outbox, and every action is open to a logged-in user, so that schemathesis, logging in with
// HTTP Basic as an admin, reaches the guarded operations too. Only the clean shutdown stays
// closed: it would end the master under the run. The admin is a user of the configuration,
// not of the database, so that the run's own changes to the users cannot lock it out.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  BIN,
  REPO,
  makeTempDir,
  removeDir,
  runCli,
  startMaster,
  waitFor,
  writeConfig,
} from "./master.mjs";

export const SCHEMATHESIS =
  process.env.CASCADE_TEST_SCHEMATHESIS ??
  join(REPO, "target", "test-venv", "bin", "schemathesis");

/** Fails unless schemathesis is installed, with the hint to install it. */
export function assertSchemathesis() {
  if (!existsSync(SCHEMATHESIS))
    throw new Error(
      `no schemathesis at ${SCHEMATHESIS}: run \`make test-venv\``,
    );
}

export const ADMIN = "admin";
export const PASSWORD = "schema test password";

/** `cascade hash-password`: the argon2id hash of `password`, read from standard input. */
function hashPassword(password) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(BIN, ["hash-password"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolvePromise(out.trim())
        : reject(new Error(`cascade hash-password failed (${code}): ${out}`)),
    );
    child.stdin.end(password);
  });
}

const CONFIG = String.raw`title = "Schema <test>"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
revlink = "https://git.example.org/commit/%s"
changecommentlink = { regex = '#(\d+)', url = 'https://bugs.example.org/\1', title = 'Ticket \g<0>' }
projects = { app = "https://example.org/app" }
[auth]
users = [{ username = "${ADMIN}", password_hash = "ADMIN_HASH" }]
db_users = true
[authz]
force_build = "auth"
force_all_builds = "auth"
ping_builder = "auth"
graceful_shutdown = "auth"
pause_worker = "auth"
stop_build = "auth"
stop_all_builds = "auth"
cancel_pending_build = "auth"
cancel_all_pending_builds = "auth"
stop_change = "auth"
clean_shutdown = false
show_users_page = "auth"
manage_users = "auth"
hook_deliveries = "auth"
manage_outbox = "auth"
reconfig = "auth"
[change_hook]
dialects = { base = {} }
[[workers]]
name = "local"
embedded = true
max_builds = 2
[[builders]]
name = "linux"
tags = ["app|linux"]
description = "Builds <the> app"
workers = ["local"]
steps = [ { name = "compile", command = ["sh", "-c", "echo compiling; echo 'warning: x' >&2"] }, { name = "test", command = ["sh", "-c", "echo testing; exit 1"] } ]
[[builders]]
name = "docs"
tags = ["docs"]
workers = ["local"]
steps = [ { name = "build", command = ["sh", "-c", "echo docs"] } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["linux", "docs"]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = ["linux", "docs"]
[[reporters]]
kind = "http_push"
server_url = "http://127.0.0.1:9/push"
`;

/**
 * Seeds a history into DIR and starts a master on it; resolves with the running Master once
 * a change sent through the hook has been built, so live rows sit beside the seeded ones.
 */
export async function startHistoryMaster(
  dir,
  { builds = 60, changes = 30 } = {},
) {
  const config = await writeConfig(
    dir,
    CONFIG.replace("ADMIN_HASH", await hashPassword(PASSWORD)),
  );
  const seeded = await runCli(
    [
      "bench",
      "seed",
      "--config",
      config,
      "--builds",
      String(builds),
      "--changes",
      String(changes),
      "--seed",
      "7",
    ],
    { cwd: dir, timeoutMs: 120_000 },
  );
  if (seeded.code !== 0)
    throw new Error(
      `cascade bench seed failed:\n${seeded.stderr}${seeded.stdout}`,
    );
  const passwordFile = join(dir, "bob.password");
  await writeFile(passwordFile, "bob's password");
  for (const args of [
    [
      "--username",
      "bob",
      "--password-file",
      passwordFile,
      "--info",
      "role=admins",
      "--info",
      "email=bob@example.org",
    ],
    [
      "--identifier",
      "ann",
      "--info",
      "git=Ann Lee <ann@example.org>",
      "--info",
      "irc=ann",
    ],
  ]) {
    const added = await runCli(["user", "--config", config, "add", ...args], {
      cwd: dir,
    });
    if (added.code !== 0)
      throw new Error(
        `cascade user add failed:\n${added.stderr}${added.stdout}`,
      );
  }
  const master = await startMaster(config);
  const sent = await master.postJson("/change_hook/base", {
    author: "Ann Lee <ann@example.org>",
    comments: "Fix #12 <b>now</b>",
    branch: "main",
    revision: "0123456789abcdef0123456789abcdef01234567",
    repository: "https://git.example.org/app",
    project: "app",
    files: ["src/main.rs"],
  });
  if (sent.status !== 202)
    throw new Error(
      `the base hook answered ${sent.status}: ${JSON.stringify(sent.body)}`,
    );
  const change = sent.body.change_ids[0];
  const built = await waitFor(
    async () => {
      const { builds: list } = await master.getJson(
        `/api/v1/builds?builder=linux&change=${change}`,
      );
      return list.find((b) => b.complete);
    },
    { timeoutMs: 60_000, what: `a build of change ${change} on linux` },
  );
  /** The number of that build, whose steps wrote real logs. */
  master.build = built.number;
  return master;
}

/** The checks a run makes: no 5xx, and every answer's status, type, headers and body as documented. */
export const CHECKS = [
  "not_a_server_error",
  "status_code_conformance",
  "content_type_conformance",
  "response_headers_conformance",
  "response_schema_conformance",
];

/**
 * Runs schemathesis over `master`'s OpenAPI document as the admin, in two passes: every
 * operation but the login, then the login alone (its failed attempts lock the client's
 * address out of HTTP Basic for minutes). Resolves with `{ code, output }` per pass.
 */
export async function runSchemathesis(
  master,
  { examples, seed = 1, timeoutMs, phases, reportDir },
) {
  const common = [
    "run",
    `${master.url}/api/openapi.json`,
    "--url",
    `${master.url}/api/v1`,
    "--checks",
    CHECKS.join(","),
    "--max-examples",
    String(examples),
    "--seed",
    String(seed),
    "--workers",
    "1",
    "--request-timeout",
    "30",
    "--no-color",
    "--continue-on-failure",
    "--suppress-health-check",
    "all",
    // The live event stream never ends; tests/system/sse.test.mjs reads it.
    "--exclude-path",
    "/events",
    ...(phases ? ["--phases", phases] : []),
  ];
  const passes = [
    [
      ...common,
      "--auth",
      `${ADMIN}:${PASSWORD}`,
      "--exclude-operation-id",
      "login",
    ],
    [...common, "--include-operation-id", "login"],
  ];
  const results = [];
  for (const [i, args] of passes.entries()) {
    const report = reportDir
      ? ["--report", "junit", "--report-dir", join(reportDir, `pass-${i + 1}`)]
      : [];
    results.push(await run([...args, ...report], timeoutMs, master.build));
  }
  return results;
}

/**
 * What schemathesis cannot guess: the names of a build, step and log that exist, for the
 * operations that read logs or stop a build (the build the hook's change made, which has
 * the logs its steps wrote).
 */
function settings(build) {
  const logs = ["lines", "raw", "search", "markers"].map(
    (op) => `[[operations]]
include-path = "/builders/{name}/builds/{number}/steps/{step}/logs/{log}/${op}"
parameters = { "path.name" = "linux", "path.number" = ${build}, "path.step" = "compile", "path.log" = "stdio" }
`,
  );
  return `${logs.join("\n")}
[[operations]]
include-path = "/builders/{name}/builds/{number}/stop"
parameters = { "path.name" = "linux", "path.number" = ${build} }
`;
}

/** Runs schemathesis in a folder of its own (its settings and cache), removed afterwards. */
async function run(args, timeoutMs, build) {
  const cwd = await makeTempDir("cascade-schemathesis-run-");
  try {
    await writeFile(join(cwd, "schemathesis.toml"), settings(build));
    return await runIn(cwd, args, timeoutMs);
  } finally {
    await removeDir(cwd);
  }
}

function runIn(cwd, args, timeoutMs) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(SCHEMATHESIS, args, {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", SCHEMATHESIS_TELEMETRY: "false" },
    });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `schemathesis still running after ${timeoutMs} ms:\n${output}`,
        ),
      );
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}
