#!/usr/bin/python3
"""http_git_server.py: git's smart HTTP on 127.0.0.1 for the checkout tests.

Runs `git http-backend` as CGI for the bare repositories under --root, on an
ephemeral port that it prints as the first line on stdout; with --tls CERT KEY
it speaks HTTPS with that certificate (PEM files). Paths under /private/ need
HTTP Basic auth as x-access-token:TOKEN (--token) to read; pushes (git's
receive-pack service) need it everywhere, as on GitHub, and are refused when
no --token is given. It stops when its standard input closes (the test that
started it went away) or after --max-seconds, whichever comes first, so it
never outlives its test. Standard library only.
"""
import argparse
import base64
import http.server
import os
import ssl
import subprocess
import sys

# serverutil.py sits next to this script, which runs from other folders
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverutil  # noqa: E402


def read_body(handler):
    """The request body, plain or chunked (git may send either)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class GitHandler(http.server.BaseHTTPRequestHandler):
    root = "."
    token = None

    def log_message(self, fmt, *args):
        sys.stderr.write("http_git_server: " + (fmt % args) + "\n")

    def authorized(self, path, query):
        push = path.endswith("/git-receive-pack") or \
            "service=git-receive-pack" in query
        if not push and not path.startswith("/private/"):
            return True
        want = "Basic " + base64.b64encode(
            ("x-access-token:%s" % self.token).encode()).decode()
        return self.token is not None and \
            self.headers.get("Authorization") == want

    def run_backend(self, method):
        path, _, query = self.path.partition("?")
        if not self.authorized(path, query):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = read_body(self) if method == "POST" else b""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/nonexistent"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": self.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_USER": "x-access-token",
            "SERVER_PROTOCOL": "HTTP/1.0",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        proc = subprocess.run(["git", "http-backend"], input=body, env=env,
                              stdout=subprocess.PIPE, check=False)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self.run_backend("GET")

    def do_POST(self):
        self.run_backend("POST")


class GitServer(serverutil.Server):
    def handle_error(self, request, client_address):
        """One line, not a traceback: a client refusing our certificate is
        something the tests provoke on purpose."""
        sys.stderr.write("http_git_server: %s: %s\n" %
                         (client_address[0], sys.exc_info()[1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--token")
    serverutil.add_max_seconds(ap)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = ap.parse_args()
    GitHandler.root = os.path.abspath(args.root)
    GitHandler.token = args.token
    server = GitServer(("127.0.0.1", 0), GitHandler)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        # the handshake happens in the request's thread, at its first read,
        # so a client that stalls or refuses the certificate blocks no other
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    serverutil.serve(server, args.max_seconds)


if __name__ == "__main__":
    main()
