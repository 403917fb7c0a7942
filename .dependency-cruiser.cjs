/**
 * The layer rules of the code (docs/architecture.md, docs/adr/0007): `npm run lint:deps`
 * checks them and `npm test` runs it before vitest, so a violation fails the build.
 *
 * - A folder imports only folders in lower layers (and itself); folders of one layer do
 *   not import each other (a connector never imports another connector; only
 *   connectors/shared is shared between connectors).
 * - Across folders, only a folder's index.ts (its public surface) is imported; tests/,
 *   bench/ and scripts/ too.
 * - No circular dependencies (type-only imports count), no orphan modules.
 * - Test support has one home, tests/support/, reached through its index.ts by tests/,
 *   bench/ and the tests beside the code; it loads Tributary's code only lazily. The code
 *   itself imports nothing from tests/, and tests/ nothing from bench/.
 */

/** Bottom to top; a folder may import folders of lower layers only. */
const LAYERS = [
  ["actors", "src/base"],
  ["src/events", "src/metrics"],
  ["src/nats"],
  ["src/core"],
  ["src/connectors/[^/]+", "src/transform"],
  ["src/registry"],
  ["src/config"],
  ["src/cluster"],
  ["src/admin"],
  ["src/node"],
  ["src/cli"],
];

const folder = (f) => `^${f}/`;
const any = (fs) => `^(${fs.join("|")})/`;

const upward = LAYERS.flatMap((layer, i) => {
  const above = LAYERS.slice(i + 1).flat();
  if (above.length === 0) return [];
  return [
    {
      name: `layer-${i}-imports-up`,
      comment: `${layer.join(", ")} may import only lower layers (${LAYERS.slice(0, i).flat().join(", ") || "nothing"})`,
      severity: "error",
      from: { path: any(layer) },
      to: { path: any(above) },
    },
  ];
});

/** Folders of one layer stay apart (connectors may share connectors/shared). */
const sideways = LAYERS.flatMap((layer, i) =>
  layer.map((f) => ({
    name: `layer-${i}-imports-sideways`,
    comment: `${f} must not import another folder of its own layer`,
    severity: "error",
    from: { path: `(${folder(f)})` },
    to: {
      path: any(layer),
      pathNot: ["^$1", "^src/connectors/shared/"],
    },
  })),
);

module.exports = {
  forbidden: [
    ...upward,
    ...sideways,
    {
      name: "index-only",
      comment: "import another folder only through its index.ts (its public surface)",
      severity: "error",
      from: { path: "^(src/connectors/[^/]+|src/(?!connectors/)[^/]+)/" },
      to: { path: "^src/", pathNot: ["^$1/", "/index\\.ts$"] },
    },
    {
      name: "index-only-outside",
      comment: "tests/, bench/ and scripts/ import src/ only through a folder's index.ts",
      severity: "error",
      from: { path: "^(tests|bench|scripts)/" },
      to: { path: "^src/", pathNot: "/index\\.ts$" },
    },
    {
      name: "support-through-index",
      comment: "tests/support/ is reached only through its index.ts (its public surface)",
      severity: "error",
      from: { pathNot: "^tests/support/" },
      to: { path: "^tests/support/", pathNot: "^tests/support/index\\.ts$" },
    },
    {
      name: "support-loads-src-lazily",
      comment:
        "tests/support/ loads src/ only by a dynamic import() inside the helper that needs it (types are free), so a unit " +
        "test or an in-process fake that imports the support module loads none of the runtime",
      severity: "error",
      from: { path: "^tests/support/" },
      to: { path: "^src/", dependencyTypesNot: ["dynamic-import", "type-only"] },
    },
    {
      name: "bench-shares-only-support",
      comment: "bench/ shares code with tests/ only through tests/support (one home for helpers, no copies in bench/)",
      severity: "error",
      from: { path: "^bench/" },
      to: { path: "^tests/", pathNot: "^tests/support/" },
    },
    {
      name: "tests-do-not-import-bench",
      comment: "helpers tests and benchmarks share live in tests/support, never in bench/",
      severity: "error",
      from: { path: "^tests/" },
      to: { path: "^bench/" },
    },
    {
      name: "code-imports-no-tests",
      comment: "src/, actors/ and scripts/ never import tests/ (only the tests beside the code may, for test support and fakes)",
      severity: "error",
      from: { path: "^(src|actors|scripts)/", pathNot: "\\.test\\.ts$" },
      to: { path: "^tests/" },
    },
    {
      name: "actors-import-nothing-from-src",
      comment: "the machine declares what it needs of a lease and of an error itself (ADR 0004)",
      severity: "error",
      from: { path: "^actors/" },
      to: { path: "^src/" },
    },
    {
      name: "no-circular",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-orphans",
      comment: "a module nothing imports and that imports nothing is dead (entry points and thread scripts import what they run)",
      severity: "error",
      from: { orphan: true, pathNot: ["\\.d\\.ts$", "(^|/)\\.[^/]+\\.(c|m)?js$", "^scripts/[^/]+\\.mjs$"] },
      to: {},
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"], extensions: [".ts", ".js", ".json"] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
