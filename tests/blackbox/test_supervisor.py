"""Supervisor ops of issue 3: call.report, follow-ups, audit trail, flag.list and caller.export."""

import itertools
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cwtest  # noqa: E402
from cwtest import DAY, T0, encode, new_caller, wait_for  # noqa: E402

_ids = itertools.count(1)
HOUR = 3600
FOREVER = {"expires_days": 36500}
# Cursors callwarden never makes, whatever its format: each is bad_field for every list op.
GARBAGE_CURSORS = ["not-a-cursor", "%%%", "", "v1.", "v1.x", "v1.-1", "v1.5junk", " v1.5",
                   "v1.99999999999999999999999", "\u00e9t\u00e9", "A" * 300]


def unique(prefix):
    """A name (call id, agent, supervisor) no other test in this process uses."""
    return "%s-%d-%d" % (prefix, os.getpid(), next(_ids))


def now():
    return int(time.time())


class Helpers:
    """Requests with their replies checked; mixed into a DaemonCase."""

    def start_call(self, caller, ts=None):
        """Offers a call (on the real clock, so that it stays in progress) and returns its id."""
        cid = unique("sv")
        r = self.ok({"op": "call.offered", "call_id": cid, "caller": caller, "ts": ts or now()})
        self.assertEqual(r["call_id"], cid)
        return cid

    def report_req(self, call_id, code, agent="agent-7", ts=None, **extra):
        req = {"op": "call.report", "call_id": call_id, "code": code, "agent": agent,
               "ts": ts or now()}
        req.update(extra)
        return req

    def report(self, call_id, code, agent="agent-7", ts=None, **extra):
        return self.ok(self.report_req(call_id, code, agent, ts, **extra))

    def walk(self, op, key, req, limit, between=None, max_pages=200):
        """Follows the cursor of a list op from the first page to the last; returns the items.
        between(page_number) runs after each page but the last."""
        items, cursor, pages = [], None, 0
        while True:
            q = dict(req, op=op, limit=limit)
            if cursor is not None:
                q["cursor"] = cursor
            r = self.ok(q)
            page = r[key]
            self.assertIsInstance(page, list, r)
            self.assertLessEqual(len(page), limit, r)
            items += page
            pages += 1
            self.assertIn("cursor", r)
            cursor = r["cursor"]
            if cursor is None:
                self.pages = pages
                return items
            self.assertIsInstance(cursor, str, r)
            self.assertTrue(cursor, r)
            self.assertLess(pages, max_pages, "the cursor never ends")
            if between:
                between(pages)

    def flags(self, **filters):
        """One page (up to 1000) of flag.list, as ids."""
        return [f["id"] for f in self.ok(dict(filters, op="flag.list", limit=1000))["flags"]]

    def audit(self, **filters):
        return self.ok(dict(filters, op="audit.list", limit=1000))["audit"]

    def followups(self, **filters):
        return self.ok(dict(filters, op="followup.list", limit=1000))["followups"]

    def followup(self, caller, by="sup-1", note="call back", **extra):
        req = {"op": "followup.add", "caller": caller, "by": by, "note": note}
        req.update(extra)
        return self.ok(req)["followup"]

    def assertAuditRow(self, row):
        for key, kind in (("id", int), ("ts", int), ("actor", str), ("role", str),
                          ("action", str), ("subject", str), ("detail", dict)):
            self.assertIsInstance(row.get(key), kind, "%s in %r" % (key, row))
        self.assertTrue(row["actor"] and row["role"] and row["action"], row)


