// Mutation testing (`npm run test:mutation`): Stryker mutates the code below and runs only the
// unit tests beside it (vitest.mutation.config.mjs, no services), so a test suite that would
// stay green with a transition or a guard removed shows up as surviving mutants.
// Report: reports/mutation/ (HTML and JSON); the score is printed at the end.

/**
 * Code under mutation, one line per file or glob. Each entry's unit tests are found beside it
 * (`x.ts` → `x.test.ts`; a glob of `.ts` files → the same glob of `.test.ts` files); an entry
 * whose tests live elsewhere is written `[source, tests]`. Adding a file is one line here.
 * @type {(string | [string, string])[]}
 */
export const mutationScope = [
  "actors/**/*.ts",
  "src/cluster/placement.ts",
  "src/core/checkpointer.ts",
];

const sourceOf = (/** @type {string | [string, string]} */ e) => (typeof e === "string" ? e : e[0]);
const testsOf = (/** @type {string | [string, string]} */ e) => (typeof e === "string" ? e.replace(/\.ts$/, ".test.ts") : e[1]);

/** The unit test files of the scope (used by vitest.mutation.config.mjs). */
export const mutationTests = mutationScope.map(testsOf);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: "npm",
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: {
    configFile: "vitest.mutation.config.mjs",
    // the test set is small and named explicitly; run it whole instead of vitest's module-graph guess
    related: false,
  },
  mutate: [...mutationScope.map(sourceOf), "!**/*.test.ts"],
  coverageAnalysis: "perTest",
  // 2 cores, shared with other work on the machine
  concurrency: 2,
  timeoutMS: 10_000,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  // the run fails below 90 % killed: a test suite that lets transitions go unnoticed should not pass quietly
  thresholds: { high: 95, low: 90, break: 90 },
  ignorePatterns: ["dist", "bench/results", "docs", "deploy", "examples"],
  tempDirName: ".stryker-tmp",
  cleanTempDir: true,
};
