// app.js: the minimal Probot webhook app serve_bench.sh measures prbot against
//
//   PORT=N WEBHOOK_SECRET=S node app.js
//
// It subscribes to issue_comment.created and does nothing else. Probot needs
// an App id and private key, or a token, before it starts; a placeholder
// githubToken satisfies it without network (the handler never calls GitHub).
// Requests go through Probot's createNodeMiddleware (Probot's own webhook
// verification: @octokit/webhooks, HMAC-SHA256 of X-Hub-Signature-256) on a
// plain node:http server bound to 127.0.0.1.
import { createServer } from "node:http";
import { Probot, createNodeMiddleware } from "probot";

export default function app(robot) {
	robot.on("issue_comment.created", async () => {});
}

const port = Number.parseInt(process.env.PORT || "", 10);
const secret = process.env.WEBHOOK_SECRET;
if (!port || !secret) {
	console.error("app.js: set PORT and WEBHOOK_SECRET");
	process.exit(2);
}
const probot = new Probot({
	githubToken: "bench-placeholder-never-sent",
	secret,
	logLevel: "warn",
});
const middleware = await createNodeMiddleware(app, {
	probot,
	webhooksPath: "/webhooks/github",
});
const server = createServer((req, res) => {
	middleware(req, res, () => {
		res.writeHead(404).end();
	});
});
server.listen(port, "127.0.0.1", () => {
	console.error(`app.js: listening on 127.0.0.1:${port}`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
