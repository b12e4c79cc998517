"""Pipelining and connection robustness: order, many connections, rude and slow clients."""

import os
import resource
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cwtest  # noqa: E402
from cwtest import T0, encode, new_caller  # noqa: E402


def mixed_pipeline(n):
    """n request lines mixing every kind of reply, and the check for each reply."""
    lines, checks = [], []
    for i in range(n):
        k = i % 10
        if k == 0:
            caller = new_caller()
            lines.append(encode({"op": "flag.add", "id": i, "caller": caller, "code": "orange",
                                 "reason": "pipelined %d" % i, "by": "p", "ts": T0}))
            checks.append((i, lambda r, c=caller: r["ok"] and r["flag"]["caller"] == c))
        elif k in (1, 5, 7):
            lines.append(encode({"op": "call.offered", "id": i, "call_id": "p%d" % i,
                                 "caller": new_caller(), "ts": T0}))
            checks.append((i, lambda r, i=i: r["ok"] and r["call_id"] == "p%d" % i and
                           r["queue"] == "standard"))
        elif k == 2:
            lines.append(encode({"op": "ping", "id": i}))
            checks.append((i, lambda r: r["ok"] and r["version"] == "0.1.0"))
        elif k == 3:
            lines.append(b"not json at all\n")
            checks.append((None, lambda r: r["error"]["code"] == "bad_json"))
        elif k == 4:
            # stats also answers after the writer: its reply keeps its place.
            lines.append(encode({"op": "stats", "id": i}))
            checks.append((i, lambda r: r["ok"] and isinstance(r["flags_active"], int)))
        elif k == 6:
            # Goes to the writer and fails there: an asynchronous error keeps its place too.
            lines.append(encode({"op": "flag.revoke", "id": i, "flag_id": 2 ** 50, "by": "p",
                                 "reason": "r"}))
            checks.append((i, lambda r: r["error"]["code"] == "not_found"))
        elif k == 8:
            lines.append(encode({"op": "flag.add", "id": i, "caller": new_caller(),
                                 "code": "orange", "reason": "", "by": "p"}))
            checks.append((i, lambda r: r["error"]["code"] == "bad_field"))
        else:
            lines.append(encode({"op": "caller.show", "id": i, "caller": new_caller()}))
            checks.append((i, lambda r: r["ok"] and r["flags"] == []))
    return lines, checks


class Pipelining:
    def check_pipeline(self, n):
        lines, checks = mixed_pipeline(n)
        self.c.send(b"".join(lines))
        replies = self.c.replies(n, timeout=30)
        for i, (r, (rid, check)) in enumerate(zip(replies, checks)):
            if rid is None:
                self.assertNotIn("id", r, "reply %d" % i)
            else:
                self.assertEqual(r.get("id"), rid, "reply %d out of order: %r" % (i, r))
            self.assertTrue(check(r), "reply %d wrong for %r: %r" % (i, lines[i][:100], r))
        self.assertTrue(self.c.nothing_pending(0.1))

    def test_5000_in_one_write(self):
        self.check_pipeline(5000)

    def test_pipelined_writes_in_order(self):
        # Only writes: the acknowledgements come back in request order with increasing ids.
        caller = new_caller()
        self.c.send(b"".join(encode({"op": "flag.add", "id": i, "caller": caller,
                                     "code": "orange", "reason": "r%d" % i, "by": "p",
                                     "ts": T0 + i}) for i in range(500)))
        replies = self.c.replies(500, timeout=30)
        self.assertEqual([r["id"] for r in replies], list(range(500)))
        fids = [r["flag"]["id"] for r in replies]
        self.assertEqual(fids, sorted(fids))
        self.assertEqual([r["flag"]["reason"] for r in replies], ["r%d" % i for i in range(500)])
        s = self.show(caller, ts=T0 + 600)
        self.assertEqual(len(s["flags"]), 500)
        self.assertEqual([f["id"] for f in s["flags"]], fids[::-1])

    def test_byte_by_byte(self):
        data = b'{"op":"ping","id":"slow"}\n'
        for i in range(len(data)):
            self.c.send(data[i:i + 1])
            if i < len(data) - 1:
                time.sleep(0.002)
        self.assertEqual(self.c.reply()["id"], "slow")

    def test_half_close(self):
        caller = new_caller()
        reqs = []
        for i in range(100):
            if i % 3 == 0:
                reqs.append({"op": "flag.add", "id": i, "caller": caller, "code": "orange",
                             "reason": "r", "by": "b"})
            else:
                reqs.append({"op": "call.offered", "id": i, "call_id": "h", "caller": caller})
        self.c.send(b"".join(encode(r) for r in reqs))
        self.c.sock.shutdown(socket.SHUT_WR)
        replies = self.c.replies(100)
        self.assertEqual([r.get("id") for r in replies], list(range(100)))
        self.assertTrue(all(r["ok"] for r in replies), replies)
        self.assertTrue(self.c.wait_eof(), "extra bytes after the last reply")
        with self.daemon.connect(self.transport) as c:
            self.assertEqual(len(self.show(caller, client=c)["flags"]), 34)

    def test_connect_and_close_without_a_word(self):
        for _ in range(20):
            self.daemon.connect(self.transport).close()
        self.assertTrue(self.c.nothing_pending(0.05))
        self.assertIs(self.ok({"op": "ping"})["ok"], True)


