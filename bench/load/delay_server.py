#!/usr/bin/env python3
"""A keep-alive HTTP/1.1 server on loopback that answers every request after a fixed delay.

bench/load/run.sh loads it at a fixed rate with stepkit and with oha: where the server's own time
dominates, two tools that measure latency correctly must agree, whatever each one's own overhead.
Usage: delay_server.py PORT DELAY_MS
"""
import asyncio
import sys

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n"


class Delayed(asyncio.Protocol):
    def __init__(self, delay):
        self.delay = delay
        self.pending = b""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        # Requests here have no body: each head ends with an empty line.
        self.pending += data
        heads = self.pending.count(b"\r\n\r\n")
        self.pending = self.pending[self.pending.rfind(b"\r\n\r\n") + 4:] if heads else self.pending
        loop = asyncio.get_running_loop()
        for _ in range(heads):
            loop.call_later(self.delay, self.answer)

    def answer(self):
        if not self.transport.is_closing():
            self.transport.write(ANSWER)


async def main(port, delay):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Delayed(delay), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]) / 1000))
