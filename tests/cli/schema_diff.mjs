// schema_diff.mjs SCHEMA DIR: validates every DIR/*/case.yaml with ajv (the library behind
// ajv-cli, from $SCHEMA_NPM) in one process and prints "NNNN valid|invalid FIRST-ERROR" per case.
import { createRequire } from "node:module";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(join(process.env.SCHEMA_NPM, "node_modules", "x.js"));
const Ajv = require("ajv");
const addFormats = require("ajv-formats");
const yaml = require("js-yaml");
const [schemaFile, dir] = process.argv.slice(2);
const ajv = new Ajv({ allErrors: false, strict: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, "utf8")));
for (const c of readdirSync(dir).sort()) {
  let ok, why = "";
  try {
    ok = validate(yaml.load(readFileSync(join(dir, c, "case.yaml"), "utf8")));
    if (!ok) why = `${validate.errors[0].instancePath} ${validate.errors[0].message}`;
  } catch (e) {
    ok = false; why = `yaml: ${String(e.message).split("\n")[0]}`;
  }
  console.log(`${c} ${ok ? "valid" : "invalid"} ${why}`);
}
