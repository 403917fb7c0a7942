// The unit tests Stryker runs against each mutant: only those beside the code under mutation
// (stryker.config.mjs lists it), which need no database, NATS or network.
import { defineConfig } from "vitest/config";
import { mutationTests } from "./stryker.config.mjs";

/**
 * Stryker's vitest runner (9.6) scores a mutant by the tests it finds, and a test file whose
 * import throws has none: a mutant that breaks a module at load time (e.g. a state's
 * `initial: ""`, which xstate refuses when the machine is built) would count as survived
 * (stryker-js#6150). This reporter gives such a file one failed test carrying its load error,
 * so the mutant counts as killed. Files that loaded are left as they are.
 */
const unloadableFileFails = {
  /** @param {import("vitest").RunnerTestFile[]} [files] */
  onFinished(files = []) {
    for (const file of files) {
      if (file.result?.state !== "fail" || file.tasks.length > 0) continue;
      file.tasks.push({
        type: "test",
        id: `${file.id}_load`,
        name: "loads",
        mode: "run",
        file,
        suite: file,
        meta: {},
        timeout: 0,
        annotations: [],
        context: /** @type {never} */ (undefined),
        result: { state: "fail", errors: file.result.errors ?? [{ message: `${file.name} failed to load` }] },
      });
    }
  },
};

export default defineConfig({
  test: {
    include: mutationTests,
    reporters: ["dot", unloadableFileFails],
  },
});
