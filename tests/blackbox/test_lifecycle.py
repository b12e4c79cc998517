"""Call lifecycle and nuisance detection: call events, call log, patterns, restarts, retention."""

import itertools
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cwtest  # noqa: E402
from cwtest import DAY, encode, new_caller, wait_for  # noqa: E402

_call_ids = itertools.count(1)
_dialed = itertools.count(1)


def new_call_id():
    return "lc-%d" % next(_call_ids)


def new_dialed():
    """A dialled number no other test in this process uses, in E.164."""
    return "+1800%07d" % next(_dialed)


def now():
    return int(time.time())


def sample_policy_with(directory, old, new):
    """A copy of the sample policy in directory with one line changed."""
    with open(cwtest.SAMPLE_POLICY, encoding="utf-8") as f:
        text = f.read()
    if old not in text:
        raise AssertionError("the sample policy no longer holds %r" % old)
    path = os.path.join(directory, "policy.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new, 1))
    return path


class Calls:
    """Helpers for offering calls and sending their events; mixed into a DaemonCase."""

    def offer_call(self, caller, ts, call_id=None, client=None, **extra):
        req = {"op": "call.offered", "call_id": call_id or new_call_id(), "ts": ts}
        if caller is not None:
            req["caller"] = caller
        req.update(extra)
        r = self.ok(req, client)
        self.assertEqual(r.get("call_id"), req["call_id"], r)
        return r

    def event(self, op, call_id, ts, client=None, **extra):
        """Sends one call event and checks that the reply is exactly {"ok": true}."""
        req = {"op": op, "call_id": call_id, "ts": ts}
        req.update(extra)
        r = self.call(req, client)
        self.assertEqual(r, {"ok": True}, "for %r" % req)
        return r

    def short_call(self, caller, ts, how, talk=0, dialed=None):
        """A call offered at ts that ends the given way: caller, agent or abandoned."""
        cid = new_call_id()
        extra = {"dialed": dialed} if dialed else {}
        self.offer_call(caller, ts, cid, **extra)
        if how == "abandoned":
            self.event("call.abandoned", cid, ts + 5)
        else:
            self.event("call.answered", cid, ts + 2, agent="agent-1")
            self.event("call.ended", cid, ts + 2 + talk, ended_by=how)
        return cid

    def row(self, call_id):
        """The call log row of call_id (None when absent); call ids are unique in these tests."""
        rows = self.daemon.query("SELECT * FROM calls WHERE call_id = ?", (call_id,))
        self.assertLessEqual(len(rows), 1, rows)
        return rows[0] if rows else None

    def wait_row(self, call_id, pred=lambda r: True, timeout=2.0):
        """The row once it exists and pred holds (the call log commits every 50 ms)."""
        def matching():
            r = self.row(call_id)
            return r if r is not None and pred(r) else None
        r = wait_for(matching, timeout)
        self.assertIsNotNone(r, "no matching call log row for %s: %r" % (call_id,
                                                                       self.row(call_id)))
        return r

    def policy_version(self):
        return self.ok({"op": "ping"})["policy"]

    def auto_flags(self, caller):
        return [f for f in self.show(caller, ts=now())["flags"]
                if f.get("source") == "auto" and f.get("code") == "nuisance"]

    def assertLongHold(self, r, pattern, what=""):
        self.assertRoute(r, "long-hold", "nuisance-pattern", what)
        self.assertIn(pattern, r["reason"], r)


class Lifecycle(Calls, cwtest.DaemonCase):
    """call.answered, call.ended, call.abandoned and the rows they leave in the call log."""

    def test_events_reply_ok(self):
        t = now() - 600
        a, b = new_call_id(), new_call_id()
        self.offer_call(new_caller(), t, a, dialed="8005550100")
        self.offer_call(new_caller(), t, b)
        self.assertEqual(self.call({"op": "call.answered", "id": "x", "call_id": a,
                                    "agent": "agent-7", "ts": t + 10}), {"id": "x", "ok": True})
        self.assertEqual(self.call({"op": "call.ended", "id": 9, "call_id": a,
                                    "ended_by": "caller", "ts": t + 95}), {"id": 9, "ok": True})
        self.assertEqual(self.call({"op": "call.abandoned", "call_id": b, "ts": t + 100}),
                         {"ok": True})
        # Without ts the server clock is used.
        c = new_call_id()
        self.offer_call(new_caller(), t, c)
        self.assertEqual(self.call({"op": "call.ended", "call_id": c}), {"ok": True})
        r = self.wait_row(c, lambda r: r["ended_at"] is not None)
        self.assertLessEqual(abs(r["ended_at"] - now()), 5, r)

    def test_call_log_thread_gives_way(self):
        # Exactly one thread, the call log's, runs SCHED_IDLE (policy 5 in /proc's stat): it
        # must never take the CPU from the loop that answers offers.
        policies = []
        task = "/proc/%d/task" % self.daemon.proc.pid
        for tid in os.listdir(task):
            with open(os.path.join(task, tid, "stat")) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            policies.append(int(fields[38]))  # field 41 of stat; 3 consumed by pid (comm) state
        self.assertEqual(policies.count(5), 1, policies)
        self.assertEqual(policies.count(0), len(policies) - 1, policies)

    def test_unknown_call_is_not_found(self):
        t = now()
        for op in ("call.answered", "call.ended", "call.abandoned"):
            for cid in ("nope", "lc-never-offered", "x" * 128):
                self.err({"op": op, "call_id": cid, "ts": t}, "not_found")

    def test_bad_input(self):
        t = now() - 600
        cid = new_call_id()
        self.offer_call(new_caller(), t, cid)
        ahead = now() + DAY + 3600
        cases = [
            ({"op": "call.ended"}, "missing_field"),
            ({"op": "call.answered", "call_id": None}, "missing_field"),
            ({"op": "call.ended", "call_id": 5}, "bad_field"),
            ({"op": "call.ended", "call_id": "x" * 129}, "bad_field"),
            ({"op": "call.ended", "call_id": cid, "ended_by": "bob"}, "bad_field"),
            ({"op": "call.ended", "call_id": cid, "ended_by": ""}, "bad_field"),
            ({"op": "call.ended", "call_id": cid, "ended_by": "Caller"}, "bad_field"),
            ({"op": "call.ended", "call_id": cid, "ended_by": 1}, "bad_field"),
            ({"op": "call.ended", "call_id": cid, "ts": ahead}, "bad_field"),
            ({"op": "call.answered", "call_id": cid, "ts": ahead}, "bad_field"),
            ({"op": "call.abandoned", "call_id": cid, "ts": ahead}, "bad_field"),
            ({"op": "call.ended", "call_id": cid, "ts": "soon"}, "bad_field"),
            ({"op": "call.ended", "call_id": cid, "ts": -1}, "bad_field"),
            ({"op": "call.abandoned", "call_id": cid, "ts": 253402300800}, "bad_field"),
            ({"op": "call.answered", "call_id": cid, "agent": 7}, "bad_field"),
            ({"op": "call.answered", "call_id": cid, "colour": "red"}, "bad_field"),
            ({"op": "call.abandoned", "call_id": cid, "ended_by": "caller"}, "bad_field"),
        ]
        for req, code in cases:
            with self.subTest(req=req):
                self.err(req, code)
        # None of them touched the call: it is still open and can still be ended.
        time.sleep(0.3)
        r = self.row(cid)
        self.assertEqual((r["answered_at"], r["ended_at"], r["ended_by"], r["abandoned"]),
                         (None, None, None, 0), r)
        self.event("call.ended", cid, t + 30)
        self.wait_row(cid, lambda r: r["ended_at"] == t + 30)

    def test_ts_less_than_a_day_ahead_is_accepted(self):
        t = now()
        cid = new_call_id()
        self.offer_call(new_caller(), t, cid)
        self.event("call.answered", cid, t + 3600, agent="a")
        self.event("call.ended", cid, t + DAY - 600)
        r = self.wait_row(cid, lambda r: r["ended_at"] is not None)
        self.assertEqual((r["answered_at"], r["ended_at"], r["talk_s"]),
                         (t + 3600, t + DAY - 600, DAY - 4200), r)

    def test_call_log_row(self):
        t = now() - 900
        version = self.policy_version()
        cases = [
            # (events, expected row fields)
            ([("call.answered", 3, {"agent": "agent-7"}),
              ("call.ended", 50, {"ended_by": "caller"})],
             {"answered_at": t + 3, "agent": "agent-7", "ended_at": t + 50,
              "ended_by": "caller", "abandoned": 0, "talk_s": 47}),
            ([("call.answered", 1, {"agent": "agent-2"}),
              ("call.ended", 600, {"ended_by": "agent"})],
             {"answered_at": t + 1, "agent": "agent-2", "ended_at": t + 600,
              "ended_by": "agent", "abandoned": 0, "talk_s": 599}),
            ([("call.answered", 4, {"agent": "agent-3"}),
              ("call.ended", 9, {})],  # ended_by defaults to caller
             {"answered_at": t + 4, "agent": "agent-3", "ended_at": t + 9,
              "ended_by": "caller", "abandoned": 0, "talk_s": 5}),
            ([("call.answered", 4, {"agent": "agent-3"}),
              ("call.ended", 4, {"ended_by": "system"})],
             {"answered_at": t + 4, "ended_at": t + 4, "ended_by": "system", "talk_s": 0}),
            ([("call.abandoned", 40, {})],
             {"answered_at": None, "agent": None, "ended_at": t + 40, "ended_by": "caller",
              "abandoned": 1, "talk_s": None}),
            ([("call.ended", 12, {"ended_by": "caller"})],
             {"answered_at": None, "ended_at": t + 12, "ended_by": "caller", "abandoned": 0,
              "talk_s": None}),
            ([("call.answered", 5, {"agent": "agent-9"})],
             {"answered_at": t + 5, "agent": "agent-9", "ended_at": None, "ended_by": None,
              "talk_s": None}),
            ([], {"answered_at": None, "ended_at": None, "ended_by": None, "abandoned": 0,
                  "talk_s": None}),
        ]
        for events, want in cases:
            with self.subTest(events=events):
                cid, caller = new_call_id(), new_caller()
                r = self.offer_call(caller, t, cid, dialed="(800) 555-0100")
                self.assertRoute(r, "standard", "default")
                for op, dt, extra in events:
                    self.event(op, cid, t + dt, **extra)
                want_all = dict(call_id=cid, caller=caller, dialed="+18005550100",
                                offered_at=t, action="queue", queue="standard", rule="default",
                                policy=version, degraded=0, **want)
                row = self.wait_row(cid, lambda r, want=want: all(
                    r[k] == want[k] for k in ("answered_at", "ended_at")))
                self.assertEqual({k: row[k] for k in want_all}, want_all)

    def test_row_of_a_flagged_caller_names_its_rule(self):
        t = now() - 300
        caller = new_caller()
        self.flag(caller, "red", ts=t - 60)
        cid = new_call_id()
        r = self.offer_call(caller, t, cid)
        self.assertRoute(r, "supervisor", "threat")
        row = self.wait_row(cid)
        self.assertEqual((row["queue"], row["rule"], row["policy"]),
                         ("supervisor", "threat", r["policy"]))

    def test_withheld_row(self):
        t = now() - 300
        cid = new_call_id()
        self.offer_call("anonymous", t, cid)
        row = self.wait_row(cid)
        self.assertEqual((row["caller"], row["dialed"], row["rule"]), (None, None, "withheld"))

    def test_ended_twice_is_idempotent(self):
        # Times near the clock: an ended call lingers calls.linger_s after its end time.
        t = now() - 20
        cid = new_call_id()
        self.offer_call(new_caller(), t, cid)
        self.event("call.answered", cid, t + 2, agent="a-1")
        self.event("call.ended", cid, t + 8, ended_by="agent")
        self.event("call.ended", cid, t + 15, ended_by="caller")
        self.event("call.ended", cid, t + 8, ended_by="agent")
        self.event("call.abandoned", cid, t + 16)
        self.event("call.answered", cid, t + 3, agent="a-2")
        self.wait_row(cid, lambda r: r["ended_at"] is not None)
        time.sleep(0.3)
        rows = self.daemon.query("SELECT * FROM calls WHERE call_id = ?", (cid,))
        self.assertEqual(len(rows), 1, rows)
        r = rows[0]
        self.assertEqual((r["answered_at"], r["agent"], r["ended_at"], r["ended_by"],
                          r["abandoned"], r["talk_s"]), (t + 2, "a-1", t + 8, "agent", 0, 6), r)

    def test_ended_before_answered(self):
        t = now() - 30
        cid = new_call_id()
        self.offer_call(new_caller(), t, cid)
        self.event("call.ended", cid, t + 10, ended_by="caller")
        self.event("call.answered", cid, t + 12, agent="late")
        r = self.wait_row(cid, lambda r: r["ended_at"] is not None and
                          r["answered_at"] is not None)
        self.assertEqual((r["ended_at"], r["ended_by"], r["answered_at"], r["talk_s"]),
                         (t + 10, "caller", t + 12, None), r)

    def test_event_before_the_offer_counts_at_the_offer(self):
        t = now() - 30
        cid = new_call_id()
        self.offer_call(new_caller(), t, cid)
        self.event("call.answered", cid, t - 50, agent="a")
        self.event("call.ended", cid, t + 7)
        r = self.wait_row(cid, lambda r: r["ended_at"] is not None)
        self.assertEqual((r["answered_at"], r["ended_at"], r["talk_s"]), (t, t + 7, 7), r)
        cid = new_call_id()
        self.offer_call(new_caller(), t, cid)
        self.event("call.ended", cid, t - 100, ended_by="agent")
        r = self.wait_row(cid, lambda r: r["ended_at"] is not None)
        self.assertEqual((r["ended_at"], r["ended_by"]), (t, "agent"), r)

    def test_retried_offer_is_logged_once(self):
        t = now() - 60
        caller = new_caller()
        cid = new_call_id()
        first = self.offer_call(caller, t, cid)
        again = self.offer_call(caller, t + 1, cid)
        self.assertEqual(first, again)
        self.event("call.ended", cid, t + 5)
        self.wait_row(cid, lambda r: r["ended_at"] is not None)
        time.sleep(0.3)
        self.assertEqual(len(self.daemon.query("SELECT id FROM calls WHERE call_id = ?",
                                               (cid,))), 1)
        self.assertEqual(self.show(caller, ts=t + 10)["nuisance"]["repeat"], 1)


class Nuisance(Calls, cwtest.DaemonCase):
    """Repeat calls, short calls, withheld callers, auto flags and caller.show's view of them."""

    def test_repeat_calls(self):
        base = now() - 3600
        cases = [
            # (offsets of six calls in seconds, whether the sixth goes to long-hold)
            ([0, 60, 120, 180, 240, 300], True),
            ([0, 0, 0, 0, 0, 0], True),
            ([0, 119, 238, 357, 476, 595], True),
            ([0, 125, 250, 375, 500, 625], False),
            ([0, 130, 260, 390, 520, 650], False),
            ([0, 10, 20, 30, 40, 601], False),
        ]
        for offsets, fires in cases:
            with self.subTest(offsets=offsets):
                caller = new_caller()
                for i, dt in enumerate(offsets):
                    r = self.offer_call(caller, base + dt, dialed="8005550100")
                    if i == 5 and fires:
                        self.assertLongHold(r, "repeat", "call %d" % (i + 1))
                        self.assertIn("5 earlier calls within 600 s", r["reason"])
                    else:
                        self.assertRoute(r, "standard", "default", "call %d" % (i + 1))

    def test_repeat_adds_one_auto_flag(self):
        base = now() - 3600
        caller = new_caller()
        for i in range(6):
            r = self.offer_call(caller, base + 60 * i)
        self.assertLongHold(r, "repeat")
        flags = wait_for(lambda: self.auto_flags(caller), 2.0)
        self.assertEqual(len(flags), 1, flags)
        f = flags[0]
        self.assertEqual((f["caller"], f["by"], f["state"]), (caller, "callwarden", "active"), f)
        self.assertIn("repeat", f["reason"])
        # The caller is flagged now: the flag rule catches the next calls, and no second flag.
        r = self.offer_call(caller, base + 360)
        self.assertRoute(r, "long-hold", "nuisance")
        r = self.offer_call(caller, base + 370)
        self.assertRoute(r, "long-hold", "nuisance")
        time.sleep(0.3)
        self.assertEqual(len(self.auto_flags(caller)), 1)
        audit = self.daemon.query("SELECT actor, action FROM audit WHERE subject = ?", (caller,))
        self.assertEqual(audit, [{"actor": "callwarden", "action": "flag.add"}])

    def test_pipelined_burst_over_minutes_adds_one_auto_flag(self):
        # A replay: 300 calls 100 s apart (each one fires repeat), sent at once. The first auto
        # flag is active for every later call (7 days), so it stays the only one
        # (docs/policy.md, auto_flag: "unless the caller already has an active flag").
        base = now() - 40000
        caller = new_caller()
        data = b"".join(encode({"op": "call.offered", "call_id": "b-%s-%d" % (caller, i),
                                "caller": caller, "ts": base + 100 * i}) for i in range(300))
        replies = self.c.exchange(data, 300)
        self.assertTrue(all(r.get("ok") is True for r in replies))
        self.assertLongHold(replies[5], "repeat")
        wait_for(lambda: self.auto_flags(caller), 2.0)
        time.sleep(0.3)
        flags = self.auto_flags(caller)
        self.assertEqual(len(flags), 1, "one automatic flag expected, got %d (created at base +"
                         " %r ...)" % (len(flags), sorted(f["created_at"] - base
                                                          for f in flags)[:4]))

    def test_short_calls(self):
        cases = [
            # (how each earlier call ended: (ended_by or "abandoned", talk s), gap to the next
            #  call after the last offer, whether the next call goes to long-hold)
            ([("caller", 5)] * 3, 100, True),
            ([("caller", 0), ("caller", 9), ("caller", 1)], 100, True),
            ([("abandoned", 0)] * 3, 100, True),
            ([("caller", 5), ("abandoned", 0), ("caller", 3)], 100, True),
            ([("agent", 5)] * 3, 100, False),
            ([("caller", 5), ("caller", 5), ("agent", 5)], 100, False),
            ([("caller", 10)] * 3, 100, False),
            ([("caller", 5)] * 2, 100, False),
            ([("caller", 5)] * 3, 3700, False),  # the short calls left the 1 h window
        ]
        for endings, gap, fires in cases:
            with self.subTest(endings=endings, gap=gap):
                caller = new_caller()
                base = now() - 8000
                for i, (how, talk) in enumerate(endings):
                    self.short_call(caller, base + 100 * i, how, talk)
                r = self.offer_call(caller, base + 100 * (len(endings) - 1) + gap)
                if fires:
                    self.assertLongHold(r, "short")
                else:
                    self.assertRoute(r, "standard", "default")

    def test_short_calls_add_an_auto_flag(self):
        caller = new_caller()
        base = now() - 2000
        for i in range(3):
            self.short_call(caller, base + 100 * i, "caller", 4)
        self.assertLongHold(self.offer_call(caller, base + 400), "short")
        flags = wait_for(lambda: self.auto_flags(caller), 2.0)
        self.assertEqual(len(flags), 1, flags)
        self.assertIn("short", flags[0]["reason"])

    def test_withheld_counted_per_dialled_number(self):
        base = now() - 3000
        dialed = new_dialed()
        # Every spelling of a withheld caller counts as the same unknown caller.
        for i, caller in enumerate(["anonymous", "", "Restricted", "PRIVATE", "unknown", None]):
            r = self.offer_call(caller, base + 30 * i, dialed=dialed)
            if i < 5:
                self.assertRoute(r, "standard", "withheld", "call %d" % (i + 1))
            else:
                self.assertLongHold(r, "repeat")
        # Six withheld calls to six different numbers: nothing to count together.
        for i in range(6):
            r = self.offer_call("anonymous", base + 30 * i, dialed=new_dialed())
            self.assertRoute(r, "standard", "withheld", "call %d" % (i + 1))
        # Calls from known callers to a number do not count for the withheld ones.
        dialed = new_dialed()
        for i in range(5):
            self.offer_call(new_caller(), base + 30 * i, dialed=dialed)
        r = self.offer_call("anonymous", base + 200, dialed=dialed)
        self.assertRoute(r, "standard", "withheld")

    def test_withheld_short_calls(self):
        base = now() - 3000
        dialed = new_dialed()
        for i in range(3):
            self.short_call("anonymous", base + 100 * i, "abandoned", dialed=dialed)
        self.assertLongHold(self.offer_call("anonymous", base + 400, dialed=dialed), "short")
        self.assertRoute(self.offer_call("anonymous", base + 400, dialed=new_dialed()),
                         "standard", "withheld")

    def test_dry_run_does_not_count(self):
        base = now() - 3000
        caller = new_caller()
        ids = []
        for i in range(6):
            cid = new_call_id()
            ids.append(cid)
            r = self.offer_call(caller, base + 10 * i, cid, dry_run=True)
            self.assertRoute(r, "standard", "default")
        r = self.offer_call(caller, base + 70)
        self.assertRoute(r, "standard", "default")
        # Nor are dry runs logged or known to the call events.
        self.wait_row(r["call_id"])
        time.sleep(0.2)
        for cid in ids:
            self.assertIsNone(self.row(cid))
            self.err({"op": "call.ended", "call_id": cid, "ts": base + 80}, "not_found")
        self.assertEqual(self.show(caller, ts=base + 80)["nuisance"]["repeat"], 1)

    def test_caller_show_recent_calls_and_counters(self):
        base = now() - 2000
        version = self.policy_version()
        caller = new_caller()
        a, b, c = new_call_id(), new_call_id(), new_call_id()
        self.offer_call(caller, base, a, dialed="8005550100")
        self.event("call.answered", a, base + 5, agent="agent-1")
        self.event("call.ended", a, base + 8, ended_by="caller")
        self.offer_call(caller, base + 60, b)
        self.event("call.abandoned", b, base + 70)
        self.offer_call(caller, base + 120, c, dialed="8005550101")
        self.event("call.answered", c, base + 121, agent="agent-2")

        def shown():
            s = self.show(caller, ts=base + 130)
            calls = s["recent_calls"]
            return s if len(calls) == 3 and calls[0].get("answered_at") else None
        s = wait_for(shown, 2.0)
        self.assertIsNotNone(s, self.show(caller, ts=base + 130))
        calls = s["recent_calls"]
        self.assertEqual([x["call_id"] for x in calls], [c, b, a])
        want = [
            {"call_id": c, "offered_at": base + 120, "dialed": "+18005550101",
             "action": "queue", "queue": "standard", "rule": "default", "policy": version,
             "answered_at": base + 121, "agent": "agent-2", "ended_at": None, "ended_by": None,
             "talk_s": None},
            {"call_id": b, "offered_at": base + 60, "dialed": None, "action": "queue",
             "queue": "standard", "rule": "default", "policy": version, "answered_at": None,
             "agent": None, "ended_at": base + 70, "ended_by": "caller", "talk_s": None},
            {"call_id": a, "offered_at": base, "dialed": "+18005550100", "action": "queue",
             "queue": "standard", "rule": "default", "policy": version,
             "answered_at": base + 5, "agent": "agent-1", "ended_at": base + 8,
             "ended_by": "caller", "talk_s": 3},
        ]
        for got, exp in zip(calls, want):
            self.assertEqual({k: got.get(k) for k in exp}, exp)
        n = s["nuisance"]
        self.assertEqual((n["repeat"], n["short"], n["since_last_end_s"], n["fired"]),
                         (3, 2, 60, []), n)
        # Later the repeat window has passed but the short calls are still within the hour.
        n = self.show(caller, ts=base + 1000)["nuisance"]
        self.assertEqual((n["repeat"], n["short"], n["fired"]), (0, 2, []), n)
        # A third short call: the pattern fires, and caller.show says so.
        self.event("call.ended", c, base + 125, ended_by="caller")
        n = self.show(caller, ts=base + 130)["nuisance"]
        self.assertEqual((n["short"], n["since_last_end_s"]), (3, 5), n)
        self.assertIn("short", n["fired"])
        self.assertIn("redial", n["fired"])  # ended 5 s ago, under the policy's 20 s

    def test_caller_show_fired_repeat(self):
        base = now() - 3000
        caller = new_caller()
        for i in range(6):
            self.offer_call(caller, base + 10 * i)
        n = self.show(caller, ts=base + 60)["nuisance"]
        self.assertGreaterEqual(n["repeat"], 5, n)
        self.assertIn("repeat", n["fired"])
        n = self.show(new_caller(), ts=base + 60)
        self.assertEqual(n["recent_calls"], [])
        self.assertEqual(n["nuisance"]["fired"], [])
        self.assertEqual(n["nuisance"]["repeat"], 0)


class Floods(Calls, cwtest.DaemonCase):
    """Floods of offered calls: every request answered, the daemon unharmed."""

    def test_flood_from_one_number(self):
        n = 2000
        base = now() - 600
        caller = new_caller()
        data = b"".join(encode({"op": "call.offered", "id": i, "call_id": "f1-%d" % i,
                                "caller": caller, "ts": base + i // 100}) for i in range(n))
        replies = self.c.exchange(data, n, timeout=60)
        self.assertEqual([r.get("id") for r in replies], list(range(n)))
        self.assertTrue(all(r.get("ok") is True for r in replies), replies[:3])
        self.assertEqual([r["queue"] for r in replies[:5]], ["standard"] * 5)
        self.assertEqual({r["queue"] for r in replies[5:]}, {"long-hold"})
        self.assertEqual(replies[5]["rule"], "nuisance-pattern")
        self.assertLessEqual({r["rule"] for r in replies[5:]}, {"nuisance-pattern", "nuisance"})
        self.assertEqual(self.ok({"op": "ping"})["ok"], True)
        # One automatic flag, not one per call.
        self.assertEqual(len(wait_for(lambda: self.auto_flags(caller), 2.0)), 1)
        # caller.show lists at most 20 calls, newest first.
        def shown():
            s = self.show(caller, ts=base + 30)
            newest = s["recent_calls"][0]["call_id"] if s["recent_calls"] else None
            return s if newest == "f1-%d" % (n - 1) else None
        s = wait_for(shown, 3.0)
        self.assertIsNotNone(s, "the newest call never reached caller.show")
        self.assertEqual([x["call_id"] for x in s["recent_calls"]],
                         ["f1-%d" % i for i in range(n - 1, n - 21, -1)])
        self.assertIn("repeat", s["nuisance"]["fired"])

    def test_flood_of_distinct_numbers(self):
        n = 20000
        base = now() - 600
        reqs = []
        for i in range(n):
            cid = "f2-%d" % i
            caller = "+1646%07d" % i
            reqs.append(encode({"op": "call.offered", "id": 2 * i, "call_id": cid,
                                "caller": caller, "ts": base + i // 1000}))
            reqs.append(encode({"op": "call.ended", "id": 2 * i + 1, "call_id": cid,
                                "ts": base + i // 1000 + 3}))
        replies = self.c.exchange(b"".join(reqs), 2 * n, timeout=120)
        self.assertEqual([r.get("id") for r in replies], list(range(2 * n)))
        bad = [r for r in replies if r.get("ok") is not True]
        self.assertEqual(bad, [])
        self.assertEqual({(r["queue"], r["rule"]) for r in replies[0::2]},
                         {("standard", "default")})
        self.assertEqual(self.ok({"op": "ping"})["ok"], True)
        with self.daemon.connect() as other:
            self.assertEqual(other.call({"op": "ping"}).get("ok"), True)
        done = wait_for(lambda: self.daemon.query(
            "SELECT COUNT(*) AS n FROM calls WHERE call_id LIKE 'f2-%' AND ended_at IS NOT NULL"
        )[0]["n"] == n, 5.0)
        self.assertTrue(done, "not every flooded call reached the call log ended")


class OwnDaemonCase(Calls, cwtest.DaemonCase):
    """A daemon of each test's own, for tests that restart it; stopped and checked after."""

    @classmethod
    def setUpClass(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        pass

    def setUp(self):
        self.daemon = cwtest.Daemon()
        self.addCleanup(self.daemon.cleanup)
        self.daemon.start()
        self.addCleanup(self.daemon.stop)
        self.connect()

    def connect(self):
        self.c = self.daemon.connect()
        self.addCleanup(self.c.close)

    def restart(self):
        self.c.close()
        self.daemon.stop()
        self.daemon.start()
        self.connect()


class Restarts(OwnDaemonCase):
    """A restart keeps the nuisance counts and the calls in progress."""

    def test_restart_keeps_repeat_counts(self):
        base = now() - 1800
        caller = new_caller()
        for i in range(4):
            self.assertRoute(self.offer_call(caller, base + 60 * i), "standard", "default")
        self.restart()
        self.assertRoute(self.offer_call(caller, base + 240), "standard", "default", "fifth")
        r = self.offer_call(caller, base + 300)
        self.assertLongHold(r, "repeat", "sixth")
        self.assertIn("5 earlier calls within 600 s", r["reason"])
        flags = wait_for(lambda: self.auto_flags(caller), 2.0)
        self.assertEqual(len(flags), 1, flags)

    def test_restart_keeps_short_counts(self):
        base = now() - 1800
        caller = new_caller()
        for i in range(3):
            self.short_call(caller, base + 100 * i, "caller", 3)
        self.restart()
        self.assertLongHold(self.offer_call(caller, base + 400), "short")

    def test_open_calls_survive_a_restart(self):
        t = now() - 60
        a, b, c = new_call_id(), new_call_id(), new_call_id()
        self.offer_call(new_caller(), t, a)
        self.offer_call(new_caller(), t, b)
        self.event("call.answered", b, t + 5, agent="agent-4")
        self.offer_call(new_caller(), t, c)
        self.restart()
        self.event("call.ended", a, t + 30, ended_by="agent")
        self.event("call.ended", b, t + 40)
        self.event("call.abandoned", c, t + 20)
        self.err({"op": "call.ended", "call_id": "lc-unknown", "ts": t}, "not_found")
        r = self.wait_row(a, lambda r: r["ended_at"] is not None)
        self.assertEqual((r["ended_at"], r["ended_by"], r["talk_s"]), (t + 30, "agent", None))
        r = self.wait_row(b, lambda r: r["ended_at"] is not None)
        self.assertEqual((r["answered_at"], r["agent"], r["ended_at"], r["ended_by"],
                          r["talk_s"]), (t + 5, "agent-4", t + 40, "caller", 35))
        r = self.wait_row(c, lambda r: r["ended_at"] is not None)
        self.assertEqual((r["ended_at"], r["abandoned"]), (t + 20, 1))
        # Call-log ids go on after the largest one: a new call gets a new row.
        d = new_call_id()
        self.offer_call(new_caller(), t + 50, d)
        new_id = self.wait_row(d)["id"]
        ids = [x["id"] for x in self.daemon.query("SELECT id FROM calls WHERE call_id != ?",
                                                  (d,))]
        self.assertEqual(len(ids), 3)
        self.assertGreater(new_id, max(ids))


class Retention(OwnDaemonCase):
    """Call log rows past calls.retention_days are pruned in the background; nothing else is."""

    def test_old_rows_are_pruned(self):
        # The first prune runs on the first tick; let it pass so the rows below survive
        # until the restart.
        time.sleep(1.3)
        t = now()
        old, kept = t - 100 * DAY, t - 89 * DAY
        caller = new_caller()
        self.flag(caller, "orange", ts=old, expires_days=36500)
        self.flag(new_caller(), "red", ts=t - 60)
        reqs = []
        # More old rows than one prune batch (1,000): the rest goes at the next ticks. Few
        # calls per caller, ended by agents, so that no nuisance pattern adds a flag.
        for i in range(1500):
            reqs.append({"op": "call.offered", "call_id": "old-%d" % i,
                         "caller": "+1347%07d" % (i // 4), "ts": old + i})
            if i % 2:
                reqs.append({"op": "call.ended", "call_id": "old-%d" % i, "ts": old + i + 30,
                             "ended_by": "agent"})
        for i in range(20):
            reqs.append({"op": "call.offered", "call_id": "kept-%d" % i,
                         "caller": "+1348%07d" % i, "ts": kept + i})
            reqs.append({"op": "call.offered", "call_id": "new-%d" % i, "caller": caller,
                         "ts": t - 5000 + 200 * i})
            reqs.append({"op": "call.ended", "call_id": "new-%d" % i,
                         "ts": t - 5000 + 200 * i + 30, "ended_by": "agent"})
        replies = self.c.exchange(b"".join(encode(r) for r in reqs), len(reqs))
        self.assertTrue(all(r.get("ok") is True for r in replies))
        self.c.close()
        self.daemon.stop()

        def counts():
            rows = self.daemon.query(
                "SELECT SUM(call_id LIKE 'old-%') AS old, SUM(call_id LIKE 'kept-%') AS kept, "
                "SUM(call_id LIKE 'new-%') AS new FROM calls")[0]
            return (rows["old"] or 0, rows["kept"] or 0, rows["new"] or 0)

        def others():
            return [self.daemon.query("SELECT * FROM flags ORDER BY id"),
                    self.daemon.query("SELECT * FROM audit ORDER BY id")]

        self.assertEqual(counts(), (1500, 20, 20), "rows missing before the restart")
        before = others()
        self.assertEqual(len(before[0]), 2)
        self.daemon.start()
        self.connect()
        self.assertTrue(wait_for(lambda: counts()[0] == 0, 3.5),
                        "old rows left 3.5 s after the start: %r" % (counts(),))
        self.assertEqual(counts(), (0, 20, 20))
        self.assertEqual(others(), before)
        s = self.show(caller, ts=t)
        self.assertEqual(len(s["flags"]), 1)
        self.assertEqual(s["recent_calls"][0]["call_id"], "new-19")


class StaleCalls(Calls, cwtest.DaemonCase):
    """A call that never gets an end event is closed by the daemon after calls.close_after_s."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = cwtest.make_tempdir()
        cls.daemon_kwargs = {"directory": cls.tmp, "policy": sample_policy_with(
            cls.tmp, "close_after_s = 14400;", "close_after_s = 60;")}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_stale_call_closed_by_system(self):
        t = now()
        stale, answered, fresh = new_call_id(), new_call_id(), new_call_id()
        self.offer_call(new_caller(), t - 120, stale)
        self.offer_call(new_caller(), t - 100, answered)
        self.event("call.answered", answered, t - 95, agent="agent-5")
        self.offer_call(new_caller(), t - 5, fresh)
        r = self.wait_row(stale, lambda r: r["ended_at"] is not None, 3.0)
        self.assertEqual(r["ended_by"], "system", r)
        self.assertGreaterEqual(r["ended_at"], t - 120, r)
        self.assertLessEqual(r["ended_at"], now() + 1, r)
        self.assertIsNone(r["talk_s"], r)
        r = self.wait_row(answered, lambda r: r["ended_at"] is not None, 3.0)
        self.assertEqual((r["ended_by"], r["agent"]), ("system", "agent-5"), r)
        self.assertIsNotNone(r["talk_s"], r)
        # The young call stays open; a late end of the closed one changes nothing.
        self.assertIsNone(self.row(fresh)["ended_at"])
        self.event("call.ended", stale, now(), ended_by="caller")
        time.sleep(0.3)
        self.assertEqual(self.row(stale)["ended_by"], "system")
        self.event("call.ended", fresh, now())
        self.wait_row(fresh, lambda r: r["ended_by"] == "caller")


if __name__ == "__main__":
    cwtest.main()
