"""Storage under stress: a locked database, an unreadable one, restarts and kill -9."""

import os
import sqlite3
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cwtest  # noqa: E402
from cwtest import T0, new_caller  # noqa: E402


def add_req(caller, code="red", rid=None, ts=T0, **extra):
    req = {"op": "flag.add", "caller": caller, "code": code, "reason": "r", "by": "sup",
           "ts": ts}
    if rid is not None:
        req["id"] = rid
    req.update(extra)
    return req


class LockedDatabase(cwtest.DaemonCase):
    """Another process holds the database."""

    def hold(self, db, seconds, ready):
        """Holds the write lock on the daemon's WAL database for seconds (in a thread)."""
        def run():
            conn = sqlite3.connect(db, timeout=5, isolation_level=None)
            try:
                conn.execute("BEGIN EXCLUSIVE")
                ready.set()
                time.sleep(seconds)
                conn.execute("ROLLBACK")
            finally:
                conn.close()
        t = threading.Thread(target=run)
        t.start()
        self.addCleanup(t.join)
        if not ready.wait(5):
            self.fail("could not lock the database from the test")
        return t

    def test_write_lock_gives_unavailable(self):
        caller = new_caller()
        other = self.daemon.connect()
        self.addCleanup(other.close)
        flagged = new_caller()
        self.flag(flagged, "red", expires_days=36500)

        ready = threading.Event()
        t = self.hold(self.daemon.db, 2.5, ready)
        start = time.monotonic()
        self.c.send_obj(add_req(caller, rid="locked"))
        # Decisions go on meanwhile on another connection, from the history (WAL readers are
        # not blocked by a writer) or at worst degraded to the default queue.
        for i in range(5):
            t1 = time.monotonic()
            r = self.ok({"op": "call.offered", "call_id": "w%d" % i, "caller": flagged,
                         "ts": T0 + 1}, other)
            self.assertLess(time.monotonic() - t1, 0.5, "call.offered stalled by a writer")
            if not r.get("degraded"):
                self.assertEqual(r["queue"], "supervisor", r)
            self.assertIs(self.ok({"op": "ping"}, other)["ok"], True)
        r = self.c.reply(timeout=5)
        elapsed = time.monotonic() - start
        self.assertError(r, "unavailable", "flag.add under a lock")
        self.assertEqual(r["id"], "locked")
        self.assertLess(elapsed, 2.5, "unavailable came after %.2f s" % elapsed)
        t.join()
        # The failed write left nothing behind, and writes work again.
        self.assertEqual(self.show(caller)["flags"], [])
        f = self.ok(add_req(caller, rid="after"))["flag"]
        self.assertEqual(self.show(caller)["flags"][0]["id"], f["id"])

    def test_pipelined_writes_under_lock(self):
        # Several writes queued behind a lock all answer, in order, then service resumes.
        ready = threading.Event()
        t = self.hold(self.daemon.db, 1.5, ready)
        callers = [new_caller() for _ in range(5)]
        self.c.send(b"".join(cwtest.encode(add_req(c, rid=i)) for i, c in enumerate(callers)) +
                    b'{"op":"ping","id":"p"}\n')
        replies = self.c.replies(6, timeout=8)
        self.assertEqual([r.get("id") for r in replies], [0, 1, 2, 3, 4, "p"])
        for r in replies[:5]:
            if not r["ok"]:
                self.assertEqual(r["error"]["code"], "unavailable", r)
        t.join()
        self.assertIs(self.ok(add_req(new_caller()))["ok"], True)

    def test_call_log_survives_a_lock(self):
        # The call-log thread cannot commit while the lock is held: it keeps its rows and
        # writes them once the lock goes, and decisions never wait for it.
        ready = threading.Event()
        t = self.hold(self.daemon.calls_db, 3.0, ready)
        n = 200
        now = int(time.time())  # recent: rows at T0 would be older than the retention
        for i in range(n):
            start = time.monotonic()
            r = self.ok({"op": "call.offered", "call_id": "lk-%d" % i, "caller": new_caller(),
                         "ts": now})
            self.assertLess(time.monotonic() - start, 0.5, "decision waited for the call log")
            self.assertEqual(r["queue"], "standard", r)
            self.ok({"op": "call.ended", "call_id": "lk-%d" % i, "ended_by": "caller",
                     "ts": now + 5})
            if i % 50 == 0:
                time.sleep(0.3)  # let several commit attempts fail while the lock is held
        t.join()
        db = sqlite3.connect(self.daemon.calls_db, timeout=5)
        self.addCleanup(db.close)
        deadline = time.monotonic() + 10
        while True:
            rows = db.execute("SELECT count(*), count(ended_at) FROM calls "
                              "WHERE call_id LIKE 'lk-%'").fetchone()
            if rows == (n, n) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(rows, (n, n), "call-log rows lost to the lock")
        log = self.daemon.log()
        self.assertRegex(log, r"writer: cannot commit \(.*\): keeping up to \d+ rows")
        self.assertIn("writer: committing again", log)
        self.assertNotIn("gave up", log)

    def test_unreadable_database_degrades(self):
        # An exclusive-mode lock cannot be had while the daemon's WAL connections are open, so
        # the flags table is renamed away from outside: every lookup of the history then fails.
        flagged = new_caller()
        self.flag(flagged, "red", expires_days=36500)
        self.assertRoute(self.offer(flagged, ts=T0 + 1), "supervisor", "threat")

        db = sqlite3.connect(self.daemon.db, timeout=5, isolation_level=None)
        self.addCleanup(db.close)
        db.execute("ALTER TABLE flags RENAME TO flags_away")
        try:
            for i in range(5):
                start = time.monotonic()
                r = self.ok({"op": "call.offered", "id": i, "call_id": "d%d" % i,
                             "caller": flagged, "ts": T0 + 2})
                elapsed = time.monotonic() - start
                self.assertLess(elapsed, 0.2, "degraded decision took %.3f s" % elapsed)
                self.assertIs(r.get("degraded"), True, r)
                self.assertEqual(r["queue"], "standard", r)
                self.assertEqual(r["action"], "queue", r)
                self.assertEqual(r["call_id"], "d%d" % i)
                self.assertEqual(r["id"], i)
                self.assertIsInstance(r["target"], str)
                self.assertIsInstance(r["priority"], int)
                self.assertIsInstance(r["reason"], str)
                self.assertIsInstance(r["policy"], str)
            # Withheld callers need no history: never degraded.
            self.assertRoute(self.offer("anonymous", ts=T0 + 2), "standard", "withheld")
            # caller.show and flag.add cannot work, and say so at once.
            for req in ({"op": "caller.show", "caller": flagged},
                        add_req(new_caller())):
                start = time.monotonic()
                r = self.call(req)
                self.assertLess(time.monotonic() - start, 2.0)
                self.assertError(r, "unavailable", req)
            self.assertIs(self.ok({"op": "ping"})["ok"], True)
        finally:
            db.execute("ALTER TABLE flags_away RENAME TO flags")
        self.assertRoute(self.offer(flagged, ts=T0 + 3), "supervisor", "threat", "after repair")
        self.assertIs(self.ok(add_req(new_caller()))["ok"], True)


