#!/usr/bin/env python3
"""Black-box tests of callwardenctl's supervisor commands (issue 3: report, tail, flags,
followups, followup, done, audit, export): against a scripted fake server for requests, output
formatting, hostile strings, tail's event lines and signals, cursor following and times; and
against the real callwardend for every command.

Environment: CW_BUILD_DIR (callwardend, callwardenctl) and CW_SOURCE_DIR (config/policy.conf).
"""
import calendar
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import cwtest
from cwtest import Daemon
from test_ctl import CTL, DAEMON, field, run_ctl

# What a terminal acts on; none of it may reach the readable output.
TERMINAL_BAD = ("\x1b", "\x07", "\x9b", "\u009b", "\u202e", "\u2028", "\r", "\x7f", "\x00")
EVIL = "a\x1b[2J\x1b]0;pwned\x07b\u009b31m\u202eevil\u2028x\nfake line\r\x7f"
EVIL_SHOWN = "a\\x1b[2J\\x1b]0;pwned\\x07b\\u009b31m\\u202eevil\\u2028x\\nfake line\\r\\x7f"


def assert_clean(test, *texts):
    for text in texts:
        for bad in TERMINAL_BAD:
            test.assertNotIn(bad, text)


def utc(text, fmt="%Y-%m-%d %H:%M"):
    return calendar.timegm(time.strptime(text, fmt))


class ScriptServer:
    """A Unix socket server (or, without a path, a loopback TCP one on .port) that answers
    request lines on each connection from a handler.

    handler(request_dict, conn) sends what it likes; returning False closes the connection.
    Every request is recorded in order in .requests."""

    def __init__(self, path=None):
        self.path = path
        self.requests = []
        self.handler = None
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(path)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(conn,), daemon=True).start()

    def _conn(self, conn):
        buf = b""
        with conn:
            try:
                while True:
                    while b"\n" not in buf:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        buf += chunk
                    line, buf = buf.split(b"\n", 1)
                    req = json.loads(line)
                    self.requests.append(req)
                    if self.handler(req, conn) is False:
                        return
            except OSError:
                pass

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


def line(obj):
    return json.dumps(obj).encode() + b"\n"


def answer(obj):
    def handler(_req, conn):
        conn.sendall(line(obj))
    return handler


