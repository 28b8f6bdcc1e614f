#!/usr/bin/python3
"""slack.py: sign and send Slack slash commands for the tests.

  slack.py send URL SECRET TEXT [--user U] [--channel C] [--command /prbot]
                [--response-url URL] [--ts SECONDS] [--bad-sig] [--unsigned]
                [--mattermost TOKEN] [--json] [--ssl-check]
      POST a slash command's form to URL, signed as Slack signs it
      (X-Slack-Signature: v0=HMAC-SHA256(SECRET, "v0:TS:BODY"), with
      X-Slack-Request-Timestamp: TS, TS now unless given); --mattermost sends
      the form's token instead of a signature, --json a JSON body,
      --ssl-check Slack's certificate check (ssl_check=1, no command). Print
      "STATUS BODY" (one line) and exit 0 whatever the status.

The form has the fields of Slack's slash command request (Slack's docs,
"Implementing slash commands"). Standard library only.
"""
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def send(argv):
    url, secret, text = argv[:3]
    opts = {"--user": "U0ALICE", "--channel": "C0DEPLOY",
            "--command": "/prbot", "--response-url": "",
            "--ts": str(int(time.time()))}
    flags = set()
    i = 3
    while i < len(argv):
        if argv[i] in ("--bad-sig", "--unsigned", "--json", "--ssl-check"):
            flags.add(argv[i])
            i += 1
        else:
            opts[argv[i]] = argv[i + 1]
            i += 2
    form = [("team_id", "T0TEST"), ("team_domain", "test"),
            ("channel_id", opts["--channel"]), ("channel_name", "deploys"),
            ("user_id", opts["--user"]), ("user_name", "someone"),
            ("command", opts["--command"]), ("text", text),
            ("response_url", opts["--response-url"]),
            ("trigger_id", "1.2.%s" % opts["--ts"])]
    if "--ssl-check" in flags:
        form = [("ssl_check", "1"), ("token", "legacy-token")]
    if "--mattermost" in opts:
        form.insert(0, ("token", opts["--mattermost"]))
    if "--json" in flags:
        body = json.dumps(dict(form)).encode()
        ctype = "application/json"
    else:
        body = urllib.parse.urlencode(form).encode()
        ctype = "application/x-www-form-urlencoded"
    headers = {"Content-Type": ctype}
    if "--mattermost" not in opts and "--unsigned" not in flags:
        base = b"v0:" + opts["--ts"].encode() + b":" + body
        sig = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
        if "--bad-sig" in flags:
            sig = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        headers["X-Slack-Signature"] = "v0=" + sig
        headers["X-Slack-Request-Timestamp"] = opts["--ts"]
    req = urllib.request.Request(url, data=body, headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode("utf-8", "replace")
    print("%d %s" % (status, " ".join(text.split())))


def main():
    if len(sys.argv) < 5 or sys.argv[1] != "send":
        sys.exit(__doc__)
    send(sys.argv[2:])


if __name__ == "__main__":
    main()