class Restart(unittest.TestCase):
    def setUp(self):
        self.d = cwtest.Daemon()
        self.addCleanup(self.d.cleanup)

    def test_restart_keeps_flags(self):
        d = self.d.start()
        red, revoked, nuisance = new_caller(), new_caller(), new_caller()
        with d.connect() as c:
            self.assertTrue(c.call(add_req(red, expires_days=36500))["ok"])
            f = c.call(add_req(revoked, expires_days=36500))["flag"]
            self.assertTrue(c.call({"op": "flag.revoke", "flag_id": f["id"], "by": "s",
                                    "reason": "r", "ts": T0 + 1})["ok"])
            self.assertTrue(c.call(add_req(nuisance, code="nuisance", expires_days=1))["ok"])
        d.stop()
        self.assertFalse(os.path.exists(d.sock), "unix socket left behind after SIGTERM")
        d.start()
        with d.connect("unix") as c:
            r = c.call({"op": "call.offered", "call_id": "a", "caller": red, "ts": T0 + 5})
            self.assertEqual((r["queue"], r["rule"]), ("supervisor", "threat"), r)
            r = c.call({"op": "call.offered", "call_id": "b", "caller": revoked, "ts": T0 + 5})
            self.assertEqual((r["queue"], r["rule"]), ("standard", "default"), r)
            r = c.call({"op": "call.offered", "call_id": "c", "caller": nuisance, "ts": T0 + 5})
            self.assertEqual(r["queue"], "long-hold", r)
            s = c.call({"op": "caller.show", "caller": revoked, "ts": T0 + 5})
            self.assertEqual([x["state"] for x in s["flags"]], ["revoked"])
            self.assertEqual(s["flags"][0]["revoked_at"], T0 + 1)
            # Ids keep growing after a restart.
            g = c.call(add_req(new_caller()))["flag"]
            self.assertGreater(g["id"], f["id"])
        d.stop()

    def test_kill_9_loses_no_acknowledged_flag(self):
        d = self.d.start()
        callers = [new_caller() for _ in range(200)]
        with d.connect() as c:
            c.send(b"".join(cwtest.encode(add_req(x, rid=i, expires_days=36500))
                            for i, x in enumerate(callers)))
            acks = c.replies(200)
            d.kill()
        self.assertEqual([a.get("id") for a in acks], list(range(200)))
        for a in acks:
            self.assertIs(a["ok"], True, a)
        ids = {a["flag"]["id"]: a["flag"]["caller"] for a in acks}
        self.assertEqual(len(ids), 200)

        db = sqlite3.connect(d.db, timeout=5)
        try:
            stored = dict(db.execute("SELECT id, caller FROM flags").fetchall())
        finally:
            db.close()
        for fid, caller in ids.items():
            self.assertEqual(stored.get(fid), caller, "acknowledged flag %d lost" % fid)

        d.start()
        with d.connect() as c:
            c.send(b"".join(cwtest.encode({"op": "caller.show", "caller": x, "ts": T0 + 1})
                            for x in callers))
            for x, a, s in zip(callers, acks, c.replies(200)):
                self.assertEqual([f["id"] for f in s["flags"]], [a["flag"]["id"]], x)
                self.assertEqual(s["route"]["queue"], "supervisor")
        d.stop()

    def test_kill_9_under_write_load(self):
        # Kill while writes are in flight: every acknowledged one survives; the rest may not.
        d = self.d.start()
        callers = [new_caller() for _ in range(2000)]
        with d.connect() as c:
            c.send(b"".join(cwtest.encode(add_req(x, rid=i)) for i, x in enumerate(callers)))
            acks = c.replies(50)
            d.kill()
            while True:
                try:
                    acks.append(c.reply(timeout=2))
                except AssertionError:
                    break
        self.assertGreaterEqual(len(acks), 50)
        d.start()
        with d.connect() as c:
            c.send(b"".join(cwtest.encode({"op": "caller.show", "caller": callers[i]})
                            for i in range(len(acks))))
            for i, (a, s) in enumerate(zip(acks, c.replies(len(acks)))):
                self.assertEqual(a.get("id"), i)
                self.assertIs(a["ok"], True, a)
                self.assertEqual([f["id"] for f in s["flags"]], [a["flag"]["id"]])
        d.stop()


if __name__ == "__main__":
    cwtest.main()
