#!/usr/bin/python3
"""fake_github.py: a fake GitHub REST and GraphQL API on 127.0.0.1 for tests.

    fake_github.py [--fixture FILE] [--token TOKEN] [--app-id ID]
                   [--bot-login LOGIN] [--max-seconds N]

Prints its port as the first line on stdout, then serves until its standard
input closes (the test that started it went away) or --max-seconds pass.
Standard library only.

State: canned data from --fixture (a JSON file) or POST /_fixture (merged
into what is there), keyed like this:
    {"pulls": {"OWNER/NAME#7": {GitHub's pull request object}},
     "permissions": {"OWNER/NAME:LOGIN": {"permission": "write",
                                          "role_name": "maintain"}},
     "installations": {"OWNER/NAME": 42},
     "labels": {"OWNER/NAME#7": ["evaluate"]},
     "comments": {"OWNER/NAME#7": [{"body": "/evaluate",
                                    "user": {"login": "alice"}}]},
     "token_ttl": 3600,
     "reviews": {"OWNER/NAME#7": [{"user": {"login": "bob"},
                                   "state": "APPROVED"}]},
     "statuses": {"OWNER/NAME@SHA": [{"context": "ci/test",
                                      "state": "pending"}]},
     "check_runs": {"OWNER/NAME@SHA": [{"name": "lint",
                                        "status": "completed",
                                        "conclusion": "success"}]}}
("token_ttl": seconds an issued installation token lives; "statuses" are
other tools' commit statuses, seen with those POSTed here.)
A pull request only needs the fields a test reads; a user without an entry
has permission "none".

Authentication, as GitHub checks it: repository endpoints want
"Authorization: Bearer T", T being --token or a token this server issued;
/app/... and /repos/O/N/installation want an App JWT whose iss is --app-id
and that has not expired (its RS256 signature is not checked here: the C
tests verify it with OpenSSL). Anything else is 401.

Served, at / and under /api/v3 (GitHub Enterprise):
    GET    /repos/O/N/pulls/N
    GET    /repos/O/N/collaborators/LOGIN/permission
    GET    /repos/O/N/installation
    POST   /app/installations/ID/access_tokens
    GET    /repos/O/N/issues/N/comments       (per_page, page, Link header)
    POST   /repos/O/N/issues/N/comments       (body over 65536 chars: 422)
    PATCH  /repos/O/N/issues/comments/ID
    POST   /repos/O/N/issues/comments/ID/reactions
    POST   /repos/O/N/statuses/SHA            (description over 140: 422)
    GET    /repos/O/N/commits/SHA/status      (combined: latest per context)
    GET    /repos/O/N/commits/SHA/check-runs
    GET    /repos/O/N/pulls/N/reviews
    POST   /repos/O/N/deployments             (ref and environment needed)
    POST   /repos/O/N/deployments/ID/statuses (GitHub's states only)
    DELETE /repos/O/N/issues/N/labels/NAME
    POST   /graphql and /api/graphql          (minimizeComment only)
    POST   /slack/response/ANY                a Slack response_url: any
                                              body, answered 200 {"ok":true}
    POST   /slack/webhook/ANY                 a Slack incoming webhook:
                                              {"text": ...}, answered 200 ok
                                              (400 invalid_payload without)
Every answer has X-GitHub-Request-Id "FAKE-N" (N counts requests).

Control endpoints (not recorded):
    GET    /_requests  every request so far: [{"method", "path" (with the
                       query), "headers" (all of them), "body" (text),
                       "json" (parsed body or null), "status"}]
    DELETE /_requests  forget them
    GET    /_state     comments, reactions, statuses, labels, minimized,
                       deployments (each with its "statuses")
    POST   /_fixture   merge a fixture (JSON body as above)
    POST   /_reset     forget requests, rules and what requests made (the
                       fixture stays)
    POST   /_fail      answer the next requests of a path differently:
        {"path": "/repos/o/n/pulls/1" (no query) or "*",
         "method": "GET" (optional), "count": 2 (default 1),
         "status": 502 (default 500), "body": {...}, "headers": {...},
         "retry_after": 1   -> Retry-After header,
         "reset_in": 3600   -> X-RateLimit-Remaining: 0 and
                               X-RateLimit-Reset: now + reset_in,
         "body_bytes": N    -> a JSON body of about N bytes,
         "hang": 5          -> say nothing for 5 s, then close}
"""
import argparse
import base64
import http.server
import json
import os
import re
import sys
import threading
import time
from urllib.parse import parse_qs, unquote, urlsplit