class Robustness:
    def test_thousand_connections(self):
        n = 1000
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < n + 100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
        clients = []
        try:
            for i in range(n):
                clients.append(self.daemon.connect("tcp" if i % 2 else "unix"))
            for i, c in enumerate(clients):
                c.send(encode({"op": "ping", "id": i}))
            pending = {c.sock: (i, c) for i, c in enumerate(clients)}
            deadline = time.monotonic() + 30
            while pending:
                self.assertLess(time.monotonic(), deadline, "%d pings unanswered" % len(pending))
                socks = list(pending)
                for k in range(0, len(socks), 500):
                    ready, _, _ = select.select(socks[k:k + 500], [], [], 0.05)
                    for s in ready:
                        i, c = pending.pop(s)
                        self.assertEqual(c.reply()["id"], i)
            # Everyone still connected, still served.
            for i in range(0, n, 97):
                self.assertEqual(clients[i].call({"op": "ping", "id": -i})["id"], -i)
        finally:
            for c in clients:
                c.close()
        self.assertIs(self.ok({"op": "ping"})["ok"], True)

    def rude_client(self, n, linger_rst):
        c = self.daemon.connect()
        reqs = []
        for i in range(n):
            if i % 100 == 0:
                reqs.append(encode({"op": "flag.add", "id": i, "caller": new_caller(),
                                    "code": "orange", "reason": "r", "by": "b"}))
            elif i % 2:
                reqs.append(encode({"op": "call.offered", "id": i, "call_id": "x",
                                    "caller": new_caller()}))
            else:
                reqs.append(encode({"op": "ping", "id": i}))
        c.send(b"".join(reqs))
        if linger_rst:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()

    def test_disconnect_mid_reply(self):
        for rst in (False, True, False):
            self.rude_client(10000, rst)
            # Others are served while the daemon meets the closed socket.
            start = time.monotonic()
            self.assertIs(self.ok({"op": "ping"})["ok"], True)
            self.assertLess(time.monotonic() - start, 2.0)
        time.sleep(0.3)
        self.assertTrue(self.daemon.running())
        self.assertIs(self.ok({"op": "call.offered", "call_id": "z",
                               "caller": new_caller()})["ok"], True)

    def test_slow_reader_does_not_block_others(self):
        slow = self.daemon.connect()
        self.addCleanup(slow.close)
        n = 30000
        # About 6 MB of replies that the slow client does not read for now.
        slow.send(b"".join(encode({"op": "call.offered", "id": i, "call_id": "s" * 100,
                                   "caller": "5550001111"}) for i in range(n)))
        for _ in range(5):
            start = time.monotonic()
            self.assertIs(self.ok({"op": "ping"})["ok"], True)
            self.assertLess(time.monotonic() - start, 1.0, "one slow reader stalled another")
            time.sleep(0.02)
        ids = [r["id"] for r in slow.replies(n, timeout=30)]
        self.assertEqual(ids, list(range(n)))

    def test_partial_line_does_not_block_others(self):
        a = self.daemon.connect()
        self.addCleanup(a.close)
        a.send(b'{"op":"ping","id":')
        self.assertIs(self.ok({"op": "ping"})["ok"], True)
        self.assertTrue(a.nothing_pending(0.05))
        a.send(b'"a"}\n')
        self.assertEqual(a.reply()["id"], "a")

    def test_garbage_flood_does_not_affect_others(self):
        a = self.daemon.connect()
        self.addCleanup(a.close)
        junk = bytes(range(256)) * 4096  # 1 MB of every byte value, newlines included
        a.send(junk)
        self.assertIs(self.ok({"op": "ping", "id": 1})["ok"], True)
        # The flood gets only error lines; then its connection still works.
        a.send(b'\n{"op":"ping","id":"end"}\n')
        deadline = time.monotonic() + 20
        while True:
            self.assertLess(time.monotonic(), deadline)
            r = a.reply()
            if r.get("id") == "end":
                break
            self.assertIs(r["ok"], False, r)
            self.assertIn(r["error"]["code"], ("bad_json", "line_too_long"), r)


class TcpPipeline(Pipelining, Robustness, cwtest.DaemonCase):
    transport = "tcp"


class UnixPipeline(Pipelining, cwtest.DaemonCase):
    transport = "unix"


if __name__ == "__main__":
    cwtest.main()
