#!/usr/bin/python3
"""webhook.py: build, sign and send GitHub webhook deliveries for the tests.

  webhook.py freeport
      print a TCP port on 127.0.0.1 that was free a moment ago
  webhook.py comment OUT --repo O/N --pr N --comment-id N --body TEXT
                     [--body-file FILE] [--plain-issue] [--login L]
      write an issue_comment "created" payload to OUT
  webhook.py pull_request OUT ACTION --pr N [--label NAME] [--repo O/N]
      write a pull_request "labeled" or "closed" payload to OUT
  webhook.py example OUT EVENT ACTION [--repo O/N] [--pr N] [--merged]
      write GitHub's own example payload of EVENT ACTION (the first of
      @octokit/webhooks-examples, installed by `npm ci` in tests/webhooks)
      to OUT, moved to repository O/N and pull request N (its head in the
      same repository), merged or not
  webhook.py send URL SECRET EVENT DELIVERY BODY_FILE [--unsigned|--bad-sig]
      POST it, print "STATUS BODY" (one line) and exit 0 whatever the status

The payloads of comment and pull_request are hand-written with the shape of
@octokit/webhooks-examples' api.github.com issue_comment.created and
pull_request.labeled examples (the fields prbot reads, and a few it does
not), trimmed to stay small; example uses the package's own. Standard
library only.
"""
import hashlib
import hmac
import json
import os
import socket
import sys
import urllib.error
import urllib.request


def freeport():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    print(port)


def comment(argv):
    out = argv[0]
    opts = {"--repo": "octo-org/ml-model", "--pr": "7",
            "--comment-id": "1001", "--body": "/evaluate",
            "--login": "octocat"}
    flags = set()
    i = 1
    while i < len(argv):
        if argv[i] in ("--plain-issue",):
            flags.add(argv[i])
            i += 1
        else:
            opts[argv[i]] = argv[i + 1]
            i += 2
    body = opts["--body"]
    if "--body-file" in opts:
        body = open(opts["--body-file"], encoding="utf-8").read()
    owner, name = opts["--repo"].split("/")
    number = int(opts["--pr"])
    user = {"login": opts["--login"], "id": 583231, "type": "User",
            "node_id": "MDQ6VXNlcjU4MzIzMQ=="}
    issue = {
        "url": "https://api.github.com/repos/%s/issues/%d" % (opts["--repo"],
                                                            number),
        "number": number,
        "title": "Tune the classifier",
        "user": user,
        "state": "open",
        "body": "",
    }
    if "--plain-issue" not in flags:
        issue["pull_request"] = {
            "url": "https://api.github.com/repos/%s/pulls/%d"
            % (opts["--repo"], number),
        }
    cid = int(opts["--comment-id"])
    payload = {
        "action": "created",
        "issue": issue,
        "comment": {
            "url": "https://api.github.com/repos/%s/issues/comments/%d"
            % (opts["--repo"], cid),
            "id": cid,
            "node_id": "IC_kwDOtest%d" % cid,
            "user": user,
            "body": body,
            "author_association": "OWNER",
        },
        "repository": {"id": 17273051, "name": name,
                       "full_name": opts["--repo"],
                       "owner": {"login": owner, "type": "Organization"}},
        "sender": user,
        "installation": {"id": 2311213},
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(payload, f)


def pull_request(argv):
    out, action = argv[0], argv[1]
    opts = {"--repo": "octo-org/ml-model", "--pr": "7", "--label": "eval"}
    for i in range(2, len(argv), 2):
        opts[argv[i]] = argv[i + 1]
    repo = {"id": 17273051, "full_name": opts["--repo"],
            "clone_url": "https://github.com/%s.git" % opts["--repo"]}
    user = {"login": "octocat", "id": 583231, "type": "User"}
    number = int(opts["--pr"])
    payload = {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "state": "closed" if action == "closed" else "open",
            "merged": action == "closed",
            "user": user,
            "head": {"ref": "tune", "sha": "c0ffee" + "0" * 34,
                     "repo": repo},
            "base": {"ref": "main", "sha": "b" * 40, "repo": repo},
        },
        "repository": repo,
        "sender": user,
        "installation": {"id": 2311213},
    }
    if action == "labeled":
        payload["label"] = {"id": 208045946, "name": opts["--label"],
                            "color": "f29513"}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(payload, f)


EXAMPLES = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "webhooks",
    "node_modules", "@octokit", "webhooks-examples", "api.github.com",
    "index.json")


def example(argv):
    out, event, action = argv[0], argv[1], argv[2]
    opts = {"--repo": None, "--pr": None}
    merged = False
    i = 3
    while i < len(argv):
        if argv[i] == "--merged":
            merged = True
            i += 1
        else:
            opts[argv[i]] = argv[i + 1]
            i += 2
    if not os.path.exists(EXAMPLES):
        sys.exit("webhook.py: GitHub's example payloads are not installed "
                 "(%s): run `npm ci` in tests/webhooks" % EXAMPLES)
    with open(EXAMPLES, encoding="utf-8") as f:
        index = json.load(f)
    found = [x for e in index if e["name"] == event
             for x in e["examples"] if x.get("action") == action]
    if not found:
        sys.exit("webhook.py: no example of %s %s" % (event, action))
    payload = found[0]
    if opts["--repo"]:
        owner, name = opts["--repo"].split("/")
        repos = [payload["repository"]]
        if "pull_request" in payload:
            repos += [payload["pull_request"]["head"]["repo"],
                      payload["pull_request"]["base"]["repo"]]
        for r in repos:
            r["full_name"] = opts["--repo"]
            r["name"] = name
            r["owner"]["login"] = owner
    if opts["--pr"] and "pull_request" in payload:
        payload["number"] = int(opts["--pr"])
        payload["pull_request"]["number"] = int(opts["--pr"])
    if "pull_request" in payload:
        payload["pull_request"]["merged"] = merged
    with open(out, "w", encoding="utf-8") as f:
        json.dump(payload, f)


def send(argv):
    url, secret, event, delivery, path = argv[:5]
    mode = argv[5] if len(argv) > 5 else ""
    body = open(path, "rb").read()
    headers = {"Content-Type": "application/json",
               "User-Agent": "GitHub-Hookshot/test",
               "X-GitHub-Event": event, "X-GitHub-Delivery": delivery}
    sig = "sha256=" + hmac.new(secret.encode(), body,
                               hashlib.sha256).hexdigest()
    if mode == "--bad-sig":
        sig = "sha256=" + hmac.new(b"not-the-secret", body,
                                   hashlib.sha256).hexdigest()
    if mode != "--unsigned":
        headers["X-Hub-Signature-256"] = sig
    req = urllib.request.Request(url, data=body, headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    line = text.decode("utf-8", "replace").strip().replace("\n", " ")
    print("%d %s" % (status, line))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, argv = sys.argv[1], sys.argv[2:]
    if cmd == "freeport":
        freeport()
    elif cmd == "comment":
        comment(argv)
    elif cmd == "pull_request":
        pull_request(argv)
    elif cmd == "example":
        example(argv)
    elif cmd == "send":
        send(argv)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
