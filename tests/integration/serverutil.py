"""serverutil.py: what the test servers share (fake_github.py and
http_git_server.py): a threaded HTTP server on 127.0.0.1 that prints its
ephemeral port as the first line on stdout and stops when its standard input
closes (the test that started it went away) or after --max-seconds, whichever
comes first, so it never outlives its test. Standard library only.
"""
import http.server
import sys
import threading


class Server(http.server.ThreadingHTTPServer):
    """Request threads are daemons: a stalled client cannot hold up exit."""
    daemon_threads = True


def add_max_seconds(ap):
    """The --max-seconds option (default 300) on argparse parser AP."""
    ap.add_argument("--max-seconds", type=float, default=300)


def serve(server, max_seconds):
    """Serve SERVER in a thread, print its port, and return after shutting
    it down once stdin reaches EOF or MAX_SECONDS pass."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)

    stop = threading.Event()

    def watch_stdin():
        while sys.stdin.buffer.read(4096):
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    stop.wait(max_seconds)
    server.shutdown()
