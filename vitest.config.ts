// Two vitest projects (`vitest run --project unit|integration`; `vitest run` runs both):
//
// - unit: the tests beside the code, under actors/, and the pinned tests of the in-process
//   fakes (tests/fakes/): no database, no NATS, seconds. Files run in parallel.
// - integration: tests/ and the tests beside the code whose name says which real service
//   they need (`*.pg.test.ts`, `*.my.test.ts`, `*.nats.test.ts`), against the machine's
//   PostgreSQL, MariaDB and NATS. They run after the unit project, one file at a time in one
//   worker: the crash tests start and kill whole node processes and must not starve each
//   other of the machine's two cores.
import { defineConfig } from "vitest/config";

/** Tests beside the code that talk to a real service (PostgreSQL, MariaDB, NATS). */
const SERVICE_TESTS = ["src/**/*.pg.test.ts", "src/**/*.my.test.ts", "src/**/*.nats.test.ts"];

export default defineConfig({
  test: {
    reporters: ["default"],
    // both cores for the unit files (the default leaves one free); integration runs in one worker anyway
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "actors/**/*.test.ts", "tests/fakes/**/*.test.ts"],
          exclude: SERVICE_TESTS,
          testTimeout: 30_000,
          hookTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["tests/**/*.test.ts", ...SERVICE_TESTS],
          exclude: ["tests/fakes/**"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // one worker, one file after the other (fileParallelism is a root-only option;
          // a single fork per project is how a project runs its files one at a time)
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
