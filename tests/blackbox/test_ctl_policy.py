#!/usr/bin/env python3
"""Black-box tests of callwardenctl's policy commands (policy check, policy reload, policy
simulate) and of its tokens over TCP (issue 5): against scripted fake servers for requests,
output, exit codes, escaping and the hello; and against the real callwardend.

Environment: CW_BUILD_DIR (callwardend, callwardenctl) and CW_SOURCE_DIR (config/policy.conf).
"""
import json
import os
import re
import shutil
import tempfile
import time
import unittest

import cwtest
from test_ctl import CTL, DAEMON, field, run_ctl
from test_ctl_supervisor import EVIL, EVIL_SHOWN, ScriptServer, answer, assert_clean, line
from test_ctl_supervisor import utc as sup_utc

OPS_TOKEN = "ops-token-0123456789abcdef"
SUP_TOKEN = "supervisor-token-0123456789"
BROKEN = 'queues = ( { name = "x"; } );\nfoo = 1;\n'


def utc(text):
    return sup_utc(text, "%Y-%m-%d %H:%M:%S")


def sample_text():
    with open(cwtest.SAMPLE_POLICY) as f:
        return f.read()


def by_op(replies, conns=None):
    """A handler answering each op from a dict of replies (an op absent: unknown_op)."""
    def handler(req, conn):
        if conns is not None:
            conns.append(id(conn))
        reply = replies.get(req.get("op"),
                            {"ok": False, "error": {"code": "unknown_op", "message": "?"}})
        if callable(reply):
            return reply(req, conn)
        conn.sendall(line(reply))
        return None
    return handler


class PolicyUsageTest(cwtest.TempDirCase):
    """Command-line handling; nothing is ever sent."""

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_help(self):
        r = run_ctl(["help"])
        self.assertEqual(r.rc, 0, r)
        for text in ("policy check [FILE]", "policy reload [--by NAME]",
                     "policy simulate FILE [--since T] [--until T]", "--token-file PATH",
                     "$CALLWARDEN_TOKEN"):
            self.assertIn(text, r.out)
        self.assertTrue(all(len(ln) <= 100 for ln in r.out.splitlines()), r.out)
        for args in (["help", "policy"], ["policy", "--help"]):
            r = run_ctl(args)
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(len(re.findall(r"^usage: callwardenctl \[OPTIONS\] policy ",
                                            r.out, re.M)), 3, r)
        for args in (["help", "policy", "simulate"], ["policy", "simulate", "--help"]):
            r = run_ctl(args)
            self.assertEqual(r.rc, 0, r)
            self.assertIn("policy simulate FILE [--since T] [--until T]", r.out)
            self.assertNotIn("policy check", r.out)
        r = run_ctl(["help", "policy", "frob"])
        self.assertEqual(r.rc, 2, r)

    def test_usage_errors_exit_2_without_connecting(self):
        cases = [
            ("no subcommand", ["policy"]),
            ("unknown subcommand", ["policy", "frob"]),
            ("check two files", ["policy", "check", "a", "b"]),
            ("check with since", ["policy", "check", "--since", "1h"]),
            ("reload with a file", ["policy", "reload", "x.conf"]),
            ("reload empty by", ["policy", "reload", "--by", ""]),
            ("simulate without file", ["policy", "simulate"]),
            ("simulate two files", ["policy", "simulate", "a", "b"]),
            ("simulate since junk", ["policy", "simulate", "a", "--since", "last week"]),
            ("simulate until bad date", ["policy", "simulate", "a", "--until", "2026-02-30"]),
            ("simulate since after until", ["policy", "simulate", "a", "--since", "1h",
                                            "--until", "2h"]),
            ("simulate by", ["policy", "simulate", "a", "--by", "x"]),
            ("option before the subcommand", ["policy", "--since", "1h", "simulate", "a"]),
            # a token is never an argument: it would show in ps
            ("token option", ["--token", OPS_TOKEN, "ping"]),
            ("token-file over unix", ["--token-file", "/dev/null", "ping"]),
        ]
        for what, args in cases:
            with self.subTest(what):
                r = run_ctl(["--socket", self.nosock] + args)
                self.assertEqual(r.rc, 2, r)
                self.assertEqual(r.out, "")
                self.assertTrue(r.err.startswith("callwardenctl: "), r)
                self.assertIn("usage:", r.err)
                self.assertNotIn(OPS_TOKEN, r.err)

    def test_bad_tokens_exit_2_without_connecting(self):
        server = ScriptServer()
        self.addCleanup(server.close)
        server.handler = answer({"ok": True, "version": "1", "policy": "p"})
        secret = "s3cret-token-0123456789"
        cases = [
            ("missing file", ["--token-file", os.path.join(self.tmp, "nope")], None),
            ("empty file", ["--token-file", self.write("empty", b"")], None),
            ("only a newline", ["--token-file", self.write("nl", b"\n")], None),
            ("two lines", ["--token-file", self.write("two", secret.encode() + b"\nx\n")],
             None),
            ("too long", ["--token-file", self.write("long", b"t" * 1025)], None),
            ("control character", ["--token-file",
                                   self.write("ctl", b"s3cret\x1b-token-0123456789")], None),
            ("directory", ["--token-file", self.tmp], None),
            ("env with a newline", [], {"CALLWARDEN_TOKEN": secret + "\nx"}),
            ("env too long", [], {"CALLWARDEN_TOKEN": "t" * 1025}),
        ]
        for what, args, env in cases:
            with self.subTest(what):
                r = run_ctl(["--tcp", "127.0.0.1:%d" % server.port] + args + ["ping"], env=env)
                self.assertEqual(r.rc, 2, r)
                self.assertEqual(r.out, "")
                self.assertNotIn("s3cret", r.err)
                self.assertIn("token", r.err)
        self.assertEqual(server.requests, [])


