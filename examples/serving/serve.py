"""serve.py: answer predictions over HTTP on 127.0.0.1 with the model that
model_manifest.json names, after checking its hashes.

    python3 serve.py [--manifest model_manifest.json] [--model PATH]
                     [--port 8080]

    curl -s localhost:8080/predict -d '{"sepal_length": 5.1,
        "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}'

The inference code (src/, published by prbot next to this file) does the
predicting; the hash check is here, in the serving repository, so that a
pull request's code is not what decides whether its own model is trusted.
Standard library only.
"""

import argparse
import hashlib
import json
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_BODY = 1 << 20


def model_location(manifest, manifest_path):
    """A local path from model_filepath: a path or a file:// URL."""
    where = manifest.get("model_filepath")
    if not isinstance(where, str) or not where:
        sys.exit("serve.py: manifest '%s' has no model_filepath "
                 "(pass --model PATH)" % manifest_path)
    url = urllib.parse.urlparse(where)
    if url.scheme == "file":
        return urllib.parse.unquote(url.path)
    if url.scheme:
        sys.exit("serve.py: model_filepath '%s' is not local: download it "
                 "and pass --model PATH" % where)
    # relative paths are relative to the manifest, not the working directory
    return os.path.join(os.path.dirname(manifest_path), where)


def load_verified(manifest_path, model_path):
    """The model bytes, only if MD5 and SHA-256 match the manifest."""
    with open(manifest_path, encoding="utf-8") as f:
        try:
            manifest = json.load(f)
        except ValueError as e:
            sys.exit("serve.py: manifest '%s' is not JSON: %s" %
                     (manifest_path, e))
    if not isinstance(manifest, dict):
        sys.exit("serve.py: manifest '%s' is not a JSON object" %
                 manifest_path)
    if model_path is None:
        model_path = model_location(manifest, manifest_path)
    with open(model_path, "rb") as f:
        data = f.read()
    if not isinstance(manifest.get("model_md5_hash"), str):
        sys.exit("serve.py: manifest '%s' has no model_md5_hash" %
                 manifest_path)
    checks = [("model_md5_hash", hashlib.md5(data).hexdigest())]
    if "model_sha256" in manifest:
        checks.append(("model_sha256", hashlib.sha256(data).hexdigest()))
    for key, actual in checks:
        if str(manifest[key]).lower() != actual:
            print("serve.py: refusing model '%s': %s mismatch: manifest "
                  "'%s' has %s, the file has %s" %
                  (model_path, key, manifest_path, manifest[key], actual),
                  file=sys.stderr)
            sys.exit(3)
    return manifest, model_path, data


def make_handler(model, manifest, iris_model):
    health = json.dumps({
        "status": "ok",
        "version": manifest.get("version"),
        "commit": manifest.get("model_origin_commit_SHA"),
        "model_md5_hash": manifest.get("model_md5_hash"),
    }, sort_keys=True).encode() + b"\n"

    class Handler(BaseHTTPRequestHandler):
        def reply(self, code, body):
            if not isinstance(body, bytes):
                body = (json.dumps(body, sort_keys=True) + "\n").encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/healthz":
                self.reply(200, health)
            else:
                self.reply(404, {"error": "no route %s" % self.path})

        def do_POST(self):
            if self.path != "/predict":
                return self.reply(404, {"error": "no route %s" % self.path})
            try:
                n = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                return self.reply(400, {"error": "bad Content-Length"})
            if n > MAX_BODY:
                return self.reply(413, {"error": "body over %d bytes" %
                                        MAX_BODY})
            try:
                payload = json.loads(self.rfile.read(n))
                return self.reply(200, iris_model.predict_json(model,
                                                               payload))
            except (ValueError, iris_model.InputError) as e:
                # InputError is a ValueError: both are the caller's mistake
                return self.reply(400, {"error": str(e)})

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest",
                    default=os.path.join(HERE, "model_manifest.json"))
    ap.add_argument("--model", help="model file (default: the manifest's "
                    "model_filepath)")
    ap.add_argument("--port", type=int, default=8080)
    args = ap.parse_args()

    sys.path.insert(0, os.path.join(HERE, "src"))
    try:
        import iris_model
    except ImportError:
        sys.exit("serve.py: no src/iris_model.py next to serve.py: deploy "
                 "with prbot (it publishes src/) or copy examples/iris/src")
    try:
        manifest, path, data = load_verified(args.manifest, args.model)
        model = iris_model.load_model_bytes(data)
    except (OSError, ValueError) as e:
        sys.exit("serve.py: %s" % e)
    server = ThreadingHTTPServer(("127.0.0.1", args.port),
                                 make_handler(model, manifest, iris_model))
    print("serve.py: model '%s' (md5 %s) on http://127.0.0.1:%d" %
          (path, manifest["model_md5_hash"], server.server_address[1]),
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