# serverutil.py sits next to this script, which runs from other folders
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverutil  # noqa: E402

REACTIONS = {"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket",
             "eyes"}
STATES = {"pending", "success", "failure", "error"}
DEPLOY_STATES = {"in_progress", "success", "failure", "error", "queued",
                 "pending", "inactive"}


class Fake:
    """Everything the server knows; one lock guards it all."""

    def __init__(self, token, app_id, bot_login):
        self.lock = threading.Lock()
        self.token = token
        self.app_id = app_id
        self.bot_login = bot_login
        self.fixture = {"pulls": {}, "permissions": {}, "installations": {},
                        "labels": {}, "comments": {}, "reviews": {},
                        "statuses": {}, "check_runs": {}}
        self.reset()

    def reset(self):
        self.requests = []
        self.rules = []
        self.counter = 0
        self.next_id = 1000
        self.issued = {}          # token -> (installation id, expiry)
        self.comments = {}        # "O/N#N" -> [comment]
        self.reactions = {}       # comment id -> [reaction]
        self.statuses = {}        # "O/N@SHA" -> [status]
        self.labels = {}          # "O/N#N" -> [name]
        self.minimized = []       # [{"node_id", "classifier"}]
        self.deployments = []     # [deployment with "statuses": [...]]
        self.merge({})

    def merge(self, fx):
        for key, value in fx.items():
            if isinstance(value, dict):
                self.fixture.setdefault(key, {}).update(value)
            else:
                self.fixture[key] = value
        for key, names in self.fixture["labels"].items():
            self.labels.setdefault(key, list(names))
        for key, items in self.fixture["comments"].items():
            if key not in self.comments:
                self.comments[key] = [self.new_comment(key, c.get("body", ""),
                                                       c.get("user"))
                                      for c in items]

    def new_comment(self, issue_key, body, user=None):
        self.next_id += 1
        repo, num = issue_key.split("#")
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return {
            "id": self.next_id, "node_id": "IC_fake%d" % self.next_id,
            "html_url": "https://github.com/%s/pull/%s#issuecomment-%d" %
                        (repo, num, self.next_id),
            "body": body, "created_at": now, "updated_at": now,
            "user": user or {"login": self.bot_login, "type": "Bot"},
        }

    def find_comment(self, cid):
        for key, items in self.comments.items():
            for c in items:
                if c["id"] == cid:
                    return key, c
        return None, None

    def take_rule(self, method, path):
        for rule in self.rules:
            if rule["path"] in ("*", path) and \
                    rule.get("method", method) == method:
                rule["count"] -= 1
                if rule["count"] <= 0:
                    self.rules.remove(rule)
                return rule
        return None


