// Bundles the browser code of vigil/web/frontend/*.js (each file one page's entry point) with
// the npm packages it imports into vigil/web/static/dist/, which Vigil serves as /static/dist/.
// Run at set-up by scripts/up and scripts/test (after `npm ci`); the output is not committed.
import { build } from "esbuild";
import { readdirSync, mkdirSync, copyFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "vigil", "web", "frontend");
const out = join(root, "vigil", "web", "static", "dist");
const entries = readdirSync(source).filter((f) => f.endsWith(".js") && !f.startsWith("_"));

mkdirSync(out, { recursive: true });
await build({
  entryPoints: entries.map((f) => join(source, f)),
  outdir: out,
  bundle: true,
  format: "esm",
  minify: true,
  sourcemap: true,
  target: ["chrome110", "firefox110", "safari16"],
  logLevel: "warning",
});
// uPlot's style sheet, as the package ships it.
copyFileSync(join(root, "node_modules", "uplot", "dist", "uPlot.min.css"), join(out, "uPlot.min.css"));
console.log(`bundled ${entries.length} entry point(s) into ${out}`);
