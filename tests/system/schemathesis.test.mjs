// System test: schemathesis (from PyPI, in the virtual environment `make test-venv` makes)
// sends a few generated requests to every operation of the OpenAPI document a master with
// history serves, logged in as an admin, and finds no 5xx and no answer that the document
// does not describe (status, media type, headers, body schema). A short, seeded run;
// `make soak` runs the long one.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertBinary, makeTempDir, removeDir } from "../lib/master.mjs";
import {
  assertSchemathesis,
  runSchemathesis,
  startHistoryMaster,
} from "../lib/schemathesis.mjs";

let dir;
let master;

before(async () => {
  assertBinary();
  assertSchemathesis();
  dir = await makeTempDir("cascade-schemathesis-");
  master = await startHistoryMaster(dir);
});

after(async () => {
  await master?.stop();
  await removeDir(dir);
});

test("schemathesis finds no server error and no answer off the document", async () => {
  const passes = await runSchemathesis(master, {
    examples: 3,
    seed: 1,
    phases: "examples,coverage,fuzzing",
    timeoutMs: 540_000,
  });
  for (const { code, output } of passes) {
    assert.equal(
      code,
      0,
      `schemathesis failed:\n${output}\n--- master log ---\n${master.output.slice(-20_000)}`,
    );
    // A run that tested nothing would pass as well: every generated case must have passed.
    const tally = output.match(/(\d+) generated, (\d+) passed/);
    assert.ok(tally && Number(tally[1]) > 0 && tally[1] === tally[2], output);
  }
  assert.ok(
    master.running,
    `the master exited under the run:\n${master.output.slice(-5_000)}`,
  );
});
