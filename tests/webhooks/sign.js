// sign.js: X-Hub-Signature-256 as @octokit/webhooks-methods signs and checks it
//
//   node sign.js sign SECRET BODY_FILE              prints the signature
//   node sign.js verify SECRET BODY_FILE SIGNATURE  exit 0 valid, 1 invalid
//
// tests/test_source_github.c runs it to check that prbot and octokit agree.
import { readFileSync } from "node:fs";
import { sign, verify } from "@octokit/webhooks-methods";

const [mode, secret, file, signature] = process.argv.slice(2);

function usage() {
	process.stderr.write(
		"usage: node sign.js sign SECRET BODY_FILE\n" +
			"       node sign.js verify SECRET BODY_FILE SIGNATURE\n",
	);
	process.exit(2);
}

if (!secret || !file || (mode === "verify" && !signature))
	usage();
// octokit signs a string: the file must be UTF-8, as GitHub's JSON is
const body = readFileSync(file, "utf8");
if (mode === "sign") {
	process.stdout.write((await sign(secret, body)) + "\n");
} else if (mode === "verify") {
	process.exit((await verify(secret, body, signature)) ? 0 : 1);
} else {
	usage();
}