class Report(Helpers):
    """call.report."""

    def test_report_by_code(self):
        # (code, action, queue, alert, follow-up due after ts, next offer's rule)
        cases = [
            ("red", "transfer", "supervisor", True, DAY, ("supervisor", "threat")),
            ("yellow", "transfer", "supervisor", False, DAY, ("supervisor", "abuse")),
            ("orange", "continue", None, False, None, ("standard", "default")),
        ]
        for code, action, queue, alert, due, route in cases:
            with self.subTest(code=code):
                caller = new_caller()
                agent = unique("agent")
                cid = unique("sv")
                offered = self.ok({"op": "call.offered", "call_id": cid, "caller": caller,
                                   "ts": now()})
                ts = now() + 2
                r = self.ok({"op": "call.report", "id": code, "call_id": cid, "code": code,
                             "agent": agent, "note": "said things", "ts": ts})
                self.assertEqual(r["id"], code)
                self.assertEqual(r["call_id"], cid)
                self.assertEqual(r["action"], action, r)
                self.assertEqual(r["rule"], "report-" + code, r)
                self.assertIsInstance(r.get("reason"), str, r)
                self.assertTrue(r["reason"], r)
                self.assertIsInstance(r.get("policy"), str, r)
                self.assertIs(r["duplicate"], False, r)
                if queue:
                    self.assertEqual(r["queue"], queue, r)
                    self.assertEqual(r["target"], "sip:supervisor@pbx.example", r)
                    self.assertEqual(r["priority"], 10, r)
                    self.assertEqual(r["max_wait_s"], 300, r)
                else:
                    # continue: the call stays in its own queue
                    for key in ("queue", "target", "priority"):
                        self.assertEqual(r[key], offered[key], r)
                if alert:
                    self.assertIs(r["alert"], True, r)
                else:
                    self.assertFalse(r.get("alert", False), r)

                f = r["flag"]
                self.assertIsInstance(f["id"], int, r)
                self.assertEqual((f["caller"], f["code"], f["source"], f["by"], f["reason"],
                                  f["created_at"]),
                                 (caller, code, "agent", agent, "said things", ts), f)
                shown = self.show(caller, ts=ts)["flags"]
                self.assertEqual([(x["id"], x["source"], x["by"], x["state"]) for x in shown],
                                 [(f["id"], "agent", agent, "active")])

                fu = r["followup"]
                if due is None:
                    self.assertIsNone(fu, r)
                else:
                    self.assertIsInstance(fu["id"], int, r)
                    self.assertEqual((fu["caller"], fu["call_id"], fu["due_at"], fu["done_at"]),
                                     (caller, cid, ts + due, None), fu)
                    self.assertEqual((fu["created_at"], fu["created_by"]), (ts, agent), fu)
                    self.assertIsInstance(fu["note"], str, fu)
                    self.assertTrue(fu["note"], fu)
                    listed = self.followups(caller=caller, state="all")
                    self.assertEqual([x["id"] for x in listed], [fu["id"]])

                rows = self.audit(caller=caller)
                for row in rows:
                    self.assertAuditRow(row)
                    self.assertEqual(row["subject"], caller, row)
                    self.assertEqual(row["actor"], agent, row)
                    self.assertEqual(row["ts"], ts, row)
                want = {"report.add", "flag.add"} | ({"followup.add"} if due else set())
                self.assertEqual(sorted(x["action"] for x in rows), sorted(want), rows)

                d = self.offer(caller, ts=ts + 10, call_id=unique("next"))
                self.assertEqual((d["queue"], d["rule"]), route, d)

    def test_report_default_reason(self):
        caller = new_caller()
        cid = self.start_call(caller)
        f = self.report(cid, "orange")["flag"]
        self.assertEqual(f["reason"], "reported by agent during call %s" % cid)

    def test_report_on_ended_call_within_linger(self):
        caller = new_caller()
        cid = self.start_call(caller, ts=now())
        self.ok({"op": "call.ended", "call_id": cid, "ended_by": "caller", "ts": now()})
        r = self.report(cid, "yellow")
        self.assertEqual(r["flag"]["caller"], caller)

    def test_report_idempotent(self):
        caller = new_caller()
        cid = self.start_call(caller)
        ts = now()
        first = self.report(cid, "red", agent="agent-1", ts=ts, note="first")
        audit = self.audit(caller=caller)
        self.assertEqual(len(audit), 3, audit)
        retries = [
            ("same request", {"agent": "agent-1", "ts": ts, "note": "first"}),
            ("later retry", {"agent": "agent-1", "ts": ts + 30, "note": "first"}),
            ("other agent and note", {"agent": "agent-2", "ts": ts + 40, "note": "again"}),
        ]
        for what, extra in retries:
            with self.subTest(what):
                r = self.report(cid, "red", **extra)
                self.assertIs(r["duplicate"], True, r)
                for key in ("call_id", "action", "queue", "target", "priority", "rule", "alert",
                            "flag", "followup"):
                    self.assertEqual(r.get(key), first.get(key), "%s: %r vs %r"
                                     % (key, r, first))
        self.assertEqual(len(self.show(caller, ts=ts)["flags"]), 1)
        self.assertEqual(len(self.followups(caller=caller, state="all")), 1)
        self.assertEqual(self.audit(caller=caller), audit)
        # Another code on the same call, or the same code on another call, is a new report.
        other = self.report(cid, "orange", agent="agent-1", ts=ts + 50)
        self.assertIs(other["duplicate"], False)
        self.assertNotEqual(other["flag"]["id"], first["flag"]["id"])
        cid2 = self.start_call(caller)
        again = self.report(cid2, "red", agent="agent-1", ts=ts + 60)
        self.assertIs(again["duplicate"], False)
        self.assertEqual(len({first["flag"]["id"], other["flag"]["id"], again["flag"]["id"]}), 3)
        self.assertEqual(len(self.show(caller, ts=ts + 60)["flags"]), 3)

    def test_report_pipelined_retries(self):
        # The telephony side may resend before the first reply: still one flag.
        caller = new_caller()
        cid = self.start_call(caller)
        req = self.report_req(cid, "yellow")
        replies = self.c.exchange(encode(req) * 5, 5)
        for r in replies:
            self.assertIs(r.get("ok"), True, r)
        self.assertEqual([r["duplicate"] for r in replies], [False] + [True] * 4, replies)
        self.assertEqual(len({r["flag"]["id"] for r in replies}), 1, replies)
        self.assertEqual(len({r["followup"]["id"] for r in replies}), 1, replies)
        self.assertEqual(len(self.show(caller)["flags"]), 1)
        self.assertEqual(len(self.audit(caller=caller)), 3)

    def test_report_withheld_caller(self):
        cid = self.start_call("anonymous")
        ts = now()
        r = self.report(cid, "red", agent="agent-w", ts=ts)
        self.assertEqual((r["action"], r["queue"]), ("transfer", "supervisor"), r)
        self.assertIsNone(r["flag"], r)
        self.assertIs(r["duplicate"], False, r)
        # The follow-up reviews the call: it has no caller to name.
        self.assertEqual((r["followup"]["caller"], r["followup"]["call_id"]), (None, cid), r)
        rows = self.daemon.query("SELECT * FROM reports WHERE call_id = ?", (cid,))
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual((rows[0]["code"], rows[0]["agent"], rows[0]["flag_id"], rows[0]["ts"]),
                         ("red", "agent-w", None, ts), rows)
        self.assertIn(rows[0]["caller"], ("", None), rows)
        self.assertEqual(self.daemon.query("SELECT id FROM flags WHERE source = 'agent' AND "
                                           "created_by = 'agent-w'"), [])
        r2 = self.report(cid, "red", agent="agent-w", ts=ts)
        self.assertIs(r2["duplicate"], True, r2)
        self.assertEqual(len(self.daemon.query("SELECT * FROM reports WHERE call_id = ?",
                                               (cid,))), 1)

    def test_report_bad_input(self):
        caller = new_caller()
        cid = self.start_call(caller)
        base = {"call_id": cid, "code": "red", "agent": "agent-9"}
        cases = [
            ("unknown call", {"call_id": "no-such-call"}, "not_found"),
            ("unknown code", {"code": "purple"}, "bad_field"),
            ("code in wrong case", {"code": "RED"}, "bad_field"),
            ("empty code", {"code": ""}, "bad_field"),
            ("code not a string", {"code": 3}, "bad_field"),
            ("empty agent", {"agent": ""}, "bad_field"),
            ("agent not a string", {"agent": ["a"]}, "bad_field"),
            ("agent of 129 bytes", {"agent": "a" * 129}, "bad_field"),
            ("note of 3,000 bytes", {"note": "n" * 3000}, "bad_field"),
            ("note not a string", {"note": 5}, "bad_field"),
            ("call_id not a string", {"call_id": 17}, "bad_field"),
            ("unknown field", {"queue": "supervisor"}, "bad_field"),
            ("no call_id", {"call_id": None}, "missing_field"),
            ("no code", {"code": None}, "missing_field"),
            ("no agent", {"agent": None}, "missing_field"),
        ]
        for what, change, code in cases:
            with self.subTest(what):
                req = dict(base, op="call.report", id=what)
                req.update(change)
                req = {k: v for k, v in req.items() if v is not None}
                r = self.err(req, code)
                self.assertEqual(r["id"], what)
        # A 1 MB note is over the 64 KiB line limit; the connection carries on.
        r = self.call(dict(base, op="call.report", note="x" * (1 << 20)))
        self.assertIs(r.get("ok"), False, r)
        self.assertIn(r["error"]["code"], ("line_too_long", "bad_field"), r)
        self.assertEqual(self.ok({"op": "ping", "id": "after"})["id"], "after")
        # Nothing was written by any of them.
        self.assertEqual(self.show(caller)["flags"], [])
        self.assertEqual(self.audit(caller=caller), [])
        self.assertEqual(self.daemon.query("SELECT id FROM reports WHERE call_id = ?", (cid,)),
                         [])
        # The largest allowed fields are accepted.
        r = self.report(cid, "red", agent="a" * 128, note="n" * 2048)
        self.assertEqual((r["flag"]["by"], r["flag"]["reason"]), ("a" * 128, "n" * 2048))


