"""A stand-in Docker daemon on a unix socket, for timing a client's own share of a classic build.

It answers what `docker build` (DOCKER_BUILDKIT=0) and `stepkit image build` ask for: /_ping,
/version, POST /build (reads the whole context body, chunked or not, and reports a built image),
/images/<id>/json and /images/<id>/tag. Everything the real daemon does with the context (extract,
COPY, commit) is left out, so what remains is the client: walk, .dockerignore, tar, transfer.
Each build's body size goes to stderr, so the caller can check both clients sent the same bytes.

Usage: python3 fake_dockerd.py SOCKET_PATH
"""
import json
import os
import socketserver
import sys
from http.server import BaseHTTPRequestHandler

VERSION = {"ApiVersion": "1.41", "MinAPIVersion": "1.12", "Version": "20.10.24", "Os": "linux", "Arch": "amd64"}
IMAGE_ID = "sha256:" + "ab" * 32


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", ctype="application/json"):
        self.send_response(code)
        self.send_header("Api-Version", VERSION["ApiVersion"])
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def drain(self, left):
        n = 0
        while left:
            got = len(self.rfile.read(min(left, 1 << 20)))
            if not got:
                break
            left -= got
            n += got
        return n

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            n = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return n
                n += self.drain(size)
                self.rfile.readline()
        return self.drain(int(self.headers.get("Content-Length") or 0))

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.endswith("/_ping"):
            return self.reply(200, b"OK", "text/plain")
        if path.endswith("/version"):
            return self.reply(200, json.dumps(VERSION).encode())
        if "/images/" in path and path.endswith("/json"):
            return self.reply(200, json.dumps({"Id": IMAGE_ID, "RepoTags": []}).encode())
        self.reply(404, b'{"message":"not in the fake daemon"}')

    def do_POST(self):
        path = self.path.split("?")[0]
        if path.endswith("/build"):
            n = self.read_body()
            agent = self.headers.get("User-Agent") or "-"
            print(f"build body {n} bytes from {agent}", file=sys.stderr, flush=True)
            lines = [
                {"stream": "Step 1/1 : FROM scratch\n"},
                {"aux": {"ID": IMAGE_ID}},
                {"stream": f"Successfully built {IMAGE_ID[7:19]}\n"},
            ]
            return self.reply(200, b"".join(json.dumps(x).encode() + b"\n" for x in lines))
        self.read_body()
        if "/images/" in path and path.endswith("/tag"):
            return self.reply(201)
        self.reply(404, b'{"message":"not in the fake daemon"}')


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if __name__ == "__main__":
    sock = sys.argv[1]
    if os.path.exists(sock):
        os.unlink(sock)
    Server(sock, Handler).serve_forever()
