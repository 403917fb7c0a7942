/** Writes docs/configuration.md from the config schema: `npm run docs:config`. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot, renderConfigDocs } from "../src/config/index.js";
writeFileSync(join(packageRoot(), "docs/configuration.md"), renderConfigDocs());