class Lines:
    """A process's stdout read line by line in a thread, so that a test can wait for each."""

    def __init__(self, stream):
        self.q = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for raw in iter(stream.readline, b""):
            self.q.put(raw.decode("utf-8", "replace"))
        self.q.put(None)

    def get(self, timeout=10):
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no output line within %s s" % timeout)

    def until(self, pattern, timeout=10):
        """Lines up to and including the first that matches pattern."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            got = self.get(max(0.01, deadline - time.monotonic()))
            if got is None:
                raise AssertionError("output ended before %r; saw %r" % (pattern, seen))
            seen.append(got)
            if re.search(pattern, got):
                return seen


def start_ctl(args):
    env = dict(os.environ)
    env.pop("CALLWARDEN_SOCKET", None)
    return subprocess.Popen([CTL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)


def finish(proc, timeout=10):
    """Waits for proc; returns (rc, rest of stdout is not read here, stderr)."""
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("callwardenctl did not exit within %s s" % timeout)
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    return proc.returncode, err


class SupUsageTest(cwtest.TempDirCase):
    """Command-line handling of the new commands; nothing is ever sent."""

    def test_help_lists_every_new_command(self):
        r = run_ctl(["help"])
        self.assertEqual(r.rc, 0, r)
        for text in ("report CALL_ID CODE --agent NAME [--note TEXT]",
                     "tail [--topics alert,flag,decision]", "flags [--code C]", "--all",
                     "followups [--state open|overdue|done|all]", "followup CALLER --by NAME",
                     "done ID --by NAME --note TEXT", "audit [--caller C] [--actor A]",
                     "export CALLER", "30m, 24h, 7d"):
            self.assertIn(text, r.out)
        self.assertTrue(all(len(ln) <= 100 for ln in r.out.splitlines()), r.out)
        r = run_ctl(["help", "flags"])
        self.assertIn("[--limit N] [--cursor X] [--all]", r.out)
        r = run_ctl(["followup", "--help"])
        self.assertIn("(--due-in-hours H | --due-at T) [--call-id ID]", r.out)

    def test_usage_errors_exit_2_without_connecting(self):
        cases = [
            ("report without code", ["report", "c-1", "--agent", "a"]),
            ("report without agent", ["report", "c-1", "red"]),
            ("report extra", ["report", "c-1", "red", "x", "--agent", "a"]),
            ("tail argument", ["tail", "alert"]),
            ("tail empty topic", ["tail", "--topics", ""]),
            ("tail empty item", ["tail", "--topics", "alert,,flag"]),
            ("tail trailing comma", ["tail", "--topics", "alert,"]),
            ("flags argument", ["flags", "red"]),
            ("flags bad state", ["flags", "--state", "gone"]),
            ("flags limit 0", ["flags", "--limit", "0"]),
            ("flags limit 1001", ["flags", "--limit", "1001"]),
            ("flags limit junk", ["flags", "--limit", "ten"]),
            ("flags all with value", ["flags", "--all=yes"]),
            ("flags all twice", ["flags", "--all", "--all"]),
            ("flags since junk", ["flags", "--since", "yesterday"]),
            ("flags since negative", ["flags", "--since", "-7d"]),
            ("flags since unit only", ["flags", "--since", "d"]),
            ("flags since fraction", ["flags", "--since", "1.5h"]),
            ("flags since space", ["flags", "--since", "7 d"]),
            ("flags since unknown unit", ["flags", "--since", "7y"]),
            ("flags since too long ago", ["flags", "--since", "99999999999d"]),
            ("flags since bad day", ["flags", "--since", "2026-02-30"]),
            ("flags since bad month", ["flags", "--since", "2026-13-01"]),
            ("flags since bad hour", ["flags", "--since", "2026-01-01T24:00"]),
            ("flags since past 9999", ["flags", "--since", "253402300800"]),
            ("flags since after until", ["flags", "--since", "1h", "--until", "2h"]),
            ("flags option of another command", ["flags", "--actor", "x"]),
            ("followups bad state", ["followups", "--state", "active"]),
            ("followups limit", ["followups", "--limit", "-1"]),
            ("followup without due", ["followup", "1", "--by", "b", "--note", "n"]),
            ("followup both dues", ["followup", "1", "--by", "b", "--note", "n",
                                    "--due-in-hours", "2", "--due-at", "2030-01-01"]),
            ("followup without by", ["followup", "1", "--note", "n", "--due-in-hours", "2"]),
            ("followup without note", ["followup", "1", "--by", "b", "--due-in-hours", "2"]),
            ("followup hours zero", ["followup", "1", "--by", "b", "--note", "n",
                                     "--due-in-hours", "0"]),
            ("followup hours too many", ["followup", "1", "--by", "b", "--note", "n",
                                         "--due-in-hours", "87601"]),
            ("followup due-at relative", ["followup", "1", "--by", "b", "--note", "n",
                                          "--due-at", "24h"]),
            ("followup due-at junk", ["followup", "1", "--by", "b", "--note", "n",
                                      "--due-at", "tomorrow"]),
            ("followup without caller", ["followup", "--by", "b", "--note", "n",
                                         "--due-in-hours", "2"]),
            ("done junk id", ["done", "x", "--by", "b", "--note", "n"]),
            ("done zero id", ["done", "0", "--by", "b", "--note", "n"]),
            ("done without note", ["done", "3", "--by", "b"]),
            ("done without by", ["done", "3", "--note", "n"]),
            ("audit until junk", ["audit", "--until", "soon"]),
            ("audit limit", ["audit", "--limit", "100000"]),
            ("export without caller", ["export"]),
            ("export two callers", ["export", "1", "2"]),
        ]
        for what, args in cases:
            with self.subTest(what):
                r = run_ctl(["--socket", self.nosock] + args)
                self.assertEqual(r.rc, 2, r)
                self.assertEqual(r.out, "")
                self.assertTrue(r.err.startswith("callwardenctl: "), r)
                self.assertIn("usage:", r.err)

    def test_no_daemon_exit_3(self):
        for args in (["tail"], ["flags", "--all"], ["export", "1"], ["report", "c", "red",
                                                                    "--agent", "a"]):
            with self.subTest(args[0]):
                r = run_ctl(["--socket", self.nosock] + args)
                self.assertEqual(r.rc, 3, r)
                self.assertIn(self.nosock, r.err)


class SupFakeServerTest(unittest.TestCase):
    """Requests and output of the new commands, against replies scripted byte by byte."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cwsup-")
        self.path = os.path.join(self.tmp, "fake.sock")
        self.server = ScriptServer(self.path)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.addCleanup(self.server.close)

    def ctl(self, *args, **kw):
        return run_ctl(["--socket", self.path] + list(args), **kw)

    def ok(self, *args):
        r = self.ctl(*args)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.err, "", r)
        return r

    # report

    REPORT = {"ok": True, "call_id": "c-1", "action": "transfer", "queue": "supervisor",
              "target": "sip:supervisor@pbx.example", "priority": 10, "rule": "report-red",
              "reason": "agent reported code red", "policy": "p-1", "alert": True,
              "flag": {"id": 12, "caller": "+15551234567", "code": "red", "reason": "r",
                       "by": "agent-7", "source": "agent", "created_at": 1795400000,
                       "expires_at": 1826936000},
              "followup": {"id": 7, "caller": "+15551234567", "call_id": "c-1",
                           "due_at": 1795486400, "created_by": "agent-7",
                           "created_at": 1795400000, "note": "n", "done_at": None,
                           "done_by": None, "done_note": None},
              "duplicate": False}

    def test_report_request_and_output(self):
        self.server.handler = answer(self.REPORT)
        r = self.ok("report", "c-1", "red", "--agent", "agent-7", "--note",
                    "threatened to come to the office")
        self.assertEqual(self.server.requests[-1],
                         {"op": "call.report", "call_id": "c-1", "code": "red",
                          "agent": "agent-7", "note": "threatened to come to the office"})
        self.assertEqual(r.out,
                         "call      c-1\n"
                         "action    transfer\n"
                         "queue     supervisor (sip:supervisor@pbx.example)\n"
                         "priority  10\n"
                         "rule      report-red\n"
                         "reason    agent reported code red\n"
                         "alert     yes\n"
                         "policy    p-1\n"
                         "flag      12 added: +15551234567 red (expires 2027-11-23 02:13 UTC)\n"
                         "followup  7 added: due 2026-11-24 02:13 UTC\n")
        self.ok("report", "c-1", "orange", "--agent", "a")
        self.assertNotIn("note", self.server.requests[-1])

    def test_report_duplicate_continue_and_withheld(self):
        dup = dict(self.REPORT, duplicate=True)
        self.server.handler = answer(dup)
        r = self.ok("report", "c-1", "red", "--agent", "agent-7")
        self.assertTrue(r.out.endswith(
            "duplicate: nothing new recorded (flag 12, follow-up 7 recorded before)\n"), r)
        self.assertNotIn("added", r.out)
        self.server.handler = answer(dict(dup, flag=None, followup=None))
        r = self.ok("report", "c-1", "red", "--agent", "agent-7")
        self.assertTrue(r.out.endswith("\nduplicate: nothing new recorded\n"), r)
        cont = dict(self.REPORT, action="continue", rule="report-orange", followup=None,
                    flag=None)
        del cont["alert"]
        self.server.handler = answer(cont)
        r = self.ok("report", "c-2", "orange", "--agent", "a")
        self.assertEqual(field(r.out, "action"), "continue")
        self.assertIsNone(field(r.out, "alert"))
        self.assertEqual(field(r.out, "flag"), "none (caller withheld)")
        self.assertEqual(field(r.out, "followup"), "none")
        r = self.ctl("--json", "report", "c-2", "orange", "--agent", "a")
        self.assertEqual(r.rc, 0)
        self.assertEqual(json.loads(r.out), cont)

    def test_report_error_and_hostile(self):
        self.server.handler = answer({"ok": False, "error": {"code": "not_found",
                                                             "message": "no call 'x'"}})
        r = self.ctl("report", "x", "red", "--agent", "a")
        self.assertEqual((r.rc, r.out, r.err), (1, "", "callwardenctl: not_found: no call 'x'\n"))
        evil = dict(self.REPORT, reason=EVIL, call_id=EVIL, queue=EVIL,
                    flag=dict(self.REPORT["flag"], caller=EVIL, code=EVIL))
        self.server.handler = answer(evil)
        r = self.ok("report", "c-1", "red", "--agent", EVIL)
        self.assertEqual(self.server.requests[-1]["agent"], EVIL)
        assert_clean(self, r.out)
        self.assertEqual(field(r.out, "reason"), EVIL_SHOWN)
        self.assertEqual(len(r.out.splitlines()), 10)

    # tail

    def tail_server(self, events, reply=None, close=True, gate=None, delay=0):
        """Answers subscribe with reply, then sends events (bytes or objects); waits for gate
        (a threading.Event) before the last one when given; closes unless close is False."""
        release = threading.Event()
        self.addCleanup(release.set)

        def handler(req, conn):
            conn.sendall(line(reply or {"ok": True, "topics": req.get("topics")}))
            if delay:
                time.sleep(delay)
            for i, ev in enumerate(events):
                if gate is not None and i == len(events) - 1:
                    gate.wait(10)
                conn.sendall(ev if isinstance(ev, bytes) else line(ev))
            if not close:
                release.wait(30)
            return False
        self.server.handler = handler

    EVENTS = [
        {"event": "alert", "ts": 1795398243, "caller": "+15551234567", "code": "red",
         "call_id": "c-1", "by": "agent-7", "reason": "threatened to come to the office"},
        {"event": "alert", "ts": 1795398244, "caller": "+15551234567", "code": "red",
         "by": "sup-17", "reason": "flagged"},
        {"event": "flag", "ts": 1795398245, "action": "add",
         "flag": {"id": 12, "caller": "+15551234567", "code": "red", "reason": "threat",
                  "by": "sup-17", "source": "supervisor", "created_at": 1795398245,
                  "expires_at": None}},
        {"event": "flag", "ts": 1795398246, "action": "revoke",
         "flag": {"id": 12, "caller": "+15551234567", "code": "red", "reason": "threat",
                  "by": "sup-17", "revoked_by": "sup-2", "revoke_reason": "wrong number"}},
        {"event": "decision", "ts": 1795398247, "call_id": "c-9", "caller": "+15551234567",
         "action": "queue", "queue": "supervisor", "target": "t", "priority": 10,
         "rule": "threat", "reason": "r", "policy": "p"},
        {"event": "decision", "ts": 1795398248, "call_id": "c-10", "caller": None,
         "action": "reject", "rule": "blocked", "degraded": True},
        {"event": "overflow", "ts": 1795398249, "dropped": 37},
        {"event": "overflow", "ts": 1795398249, "dropped": 1},
        {"event": "policy", "ts": 1795398250, "version": "v2"},
    ]
    EXPECTED = [
        "2026-11-23 01:44:03 ALERT red +15551234567 call c-1 by agent-7: threatened to come "
        "to the office",
        "2026-11-23 01:44:04 ALERT red +15551234567 by sup-17: flagged",
        "2026-11-23 01:44:05 FLAG add 12 red +15551234567 by sup-17: threat",
        "2026-11-23 01:44:06 FLAG revoke 12 red +15551234567 by sup-2: wrong number",
        "2026-11-23 01:44:07 DECISION c-9 +15551234567 -> supervisor (threat)",
        "2026-11-23 01:44:08 DECISION c-10 withheld -> reject (blocked) degraded",
        "2026-11-23 01:44:09 OVERFLOW 37 events dropped",
        "2026-11-23 01:44:09 OVERFLOW 1 event dropped",
        '2026-11-23 01:44:10 POLICY {"event":"policy","ts":1795398250,"version":"v2"}',
    ]

    def test_tail_prints_each_event_then_exits_3_when_closed(self):
        self.tail_server(self.EVENTS)
        r = self.ctl("tail", "--topics", "alert,flag,decision")
        self.assertEqual(r.rc, 3, r)
        self.assertEqual(r.out.splitlines(), self.EXPECTED)
        self.assertEqual(r.err, "callwardenctl: unix socket %s: connection closed by the "
                                "daemon\n" % self.path)
        self.assertEqual(self.server.requests, [{"op": "subscribe",
                                                 "topics": ["alert", "flag", "decision"]}])
        self.ctl("tail")
        self.assertEqual(self.server.requests[-1], {"op": "subscribe", "topics": ["alert"]})

    def test_tail_json_prints_raw_event_lines(self):
        raw = [b'{"event":"alert", "ts":1,"caller":"+1","code":"red","by":"b","reason":"\\u001b"}'
               b'\n', b'{"event":"overflow","ts":2,"dropped":3}\r\n']
        self.tail_server(raw)
        r = self.ctl("--json", "tail")
        self.assertEqual(r.rc, 3, r)
        self.assertEqual(r.raw_out, raw[0] + raw[1].replace(b"\r", b""))

    def test_tail_skips_lines_that_are_not_events(self):
        self.tail_server([b"garbage\n", b'{"ok":true}\n', b'[1]\n', line(self.EVENTS[6])])
        r = self.ctl("tail")
        self.assertEqual(r.rc, 3, r)
        self.assertEqual(r.out, "2026-11-23 01:44:09 OVERFLOW 37 events dropped\n")
        self.assertEqual(r.err.count("skipping a line that is not an event"), 3, r)

    def test_tail_hostile_strings(self):
        events = [{"event": "alert", "ts": 1795398243, "caller": EVIL, "code": EVIL,
                   "call_id": EVIL, "by": EVIL, "reason": EVIL},
                  {"event": "flag", "ts": 1795398243, "action": EVIL,
                   "flag": {"id": 1, "caller": EVIL, "code": EVIL, "by": EVIL, "reason": EVIL}},
                  {"event": "decision", "ts": 1795398243, "call_id": EVIL, "caller": EVIL,
                   "action": "queue", "queue": EVIL, "rule": EVIL},
                  {"event": EVIL, "ts": 1795398243, "x": EVIL}]
        self.tail_server(events)
        r = self.ctl("tail")
        self.assertEqual(r.rc, 3, r)
        assert_clean(self, r.out, r.err)
        lines = r.out.splitlines()
        self.assertEqual(len(lines), 4, r)
        self.assertEqual(lines[0], "2026-11-23 01:44:03 ALERT %s %s call %s by %s: %s"
                         % ((EVIL_SHOWN,) * 5))
        self.assertTrue(lines[3].startswith("2026-11-23 01:44:03 A\\x1b[2J"), lines[3])

    def test_tail_flushes_each_line(self):
        gate = threading.Event()
        self.tail_server(self.EVENTS[:2], gate=gate)
        proc = start_ctl(["--socket", self.path, "tail"])
        out = Lines(proc.stdout)
        # The second event is held back until the first line has been read from the pipe.
        self.assertEqual(out.get(), self.EXPECTED[0] + "\n")
        gate.set()
        self.assertEqual(out.get(), self.EXPECTED[1] + "\n")
        rc, err = finish(proc)
        self.assertEqual(rc, 3, err)

    def test_tail_stops_on_sigint_and_sigterm(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(sig):
                self.tail_server(self.EVENTS[:1], close=False)
                proc = start_ctl(["--socket", self.path, "tail"])
                out = Lines(proc.stdout)
                self.assertEqual(out.get(), self.EXPECTED[0] + "\n")
                proc.send_signal(sig)
                rc, err = finish(proc)
                self.assertEqual((rc, err), (0, ""))
                self.assertIsNone(out.get())

    def test_tail_stops_on_sigint_while_events_pour_in(self):
        stop = threading.Event()
        self.addCleanup(stop.set)

        def handler(req, conn):
            conn.sendall(line({"ok": True, "topics": req.get("topics")}))
            burst = line(self.EVENTS[0]) * 200
            try:
                while not stop.is_set():
                    conn.sendall(burst)
            except OSError:
                pass
            return False
        self.server.handler = handler
        proc = start_ctl(["--socket", self.path, "tail"])
        out = Lines(proc.stdout)
        self.assertEqual(out.get(), self.EXPECTED[0] + "\n")
        proc.send_signal(signal.SIGINT)
        rc, err = finish(proc, 3)
        self.assertEqual((rc, err), (0, ""))

    def test_tail_signal_before_subscribe_reply(self):
        self.server.handler = lambda req, conn: time.sleep(5)
        proc = start_ctl(["--socket", self.path, "tail"])
        deadline = time.monotonic() + 5
        while not self.server.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        rc, err = finish(proc, 3)
        self.assertEqual((rc, err), (0, ""))

    def test_tail_timeout_covers_only_the_subscribe_reply(self):
        self.tail_server(self.EVENTS[:1], delay=1.5)
        start = time.monotonic()
        r = self.ctl("--timeout", "0.5", "tail")
        self.assertGreater(time.monotonic() - start, 1.4)
        self.assertEqual(r.rc, 3, r)
        self.assertEqual(r.out, self.EXPECTED[0] + "\n")
        self.assertIn("connection closed by the daemon", r.err)
        self.server.handler = lambda req, conn: time.sleep(3)
        start = time.monotonic()
        r = self.ctl("--timeout", "0.5", "tail")
        self.assertLess(time.monotonic() - start, 2.5)
        self.assertEqual(r.rc, 3, r)
        self.assertIn("no reply within 0.5 s", r.err)

    def test_tail_subscribe_refused(self):
        self.server.handler = answer({"ok": False, "error": {
            "code": "bad_field", "message": "unknown topic 'x' (alert, flag, decision)"}})
        r = self.ctl("tail", "--topics", "x")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, "")
        self.assertEqual(r.err, "callwardenctl: bad_field: unknown topic 'x' (alert, flag, "
                                "decision)\n")

    def test_tail_events_in_the_same_packet_as_the_reply(self):
        data = line({"ok": True, "topics": ["alert"]}) + line(self.EVENTS[0]) + \
            line(self.EVENTS[6])[:10]

        def handler(_req, conn):
            conn.sendall(data)
            return False
        self.server.handler = handler
        r = self.ctl("tail")
        self.assertEqual(r.rc, 3, r)
        self.assertEqual(r.out, self.EXPECTED[0] + "\n")

    # paged lists

    def pages(self, key, rows, size):
        """A handler serving rows in pages of size (or the request's smaller limit), with
        cursors "p<index of the next row>"."""
        def handler(req, conn):
            if "cursor" in req and not re.fullmatch(r"p\d+", req["cursor"]):
                conn.sendall(line({"ok": False, "error": {"code": "bad_field",
                                                          "message": "bad cursor"}}))
                return
            start = int(req["cursor"][1:]) if "cursor" in req else 0
            nxt = start + min(size, req.get("limit", size))
            conn.sendall(line({"ok": True, key: rows[start:nxt],
                               "cursor": "p%d" % nxt if nxt < len(rows) else None}))
        return handler

    def flag_rows(self, n):
        return [{"id": 1000 - i, "caller": "+1555000%04d" % i, "code": "orange",
                 "reason": "reason %d" % i, "by": "sup-%d" % i, "source": "supervisor",
                 "created_at": 1795400000 - i * 60, "expires_at": None, "state": "active"}
                for i in range(n)]

    def test_flags_all_follows_the_cursor_over_three_pages(self):
        rows = self.flag_rows(7)
        self.server.handler = self.pages("flags", rows, 3)
        r = self.ok("flags", "--all", "--code", "orange")
        self.assertEqual(self.server.requests, [
            {"op": "flag.list", "code": "orange", "limit": 1000},
            {"op": "flag.list", "code": "orange", "limit": 1000, "cursor": "p3"},
            {"op": "flag.list", "code": "orange", "limit": 1000, "cursor": "p6"}])
        lines = r.out.splitlines()
        self.assertRegex(lines[0], r"^  ID  STATE    CODE      CALLER            CREATED \(UTC\)"
                                   r"     EXPIRES     BY            SOURCE      REASON$")
        self.assertEqual([int(ln.split()[0]) for ln in lines[1:]], [r["id"] for r in rows])
        self.assertEqual(lines[1], "1000  active   orange    +15550000000      2026-11-23 "
                                   "02:13  never       sup-0         supervisor  reason 0")
        self.assertNotIn("more:", r.out)
        # the pages' replies, one raw line each
        del self.server.requests[:]
        r = self.ok("--json", "flags", "--all", "--limit", "3")
        got = [json.loads(ln) for ln in r.out.splitlines()]
        self.assertEqual([g["cursor"] for g in got], ["p3", "p6", None])
        self.assertEqual(sum((g["flags"] for g in got), []), rows)
        self.assertEqual([q.get("limit") for q in self.server.requests], [3, 3, 3])

    def test_flags_one_page_prints_the_cursor_hint(self):
        rows = self.flag_rows(5)
        self.server.handler = self.pages("flags", rows, 3)
        r = self.ok("flags", "--limit", "3", "--state", "all", "--source", "agent", "--by",
                    "sup-1")
        self.assertEqual(self.server.requests[-1],
                         {"op": "flag.list", "state": "all", "source": "agent", "by": "sup-1",
                          "limit": 3})
        self.assertEqual(len(r.out.splitlines()), 5)
        self.assertTrue(r.out.endswith("\nmore: --cursor p3\n"), r)
        r = self.ok("flags", "--limit", "3", "--cursor", "p3")
        self.assertEqual(self.server.requests[-1], {"op": "flag.list", "limit": 3,
                                                    "cursor": "p3"})
        self.assertEqual(len(r.out.splitlines()), 3)
        self.assertNotIn("more:", r.out)
        r = self.ok("flags", "--cursor", "p3", "--all", "--limit", "1")
        self.assertEqual([q.get("cursor") for q in self.server.requests[-2:]], ["p3", "p4"])
        self.assertEqual(len(r.out.splitlines()), 3)
        r = self.ctl("--json", "flags", "--limit", "3")
        self.assertEqual(json.loads(r.out)["cursor"], "p3")
        self.assertNotIn("more:", r.out)

    def test_flags_empty_and_errors(self):
        self.server.handler = answer({"ok": True, "flags": [], "cursor": None})
        self.assertEqual(self.ok("flags").out, "no flags\n")
        self.server.handler = self.pages("flags", self.flag_rows(5), 3)
        r = self.ctl("flags", "--cursor", "garbage")
        self.assertEqual((r.rc, r.out, r.err), (1, "", "callwardenctl: bad_field: bad cursor\n"))
        cases = [
            ("no array", {"ok": True, "cursor": None}),
            ("array not array", {"ok": True, "flags": {}, "cursor": None}),
            ("cursor a number", {"ok": True, "flags": [], "cursor": 3}),
        ]
        for what, reply in cases:
            with self.subTest(what):
                self.server.handler = answer(reply)
                r = self.ctl("flags")
                self.assertEqual(r.rc, 3, r)
                self.assertIn("malformed reply", r.err)

    def test_all_stops_when_the_cursor_repeats_or_a_page_fails(self):
        self.server.handler = answer({"ok": True, "flags": self.flag_rows(1), "cursor": "same"})
        r = self.ctl("flags", "--all")
        self.assertEqual(r.rc, 3, r)
        self.assertIn("same cursor again", r.err)
        self.assertEqual(len(self.server.requests), 2)
        rows = self.flag_rows(4)

        def handler(req, conn):
            if "cursor" in req:
                conn.sendall(line({"ok": False, "error": {"code": "unavailable",
                                                          "message": "busy"}}))
            else:
                conn.sendall(line({"ok": True, "flags": rows[:2], "cursor": "p2"}))
        self.server.handler = handler
        r = self.ctl("flags", "--all")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(len(r.out.splitlines()), 3)
        self.assertEqual(r.err, "callwardenctl: unavailable: busy\n")

    def test_all_pages_share_one_connection_and_timeout_per_page(self):
        rows = self.flag_rows(8)
        conns = []

        def handler(req, conn):
            conns.append(conn)
            time.sleep(0.4)
            return self.pages("flags", rows, 2)(req, conn)
        self.server.handler = handler
        # four pages take 1.6 s in all, each well within the 1 s timeout
        r = self.ctl("--timeout", "1", "flags", "--all")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(r.out.splitlines()), 9)
        self.assertEqual(len(conns), 4)
        self.assertEqual(len(set(map(id, conns))), 1)

    def test_relative_and_absolute_times(self):
        self.server.handler = answer({"ok": True, "flags": [], "cursor": None})
        cases = [("7d", 7 * 86400), ("24h", 86400), ("30m", 1800), ("2w", 14 * 86400),
                 ("45s", 45), ("0d", 0)]
        for text, ago in cases:
            with self.subTest(text):
                # time(2) reads a coarse clock that may trail time.time() across a second
                before = int(time.time()) - 1
                self.ok("flags", "--since", text)
                since = self.server.requests[-1]["since"]
                self.assertTrue(before - ago <= since <= int(time.time()) - ago, since)
        cases = [("1700000000", 1700000000), ("0", 0),
                 ("2026-11-20", utc("2026-11-20", "%Y-%m-%d")),
                 ("2026-11-20T14:03", utc("2026-11-20 14:03")),
                 ("2026-11-20 14:03:05Z", utc("2026-11-20 14:03:05", "%Y-%m-%d %H:%M:%S")),
                 ("2024-02-29", utc("2024-02-29", "%Y-%m-%d")),
                 ("253402300799", 253402300799)]
        for text, want in cases:
            with self.subTest(text):
                self.ok("flags", "--until", text)
                self.assertEqual(self.server.requests[-1]["until"], want)
        self.server.handler = answer({"ok": True, "audit": [], "cursor": None})
        before = int(time.time()) - 1  # time(2) may trail time.time()
        self.ok("audit", "--since", "7d", "--until", "1h", "--actor", "sup-1", "--caller", "5")
        req = self.server.requests[-1]
        self.assertTrue(before - 7 * 86400 <= req["since"] <= int(time.time()) - 7 * 86400)
        self.assertTrue(before - 3600 <= req["until"] <= int(time.time()) - 3600)
        self.assertEqual((req["op"], req["actor"], req["caller"]), ("audit.list", "sup-1", "5"))

    def test_flags_hostile_and_revoked_rows(self):
        row = {"id": 9, "caller": EVIL, "code": EVIL, "reason": EVIL, "by": EVIL,
               "source": EVIL, "created_at": 1790000000, "expires_at": 1790086400,
               "state": EVIL, "revoked_at": 1790003600, "revoked_by": EVIL,
               "revoke_reason": EVIL}
        self.server.handler = answer({"ok": True, "flags": [row], "cursor": EVIL})
        r = self.ok("flags")
        assert_clean(self, r.out)
        lines = r.out.splitlines()
        self.assertEqual(len(lines), 4, r)  # header, row, revocation, cursor hint
        self.assertRegex(lines[2], r"^ +revoked 2026-09-21 15:13 by a\\x1b\[2J")
        self.assertEqual(lines[3], "more: --cursor " + EVIL_SHOWN)
        self.assertTrue(all(len(ln) < 160 for ln in lines[:3]))

    # follow-ups

    def test_followups_table(self):
        now = int(time.time())
        rows = [
            {"id": 3, "caller": "+15551234567", "call_id": None, "due_at": now + 7200,
             "created_by": "sup-1", "created_at": now, "note": "call back",
             "done_at": None, "done_by": None, "done_note": None},
            {"id": 2, "caller": None, "call_id": "c-2", "due_at": 1790000000,
             "created_by": "agent-7", "created_at": 1789913600, "note": "x" * 200,
             "done_at": None, "done_by": None, "done_note": None},
            {"id": 1, "caller": "+15551234567", "call_id": "c-1", "due_at": 1790000000,
             "created_by": EVIL, "created_at": 1789913600, "note": EVIL,
             "done_at": 1790003600, "done_by": EVIL, "done_note": EVIL},
        ]
        self.server.handler = answer({"ok": True, "followups": rows, "cursor": None})
        r = self.ok("followups", "--state", "all", "--caller", "5551234567", "--limit", "3")
        self.assertEqual(self.server.requests[-1],
                         {"op": "followup.list", "state": "all", "caller": "5551234567",
                          "limit": 3})
        assert_clean(self, r.out)
        lines = r.out.splitlines()
        self.assertEqual(lines[0], "ID  CALLER            DUE (UTC)         STATE    CREATED BY"
                                   "    NOTE")
        self.assertRegex(lines[1], r"^ 3  \+15551234567      \d{4}-\d\d-\d\d \d\d:\d\d  open "
                                   r"    sup-1         call back$")
        self.assertRegex(lines[2], r"^ 2  withheld          2026-09-21 14:13  overdue  agent-7 "
                                   r"      x{47}\.\.\.$")
        self.assertRegex(lines[3], r"^ 1  \+15551234567      2026-09-21 14:13  done     a\\x1b")
        self.assertRegex(lines[4], r"^    done 2026-09-21 15:13 by a\\x1b\[2J.*: a\\x1b")
        self.assertEqual(len(lines), 5)
        self.server.handler = answer({"ok": True, "followups": [], "cursor": None})
        self.assertEqual(self.ok("followups").out, "no follow-ups\n")
        self.assertEqual(self.server.requests[-1], {"op": "followup.list"})

    def test_followups_all(self):
        rows = [{"id": 10 - i, "caller": "+15551234567", "due_at": 1790000000,
                 "created_by": "s", "note": "n%d" % i, "done_at": None} for i in range(5)]
        self.server.handler = self.pages("followups", rows, 2)
        r = self.ok("followups", "--all", "--limit", "2", "--state", "overdue")
        self.assertEqual([q.get("cursor") for q in self.server.requests], [None, "p2", "p4"])
        self.assertTrue(all(q["state"] == "overdue" for q in self.server.requests))
        self.assertEqual([int(ln.split()[0]) for ln in r.out.splitlines()[1:]],
                         [10, 9, 8, 7, 6])

    def test_followup_add_and_done(self):
        fu = {"id": 7, "caller": "+15551234567", "call_id": "c-1", "due_at": 1795486400,
              "created_by": "sup-1", "created_at": 1795400000, "note": "call back",
              "done_at": None, "done_by": None, "done_note": None}
        self.server.handler = answer({"ok": True, "followup": fu})
        r = self.ok("followup", "555 123-4567", "--by", "sup-1", "--note", "call back",
                    "--due-in-hours", "24", "--call-id", "c-1")
        self.assertEqual(self.server.requests[-1],
                         {"op": "followup.add", "caller": "555 123-4567", "due_in_hours": 24,
                          "by": "sup-1", "note": "call back", "call_id": "c-1"})
        self.assertEqual(r.out, "follow-up 7 added: +15551234567 due 2026-11-24 02:13 UTC "
                                "(call c-1)\n")
        self.ok("followup", "1", "--by", "b", "--note", "-n", "--due-in-hours", "0.5")
        self.assertEqual(self.server.requests[-1]["due_in_hours"], 0.5)
        self.ok("followup", "1", "--by", "b", "--note", "n", "--due-at", "2026-11-24T09:00")
        req = self.server.requests[-1]
        self.assertEqual(req["due_at"], utc("2026-11-24 09:00"))
        self.assertNotIn("due_in_hours", req)
        self.assertNotIn("call_id", req)
        self.ok("followup", "1", "--by", "b", "--note", "n", "--due-at", "1795486400")
        self.assertEqual(self.server.requests[-1]["due_at"], 1795486400)

        done = dict(fu, done_at=1795400100, done_by="sup-2", done_note="called, apologised")
        self.server.handler = answer({"ok": True, "followup": done})
        r = self.ok("done", "7", "--by", "sup-2", "--note", "called, apologised")
        self.assertEqual(self.server.requests[-1],
                         {"op": "followup.done", "id": 7, "by": "sup-2",
                          "note": "called, apologised"})
        self.assertEqual(r.out, "follow-up 7 done: +15551234567 (by sup-2: called, "
                                "apologised)\n")
        self.server.handler = answer({"ok": False, "error": {
            "code": "conflict", "message": "follow-up 7 is done already"}})
        r = self.ctl("done", "7", "--by", "sup-2", "--note", "again")
        self.assertEqual((r.rc, r.out), (1, ""))
        self.assertEqual(r.err, "callwardenctl: conflict: follow-up 7 is done already\n")

    # audit

    def test_audit_table(self):
        rows = [
            {"id": 41, "ts": 1795398243, "actor": "agent-7", "role": "telephony",
             "action": "report.add", "subject": "+15551234567",
             "detail": {"report_id": 1, "call_id": "c-1", "code": "red",
                        "note": "threatened to come to the office, and more words"}},
            {"id": 40, "ts": 1795398242, "actor": EVIL, "role": EVIL, "action": EVIL,
             "subject": EVIL, "detail": {"reason": EVIL}},
            {"id": 3, "ts": 1795398241, "actor": "sup-1", "role": "ops",
             "action": "followup.done", "subject": 7, "detail": {}},
        ]
        self.server.handler = answer({"ok": True, "audit": rows, "cursor": None})
        r = self.ok("audit", "--caller", "+15551234567")
        assert_clean(self, r.out)
        lines = r.out.splitlines()
        self.assertEqual(len(lines), 4, r)
        self.assertEqual(lines[0], "ID  TIME (UTC)           ACTOR         ROLE        ACTION    "
                                   "      SUBJECT           DETAIL")
        detail = json.dumps(rows[0]["detail"], separators=(",", ":"))
        self.assertEqual(lines[1], "41  2026-11-23 01:44:03  agent-7       telephony   report.add"
                                   "      +15551234567      " + detail[:57] + "...")
        self.assertIn('{"reason":"a\\u001b[2J', lines[2])
        self.assertTrue(lines[3].startswith(" 3  2026-11-23 01:44:01  sup-1         ops      "
                                            "   followup.done   7                 {}"), lines[3])
        self.server.handler = answer({"ok": True, "audit": [], "cursor": None})
        self.assertEqual(self.ok("audit").out, "no audit rows\n")

    # export

    def test_export_pretty_and_safe(self):
        doc = {"ok": True, "caller": "+15551234567",
               "flags": [{"id": 1, "reason": EVIL + " é 漢字 \U0001F600 \"q\" \\ \t",
                          "expires_at": None, "score": 0.1, "big": 9007199254740991,
                          "neg": -3, "t": True, "f": False}],
               "reports": [], "calls": [], "followups": [{}], "audit": [[]]}
        self.server.handler = answer(doc)
        r = self.ok("export", "5551234567")
        self.assertEqual(self.server.requests[-1], {"op": "caller.export",
                                                    "caller": "5551234567"})
        assert_clean(self, r.out)
        self.assertIn("\\u001b[2J", r.out)
        self.assertIn("\\u202eevil\\u2028x\\nfake line\\r\\u007f", r.out)
        self.assertIn("é 漢字 \U0001F600", r.out)
        back = json.loads(r.out)
        want = dict(doc)
        del want["ok"]
        self.assertEqual(back, want)
        self.assertEqual(list(back), ["caller", "flags", "reports", "calls", "followups",
                                      "audit"])
        self.assertTrue(r.out.startswith('{\n  "caller": "+15551234567",\n  "flags": [\n    {\n'
                                         '      "id": 1,\n'), r.out)
        self.assertIn('\n  "reports": [],\n', r.out)
        self.assertIn('\n  "followups": [\n    {}\n  ],\n', r.out)
        self.assertIn('"score": 0.1,', r.out)
        self.assertIn('"big": 9007199254740991,', r.out)
        r = self.ok("--json", "export", "5551234567")
        self.assertEqual(r.raw_out, line(doc))


