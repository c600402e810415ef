// Soak scenario: a long schemathesis run over the whole OpenAPI document of a master with
// history, as an admin: many generated requests per operation (SOAK_SCHEMATHESIS_EXAMPLES,
// default 500) with a seed (SOAK_SEED, default 1). Fails on any 5xx or any answer the
// document does not describe; the JUnit reports stay in a temporary folder the run prints.
import { join } from "node:path";
import {
  assertBinary,
  makeTempDir,
  removeDir,
} from "../../../tests/lib/master.mjs";
import {
  assertSchemathesis,
  runSchemathesis,
  startHistoryMaster,
} from "../../../tests/lib/schemathesis.mjs";

const examples = Number(process.env.SOAK_SCHEMATHESIS_EXAMPLES ?? 500);
const seed = Number(process.env.SOAK_SEED ?? 1);

assertBinary();
assertSchemathesis();
const dir = await makeTempDir("cascade-soak-schemathesis-");
const reports = await makeTempDir("cascade-soak-schemathesis-reports-");
let master;
let failed = false;
try {
  master = await startHistoryMaster(dir, { builds: 400, changes: 200 });
  const passes = await runSchemathesis(master, {
    examples,
    seed,
    timeoutMs: 4 * 60 * 60 * 1000,
    reportDir: reports,
  });
  for (const [i, { code, output }] of passes.entries()) {
    process.stdout.write(output);
    if (code !== 0) {
      failed = true;
      console.error(`schemathesis pass ${i + 1} failed (exit ${code})`);
    }
  }
  if (!master.running) {
    failed = true;
    console.error(
      `the master exited under the run:\n${master.output.slice(-5_000)}`,
    );
  }
  console.log(`reports in ${join(reports)}`);
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await master?.stop();
  await removeDir(dir);
}
process.exit(failed ? 1 : 0);
