#!/usr/bin/env python3
"""Clients that do nothing useful, held open against an HTTP server.

  slow_clients.py --port P --idle N --slow N [--addresses K] [--duration S]
                  [--interval S] [--probe N] --ready FILE --report FILE

Idle connections connect and send nothing. Slowloris connections send a
request line and then one header line every --interval seconds, never ending
the headers. Connections come from 127.0.0.2 .. 127.0.0.(K+1), round robin,
so that a per-address cap alone does not turn them away; whatever the server
closes is opened again at once (as an attacker would). Once all are open the
READY file is written; then --probe connections are opened from one more
address (127.0.0.250) and how many of them are still open 1.5 s later is
recorded. At the end REPORT gets key=value lines: slow_closed (slowloris
connections the server closed), slow_oldest_open_s (age of the oldest
slowloris connection still open), idle_open, slow_open, probe_open.
"""
import argparse
import errno
import selectors
import socket
import time


class Conn:
    def __init__(self, kind, address, port):
        self.kind = kind
        self.address = address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((address, 0))
        self.sock.connect(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.opened = time.monotonic()
        self.lines = 0
        if kind == "slow":
            self.send(b"POST /webhooks/bookto/shop HTTP/1.1\r\nHost: 127.0.0.1\r\n")

    def send(self, data):
        try:
            self.sock.send(data)
            return True
        except OSError:
            return False


def closed_by_server(conn):
    try:
        data = conn.sock.recv(4096)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return data == b"" or conn.kind != "probe" and len(data) > 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle", type=int, default=0)
    parser.add_argument("--slow", type=int, default=0)
    parser.add_argument("--addresses", type=int, default=20)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--probe", type=int, default=0)
    parser.add_argument("--ready", required=True)
    parser.add_argument("--report", required=True)
    args = parser.parse_args()

    selector = selectors.DefaultSelector()
    counter = [0]

    def open_conn(kind, address=None):
        if address is None:
            address = "127.0.0.%d" % (2 + counter[0] % args.addresses)
            counter[0] += 1
        while True:
            try:
                conn = Conn(kind, address, args.port)
                break
            except OSError as e:
                if e.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.ECONNREFUSED):
                    raise
                time.sleep(0.01)
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        return conn

    for _ in range(args.idle):
        open_conn("idle")
    for _ in range(args.slow):
        open_conn("slow")
    with open(args.ready, "w") as f:
        f.write("open\n")

    started = time.monotonic()
    probe_at = started + 0.5 if args.probe > 0 else None
    probe_checked = False
    probes = []
    slow_closed = 0
    idle_closed = 0
    last_line = started
    while time.monotonic() - started < args.duration:
        now = time.monotonic()
        if probe_at is not None and now >= probe_at and not probes:
            probes = [open_conn("probe", "127.0.0.250") for _ in range(args.probe)]
        for key, _ in selector.select(timeout=0.05):
            conn = key.data
            if conn.kind == "probe":
                continue  # counted below, after 1.5 s
            if closed_by_server(conn):
                selector.unregister(conn.sock)
                conn.sock.close()
                if conn.kind == "slow":
                    slow_closed += 1
                else:
                    idle_closed += 1
                open_conn(conn.kind)
        if now - last_line >= args.interval:
            last_line = now
            for key in list(selector.get_map().values()):
                conn = key.data
                if conn.kind == "slow":
                    conn.lines += 1
                    conn.send(b"X-Slow-%d: 1\r\n" % conn.lines)
        if probes and not probe_checked and now - probe_at >= 1.5:
            probe_checked = True
            probe_open = sum(1 for p in probes if not closed_by_server(p))

    now = time.monotonic()
    conns = [key.data for key in selector.get_map().values()]
    slow_ages = [now - c.opened for c in conns if c.kind == "slow"]
    with open(args.report, "w") as f:
        f.write("slow_closed=%d\n" % slow_closed)
        f.write("idle_closed=%d\n" % idle_closed)
        f.write("slow_oldest_open_s=%.1f\n" % (max(slow_ages) if slow_ages else 0))
        f.write("idle_open=%d\n" % sum(1 for c in conns if c.kind == "idle"))
        f.write("slow_open=%d\n" % len(slow_ages))
        if probes:
            f.write("probe_open=%d\n" % (probe_open if probe_checked else -1))


if __name__ == "__main__":
    main()