class PolicyFakeServerTest(unittest.TestCase):
    """Requests and output of the policy commands, against replies scripted byte by byte."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cwpol-")
        self.path = os.path.join(self.tmp, "fake.sock")
        self.server = ScriptServer(self.path)
        self.conns = []
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.addCleanup(self.server.close)

    def ctl(self, *args, **kw):
        return run_ctl(["--socket", self.path] + list(args), **kw)

    def ok(self, *args, **kw):
        r = self.ctl(*args, **kw)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.err, "", r)
        return r

    ERRORS = {"ok": False, "error": {"code": "bad_field",
                                     "message": "/p/c.conf:2: unknown key 'foo'"},
              "errors": ["/p/c.conf:2: unknown key 'foo'",
                         "/p/c.conf:1: queue 'x': missing required key 'target'"]}

    # check

    def test_check_sends_an_absolute_path(self):
        self.server.handler = answer({"ok": True, "policy": "v-2", "path": "/p/cand.conf"})
        os.mkdir(os.path.join(self.tmp, "sub"))
        r = self.ok("policy", "check", "sub/cand.conf", cwd=self.tmp)
        self.assertEqual(self.server.requests[-1],
                         {"op": "policy.check",
                          "path": os.path.join(os.path.realpath(self.tmp), "sub/cand.conf")})
        self.assertEqual(r.out, "/p/cand.conf: OK, policy v-2 (not applied)\n")
        self.ok("policy", "check", "/etc/x.conf")
        self.assertEqual(self.server.requests[-1], {"op": "policy.check", "path": "/etc/x.conf"})
        # without FILE the daemon checks its own policy file
        r = self.ok("policy", "check")
        self.assertEqual(self.server.requests[-1], {"op": "policy.check"})
        r = self.ok("--json", "policy", "check")
        self.assertEqual(r.raw_out, line({"ok": True, "policy": "v-2", "path": "/p/cand.conf"}))

    def test_check_errors_each_on_a_line(self):
        self.server.handler = answer(self.ERRORS)
        r = self.ctl("policy", "check", "/p/c.conf")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, "")
        self.assertEqual(r.err, "/p/c.conf:2: unknown key 'foo'\n"
                                "/p/c.conf:1: queue 'x': missing required key 'target'\n"
                                "callwardenctl: policy check: 2 errors\n")
        r = self.ctl("--json", "policy", "check", "/p/c.conf")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.raw_out, line(self.ERRORS))
        # an error without a list of errors is printed as any other
        self.server.handler = answer({"ok": False, "error": {"code": "forbidden",
                                                             "message": "not for you"}})
        r = self.ctl("policy", "check")
        self.assertEqual((r.rc, r.out, r.err), (1, "", "callwardenctl: forbidden: not for you\n"))

    def test_hostile_errors_are_escaped(self):
        bad = dict(self.ERRORS, errors=[EVIL, "/p/c.conf:3: " + EVIL])
        self.server.handler = answer(bad)
        r = self.ctl("policy", "check", "/p/c.conf")
        self.assertEqual(r.rc, 1, r)
        assert_clean(self, r.out, r.err)
        self.assertEqual(r.err.splitlines(), [EVIL_SHOWN, "/p/c.conf:3: " + EVIL_SHOWN,
                                              "callwardenctl: policy check: 2 errors"])
        self.server.handler = answer({"ok": True, "policy": EVIL, "path": EVIL})
        r = self.ok("policy", "check")
        assert_clean(self, r.out)
        self.assertEqual(r.out, "%s: OK, policy %s (not applied)\n" % (EVIL_SHOWN, EVIL_SHOWN))

    # reload

    RELOADED = {"ok": True, "policy": "v-3", "path": "config/policy.conf", "old": "v-2",
                "loaded_at": utc("2026-11-24 09:13:15")}

    def test_reload_prints_old_and_new(self):
        # One request: the reply names the version it replaced.
        self.server.handler = by_op({"policy.reload": self.RELOADED}, self.conns)
        r = self.ok("policy", "reload", "--by", "ops-7")
        self.assertEqual(self.server.requests, [{"op": "policy.reload", "by": "ops-7"}])
        self.assertEqual(r.out, "policy    v-2 -> v-3\n"
                                "path      config/policy.conf\n"
                                "loaded    2026-11-24 09:13:15 UTC\n")
        self.server.handler = by_op({"policy.reload": dict(self.RELOADED, old="v-3")})
        r = self.ok("policy", "reload")
        self.assertEqual(self.server.requests[-1], {"op": "policy.reload"})
        self.assertEqual(field(r.out, "policy"), "v-3 -> v-3 (the same version)")
        # a reply without "old" (an older daemon) still prints the new version
        self.server.handler = by_op({"policy.reload": {
            k: v for k, v in self.RELOADED.items() if k != "old"}})
        r = self.ok("policy", "reload")
        self.assertEqual(field(r.out, "policy"), "- -> v-3")
        # --json: the reload's reply alone
        self.server.handler = by_op({"policy.reload": self.RELOADED})
        del self.server.requests[:]
        r = self.ok("--json", "policy", "reload")
        self.assertEqual(self.server.requests, [{"op": "policy.reload"}])
        self.assertEqual(r.raw_out, line(self.RELOADED))

    def test_reload_failure_keeps_the_old_policy(self):
        # The error reply names the version the daemon keeps.
        self.server.handler = by_op({"policy.reload": dict(self.ERRORS, policy="v-2")})
        r = self.ctl("policy", "reload")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, "")
        self.assertEqual(r.err.splitlines(), self.ERRORS["errors"] + [
            "callwardenctl: policy reload: 2 errors; the daemon keeps policy v-2"])
        r = self.ctl("--json", "policy", "reload")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.raw_out, line(dict(self.ERRORS, policy="v-2")))
        # without the version: the daemon keeps "its current policy"
        self.server.handler = by_op({"policy.reload": self.ERRORS})
        r = self.ctl("policy", "reload")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("the daemon keeps its current policy", r.err)
        # a refused reload is reported as such
        self.server.handler = by_op({"policy.reload": {"ok": False, "error": {
            "code": "unauthorized", "message": "send hello with a token first"}}})
        del self.server.requests[:]
        r = self.ctl("policy", "reload")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(self.server.requests, [{"op": "policy.reload"}])
        self.assertIn("unauthorized", r.err)

    def test_reload_hostile_and_malformed(self):
        self.server.handler = by_op({"policy.reload": dict(self.RELOADED, path=EVIL, old=EVIL)})
        r = self.ok("policy", "reload")
        assert_clean(self, r.out)
        self.assertEqual(field(r.out, "policy"), EVIL_SHOWN + " -> v-3")
        self.assertEqual(field(r.out, "path"), EVIL_SHOWN)
        self.assertEqual(len(r.out.splitlines()), 3)
        self.server.handler = by_op({"policy.reload": lambda _r, c: c.sendall(b"{nope\n")})
        r = self.ctl("policy", "reload")
        self.assertEqual(r.rc, 3, r)
        self.assertIn("malformed reply", r.err)

    # simulate

    SIMULATED = {
        "ok": True, "calls": 16, "since": utc("2026-11-17 09:00:00"),
        "until": utc("2026-11-24 09:00:01"),
        "current": {"policy": "sample-2", "queues": {"standard": 10, "long-hold": 6},
                    "rules": {"default": 10, "nuisance": 6}},
        "candidate": {"policy": "cand-1", "queues": {"standard": 5, "supervisor": 8,
                                                     "long-hold": 3},
                      "rules": {"default": 5, "score": 8, "nuisance": 3}},
        "changed_calls": 8,
        "changed": [
            {"caller": "+15552220000", "call_id": "o0",
             "from": {"queue": "standard", "rule": "default", "reason": "no rule matched"},
             "to": {"queue": "supervisor", "rule": "score",
                    "reason": "abuse score 1.00 >= 0.50 from 1 active flag"}},
            {"caller": None, "call_id": "o1",
             "from": {"queue": "long-hold", "rule": "nuisance", "reason": "nuisance flag"},
             "to": {"queue": "standard", "rule": "default", "reason": "no rule matched"}}]}

    def test_simulate_request_and_table(self):
        self.server.handler = answer(self.SIMULATED)
        r = self.ok("policy", "simulate", "cand.conf", "--since", "2026-11-17T09:00",
                    "--until", "1795500000", cwd=self.tmp)
        self.assertEqual(self.server.requests[-1],
                         {"op": "policy.simulate",
                          "path": os.path.join(os.path.realpath(self.tmp), "cand.conf"),
                          "since": utc("2026-11-17 09:00:00"), "until": 1795500000})
        self.assertEqual(r.out, """\