class FollowUps(Helpers):
    """followup.add, followup.list, followup.done."""

    def test_followup_add(self):
        caller = new_caller()
        cid = self.start_call(caller)
        cases = [
            # (what, fields, expected due_at, expected call_id)
            ("due_in_hours", {"due_in_hours": 5, "ts": T0}, T0 + 5 * HOUR, None),
            ("due_at", {"due_at": T0 + 777, "ts": T0}, T0 + 777, None),
            ("with call_id", {"due_in_hours": 1, "ts": T0, "call_id": cid}, T0 + HOUR, cid),
        ]
        for what, fields, due, call_id in cases:
            with self.subTest(what):
                req = {"op": "followup.add", "id": what, "caller": caller[2:], "by": "sup-3",
                       "note": "ring back about " + what}
                req.update(fields)
                r = self.ok(req)
                self.assertEqual(r["id"], what)
                fu = r["followup"]
                self.assertIsInstance(fu["id"], int)
                self.assertEqual(fu, {"id": fu["id"], "caller": caller, "call_id": call_id,
                                      "due_at": due, "created_by": "sup-3", "created_at": T0,
                                      "note": "ring back about " + what, "done_at": None,
                                      "done_by": None, "done_note": None})
                rows = [x for x in self.audit(caller=caller) if x["action"] == "followup.add"]
                self.assertIn("sup-3", [x["actor"] for x in rows])
        self.assertEqual(len(self.followups(caller=caller, state="all")), 3)

    def test_followup_add_bad_input(self):
        caller = new_caller()
        base = {"caller": caller, "by": "sup-1", "note": "n", "due_in_hours": 2}
        cases = [
            ("both due_at and due_in_hours", {"due_at": now() + 100}, "bad_field"),
            ("neither", {"due_in_hours": None}, "missing_field"),
            ("no caller", {"caller": None}, "missing_field"),
            ("no by", {"by": None}, "missing_field"),
            ("no note", {"note": None}, "missing_field"),
            ("empty note", {"note": ""}, "bad_field"),
            ("empty by", {"by": ""}, "bad_field"),
            ("withheld caller", {"caller": "anonymous"}, "bad_field"),
            ("caller not a number", {"caller": "hello"}, "bad_field"),
            ("due_in_hours negative", {"due_in_hours": -1}, "bad_field"),
            ("due_in_hours a string", {"due_in_hours": "2"}, "bad_field"),
            ("due_at a string", {"due_in_hours": None, "due_at": "tomorrow"}, "bad_field"),
            ("note of 3,000 bytes", {"note": "n" * 3000}, "bad_field"),
            ("unknown field", {"priority": 1}, "bad_field"),
        ]
        for what, change, code in cases:
            with self.subTest(what):
                req = dict(base, op="followup.add", id=what)
                req.update(change)
                req = {k: v for k, v in req.items() if v is not None}
                self.assertEqual(self.err(req, code)["id"], what)
        self.assertEqual(self.followups(caller=caller, state="all"), [])
        self.assertEqual(self.audit(caller=caller), [])

    def test_followup_list_states(self):
        caller, other = new_caller(), new_caller()
        t = now()
        # Made in the past with due dates relative to then: two are overdue now.
        overdue = self.followup(caller, ts=t - 2 * HOUR, due_in_hours=1, note="overdue")
        soon_done = self.followup(caller, ts=t - 2 * HOUR, due_in_hours=1, note="done late")
        later = self.followup(caller, ts=t, due_in_hours=240, note="next week")
        early_done = self.followup(caller, ts=t, due_at=t + 10 * DAY, note="done early")
        elsewhere = self.followup(other, ts=t, due_in_hours=3, note="other caller")
        for fu in (soon_done, early_done):
            self.ok({"op": "followup.done", "id": fu["id"], "by": "sup-2", "note": "spoke",
                     "ts": t})
        ids = {x["id"]: x["note"] for x in (overdue, soon_done, later, early_done)}

        def notes(rows):
            return [ids.get(x["id"], x["note"]) for x in rows]

        cases = [
            # open (the default) is every task not done, overdue ones included
            ({}, ["next week", "overdue"]),
            ({"state": "open"}, ["next week", "overdue"]),
            ({"state": "overdue"}, ["overdue"]),
            ({"state": "done"}, ["done early", "done late"]),
            ({"state": "all"}, ["done early", "next week", "done late", "overdue"]),
        ]
        for filters, want in cases:
            with self.subTest(filters=filters):
                got = self.followups(caller=caller, **filters)
                self.assertEqual(notes(got), want, got)
                for x in got:
                    self.assertEqual(x["caller"], caller)
                    # each row says its state, by the daemon's clock
                    want_state = ("done" if x["done_at"] is not None else
                                  "overdue" if x["note"] == "overdue" else "open")
                    self.assertEqual(x["state"], want_state, x)
        # Without a caller: every caller's tasks (this one's and the other's among them).
        everyone = {x["id"] for x in self.followups(state="all")}
        self.assertLessEqual(set(ids) | {elsewhere["id"]}, everyone)
        done = self.followups(state="done")
        self.assertTrue(all(x["done_at"] is not None for x in done), done)
        over = self.followups(state="overdue")
        self.assertTrue(all(x["done_at"] is None and x["due_at"] <= now() for x in over), over)
        # By caller in another form of the same number.
        self.assertEqual(len(self.followups(caller=caller[2:], state="all")), 4)

    def test_followup_list_bad_input(self):
        cases = [
            ("unknown state", {"state": "late"}, "bad_field"),
            ("withheld caller", {"caller": "anonymous"}, "bad_field"),
            ("limit 0", {"limit": 0}, "bad_field"),
            ("limit 1001", {"limit": 1001}, "bad_field"),
            ("cursor not a string", {"cursor": [1]}, "bad_field"),
            ("unknown field", {"colour": "red"}, "bad_field"),
        ] + [("garbage cursor %r" % x, {"cursor": x}, "bad_field") for x in GARBAGE_CURSORS]
        for what, fields, code in cases:
            with self.subTest(what):
                self.err(dict(fields, op="followup.list"), code)

    def test_followup_list_pagination(self):
        caller = new_caller()
        made = [self.followup(caller, due_in_hours=1 + i, note="task %d" % i)["id"]
                for i in range(9)]
        added = []

        def add_more(page):
            if page <= 2:
                added.append(self.followup(caller, due_in_hours=1, note="late one")["id"])

        got = [x["id"] for x in self.walk("followup.list", "followups",
                                          {"caller": caller, "state": "all"}, 4, add_more)]
        self.assertEqual(len(got), len(set(got)), got)
        self.assertLessEqual(set(made), set(got))
        self.assertLessEqual(set(got), set(made) | set(added))
        self.assertEqual(got, sorted(got, reverse=True), "not newest first")

    def test_followup_done(self):
        caller = new_caller()
        fu = self.followup(caller, due_in_hours=4, ts=T0, note="check on them")
        r = self.ok({"op": "followup.done", "id": fu["id"], "by": "sup-6",
                     "note": "called back, all fine", "ts": T0 + 100})
        done = r["followup"]
        self.assertEqual(done, dict(fu, done_at=T0 + 100, done_by="sup-6",
                                    done_note="called back, all fine"))
        # A second done is a conflict and changes nothing.
        self.err({"op": "followup.done", "id": fu["id"], "by": "sup-7", "note": "me too",
                  "ts": T0 + 200}, "conflict")
        listed = self.followups(caller=caller, state="done")
        self.assertEqual(listed, [dict(done, state="done")])
        rows = [x for x in self.audit(actor="sup-6") if x["action"] == "followup.done"]
        self.assertEqual([x["ts"] for x in rows if x["subject"] in (caller, str(fu["id"]))],
                         [T0 + 100], rows)
        self.assertEqual([x for x in self.audit(actor="sup-7")
                          if x["action"] == "followup.done"], [])

    def test_followup_done_bad_input(self):
        fu = self.followup(new_caller(), due_in_hours=1)
        base = {"id": fu["id"], "by": "sup-1", "note": "done"}
        cases = [
            ("unknown id", {"id": 2 ** 40}, "not_found"),
            ("id zero", {"id": 0}, "bad_field"),
            ("id a string", {"id": "one"}, "bad_field"),
            ("no id", {"id": None}, "missing_field"),
            ("no by", {"by": None}, "missing_field"),
            ("empty by", {"by": ""}, "bad_field"),
            ("no note", {"note": None}, "missing_field"),
            ("empty note", {"note": ""}, "bad_field"),
        ]
        for what, change, code in cases:
            with self.subTest(what):
                req = dict(base, op="followup.done")
                req.update(change)
                req = {k: v for k, v in req.items() if v is not None}
                self.err(req, code)
        # Still open after all of them.
        self.assertIsNone(self.followups(caller=fu["caller"], state="all")[0]["done_at"])


