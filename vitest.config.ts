import { defineConfig } from "vitest/config";

// One runner for unit tests (beside the code) and integration/cluster tests (tests/),
// which use the machine's real PostgreSQL, MariaDB and NATS. Files run one at a time:
// the crash tests start and kill whole node processes and must not starve each other
// of the machine's two cores.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "actors/**/*.test.ts", "tests/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