def b64url_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as GitHub
    fake = None

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ----

    def send_json(self, status, value, headers=None):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-GitHub-Request-Id", self.request_id)
        if not headers or "X-RateLimit-Remaining" not in headers:
            self.send_header("X-RateLimit-Remaining", "4999")
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        self.wfile.write(body)
        self.status = status

    def send_text(self, status, text):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.status = status

    def handle_any(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        path = url.path
        fake = self.fake
        if path.startswith("/_"):
            self.request_id = "FAKE-CONTROL"
            return self.control(method, path, raw)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        with fake.lock:
            fake.counter += 1
            self.request_id = "FAKE-%d" % fake.counter
            record = {"method": method, "path": self.path,
                      "headers": dict(self.headers.items()),
                      "body": raw.decode("utf-8", "replace"),
                      "json": parsed, "status": None}
            fake.requests.append(record)
            rule = fake.take_rule(method, path)
        self.status = None
        if rule:
            self.inject(rule)
        else:
            api = path[len("/api/v3"):] if path.startswith("/api/v3/") \
                else path
            try:
                self.route(method, api, parse_qs(url.query), parsed)
            except Exception as e:  # a bug here must not look like a hang
                self.send_json(500, {"message": "fake_github.py: %r" % e})
        record["status"] = self.status

    def inject(self, rule):
        if rule.get("hang"):
            time.sleep(rule["hang"])
            self.close_connection = True
            return
        headers = dict(rule.get("headers") or {})
        if "retry_after" in rule:
            headers["Retry-After"] = rule["retry_after"]
        if "reset_in" in rule:
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = int(time.time()) + rule["reset_in"]
        body = rule.get("body", {"message": "fake failure"})
        if rule.get("body_bytes"):
            body = {"pad": "x" * rule["body_bytes"]}
        self.send_json(rule.get("status", 500), body, headers)

    def control(self, method, path, raw):
        fake = self.fake
        body = json.loads(raw) if raw else {}
        with fake.lock:
            if path == "/_requests" and method == "GET":
                return self.send_json(200, fake.requests)
            if path == "/_requests" and method == "DELETE":
                fake.requests = []
                return self.send_json(200, {})
            if path == "/_state":
                return self.send_json(200, {
                    "comments": fake.comments, "labels": fake.labels,
                    "reactions": {str(k): v
                                  for k, v in fake.reactions.items()},
                    "statuses": fake.statuses, "minimized": fake.minimized,
                    "deployments": fake.deployments})
            if path == "/_fixture" and method == "POST":
                fake.merge(body)
                return self.send_json(200, {})
            if path == "/_reset" and method == "POST":
                fake.reset()
                return self.send_json(200, {})
            if path == "/_fail" and method == "POST":
                body.setdefault("count", 1)
                fake.rules.append(body)
                return self.send_json(200, {"rules": len(fake.rules)})
        self.send_json(404, {"message": "no such control endpoint"})

    # ---- authentication ----

    def bearer(self):
        auth = self.headers.get("Authorization", "")
        return auth[len("Bearer "):] if auth.startswith("Bearer ") else None

    def app_ok(self):
        parts = (self.bearer() or "").split(".")
        try:
            claims = b64url_json(parts[1])
            header = b64url_json(parts[0])
        except (IndexError, ValueError):
            return False
        now = time.time()
        return len(parts) == 3 and header.get("alg") == "RS256" and \
            str(claims.get("iss")) == str(self.fake.app_id) and \
            claims.get("exp", 0) > now and claims.get("iat", now) <= now + 60

    def token_ok(self):
        t = self.bearer()
        if t is not None and t == self.fake.token:
            return True
        issued = self.fake.issued.get(t)
        return issued is not None and issued[1] > time.time()

    def unauthorized(self):
        self.send_json(401, {"message": "Bad credentials"})

    # ---- the API ----

    def route(self, method, path, query, body):
        fake = self.fake
        if path.startswith("/slack/response/") and method == "POST":
            return self.send_json(200, {"ok": True})
        if path.startswith("/slack/webhook/") and method == "POST":
            ok = isinstance(body, dict) and isinstance(body.get("text"), str)
            return self.send_text(200 if ok else 400,
                                  "ok" if ok else "invalid_payload")
        if path in ("/graphql", "/api/graphql") and method == "POST":
            return self.graphql(body) if self.token_ok() \
                else self.unauthorized()
        m = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if m and method == "POST":
            return self.access_token(int(m.group(1)))
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)", path)
        if not m:
            return self.send_json(404, {"message": "Not Found"})
        repo, rest = m.group(1), m.group(2)
        if rest == "/installation" and method == "GET":
            if not self.app_ok():
                return self.unauthorized()
            with fake.lock:
                iid = fake.fixture["installations"].get(repo)
            if iid is None:
                return self.send_json(404, {"message": "Not Found"})
            return self.send_json(200, {"id": iid, "app_id": fake.app_id})
        if not self.token_ok():
            return self.unauthorized()
        with fake.lock:
            return self.repo_route(method, repo, rest, query, body)

    def access_token(self, iid):
        fake = self.fake
        if not self.app_ok():
            return self.unauthorized()
        with fake.lock:
            if iid not in fake.fixture["installations"].values():
                return self.send_json(404, {"message": "Not Found"})
            token = "fake-inst-%d-%d" % (iid, len(fake.issued) + 1)
            expires = time.time() + fake.fixture.get("token_ttl", 3600)
            fake.issued[token] = (iid, expires)
        self.send_json(201, {
            "token": token,
            "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                        time.gmtime(expires))})

    def repo_route(self, method, repo, rest, query, body):
        fake = self.fake
        m = re.fullmatch(r"/pulls/(\d+)", rest)
        if m and method == "GET":
            pr = fake.fixture["pulls"].get("%s#%s" % (repo, m.group(1)))
            if pr is None:
                return self.send_json(404, {"message": "Not Found"})
            return self.send_json(200, pr)
        m = re.fullmatch(r"/collaborators/([^/]+)/permission", rest)
        if m and method == "GET":
            login = unquote(m.group(1))
            perm = fake.fixture["permissions"].get(
                "%s:%s" % (repo, login),
                {"permission": "none", "role_name": "none"})
            return self.send_json(200, dict(perm, user={"login": login}))
        m = re.fullmatch(r"/issues/(\d+)/comments", rest)
        if m:
            key = "%s#%s" % (repo, m.group(1))
            if method == "GET":
                return self.list_comments(key, query)
            if method == "POST":
                text = (body or {}).get("body")
                if not isinstance(text, str):
                    return self.send_json(422, {"message": "Invalid request"})
                if len(text) > 65536:
                    return self.send_json(422, {
                        "message": "Validation Failed",
                        "errors": [{"resource": "IssueComment",
                                    "code": "custom", "field": "body",
                                    "message": "body is too long (maximum "
                                               "is 65536 characters)"}]})
                c = fake.new_comment(key, text)
                fake.comments.setdefault(key, []).append(c)
                return self.send_json(201, c)
        m = re.fullmatch(r"/issues/comments/(\d+)(/reactions)?", rest)
        if m:
            key, c = fake.find_comment(int(m.group(1)))
            if c is None:
                return self.send_json(404, {"message": "Not Found"})
            if m.group(2) and method == "POST":
                return self.react(c, (body or {}).get("content"))
            if not m.group(2) and method == "PATCH":
                c["body"] = (body or {}).get("body", c["body"])
                c["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                time.gmtime())
                return self.send_json(200, c)
        m = re.fullmatch(r"/statuses/([0-9a-f]{40})", rest)
        if m and method == "POST":
            return self.create_status(repo, m.group(1), body or {})
        m = re.fullmatch(r"/pulls/(\d+)/reviews", rest)
        if m and method == "GET":
            return self.send_json(200, fake.fixture["reviews"].get(
                "%s#%s" % (repo, m.group(1)), []))
        m = re.fullmatch(r"/commits/([0-9a-f]{40})/status", rest)
        if m and method == "GET":
            return self.combined_status(repo, m.group(1))
        m = re.fullmatch(r"/commits/([0-9a-f]{40})/check-runs", rest)
        if m and method == "GET":
            runs = fake.fixture["check_runs"].get(
                "%s@%s" % (repo, m.group(1)), [])
            return self.send_json(200, {"total_count": len(runs),
                                        "check_runs": runs})
        if rest == "/deployments" and method == "POST":
            return self.create_deployment(repo, body or {})
        m = re.fullmatch(r"/deployments/(\d+)/statuses", rest)
        if m and method == "POST":
            return self.deployment_status(repo, int(m.group(1)), body or {})
        m = re.fullmatch(r"/issues/(\d+)/labels/([^/]+)", rest)
        if m and method == "DELETE":
            names = fake.labels.get("%s#%s" % (repo, m.group(1)), [])
            name = unquote(m.group(2))
            if name not in names:
                return self.send_json(404, {"message": "Label does not exist"})
            names.remove(name)
            return self.send_json(200, [{"name": n} for n in names])
        self.send_json(404, {"message": "Not Found"})

    def list_comments(self, key, query):
        items = self.fake.comments.get(key, [])
        per = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        last = max(1, (len(items) + per - 1) // per)
        base = "http://%s%s?per_page=%d&page=" % (
            self.headers.get("Host"), urlsplit(self.path).path, per)
        links = []
        if page < last:
            links.append('<%s%d>; rel="next"' % (base, page + 1))
            links.append('<%s%d>; rel="last"' % (base, last))
        headers = {"Link": ", ".join(links)} if links else {}
        self.send_json(200, items[(page - 1) * per:page * per], headers)

    def react(self, comment, content):
        if content not in REACTIONS:
            return self.send_json(422, {"message": "Validation Failed"})
        got = self.fake.reactions.setdefault(comment["id"], [])
        for r in got:
            if r["content"] == content:
                return self.send_json(200, r)
        self.fake.next_id += 1
        r = {"id": self.fake.next_id, "content": content,
             "user": {"login": self.fake.bot_login}}
        got.append(r)
        self.send_json(201, r)

    def create_status(self, repo, sha, body):
        desc = body.get("description")
        if body.get("state") not in STATES or \
                (desc is not None and len(desc) > 140):
            return self.send_json(422, {
                "message": "Validation Failed",
                "errors": [{"resource": "Status", "code": "custom",
                            "field": "description"}]})
        self.fake.next_id += 1
        s = dict(body, id=self.fake.next_id)
        self.fake.statuses.setdefault("%s@%s" % (repo, sha), []).append(s)
        self.send_json(201, s)

    def combined_status(self, repo, sha):
        key = "%s@%s" % (repo, sha)
        latest = {}
        for st in self.fake.fixture["statuses"].get(key, []) + \
                self.fake.statuses.get(key, []):
            latest[st["context"]] = st
        items = list(latest.values())
        states = [st["state"] for st in items]
        state = "failure" if any(x in ("failure", "error") for x in states) \
            else "pending" if not items or "pending" in states else "success"
        self.send_json(200, {"state": state, "sha": sha,
                             "total_count": len(items), "statuses": items})

    def create_deployment(self, repo, body):
        if not isinstance(body.get("ref"), str) or \
                not isinstance(body.get("environment"), str):
            return self.send_json(422, {"message": "Validation Failed"})
        self.fake.next_id += 1
        d = dict(body, id=self.fake.next_id, repo=repo, sha=body["ref"],
                 statuses=[])
        self.fake.deployments.append(d)
        self.send_json(201, {k: v for k, v in d.items() if k != "statuses"})

    def deployment_status(self, repo, did, body):
        for d in self.fake.deployments:
            if d["id"] == did and d["repo"] == repo:
                break
        else:
            return self.send_json(404, {"message": "Not Found"})
        if body.get("state") not in DEPLOY_STATES:
            return self.send_json(422, {"message": "Validation Failed"})
        self.fake.next_id += 1
        st = dict(body, id=self.fake.next_id)
        d["statuses"].append(st)
        self.send_json(201, st)

    def graphql(self, body):
        query = (body or {}).get("query", "")
        variables = (body or {}).get("variables") or {}
        if "minimizeComment" not in query:
            return self.send_json(200, {"errors": [{
                "message": "fake_github.py knows only minimizeComment"}]})
        m = re.search(r"subjectId:\s*(?:\$(\w+)|\"([^\"]*)\")", query)
        node = (variables.get(m.group(1)) if m and m.group(1)
                else m.group(2) if m else None)
        cm = re.search(r"classifier:\s*(\w+)", query)
        with self.fake.lock:
            found = any(c["node_id"] == node
                        for items in self.fake.comments.values()
                        for c in items)
            if found:
                self.fake.minimized.append({
                    "node_id": node,
                    "classifier": cm.group(1) if cm else None})
        if not found:
            return self.send_json(200, {
                "data": {"minimizeComment": None},
                "errors": [{"type": "NOT_FOUND", "path": ["minimizeComment"],
                            "message": "Could not resolve to a node with "
                                       "the global id of '%s'" % node}]})
        self.send_json(200, {"data": {"minimizeComment": {
            "minimizedComment": {"isMinimized": True,
                                 "minimizedReason": "outdated"}}}})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


class Server(serverutil.Server):
    def handle_error(self, request, client_address):
        """A client hanging up (on a hang, or over its cap) is expected;
        anything else is one line, not a traceback."""
        err = sys.exc_info()[1]
        if not isinstance(err, (ConnectionError, TimeoutError)):
            sys.stderr.write("fake_github: %s\n" % (err,))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixture")
    ap.add_argument("--token", default="test-token")
    ap.add_argument("--app-id", default="12345")
    ap.add_argument("--bot-login", default="prbot[bot]")
    serverutil.add_max_seconds(ap)
    args = ap.parse_args()
    Handler.fake = Fake(args.token, args.app_id, args.bot_login)
    if args.fixture:
        with open(args.fixture, encoding="utf-8") as f:
            Handler.fake.merge(json.load(f))
    server = Server(("127.0.0.1", 0), Handler)
    serverutil.serve(server, args.max_seconds)


if __name__ == "__main__":
    main()