range     2026-11-17 09:00:00 to 2026-11-24 09:00:01 UTC
calls     16 replayed
current   sample-2
candidate cand-1
changed   8 of 16 calls

QUEUE         CURRENT  CANDIDATE     CHANGE
long-hold           6          3         -3
standard           10          5         -5
supervisor          0          8         +8

RULE          CURRENT  CANDIDATE     CHANGE
default            10          5         -5
nuisance            6          3         -3
score               0          8         +8

CALLER            CALL ID           CURRENT                       CANDIDATE
+15552220000      o0                standard (default)            supervisor (score)
    current:   no rule matched
    candidate: abuse score 1.00 >= 0.50 from 1 active flag
withheld          o1                long-hold (nuisance)          standard (default)
    current:   nuisance flag
    candidate: no rule matched
(2 of 8 changed calls shown)
""")
        before = int(time.time()) - 1  # time(2) reads a coarse clock that may trail
        self.ok("policy", "simulate", "/x/cand.conf", "--since", "7d")
        req = self.server.requests[-1]
        self.assertEqual(set(req), {"op", "path", "since"})
        self.assertTrue(before - 7 * 86400 <= req["since"] <= int(time.time()) - 7 * 86400)
        self.ok("policy", "simulate", "/x/cand.conf")
        self.assertEqual(self.server.requests[-1],
                         {"op": "policy.simulate", "path": "/x/cand.conf"})
        r = self.ok("--json", "policy", "simulate", "/x/cand.conf")
        self.assertEqual(r.raw_out, line(self.SIMULATED))

    def test_simulate_unchanged_truncated_and_unaligned_counts(self):
        same = dict(self.SIMULATED, changed_calls=0, changed=[], truncated=True,
                    calls=1000000,
                    candidate=dict(self.SIMULATED["current"], policy="cand-2"))
        self.server.handler = answer(same)
        r = self.ok("policy", "simulate", "/x/c.conf")
        self.assertEqual(field(r.out, "calls"),
                         "1000000 replayed (truncated: the range holds more)")
        self.assertEqual(field(r.out, "changed"), "0 of 1000000 calls")
        self.assertTrue(r.out.endswith("\nno call would be routed differently\n"), r.out)
        self.assertRegex(r.out, r"\nstandard +10 +10 +0\n")

    def test_simulate_hostile_strings(self):
        long_rule = "r" * 80
        evil = dict(self.SIMULATED,
                    current={"policy": EVIL, "queues": {EVIL: 1}, "rules": {long_rule: 1}},
                    candidate={"policy": EVIL, "queues": {"q\nfake 1 2 3": 1},
                               "rules": {EVIL: 1}},
                    changed_calls=1,
                    changed=[{"caller": EVIL, "call_id": EVIL,
                              "from": {"queue": EVIL, "rule": EVIL, "reason": EVIL},
                              "to": {"queue": EVIL, "rule": EVIL, "reason": EVIL}}])
        self.server.handler = answer(evil)
        r = self.ok("policy", "simulate", "/x/c.conf")
        assert_clean(self, r.out)
        self.assertEqual(field(r.out, "current"), EVIL_SHOWN)
        lines = r.out.splitlines()
        # each queue, rule and changed call is one row (two reason lines for a call), however
        # hostile or long its name
        queue = lines.index(next(ln for ln in lines if ln.startswith("QUEUE ")))
        rule = lines.index(next(ln for ln in lines if ln.startswith("RULE ")))
        self.assertEqual(rule - queue, 4)  # two rows and a blank line
        self.assertEqual(len(lines) - rule, 1 + 2 + 1 + 1 + 3)
        self.assertIn("q\\nfake 1 2 3", r.out)
        rows = lines[queue + 1:rule - 1] + lines[rule + 1:rule + 3]
        self.assertTrue(all(len(ln) == len(rows[0]) for ln in rows), rows)
        self.assertIn("r" * 29 + "...", r.out)  # names are cut to the column
        self.assertEqual(lines[-2], "    current:   " + EVIL_SHOWN)

    def test_simulate_errors(self):
        self.server.handler = answer({"ok": False, "error": {
            "code": "bad_field", "message": "/x/c.conf: cannot open: No such file"}})
        r = self.ctl("policy", "simulate", "/x/c.conf")
        self.assertEqual((r.rc, r.out), (1, ""), r)
        self.assertEqual(r.err, "callwardenctl: bad_field: /x/c.conf: cannot open: No such file\n")
        # a candidate's list of errors is printed like policy check's
        self.server.handler = answer(self.ERRORS)
        r = self.ctl("policy", "simulate", "/p/c.conf")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.err.splitlines()[-1], "callwardenctl: policy simulate: 2 errors")
        self.server.handler = lambda _req, _conn: time.sleep(2)
        start = time.monotonic()
        r = self.ctl("--timeout", "0.3", "policy", "simulate", "/x/c.conf")
        self.assertLess(time.monotonic() - start, 1.8)
        self.assertEqual(r.rc, 3, r)
        self.assertIn("no reply within 0.3 s", r.err)


class TokenFakeServerTest(unittest.TestCase):
    """The hello that carries the token, against a scripted TCP server."""

    SECRET = "fake-secret-token-0123456789"

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cwtok-")
        self.server = ScriptServer()
        self.conns = []
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.addCleanup(self.server.close)
        self.tcp = "127.0.0.1:%d" % self.server.port
        self.hello_ok = {"ok": True, "role": "ops"}

    def handler(self, hello=None):
        def on_hello(req, conn):
            ok = req.get("token") == self.SECRET
            conn.sendall(line(self.hello_ok if ok else (hello or {
                "ok": False, "error": {"code": "unauthorized", "message": "unknown token"}})))
        return by_op({"hello": on_hello,
                      "ping": {"ok": True, "version": "1", "policy": "p-1"},
                      "flag.list": {"ok": True, "flags": [], "cursor": None}}, self.conns)

    def token_file(self, data):
        path = os.path.join(self.tmp, "token")
        with open(path, "wb") as f:
            f.write(data)
        return path

    def clean(self, r):
        self.assertNotIn(self.SECRET, r.out + r.err)

    def test_env_token_says_hello_first(self):
        self.server.handler = self.handler()
        r = run_ctl(["--tcp", self.tcp, "ping"], env={"CALLWARDEN_TOKEN": self.SECRET})
        self.assertEqual((r.rc, r.err), (0, ""), r)
        self.assertEqual(r.out, "callwardend 1, policy p-1\n")
        self.assertEqual(self.server.requests, [{"op": "hello", "token": self.SECRET},
                                                {"op": "ping"}])
        self.assertEqual(len(set(self.conns)), 1)
        self.clean(r)
        # --json prints the command's reply, not the hello's
        r = run_ctl(["--json", "--tcp", self.tcp, "ping"], env={"CALLWARDEN_TOKEN": self.SECRET})
        self.assertEqual(json.loads(r.out)["policy"], "p-1")

    def test_token_file(self):
        self.server.handler = self.handler()
        for data in (self.SECRET.encode(), self.SECRET.encode() + b"\n",
                     self.SECRET.encode() + b"\r\n"):
            with self.subTest(data):
                del self.server.requests[:]
                r = run_ctl(["--tcp", self.tcp, "--token-file", self.token_file(data),
                             "ping"], env={"CALLWARDEN_TOKEN": "the-file-wins-0123456789"})
                self.assertEqual(r.rc, 0, r)
                self.assertEqual(self.server.requests[0], {"op": "hello", "token": self.SECRET})
                self.clean(r)

    def test_refused_token(self):
        self.server.handler = self.handler()
        r = run_ctl(["--tcp", self.tcp, "ping"], env={"CALLWARDEN_TOKEN": "wrong-token-012345"})
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, "")
        self.assertEqual(r.err, "callwardenctl: unauthorized: unknown token\n"
                                "callwardenctl: tcp %s refused the token from "
                                "$CALLWARDEN_TOKEN\n" % self.tcp)
        self.assertNotIn("wrong-token", r.err)
        self.assertEqual([q["op"] for q in self.server.requests], ["hello"])
        path = self.token_file(b"wrong-token-012345\n")
        r = run_ctl(["--tcp", self.tcp, "--token-file", path, "flags", "--all"])
        self.assertEqual(r.rc, 1, r)
        self.assertIn("refused the token from --token-file " + path, r.err)
        self.assertNotIn("wrong-token", r.out + r.err)
        # hostile text in the refusal is escaped
        self.server.handler = self.handler({"ok": False, "error": {"code": "unauthorized",
                                                                   "message": EVIL}})
        r = run_ctl(["--tcp", self.tcp, "ping"], env={"CALLWARDEN_TOKEN": "wrong-token-012345"})
        self.assertEqual(r.rc, 1, r)
        assert_clean(self, r.out, r.err)
        self.assertIn(EVIL_SHOWN, r.err)

    def test_hello_on_every_connection_kind(self):
        """tail and paged lists open their connection the same way."""
        self.server.handler = self.handler()
        env = {"CALLWARDEN_TOKEN": self.SECRET}
        r = run_ctl(["--tcp", self.tcp, "flags", "--all"], env=env)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([q["op"] for q in self.server.requests], ["hello", "flag.list"])
        del self.server.requests[:]
        r = run_ctl(["--tcp", self.tcp, "policy", "reload"], env=env)
        self.assertEqual([q["op"] for q in self.server.requests][:2], ["hello", "policy.reload"])
        del self.server.requests[:]
        r = run_ctl(["--tcp", self.tcp, "tail"], env={"CALLWARDEN_TOKEN": "wrong-token-0123"})
        self.assertEqual(r.rc, 1, r)
        self.assertEqual([q["op"] for q in self.server.requests], ["hello"])

    def test_no_token_no_hello_and_a_hint(self):
        self.server.handler = by_op({"ping": {"ok": False, "error": {
            "code": "unauthorized", "message": "send hello with a token first"}}})
        r = run_ctl(["--tcp", self.tcp, "ping"], env={"CALLWARDEN_TOKEN": ""})
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(self.server.requests, [{"op": "ping"}])
        self.assertEqual(r.err, "callwardenctl: unauthorized: send hello with a token first\n"
                                "callwardenctl: tcp %s wants a token: set $CALLWARDEN_TOKEN "
                                "or give --token-file PATH\n" % self.tcp)

    def test_hello_timeout_and_malformed(self):
        self.server.handler = lambda _req, _conn: time.sleep(2)
        r = run_ctl(["--tcp", self.tcp, "--timeout", "0.3", "ping"],
                    env={"CALLWARDEN_TOKEN": self.SECRET})
        self.assertEqual(r.rc, 3, r)
        self.assertIn("no reply within 0.3 s", r.err)
        self.server.handler = lambda _req, conn: conn.sendall(b'{"ok":false}\n')
        r = run_ctl(["--tcp", self.tcp, "ping"], env={"CALLWARDEN_TOKEN": self.SECRET})
        self.assertEqual(r.rc, 3, r)
        self.clean(r)

    def test_unix_socket_ignores_the_env_token(self):
        """Over the Unix socket the role comes from the uid: no hello, whatever the env says."""
        path = os.path.join(self.tmp, "fake.sock")
        unix = ScriptServer(path)
        self.addCleanup(unix.close)
        unix.handler = answer({"ok": True, "version": "1", "policy": "p"})
        r = run_ctl(["--socket", path, "ping"], env={"CALLWARDEN_TOKEN": self.SECRET})
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(unix.requests, [{"op": "ping"}])


class PolicyDaemonTest(unittest.TestCase):
    """The policy commands against the real daemon, on a policy file of its own."""

    def setUp(self):
        for binary in (CTL, DAEMON):
            if not os.access(binary, os.X_OK):
                self.skipTest("not built: " + binary)
        self.dir = cwtest.make_tempdir()
        self.policy = os.path.join(self.dir, "policy.conf")
        shutil.copy(cwtest.SAMPLE_POLICY, self.policy)
        self.work = os.path.join(self.dir, "work")
        os.mkdir(self.work)
        self.d = cwtest.Daemon(directory=self.dir, policy=self.policy, tcp=False)
        self.d.start()
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.addCleanup(self.d.cleanup)
        self.addCleanup(self.d.stop)

    def ctl(self, *args, **kw):
        return run_ctl(["--socket", self.d.unix_path] + list(args), **kw)

    def ok(self, *args, **kw):
        r = self.ctl(*args, **kw)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.err, "", r)
        return r

    def write(self, path, text):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, path)

    def version(self):
        return json.loads(self.ok("--json", "ping").out)["policy"]

    def test_check_good_and_broken(self):
        r = self.ok("policy", "check")
        self.assertEqual(r.out, "%s: OK, policy sample-2026-11-23.2 (not applied)\n" % self.policy)
        # a relative FILE is the caller's: the daemon runs in another directory
        cand = os.path.join(self.work, "cand.conf")
        self.write(cand, sample_text().replace('version = "sample-2026-11-23.2"',
                                               'version = "cand-9"'))
        r = self.ok("policy", "check", "cand.conf", cwd=self.work)
        self.assertEqual(r.out, "%s: OK, policy cand-9 (not applied)\n"
                         % os.path.join(os.path.realpath(self.work), "cand.conf"))
        bad = os.path.join(self.dir, "bad.conf")
        self.write(bad, BROKEN)
        r = self.ctl("policy", "check", bad)
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, "")
        lines = r.err.splitlines()
        self.assertGreaterEqual(len(lines), 3, r)
        self.assertRegex(lines[0], r"^%s:2: unknown key 'foo'" % re.escape(bad))
        for ln in lines[:-1]:
            self.assertRegex(ln, r"^%s:\d+: \S" % re.escape(bad))
        self.assertEqual(lines[-1], "callwardenctl: policy check: %d errors" % (len(lines) - 1))
        r = self.ctl("policy", "check", "missing.conf", cwd=self.work)
        self.assertEqual(r.rc, 1, r)
        self.assertIn(os.path.join(os.path.realpath(self.work), "missing.conf"), r.err)
        # checking applies nothing
        self.assertEqual(self.version(), "sample-2026-11-23.2")

    def test_reload_after_edit_and_a_broken_file(self):
        self.write(self.policy, sample_text().replace('version = "sample-2026-11-23.2"',
                                                      'version = "edited-1"'))
        before = int(time.time())
        r = self.ok("policy", "reload", "--by", "ops-7")
        self.assertEqual(field(r.out, "policy"), "sample-2026-11-23.2 -> edited-1")
        self.assertEqual(field(r.out, "path"), self.policy)
        loaded = utc(field(r.out, "loaded")[:-4])
        self.assertTrue(before - 1 <= loaded <= int(time.time()) + 1, r.out)
        self.assertEqual(self.version(), "edited-1")
        audit = cwtest.wait_for(lambda: json.loads(
            self.ok("--json", "audit", "--actor", "ops-7").out)["audit"])
        self.assertEqual(audit[0]["detail"]["new"], "edited-1")
        # a broken file: every error, exit 1, and the old policy stays
        self.write(self.policy, BROKEN)
        r = self.ctl("policy", "reload")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, "")
        lines = r.err.splitlines()
        self.assertRegex(lines[0], r"^%s:2: unknown key 'foo'" % re.escape(self.policy))
        self.assertEqual(lines[-1], "callwardenctl: policy reload: %d errors; the daemon keeps "
                                    "policy edited-1" % (len(lines) - 1))
        self.assertEqual(self.version(), "edited-1")
        r = self.ok("route", "anonymous")
        self.assertEqual(field(r.out, "policy"), "edited-1")

    def test_simulate_a_candidate_that_routes_differently(self):
        now = int(time.time())
        t = now - 3000
        flagged, other = cwtest.new_caller(), cwtest.new_caller()
        with self.d.connect("unix") as c:
            r = c.call({"op": "flag.add", "caller": flagged, "code": "orange",
                        "reason": "swore", "by": "s", "ts": t - 10})
            self.assertTrue(r["ok"], r)
            for i in range(3):
                r = c.call({"op": "call.offered", "call_id": "sim-%d" % i, "caller": flagged,
                            "ts": t + 100 * i})
                self.assertEqual(r["queue"], "standard", r)
            r = c.call({"op": "call.offered", "call_id": "sim-o", "caller": other,
                        "ts": t + 50})
            self.assertEqual(r["queue"], "standard", r)
        cand = os.path.join(self.work, "cand.conf")
        self.write(cand, sample_text().replace("score_at_least = 2.5", "score_at_least = 0.5")
                   .replace('version = "sample-2026-11-23.2"', 'version = "cand-1"'))
        args = ("policy", "simulate", "cand.conf", "--since", str(t - 1), "--until",
                str(t + 1000))

        def replayed():
            r = self.ctl(*args, cwd=self.work)
            return r if r.rc == 0 and field(r.out, "calls") == "4 replayed" else None
        # the call log commits in the background
        r = cwtest.wait_for(replayed, timeout=5)
        self.assertIsNotNone(r, self.ctl(*args, cwd=self.work))
        self.assertEqual(r.err, "")
        self.assertEqual(field(r.out, "current"), "sample-2026-11-23.2")
        self.assertEqual(field(r.out, "candidate"), "cand-1")
        self.assertEqual(field(r.out, "changed"), "3 of 4 calls")
        self.assertRegex(r.out, r"\nstandard +4 +1 +-3\nsupervisor +0 +3 +\+3\n")
        self.assertRegex(r.out, r"\ndefault +4 +1 +-3\nscore +0 +3 +\+3\n")
        rows = re.findall(r"^(\+\d+) +(sim-\S+) +standard \(default\) +supervisor \(score\)\n"
                          r" +current: +no rule matched\n"
                          r" +candidate: abuse score .*\n", r.out, re.M)
        self.assertEqual(sorted(rows), [(flagged, "sim-%d" % i) for i in range(3)], r.out)
        self.assertNotIn("sim-o", r.out)
        reply = json.loads(self.ok("--json", *args, cwd=self.work).out)
        self.assertEqual(reply["candidate"]["queues"], {"standard": 1, "supervisor": 3})
        # a candidate that does not load
        r = self.ctl("policy", "simulate", "nope.conf", cwd=self.work)
        self.assertEqual(r.rc, 1, r)
        # every load error on a line of its own, as policy check prints them
        self.assertRegex(r.err, r"^%s: cannot open: .*\ncallwardenctl: policy simulate: 1 error\n$"
                         % re.escape(os.path.join(os.path.realpath(self.work), "nope.conf")))


class TokenDaemonTest(unittest.TestCase):
    """Tokens against the real daemon configured with them (-c)."""

    @classmethod
    def setUpClass(cls):
        for binary in (CTL, DAEMON):
            if not os.access(binary, os.X_OK):
                raise unittest.SkipTest("not built: " + binary)
        cls.d = cwtest.Daemon(config_text='tokens = (\n  { token = "%s"; role = "ops"; },\n'
                              '  { token = "%s"; role = "supervisor"; }\n);\n'
                              % (OPS_TOKEN, SUP_TOKEN), unix=False)
        try:
            cls.d.start()
        except Exception:
            cls.d.cleanup()
            raise
        cls.tcp = "127.0.0.1:%d" % cls.d.port

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.stop()
        finally:
            cls.d.cleanup()

    def ctl(self, *args, env=None):
        full = {"CALLWARDEN_TOKEN": ""}
        full.update(env or {})
        r = run_ctl(["--tcp", self.tcp] + list(args), env=full)
        for secret in (OPS_TOKEN, SUP_TOKEN):
            self.assertNotIn(secret, r.out + r.err)
        return r

    def test_without_a_token(self):
        r = self.ctl("policy", "check")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, "")
        self.assertRegex(r.err, r"^callwardenctl: unauthorized: .+\ncallwardenctl: tcp %s "
                                r"wants a token: set \$CALLWARDEN_TOKEN or give --token-file "
                                r"PATH\n$" % re.escape(self.tcp))

    def test_with_the_env_token(self):
        r = self.ctl("policy", "check", env={"CALLWARDEN_TOKEN": OPS_TOKEN})
        self.assertEqual((r.rc, r.err), (0, ""), r)
        self.assertRegex(r.out, r": OK, policy sample-2026-11-23\.2 \(not applied\)\n$")
        r = self.ctl("policy", "reload", "--by", "tok-ops", env={"CALLWARDEN_TOKEN": OPS_TOKEN})
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(field(r.out, "policy"), "sample-2026-11-23.2 -> sample-2026-11-23.2 "
                                                 "(the same version)")

    def test_with_a_wrong_token(self):
        r = self.ctl("ping", env={"CALLWARDEN_TOKEN": OPS_TOKEN + "x"})
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, "")
        self.assertEqual(r.err, "callwardenctl: unauthorized: unknown token\n"
                                "callwardenctl: tcp %s refused the token from "
                                "$CALLWARDEN_TOKEN\n" % self.tcp)

    def test_token_file_and_role(self):
        path = os.path.join(self.d.dir, "sup.token")
        with open(path, "w") as f:
            f.write(SUP_TOKEN + "\n")
        r = self.ctl("--token-file", path, "flags")
        self.assertEqual((r.rc, r.err), (0, ""), r)
        # a supervisor may not reload: the daemon's forbidden, exit 1
        r = self.ctl("--token-file", path, "policy", "reload")
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.err, r"^callwardenctl: forbidden: ")
        self.assertNotIn(OPS_TOKEN, self.d.log())
        self.assertNotIn(SUP_TOKEN, self.d.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