class SupDaemonTest(cwtest.SharedDaemonCase):
    """Every new command against the real daemon."""

    daemon_kwargs = {"tcp": False}

    @classmethod
    def setUpClass(cls):
        for binary in (CTL, DAEMON):
            if not os.access(binary, os.X_OK):
                raise unittest.SkipTest("not built: " + binary)
        super().setUpClass()
        cls.sock = cls.daemon.unix_path
        cls.serial = 0

    def unique(self, prefix):
        SupDaemonTest.serial += 1
        return "%s-%d-%d" % (prefix, os.getpid(), SupDaemonTest.serial)

    def new_caller(self):
        SupDaemonTest.serial += 1
        return "+1646%07d" % (os.getpid() % 1000 * 1000 + SupDaemonTest.serial)

    def ctl(self, *args):
        return run_ctl(["--socket", self.sock] + list(args))

    def ok(self, *args):
        r = self.ctl(*args)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.err, "", r)
        return r

    def json_ok(self, *args):
        r = self.ok("--json", *args)
        reply = json.loads(r.out)
        self.assertIs(reply["ok"], True)
        return reply

    def offer(self, caller):
        call_id = self.unique("call")
        with self.daemon.connect("unix") as c:
            r = c.call({"op": "call.offered", "call_id": call_id, "caller": caller})
        self.assertIs(r["ok"], True, r)
        return call_id

    def table(self, out):
        """The rows of a table output (after its header), without any 'more:' line."""
        lines = out.splitlines()
        self.assertTrue(lines and lines[0].lstrip().startswith("ID "), out)
        return [ln for ln in lines[1:] if not ln.startswith("more: ")]

    def test_report_transfers_and_records(self):
        caller = self.new_caller()
        call = self.offer(caller)
        r = self.ok("report", call, "red", "--agent", "agent-7", "--note",
                    "threatened to come to the office")
        self.assertEqual(field(r.out, "call"), call)
        self.assertEqual(field(r.out, "action"), "transfer")
        self.assertRegex(field(r.out, "queue"), r"^supervisor \(.+\)$")
        self.assertEqual(field(r.out, "rule"), "report-red")
        self.assertEqual(field(r.out, "alert"), "yes")
        m = re.fullmatch(r"(\d+) added: %s red \((expires \S+ \S+ UTC|never expires)\)"
                         % re.escape(caller), field(r.out, "flag"))
        self.assertIsNotNone(m, r)
        fid = int(m.group(1))
        m = re.fullmatch(r"(\d+) added: due (\S+ \S+) UTC", field(r.out, "followup"))
        self.assertIsNotNone(m, r)
        fuid = int(m.group(1))
        self.assertLess(abs(utc(m.group(2)) - (time.time() + 86400)), 120)
        # a retry records nothing new
        r = self.ok("report", call, "red", "--agent", "agent-7")
        self.assertTrue(r.out.endswith("duplicate: nothing new recorded (flag %d, follow-up %d "
                                       "recorded before)\n" % (fid, fuid)), r)
        self.assertEqual(field(r.out, "action"), "transfer")
        reply = self.json_ok("report", call, "red", "--agent", "agent-7")
        self.assertIs(reply["duplicate"], True)
        self.assertEqual(reply["flag"]["id"], fid)
        # the flag, the follow-up and the audit rows are there
        r = self.ok("flags", "--by", "agent-7", "--code", "red", "--source", "agent")
        self.assertIn(fid, [int(row.split()[0]) for row in self.table(r.out)])
        r = self.ok("followups", "--caller", caller)
        rows = self.table(r.out)
        self.assertEqual(len(rows), 1, r)
        self.assertEqual(rows[0].split()[:5], [str(fuid), caller, m.group(2).split()[0],
                                               m.group(2).split()[1], "open"])
        r = self.ok("audit", "--caller", caller)
        actions = [row.split()[5] for row in self.table(r.out)]
        self.assertEqual(sorted(actions), ["flag.add", "followup.add", "report.add"], r)

    def test_report_orange_continues_and_withheld_has_no_flag(self):
        caller = self.new_caller()
        call = self.offer(caller)
        r = self.ok("report", call, "orange", "--agent", "agent-2")
        self.assertEqual(field(r.out, "action"), "continue")
        self.assertRegex(field(r.out, "flag"), r"^\d+ added: %s orange " % re.escape(caller))
        self.assertEqual(field(r.out, "followup"), "none")
        self.assertIsNone(field(r.out, "alert"))
        call = self.offer("anonymous")
        r = self.ok("report", call, "yellow", "--agent", "agent-2")
        self.assertEqual(field(r.out, "action"), "transfer")
        self.assertEqual(field(r.out, "flag"), "none (caller withheld)")
        self.assertRegex(field(r.out, "followup"), r"^\d+ added: due ")

    def test_report_errors(self):
        call = self.offer(self.new_caller())
        cases = [("unknown call", ["report", self.unique("nope"), "red", "--agent", "a"],
                  "not_found"),
                 ("unknown code", ["report", call, "purple", "--agent", "a"], "bad_field"),
                 ("empty agent", ["report", call, "red", "--agent", ""], "bad_field"),
                 ("long note", ["report", call, "red", "--agent", "a", "--note", "n" * 5000],
                  "bad_field")]
        for what, args, code in cases:
            with self.subTest(what):
                r = self.ctl(*args)
                self.assertEqual((r.rc, r.out), (1, ""), r)
                self.assertRegex(r.err, r"^callwardenctl: %s: .+\n$" % code)

    def test_tail_live_events(self):
        proc = start_ctl(["--socket", self.sock, "tail", "--topics", "alert,flag,decision"])
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        out = Lines(proc.stdout)
        caller = self.new_caller()
        # Offer calls until one shows up: then the subscription is certainly active.
        deadline = time.monotonic() + 10
        while True:
            call = self.offer(caller)
            try:
                out.until(r" DECISION %s %s -> standard \(default\)$" % (call, re.escape(caller)),
                          timeout=0.3)
                break
            except AssertionError:
                self.assertLess(time.monotonic(), deadline, "tail printed no decision")
        r = self.ok("report", call, "red", "--agent", "agent-7", "--note", "threat \x1b[2J")
        fid = re.match(r"\d+", field(r.out, "flag")).group(0)
        seen = out.until(r" ALERT ")
        alert = seen[-1]
        self.assertRegex(alert, r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ALERT red %s call %s by "
                                   r"agent-7: threat \\x1b\[2J\n$" % (re.escape(caller), call))
        self.ok("revoke", fid, "--by", "sup-2", "--reason", "wrong number")
        seen += out.until(r" FLAG revoke ")
        self.assertRegex(seen[-1], r" FLAG revoke %s red %s by sup-2: wrong number\n$"
                         % (fid, re.escape(caller)))
        self.assertTrue(any(re.search(r" FLAG add %s red %s by agent-7: " % (fid,
                                                                           re.escape(caller)),
                                      ln) for ln in seen), seen)
        proc.send_signal(signal.SIGINT)
        rc, err = finish(proc)
        self.assertEqual((rc, err), (0, ""))

    def test_tail_json_and_unknown_topic(self):
        proc = start_ctl(["--socket", self.sock, "--json", "tail", "--topics", "flag"])
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        out = Lines(proc.stdout)
        caller = self.new_caller()
        deadline = time.monotonic() + 10
        while True:
            self.ok("flag", caller, "orange", "--reason", "r", "--by", "sup-1")
            try:
                got = out.get(0.3)
                break
            except AssertionError:
                self.assertLess(time.monotonic(), deadline, "tail printed no flag event")
        ev = json.loads(got)
        self.assertEqual((ev["event"], ev["action"], ev["flag"]["caller"]),
                         ("flag", "add", caller))
        proc.send_signal(signal.SIGTERM)
        rc, err = finish(proc)
        self.assertEqual((rc, err), (0, ""))
        r = self.ctl("tail", "--topics", "alert,nope")
        self.assertEqual((r.rc, r.out), (1, ""))
        self.assertRegex(r.err, r"^callwardenctl: bad_field: .*nope")

    def test_flags_filters_and_pagination(self):
        by = self.unique("sup")
        caller = self.new_caller()
        ids = [self.json_ok("flag", caller, "orange", "--reason", "r%d" % i, "--by",
                            by)["flag"]["id"] for i in range(7)]
        red = self.json_ok("flag", caller, "red", "--reason", "threat", "--by", by)["flag"]["id"]
        self.ok("revoke", str(red), "--by", by, "--reason", "reviewed")
        newest_first = sorted(ids, reverse=True)

        r = self.ok("flags", "--by", by)
        self.assertEqual([int(row.split()[0]) for row in self.table(r.out)], newest_first)
        r = self.ok("flags", "--by", by, "--state", "revoked")
        rows = self.table(r.out)
        self.assertEqual(rows[0].split()[:4], [str(red), "revoked", "red", caller])
        self.assertRegex(rows[1], r"^ +revoked \S+ \S+ by %s: reviewed$" % by)
        r = self.ok("flags", "--by", by, "--state", "all", "--code", "red")
        self.assertEqual([int(row.split()[0]) for row in self.table(r.out)
                          if not row.lstrip().startswith("revoked")], [red])
        r = self.ok("flags", "--by", by, "--since", "1h", "--source", "supervisor")
        self.assertEqual(len(self.table(r.out)), 7)
        self.assertEqual(self.ok("flags", "--by", by, "--until", "1h").out, "no flags\n")
        self.assertEqual(self.ok("flags", "--by", by, "--source", "agent").out, "no flags\n")

        # by hand: three pages of 3, 3, 1
        seen, cursor = [], None
        for _ in range(3):
            r = self.ok("flags", "--by", by, "--limit", "3", *(["--cursor", cursor]
                                                             if cursor else []))
            seen += [int(row.split()[0]) for row in self.table(r.out)]
            m = re.search(r"^more: --cursor (\S+)$", r.out, re.M)
            cursor = m.group(1) if m else None
        self.assertIsNone(cursor)
        self.assertEqual(seen, newest_first)
        r = self.ok("flags", "--by", by, "--limit", "3", "--all")
        self.assertEqual([int(row.split()[0]) for row in self.table(r.out)], newest_first)
        self.assertEqual(len(re.findall(r"^ *ID  STATE ", r.out, re.M)), 1)
        r = self.ok("--json", "flags", "--by", by, "--limit", "3", "--all")
        pages = [json.loads(ln) for ln in r.out.splitlines()]
        self.assertEqual(len(pages), 3)
        self.assertEqual([f["id"] for p in pages for f in p["flags"]], newest_first)
        r = self.ctl("flags", "--cursor", "garbage!")
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.err, r"^callwardenctl: bad_field: ")

    def test_followups_add_list_done(self):
        caller = self.new_caller()
        r = self.ok("followup", caller[2:], "--by", "sup-1", "--note", "call back \x1b[31m",
                    "--due-in-hours", "2", "--call-id", "c-77")
        m = re.fullmatch(r"follow-up (\d+) added: %s due (\S+ \S+) UTC \(call c-77\)\n"
                         % re.escape(caller), r.out)
        self.assertIsNotNone(m, r)
        fuid = m.group(1)
        self.assertLess(abs(utc(m.group(2)) - (time.time() + 7200)), 120)
        past = self.json_ok("followup", caller, "--by", "sup-1", "--note", "old",
                            "--due-at", "2020-01-01")["followup"]
        self.assertEqual(past["due_at"], utc("2020-01-01", "%Y-%m-%d"))

        r = self.ok("followups", "--caller", caller)
        rows = self.table(r.out)
        self.assertEqual([row.split()[0] for row in rows], [str(past["id"]), fuid])
        self.assertEqual(rows[0].split()[4], "overdue")
        self.assertEqual(rows[1].split()[4], "open")
        self.assertTrue(rows[1].endswith("sup-1         call back \\x1b[31m"), rows[1])
        r = self.ok("followups", "--caller", caller, "--state", "overdue")
        self.assertEqual([row.split()[0] for row in self.table(r.out)], [str(past["id"])])

        r = self.ok("done", fuid, "--by", "sup-2", "--note", "called, apologised")
        self.assertEqual(r.out, "follow-up %s done: %s (by sup-2: called, apologised)\n"
                         % (fuid, caller))
        r = self.ctl("done", fuid, "--by", "sup-2", "--note", "again")
        self.assertEqual((r.rc, r.out), (1, ""))
        self.assertRegex(r.err, r"^callwardenctl: conflict: ")
        r = self.ctl("done", "987654321", "--by", "sup-2", "--note", "n")
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.err, r"^callwardenctl: not_found: ")
        r = self.ok("followups", "--caller", caller, "--state", "done")
        rows = self.table(r.out)
        self.assertEqual(rows[0].split()[:5][-1], "done")
        self.assertRegex(rows[1], r"^ +done \S+ \S+ by sup-2: called, apologised$")
        self.assertEqual(len(self.table(self.ok("followups", "--caller", caller).out)), 1)

        for i in range(4):
            self.ok("followup", caller, "--by", "sup-3", "--note", "n%d" % i,
                    "--due-in-hours", "1")
        r = self.ok("followups", "--caller", caller, "--state", "all", "--limit", "2", "--all")
        ids = [int(row.split()[0]) for row in self.table(r.out) if not
               row.lstrip().startswith("done ")]
        self.assertEqual(len(ids), 6)
        self.assertEqual(ids, sorted(set(ids), reverse=True))
        r = self.ctl("followup", caller, "--by", "s", "--note", "", "--due-in-hours", "1")
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.err, r"^callwardenctl: bad_field: ")
        r = self.ctl("followup", "anonymous", "--by", "s", "--note", "n", "--due-in-hours", "1")
        self.assertEqual(r.rc, 1, r)

    def test_audit(self):
        SupDaemonTest.serial += 1
        actor = "aud-%d" % SupDaemonTest.serial  # fits the 12-column ACTOR
        caller = self.new_caller()
        fid = self.json_ok("flag", caller, "yellow", "--reason", "shouted", "--by",
                           actor)["flag"]["id"]
        self.ok("revoke", str(fid), "--by", actor, "--reason", "calmed down")
        self.ok("followup", caller, "--by", actor, "--note", "check in", "--due-in-hours", "3")
        r = self.ok("audit", "--actor", actor)
        rows = self.table(r.out)
        self.assertEqual([row.split()[5] for row in rows],
                         ["followup.add", "flag.revoke", "flag.add"])
        for row in rows:
            cols = row.split()
            self.assertEqual((cols[3], cols[6]), (actor, caller))
            self.assertLess(abs(utc(cols[1] + " " + cols[2], "%Y-%m-%d %H:%M:%S") - time.time()),
                            120)
        self.assertIn('{"flag_id":%d' % fid, rows[2])
        r = self.ok("audit", "--caller", caller, "--limit", "1", "--all", "--since", "1h")
        self.assertEqual(len(self.table(r.out)), 3)
        r = self.ok("audit", "--caller", caller, "--limit", "2")
        self.assertRegex(r.out, r"\nmore: --cursor \S+\n$")
        self.assertEqual(self.ok("audit", "--actor", actor, "--until", "1h").out,
                         "no audit rows\n")

    def test_export(self):
        caller = self.new_caller()
        note = "said \"bye\" \x1b[2J \u202eevil\nline2 é"
        call = self.offer(caller)
        self.ok("report", call, "red", "--agent", "agent-7", "--note", note)
        self.ok("flag", caller, "orange", "--reason", "again", "--by", "sup-1")
        # The call log is written behind the decision: wait until the call is in it, so that
        # the two exports below see the same document.
        deadline = time.monotonic() + 10
        while True:
            r = self.ok("export", caller)
            doc = json.loads(r.out)
            if [c.get("call_id") for c in doc["calls"]] == [call]:
                break
            self.assertLess(time.monotonic(), deadline, "call never logged: %r" % doc["calls"])
            time.sleep(0.05)
        assert_clean(self, r.out)
        self.assertNotIn("ok", doc)
        self.assertEqual(doc["caller"], caller)
        for key in ("flags", "reports", "calls", "followups", "audit"):
            self.assertIsInstance(doc[key], list, key)
        self.assertEqual([f["code"] for f in doc["flags"]], ["orange", "red"])
        self.assertEqual(doc["flags"][1]["reason"], note)
        self.assertEqual(doc["reports"][0]["note"], note)
        self.assertEqual(doc["reports"][0]["call_id"], call)
        raw = self.json_ok("export", caller)
        del raw["ok"]
        self.assertEqual(raw, doc)
        r = self.ctl("export", "anonymous")
        self.assertEqual(r.rc, 1, r)


class SupDaemonStopTest(unittest.TestCase):
    """tail exits 3 when the daemon goes away under it."""

    def test_tail_exits_3_when_the_daemon_stops(self):
        if not all(os.access(b, os.X_OK) for b in (CTL, DAEMON)):
            raise unittest.SkipTest("not built")
        daemon = Daemon(tcp=False)
        self.addCleanup(daemon.cleanup)
        daemon.start()
        proc = start_ctl(["--socket", daemon.unix_path, "tail", "--topics", "flag"])
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        out = Lines(proc.stdout)
        deadline = time.monotonic() + 10
        caller = "+16470000001"
        while True:
            run_ctl(["--socket", daemon.unix_path, "flag", caller, "orange", "--reason", "r",
                     "--by", "s"])
            try:
                out.until(" FLAG add ", timeout=0.3)
                break
            except AssertionError:
                self.assertLess(time.monotonic(), deadline)
        daemon.stop()
        rc, err = finish(proc)
        self.assertEqual(rc, 3, err)
        self.assertIn("connection closed by the daemon", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
