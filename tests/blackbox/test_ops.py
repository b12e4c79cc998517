"""Every op of issue 2 over TCP and over the Unix socket, with the sample policy."""

import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cwtest  # noqa: E402
from cwtest import DAY, T0, new_caller  # noqa: E402

WITHHELD = ["", "anonymous", "Restricted", "PRIVATE", "unknown", "unavailable", "ANONYMOUS"]


class Ops:
    """The tests; mixed into one class per transport."""

    def test_ping(self):
        r = self.ok({"op": "ping", "id": 1})
        self.assertEqual(r["id"], 1)
        self.assertEqual(r.get("version"), "0.1.0", r)
        self.assertIsInstance(r.get("policy"), str, r)
        self.assertTrue(r["policy"])
        # The decision carries the same policy version as ping.
        d = self.offer(new_caller())
        self.assertEqual(d["policy"], r["policy"])

    def test_call_offered_table(self):
        # (what, codes flagged on the caller, expected queue, rule, fields that must be true)
        cases = [
            ("unknown caller", [], "standard", "default", []),
            ("red flag", ["red"], "supervisor", "threat", ["record", "alert"]),
            ("yellow flag", ["yellow"], "supervisor", "abuse", ["record"]),
            ("nuisance flag", ["nuisance"], "long-hold", "nuisance", []),
            ("one orange", ["orange"], "standard", "default", []),
            ("three oranges", ["orange", "orange", "orange"], "supervisor", "score", []),
            ("red beats nuisance", ["nuisance", "red"], "supervisor", "threat",
             ["record", "alert"]),
        ]
        for what, codes, queue, rule, truthy in cases:
            with self.subTest(what):
                caller = new_caller()
                for code in codes:
                    self.flag(caller, code)
                d = self.offer(caller, ts=T0 + 60, call_id="call-" + what)
                self.assertRoute(d, queue, rule, what)
                for field in truthy:
                    self.assertIs(d.get(field), True, "%s: %s not true in %r" % (what, field, d))
                if not codes:
                    self.assertNotIn("record", d)
                    self.assertNotIn("alert", d)

    def test_reason_quotes_the_flags_author_and_reason(self):
        # The flags are looked up without their text; the quoted ones are read in full.
        caller = new_caller()
        self.flag(caller, "orange", ts=T0, by="sup-3", reason="shouted at the agent")
        self.flag(caller, "red", ts=T0 + 10, by="sup-17", reason="threatened \"the\" agent")
        self.flag(caller, "red", ts=T0 + 5, by="sup-9", reason="older red")
        d = self.offer(caller, ts=T0 + 60, call_id="quote-1")
        self.assertRoute(d, "supervisor", "threat")
        self.assertIn("code red flag, ", d["reason"])
        self.assertIn(", by sup-17: threatened \"the\" agent", d["reason"])
        self.assertNotIn("older red", d["reason"])
        self.assertNotIn("sup-3", d["reason"])

    def test_queue_targets_are_per_queue(self):
        seen = {}
        for codes in ([], ["red"], ["nuisance"]):
            caller = new_caller()
            for code in codes:
                self.flag(caller, code)
            d = self.offer(caller, ts=T0 + 1)
            seen.setdefault(d["queue"], set()).add(d["target"])
        self.assertEqual(sorted(seen), ["long-hold", "standard", "supervisor"])
        for queue, targets in seen.items():
            self.assertEqual(len(targets), 1, (queue, targets))
        self.assertEqual(len({t for ts in seen.values() for t in ts}), 3, seen)

    def test_stats_counts_decisions_by_queue(self):
        # Summed over the rules that chose the queue; dry runs and retried offers not counted.
        red, yellow = new_caller(), new_caller()
        self.flag(red, "red")
        self.flag(yellow, "yellow")
        before = self.ok({"op": "stats"})["decisions"]
        self.assertRoute(self.offer(new_caller(), ts=T0 + 1, call_id="st-1"), "standard",
                         "default")
        self.offer(new_caller(), ts=T0 + 1, call_id="st-2")
        self.offer(new_caller(), ts=T0 + 1, call_id="st-2")  # a retry
        self.offer(new_caller(), ts=T0 + 1, call_id="st-3", dry_run=True)
        self.assertRoute(self.offer(red, ts=T0 + 1, call_id="st-4"), "supervisor", "threat")
        self.assertEqual(self.offer(yellow, ts=T0 + 1, call_id="st-5")["queue"], "supervisor")
        after = self.ok({"op": "stats"})["decisions"]
        delta = {q: n - before.get(q, 0) for q, n in after.items() if n != before.get(q, 0)}
        self.assertEqual(delta, {"standard": 2, "supervisor": 2})

    def test_withheld_callers(self):
        for caller in WITHHELD:
            with self.subTest(caller=caller):
                self.assertRoute(self.offer(caller), "standard", "withheld", repr(caller))

    def test_normalisation(self):
        f = self.flag("+1 (555) 123-4567", "red")
        self.assertEqual(f["caller"], "+15551234567")
        for form in ["15551234567", "5551234567", "+15551234567", "+1 (555) 123-4567",
                     "1-555-123-4567"]:
            with self.subTest(form=form):
                self.assertRoute(self.offer(form, ts=T0 + 5), "supervisor", "threat", form)
        s = self.show("5551234567", ts=T0 + 5)
        self.assertEqual(s["caller"], "+15551234567")
        self.assertEqual([x["id"] for x in s["flags"]], [f["id"]])

    def test_flag_add_reply(self):
        caller = new_caller()
        local = caller[2:]  # without +1
        cases = [
            # (what, extra fields, expected expires_at; None = from the policy)
            ("expires_days", {"expires_days": 2}, T0 + 2 * DAY),
            ("fractional days", {"expires_days": 0.5}, T0 + DAY // 2),
            ("expires_at", {"expires_at": T0 + 1234}, T0 + 1234),
            ("policy default", {}, None),
        ]
        for what, extra, expires in cases:
            with self.subTest(what):
                req = {"op": "flag.add", "id": "add-" + what, "caller": local, "code": "yellow",
                       "reason": "shouted at agent", "by": "sup-17", "ts": T0}
                req.update(extra)
                r = self.ok(req)
                self.assertEqual(r["id"], "add-" + what)
                f = r["flag"]
                self.assertIsInstance(f.get("id"), int)
                self.assertGreaterEqual(f["id"], 1)
                self.assertEqual(f["caller"], caller)
                self.assertEqual(f["code"], "yellow")
                self.assertEqual(f["reason"], "shouted at agent")
                self.assertEqual(f["by"], "sup-17")
                self.assertEqual(f["source"], "supervisor")
                self.assertEqual(f["created_at"], T0)
                self.assertIn("expires_at", f)
                if expires is not None:
                    self.assertEqual(f["expires_at"], expires)
                else:
                    self.assertTrue(f["expires_at"] is None or f["expires_at"] > T0, f)
                self.assertNotIn("revoked_at", f)
                self.assertDb(f)

    def test_flag_ids_increase(self):
        caller = new_caller()
        ids = [self.flag(caller, "orange", ts=T0 + i)["id"] for i in range(3)]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), 3)

    def test_same_time_newest_id_first(self):
        caller = new_caller()
        ids = [self.flag(caller, code, ts=T0)["id"] for code in ("orange", "nuisance", "red")]
        flags = self.show(caller, ts=T0)["flags"]
        self.assertEqual([f["id"] for f in flags], ids[::-1])

    def test_flag_add_default_time_is_now(self):
        req = {"op": "flag.add", "caller": new_caller(), "code": "orange", "reason": "r",
               "by": "b"}
        before = int(time.time())
        f = self.ok(req)["flag"]
        after = int(time.time())
        self.assertTrue(before - 1 <= f["created_at"] <= after + 1, f)

    def assertDb(self, f):
        """The acknowledged flag is in the database file, read from outside."""
        db = sqlite3.connect(self.daemon.db, timeout=5)
        db.row_factory = sqlite3.Row
        try:
            row = db.execute("SELECT * FROM flags WHERE id = ?", (f["id"],)).fetchone()
        finally:
            db.close()
        self.assertIsNotNone(row, "flag %d acknowledged but not in the database" % f["id"])
        values = set(row)
        for key in ("caller", "code", "reason", "by", "created_at"):
            self.assertIn(f[key], values, "%s of %r not stored: %r" % (key, f, tuple(row)))

    def test_flag_revoke(self):
        caller = new_caller()
        f = self.flag(caller, "red", ts=T0)
        self.assertRoute(self.offer(caller, ts=T0 + 10), "supervisor", "threat")
        r = self.ok({"op": "flag.revoke", "id": 9, "flag_id": f["id"], "by": "sup-2",
                     "reason": "added by mistake", "ts": T0 + 20})
        self.assertEqual(r["id"], 9)
        g = r["flag"]
        for key in ("id", "caller", "code", "reason", "by", "source", "created_at",
                    "expires_at"):
            self.assertEqual(g[key], f[key], key)
        self.assertEqual(g["revoked_at"], T0 + 20)
        self.assertEqual(g["revoked_by"], "sup-2")
        self.assertEqual(g["revoke_reason"], "added by mistake")
        self.assertRoute(self.offer(caller, ts=T0 + 30), "standard", "default", "after revoke")
        r = self.err({"op": "flag.revoke", "id": "again", "flag_id": f["id"], "by": "sup-3",
                      "reason": "twice", "ts": T0 + 40}, "conflict")
        self.assertEqual(r["id"], "again")
        # The second attempt changed nothing.
        s = self.show(caller, ts=T0 + 50)
        self.assertEqual(s["flags"][0]["revoked_by"], "sup-2")
        self.assertEqual(s["flags"][0]["revoked_at"], T0 + 20)
        self.err({"op": "flag.revoke", "flag_id": 2 ** 40, "by": "x", "reason": "y"},
                 "not_found")

    def test_revoke_one_of_several(self):
        caller = new_caller()
        red = self.flag(caller, "red", ts=T0)
        self.flag(caller, "nuisance", ts=T0 + 1)
        self.ok({"op": "flag.revoke", "flag_id": red["id"], "by": "s", "reason": "r",
                 "ts": T0 + 2})
        self.assertEqual(self.offer(caller, ts=T0 + 3)["queue"], "long-hold")

    def test_caller_show(self):
        caller = new_caller()
        nuisance = self.flag(caller, "nuisance", ts=T0, expires_days=36500)
        orange = self.flag(caller, "orange", ts=T0 + 10, expires_days=36500)
        red = self.flag(caller, "red", ts=T0 + 20, expires_days=36500)
        short = self.flag(caller, "yellow", ts=T0 + 30, expires_days=1)
        self.ok({"op": "flag.revoke", "flag_id": red["id"], "by": "sup-9", "reason": "wrong",
                 "ts": T0 + 40})
        r = self.ok({"op": "caller.show", "id": "s", "caller": caller[1:], "ts": T0 + 2 * DAY})
        self.assertEqual(r["id"], "s")
        self.assertEqual(r["caller"], caller)
        got = [(f["id"], f["code"], f["state"]) for f in r["flags"]]
        self.assertEqual(got, [(short["id"], "yellow", "expired"),
                               (red["id"], "red", "revoked"),
                               (orange["id"], "orange", "active"),
                               (nuisance["id"], "nuisance", "active")])
        self.assertEqual(r["flags"][1]["revoked_by"], "sup-9")
        self.assertEqual(r["flags"][1]["revoke_reason"], "wrong")
        self.assertEqual(r["flags"][2]["reason"], "test flag")
        self.assertEqual(r["active_flags"], 2)
        self.assertIsInstance(r["score"], (int, float))
        self.assertGreater(r["score"], 0)
        self.assertEqual(r["recent_calls"], [])
        self.assertEqual(r["route"]["queue"], "long-hold", r)
        self.assertIsInstance(r["route"]["target"], str)
        # While the yellow flag was active, the route said so.
        r = self.show(caller, ts=T0 + 50)
        self.assertEqual(r["flags"][0]["state"], "active")
        self.assertRoute(r["route"], "supervisor", "abuse", "show while yellow active")

    def test_caller_show_unknown(self):
        r = self.show(new_caller())
        self.assertEqual(r["flags"], [])
        self.assertEqual(r["score"], 0)
        self.assertEqual(r["active_flags"], 0)
        self.assertRoute(r["route"], "standard", "default")

    def test_expiry_by_ts(self):
        caller = new_caller()
        f = self.flag(caller, "red", ts=T0, expires_days=1)
        self.assertEqual(f["expires_at"], T0 + DAY)
        self.assertRoute(self.offer(caller, ts=T0 + DAY - 1), "supervisor", "threat")
        self.assertRoute(self.offer(caller, ts=T0 + DAY + 1), "standard", "default")
        other = new_caller()
        self.flag(other, "nuisance", ts=T0, expires_at=T0 + 100)
        self.assertEqual(self.offer(other, ts=T0 + 99)["queue"], "long-hold")
        self.assertRoute(self.offer(other, ts=T0 + 101), "standard", "default")
        s = self.show(other, ts=T0 + 101)
        self.assertEqual(s["flags"][0]["state"], "expired")
        self.assertEqual(s["active_flags"], 0)

    def test_policy_default_expiry_counts(self):
        # A flag with the policy's default expiry is active right after it was added.
        caller = new_caller()
        f = self.flag(caller, "yellow", ts=T0)
        self.assertRoute(self.offer(caller, ts=T0 + 1), "supervisor", "abuse")
        if f["expires_at"] is not None:
            self.assertRoute(self.offer(caller, ts=f["expires_at"] + 1), "standard", "default")

    def test_decay_by_ts(self):
        caller = new_caller()
        for i in range(3):
            self.flag(caller, "orange", ts=T0, expires_days=36500)
        self.assertRoute(self.offer(caller, ts=T0), "supervisor", "score")
        s0, s1, s2 = [self.show(caller, ts=T0 + d * DAY)["score"] for d in (0, 30, 60)]
        # Exponential decay, whatever the half-life: s(60 d) / s0 == (s(30 d) / s0) ** 2.
        self.assertGreater(s0, s1)
        self.assertGreater(s1, s2)
        self.assertGreater(s2, 0)
        self.assertAlmostEqual(s2 / s0, (s1 / s0) ** 2, delta=1e-3)
        # Long after, the flags are still active but weigh too little to escalate.
        late = T0 + 5 * 365 * DAY
        self.assertRoute(self.offer(caller, ts=late), "standard", "default", "decayed score")
        s = self.show(caller, ts=late)
        self.assertEqual(s["active_flags"], 3)
        self.assertLess(s["score"], s2)

    def test_score_adds_weights(self):
        # Three flags of one code made at the same time score three times one of them.
        one, three = new_caller(), new_caller()
        self.flag(one, "orange", ts=T0)
        for _ in range(3):
            self.flag(three, "orange", ts=T0)
        s1 = self.show(one, ts=T0)["score"]
        s3 = self.show(three, ts=T0)["score"]
        self.assertGreater(s1, 0)
        self.assertAlmostEqual(s3, 3 * s1, delta=1e-6)
        # A revoked or expired flag does not count.
        f = self.flag(one, "orange", ts=T0, expires_days=1)
        self.assertAlmostEqual(self.show(one, ts=T0)["score"], 2 * s1, delta=1e-6)
        self.ok({"op": "flag.revoke", "flag_id": f["id"], "by": "s", "reason": "r", "ts": T0})
        self.assertAlmostEqual(self.show(one, ts=T0)["score"], s1, delta=1e-6)


class TcpOps(Ops, cwtest.DaemonCase):
    transport = "tcp"


class UnixOps(Ops, cwtest.DaemonCase):
    transport = "unix"


if __name__ == "__main__":
    cwtest.main()