class FlagList(Helpers):
    """flag.list."""

    def make_history(self):
        """Flags of one author in every state and source; returns (author, name -> flag)."""
        author = unique("author")
        caller = new_caller()
        f = {}
        f["red"] = self.flag(caller, "red", ts=T0, by=author, **FOREVER)
        f["expired"] = self.flag(caller, "orange", ts=T0 + 10, by=author, expires_at=T0 + 20)
        f["revoked"] = self.flag(caller, "yellow", ts=T0 + 30, by=author, **FOREVER)
        f["nuisance"] = self.flag(new_caller(), "nuisance", ts=T0 + 40, by=author, **FOREVER)
        self.ok({"op": "flag.revoke", "flag_id": f["revoked"]["id"], "by": "sup-x",
                 "reason": "mistake", "ts": T0 + 50})
        caller2 = new_caller()
        cid = self.start_call(caller2)
        f["agent"] = self.report(cid, "orange", agent=author)["flag"]
        return author, {k: v["id"] for k, v in f.items()}

    def test_flag_list_filters(self):
        author, f = self.make_history()
        cases = [
            ({}, ["agent", "nuisance", "red"]),
            ({"state": "active"}, ["agent", "nuisance", "red"]),
            ({"state": "all"}, ["agent", "nuisance", "revoked", "expired", "red"]),
            ({"state": "expired"}, ["expired"]),
            ({"state": "revoked"}, ["revoked"]),
            ({"code": "red"}, ["red"]),
            ({"code": "orange", "state": "all"}, ["agent", "expired"]),
            ({"code": "orange", "state": "expired"}, ["expired"]),
            ({"code": "yellow"}, []),
            ({"source": "agent", "state": "all"}, ["agent"]),
            ({"source": "supervisor", "state": "all"}, ["nuisance", "revoked", "expired", "red"]),
            ({"source": "auto", "state": "all"}, []),
            ({"since": T0 + 5, "until": T0 + 35, "state": "all"}, ["revoked", "expired"]),
            ({"since": T0 + 35, "state": "all"}, ["agent", "nuisance"]),
            ({"until": T0 + 5, "state": "all"}, ["red"]),
            ({"since": T0 + 41, "until": T0 + 49, "state": "all"}, []),
            # inclusive bounds
            ({"since": T0 + 10, "until": T0 + 30, "state": "all"}, ["revoked", "expired"]),
            ({"since": T0 + 40, "until": T0 + 40, "state": "all"}, ["nuisance"]),
            ({"until": T0, "state": "all"}, ["red"]),
        ]
        names = {v: k for k, v in f.items()}
        for filters, want in cases:
            with self.subTest(filters=filters):
                r = self.ok(dict(filters, op="flag.list", by=author))
                got = [names.get(x["id"], x["id"]) for x in r["flags"]]
                self.assertEqual(got, want, r)
                self.assertIsNone(r["cursor"], r)
                for x in r["flags"]:
                    self.assertEqual(x["by"], author)
                    self.assertIn(x["state"], ("active", "expired", "revoked"), x)
                    if filters.get("state", "active") != "all":
                        self.assertEqual(x["state"], filters.get("state", "active"), x)
        # Without an author: every flag matches the other filters.
        for x in self.ok({"op": "flag.list", "state": "revoked", "limit": 1000})["flags"]:
            self.assertEqual(x["state"], "revoked", x)
            self.assertIsInstance(x["revoked_at"], int, x)
        self.assertIn(f["revoked"], self.flags(state="revoked", code="yellow"))

    def test_flag_list_auto_source(self):
        caller = new_caller()
        t = now()
        for i in range(6):  # the sixth call within ten minutes fires "repeat"
            self.ok({"op": "call.offered", "call_id": unique("rep"), "caller": caller,
                     "ts": t + i})

        def auto_flags():
            return [x for x in self.ok({"op": "flag.list", "source": "auto", "state": "all",
                                        "limit": 1000})["flags"] if x["caller"] == caller]

        got = wait_for(auto_flags, timeout=5)
        self.assertEqual(len(got), 1, got)
        self.assertEqual((got[0]["source"], got[0]["code"]), ("auto", "nuisance"), got)
        self.assertNotIn(got[0]["id"], self.flags(source="supervisor", state="all"))

    def test_flag_list_bad_input(self):
        cases = [
            ("limit 0", {"limit": 0}),
            ("limit 1001", {"limit": 1001}),
            ("limit negative", {"limit": -5}),
            ("limit a string", {"limit": "7"}),
            ("cursor not a string", {"cursor": 12}),
            ("unknown state", {"state": "dormant"}),
            ("unknown source", {"source": "robot"}),
            ("since not a number", {"since": "yesterday"}),
            ("unknown field", {"caller": "+15551234567"}),
        ] + [("garbage cursor %r" % x, {"cursor": x}) for x in GARBAGE_CURSORS]
        for what, fields in cases:
            with self.subTest(what):
                r = self.err(dict(fields, op="flag.list", id=what), "bad_field")
                self.assertEqual(r["id"], what)

    def test_flag_list_pagination(self):
        author = unique("pager")
        made = []
        for i in range(60):
            code = ("nuisance", "orange", "yellow", "red")[i % 4]
            made.append(self.flag(new_caller() if i % 3 else "+15550009999", code,
                                  ts=now() - 1000 + (i // 5), by=author, **FOREVER)["id"])
        got = [x["id"] for x in self.walk("flag.list", "flags", {"by": author}, 7)]
        self.assertEqual(self.pages, 9)
        self.assertEqual(len(got), 60)
        self.assertEqual(sorted(got), sorted(made))
        self.assertEqual(got, sorted(got, reverse=True), "not newest first")

        # Flags added while paging: every original flag still comes exactly once.
        added = []

        def add_more(page):
            if page % 2:
                added.append(self.flag(new_caller(), "orange", by=author, **FOREVER)["id"])

        got = [x["id"] for x in self.walk("flag.list", "flags", {"by": author}, 7, add_more)]
        self.assertEqual(len(got), len(set(got)), "a flag came twice")
        self.assertLessEqual(set(made), set(got), "a flag was skipped")
        self.assertLessEqual(set(got), set(made) | set(added))
        self.assertTrue(added)

        # A filtered walk (one code, all states) visits exactly that code's flags.
        reds = [x["id"] for x in self.walk("flag.list", "flags",
                                           {"by": author, "code": "red", "state": "all"}, 7)]
        self.assertEqual(sorted(reds), sorted(made[3::4]))

    def test_flag_list_limit(self):
        author = unique("lim")
        for i in range(3):
            self.flag(new_caller(), "orange", by=author, ts=now(), **FOREVER)
        for limit, n in ((1, 1), (2, 2), (3, 3), (1000, 3)):
            with self.subTest(limit=limit):
                r = self.ok({"op": "flag.list", "by": author, "limit": limit})
                self.assertEqual(len(r["flags"]), n)
        # The cursor of a full last page leads to an empty page, or there is none.
        r = self.ok({"op": "flag.list", "by": author, "limit": 3})
        if r["cursor"] is not None:
            r = self.ok({"op": "flag.list", "by": author, "limit": 3, "cursor": r["cursor"]})
            self.assertEqual((r["flags"], r["cursor"]), ([], None))


class Audit(Helpers):
    """audit.list."""

    def test_audit_by_caller_and_actor(self):
        caller, other = new_caller(), new_caller()
        actor = unique("sup")
        a = self.flag(caller, "orange", ts=T0 + 1, by=actor, reason="one")
        self.flag(caller, "yellow", ts=T0 + 2, by=unique("sup"), reason="two")
        self.flag(other, "red", ts=T0 + 3, by=actor, reason="three")
        self.ok({"op": "flag.revoke", "flag_id": a["id"], "by": actor, "reason": "undo",
                 "ts": T0 + 4})

        rows = self.audit(caller=caller)
        for row in rows:
            self.assertAuditRow(row)
            self.assertEqual(row["subject"], caller, row)
        self.assertEqual(sorted((x["action"], x["ts"]) for x in rows),
                         [("flag.add", T0 + 1), ("flag.add", T0 + 2), ("flag.revoke", T0 + 4)])
        self.assertEqual(self.audit(caller=caller[2:]), rows)

        rows = self.audit(actor=actor)
        self.assertEqual(sorted((x["action"], x["subject"], x["ts"]) for x in rows),
                         [("flag.add", caller, T0 + 1), ("flag.add", other, T0 + 3),
                          ("flag.revoke", caller, T0 + 4)])
        self.assertTrue(all(x["actor"] == actor for x in rows))
        ids = [x["id"] for x in rows]
        self.assertEqual(len(set(ids)), 3)
        self.assertIn(ids, (sorted(ids), sorted(ids, reverse=True)))

        both = self.audit(actor=actor, caller=other)
        self.assertEqual([(x["action"], x["ts"]) for x in both], [("flag.add", T0 + 3)])
        self.assertEqual(self.audit(actor=unique("nobody")), [])
        self.assertEqual(self.audit(caller=new_caller()), [])

    def test_audit_time_range(self):
        actor = unique("timer")
        caller = new_caller()
        for i in range(5):
            self.flag(caller, "orange", ts=T0 + 100 * i, by=actor)
        cases = [
            ({"since": T0 + 50}, [100, 200, 300, 400]),
            ({"until": T0 + 250}, [0, 100, 200]),
            ({"since": T0 + 50, "until": T0 + 250}, [100, 200]),
            ({"since": T0 + 150, "until": T0 + 160}, []),
            ({"since": T0 - 100, "until": T0 + 1000}, [0, 100, 200, 300, 400]),
        ]
        for filters, want in cases:
            with self.subTest(filters=filters):
                got = sorted(x["ts"] - T0 for x in self.audit(actor=actor, **filters))
                self.assertEqual(got, want)

    def test_audit_list_bad_input(self):
        cases = [
            ("limit 0", {"limit": 0}),
            ("limit 1001", {"limit": 1001}),
            ("cursor not a string", {"cursor": {}}),
            ("withheld caller", {"caller": "anonymous"}),
            ("until not a number", {"until": "now"}),
            ("unknown field", {"action": "flag.add"}),
        ] + [("garbage cursor %r" % x, {"cursor": x}) for x in GARBAGE_CURSORS]
        for what, fields in cases:
            with self.subTest(what):
                self.err(dict(fields, op="audit.list"), "bad_field")

    def test_audit_pagination(self):
        actor = unique("paged")
        for i in range(25):
            self.flag(new_caller(), "nuisance", ts=T0 + i, by=actor)
        first = [x["id"] for x in self.audit(actor=actor)]
        self.assertEqual(len(first), 25)
        added = []

        def add_more(page):
            added.append(self.flag(new_caller(), "orange", ts=T0 + 1000 + page, by=actor)["id"])

        got = [x["id"] for x in self.walk("audit.list", "audit", {"actor": actor}, 7, add_more)]
        self.assertEqual(len(got), len(set(got)), "a row came twice")
        self.assertLessEqual(set(first), set(got), "a row was skipped")
        self.assertLessEqual(len(got), 25 + len(added))
        self.assertIn(got, (sorted(got), sorted(got, reverse=True)))
        got = [x["id"] for x in self.walk("audit.list", "audit", {"actor": actor}, 7)]
        self.assertEqual(sorted(got), sorted(x["id"] for x in self.audit(actor=actor)))
        self.assertEqual(len(got), 25 + len(added))

    def test_audit_rows_never_change(self):
        before = self.daemon.query("SELECT * FROM audit ORDER BY id")
        caller = new_caller()
        actor = unique("imm")
        f = self.flag(caller, "red", by=actor, ts=now())
        add_rows = self.audit(caller=caller)
        self.assertEqual([x["action"] for x in add_rows], ["flag.add"])
        self.ok({"op": "flag.revoke", "flag_id": f["id"], "by": actor, "reason": "no",
                 "ts": now()})
        fu = self.followup(caller, by=actor, due_in_hours=1)
        self.ok({"op": "followup.done", "id": fu["id"], "by": actor, "note": "done"})
        cid = self.start_call(caller)
        self.report(cid, "yellow", agent=actor)
        self.report(cid, "yellow", agent=actor)
        after = self.audit(caller=caller)
        for row in add_rows:
            self.assertIn(row, after, "the flag.add row changed")
        actions = sorted(x["action"] for x in self.audit(actor=actor))
        for action in ("flag.add", "flag.revoke", "followup.add", "followup.done", "report.add"):
            self.assertIn(action, actions)
        # Every row written before this test is still there, unchanged.
        now_rows = {r["id"]: r for r in self.daemon.query("SELECT * FROM audit")}
        for r in before:
            self.assertEqual(now_rows.get(r["id"]), r)


class Export(Helpers):
    """caller.export."""

    def test_caller_export(self):
        caller, other = new_caller(), new_caller()
        sup = unique("sup")
        revoked = self.flag(caller, "orange", by=sup, ts=now() - 100, reason="rude")
        self.ok({"op": "flag.revoke", "flag_id": revoked["id"], "by": sup, "reason": "no",
                 "ts": now() - 90})
        cid = self.start_call(caller)
        rep = self.report(cid, "red", agent="agent-e", note="threat")
        hand = self.followup(caller, by=sup, due_in_hours=2, note="by hand")
        self.ok({"op": "followup.done", "id": hand["id"], "by": sup, "note": "done"})
        quiet_call = self.start_call(caller)
        # Another caller's history must not leak in.
        self.flag(other, "red", by=sup)
        ocid = self.start_call(other)
        self.report(ocid, "yellow", agent="agent-o")
        self.followup(other, by=sup, due_in_hours=1)

        def export():
            r = self.ok({"op": "caller.export", "id": "x", "caller": caller[2:]})
            return r if {x.get("call_id") for x in r["calls"]} >= {cid, quiet_call} else None

        r = wait_for(export, timeout=5)
        self.assertTrue(r, "the calls never appeared in the export")
        self.assertEqual(r["id"], "x")
        self.assertEqual(r["caller"], caller)
        self.assertTrue(all(x["caller"] == caller for x in r["flags"]), r["flags"])
        self.assertEqual(sorted(x["id"] for x in r["flags"]),
                         sorted([revoked["id"], rep["flag"]["id"]]))
        rf = {x["id"]: x for x in r["flags"]}
        self.assertEqual((rf[revoked["id"]]["revoked_by"], rf[revoked["id"]]["state"]),
                         (sup, "revoked"))
        self.assertEqual((rf[rep["flag"]["id"]]["source"], rf[rep["flag"]["id"]]["state"]),
                         ("agent", "active"))

        self.assertEqual(len(r["reports"]), 1, r["reports"])
        rp = r["reports"][0]
        self.assertIsInstance(rp["id"], int)
        self.assertEqual({k: rp[k] for k in ("call_id", "caller", "code", "agent", "note",
                                             "flag_id", "followup_id")},
                         {"call_id": cid, "caller": caller, "code": "red", "agent": "agent-e",
                          "note": "threat", "flag_id": rep["flag"]["id"],
                          "followup_id": rep["followup"]["id"]})
        self.assertIsInstance(rp["ts"], int)

        fus = {x["id"]: x for x in r["followups"]}
        self.assertEqual(sorted(fus), sorted([rep["followup"]["id"], hand["id"]]))
        self.assertEqual(fus[hand["id"]]["done_by"], sup)
        self.assertTrue(all(x["caller"] == caller for x in r["followups"]))

        self.assertEqual({x["call_id"] for x in r["calls"]}, {cid, quiet_call})

        actions = sorted(x["action"] for x in r["audit"])
        for action in ("flag.add", "flag.revoke", "report.add", "followup.add", "followup.done"):
            self.assertIn(action, actions)
        for row in r["audit"]:
            self.assertAuditRow(row)
            self.assertNotIn(row["actor"], ("agent-o",), row)
            self.assertNotEqual(row["subject"], other, row)
        self.assertEqual(actions.count("flag.add"), 2, actions)
        self.assertEqual(actions.count("followup.add"), 2, actions)

    def test_caller_export_unknown_and_bad(self):
        r = self.ok({"op": "caller.export", "caller": new_caller()})
        for key in ("flags", "reports", "calls", "followups", "audit"):
            self.assertEqual(r[key], [], key)
        for what, req, code in [
            ("withheld", {"caller": "anonymous"}, "bad_field"),
            ("not a number", {"caller": "abc"}, "bad_field"),
            ("missing", {}, "missing_field"),
            ("unknown field", {"caller": new_caller(), "since": 1}, "bad_field"),
        ]:
            with self.subTest(what):
                self.err(dict(req, op="caller.export"), code)


class TcpReport(Report, cwtest.DaemonCase):
    transport = "tcp"


class UnixReport(Report, cwtest.DaemonCase):
    transport = "unix"


class TcpRest(FollowUps, FlagList, Audit, Export, cwtest.DaemonCase):
    transport = "tcp"


class UnixRest(FollowUps, Audit, Export, cwtest.DaemonCase):
    transport = "unix"


if __name__ == "__main__":
    cwtest.main()
