#!/usr/bin/env python3
"""Black-box tests of callwardenctl (issue 2, Control CLI): against the real callwardend, and
against a scripted fake server for the client's framing, timeouts, malformed replies and escaping.

Environment: CW_BUILD_DIR (callwardend, callwardenctl) and CW_SOURCE_DIR (config/policy.conf).
"""
import datetime
import json
import os
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

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("CW_SOURCE_DIR", os.path.normpath(os.path.join(HERE, "..", "..")))
BUILD = os.environ.get("CW_BUILD_DIR", os.path.join(SOURCE, "build"))
CTL = os.path.join(BUILD, "callwardenctl")
DAEMON = os.path.join(BUILD, "callwardend")
POLICY = os.path.join(SOURCE, "config", "policy.conf")

_serial = [0]


def new_caller():
    """A caller number no other test uses: +1 555 2xx xxxx."""
    _serial[0] += 1
    return "+1555%07d" % (2000000 + os.getpid() % 1000 * 1000 + _serial[0])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout.decode("utf-8", "replace")
        self.err = proc.stderr.decode("utf-8", "replace")
        self.raw_out = proc.stdout

    def __repr__(self):
        return "rc=%r\nstdout=%r\nstderr=%r" % (self.rc, self.out, self.err)


def run_ctl(args, env=None, cwd=None, timeout=30):
    full_env = dict(os.environ)
    full_env.pop("CALLWARDEN_SOCKET", None)
    if env:
        full_env.update(env)
    proc = subprocess.run([CTL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=full_env, cwd=cwd, timeout=timeout)
    return Result(proc)


def field(out, label):
    """The value of a `label     value` line of human output, or None."""
    m = re.search(r"^%s +(.*)$" % re.escape(label), out, re.M)
    return m.group(1) if m else None


class FakeServer:
    """A Unix socket server that records each request line and answers from a handler.

    handler(request_bytes, conn) sends whatever it likes (possibly nothing) on conn."""

    def __init__(self, path):
        self.path = path
        self.requests = []
        self.handler = None
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                conn.settimeout(5)
                try:
                    while b"\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    line = data.split(b"\n", 1)[0]
                    self.requests.append(line)
                    if self.handler is not None:
                        self.handler(line, conn)
                except OSError:
                    pass

    def close(self):
        self.stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


def reply_with(data):
    def handler(_line, conn):
        conn.sendall(data)
    return handler


class CtlUsageTest(cwtest.TempDirCase):
    """Command-line handling; nothing here needs a daemon."""

    def test_no_command_prints_usage_to_stderr(self):
        r = run_ctl([])
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(r.out, "")
        self.assertIn("usage: callwardenctl", r.err)

    def test_help(self):
        for args in (["help"], ["--help"], ["-h"]):
            r = run_ctl(args)
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(r.err, "")
            self.assertIn("usage: callwardenctl", r.out)
            for cmd in ("ping", "route CALLER [DIALED]", "flag CALLER CODE", "revoke FLAG_ID",
                        "show CALLER", "send JSON", "--json", "--tcp HOST:PORT", "--timeout"):
                self.assertIn(cmd, r.out, args)
        for args in (["help", "flag"], ["flag", "--help"]):
            r = run_ctl(args)
            self.assertEqual(r.rc, 0, r)
            self.assertIn("flag CALLER CODE --reason TEXT --by NAME [--expires-days N]", r.out)

    def test_version(self):
        r = run_ctl(["--version"])
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r"^callwardenctl \d+\.\d+\.\d+\n$")

    def test_usage_errors_exit_2_without_connecting(self):
        # With a socket that does not exist, any connection attempt would exit 3 instead.
        cases = [
            ("unknown command", ["frobnicate"]),
            ("unknown global option", ["--bogus", "ping"]),
            ("unknown short option", ["-x", "ping"]),
            ("unknown command option", ["ping", "--by", "x"]),
            ("extra argument", ["ping", "extra"]),
            ("route without caller", ["route"]),
            ("route with three args", ["route", "1", "2", "3"]),
            ("flag without code", ["flag", "+15551234567", "--reason", "r", "--by", "b"]),
            ("flag without reason", ["flag", "+15551234567", "red", "--by", "b"]),
            ("flag without by", ["flag", "+15551234567", "red", "--reason", "r"]),
            ("option without value", ["flag", "+15551234567", "red", "--by", "b", "--reason"]),
            ("option twice", ["flag", "1", "red", "--by", "b", "--by", "c", "--reason", "r"]),
            ("expires junk", ["flag", "1", "red", "--by", "b", "--reason", "r",
                              "--expires-days", "soon"]),
            ("expires zero", ["flag", "1", "red", "--by", "b", "--reason", "r",
                              "--expires-days", "0"]),
            ("expires negative", ["flag", "1", "red", "--by", "b", "--reason", "r",
                                  "--expires-days=-3"]),
            ("expires exponent", ["flag", "1", "red", "--by", "b", "--reason", "r",
                                  "--expires-days", "1e3"]),
            ("expires too far", ["flag", "1", "red", "--by", "b", "--reason", "r",
                                 "--expires-days", "36501"]),
            ("expires trailing junk", ["flag", "1", "red", "--by", "b", "--reason", "r",
                                       "--expires-days", "3x"]),
            ("revoke junk id", ["revoke", "abc", "--by", "b", "--reason", "r"]),
            ("revoke zero id", ["revoke", "0", "--by", "b", "--reason", "r"]),
            ("revoke fractional id", ["revoke", "1.5", "--by", "b", "--reason", "r"]),
            ("revoke signed id", ["revoke", "+4", "--by", "b", "--reason", "r"]),
            ("revoke huge id", ["revoke", "99999999999999999999", "--by", "b", "--reason", "r"]),
            ("revoke without reason", ["revoke", "4", "--by", "b"]),
            ("revoke without by", ["revoke", "4", "--reason", "r"]),
            ("send without json", ["send"]),
            ("send empty", ["send", ""]),
            ("send two lines", ["send", '{"op":"ping"}\n{"op":"ping"}']),
            ("timeout junk", ["--timeout", "soon", "ping"]),
            ("timeout zero", ["--timeout", "0", "ping"]),
            ("socket and tcp", ["--tcp", "127.0.0.1:7700", "ping"]),
            ("tcp without port", ["--tcp", "localhost", "ping"]),
            ("tcp bad port", ["--tcp", "127.0.0.1:99999", "ping"]),
            ("tcp empty host", ["--tcp", ":7700", "ping"]),
            ("help unknown command", ["help", "frobnicate"]),
        ]
        for what, args in cases:
            with self.subTest(what):
                full = ["--socket", self.nosock] + args
                if what == "socket and tcp":
                    full = ["--socket", self.nosock] + args
                elif args and args[0] == "--tcp":
                    full = args
                r = run_ctl(full)
                self.assertEqual(r.rc, 2, r)
                self.assertEqual(r.out, "")
                self.assertTrue(r.err.startswith("callwardenctl: "), r)
                self.assertIn("usage:", r.err)

    def test_options_after_command_and_equals_form(self):
        r = run_ctl(["ping", "--socket=" + self.nosock, "--json"])
        self.assertEqual(r.rc, 3, r)
        self.assertIn(self.nosock, r.err)

    def test_no_daemon_on_unix_socket(self):
        r = run_ctl(["--socket", self.nosock, "ping"])
        self.assertEqual(r.rc, 3, r)
        self.assertEqual(r.out, "")
        self.assertIn("unix socket " + self.nosock, r.err)

    def test_no_daemon_on_tcp(self):
        port = free_port()
        r = run_ctl(["--tcp", "127.0.0.1:%d" % port, "show", "+15551234567"])
        self.assertEqual(r.rc, 3, r)
        self.assertIn("tcp 127.0.0.1:%d" % port, r.err)

    def test_default_socket_and_env(self):
        r = run_ctl(["ping"], cwd=self.tmp)
        self.assertEqual(r.rc, 3, r)
        self.assertIn("var/callwarden.sock", r.err)
        r = run_ctl(["ping"], cwd=self.tmp, env={"CALLWARDEN_SOCKET": self.nosock})
        self.assertEqual(r.rc, 3, r)
        self.assertIn(self.nosock, r.err)
        r = run_ctl(["--socket", self.nosock + "2", "ping"],
                    env={"CALLWARDEN_SOCKET": self.nosock})
        self.assertIn(self.nosock + "2", r.err)


class CtlFakeServerTest(unittest.TestCase):
    """The client's side of the protocol, against replies we script byte by byte."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cwctl-")
        self.path = os.path.join(self.tmp, "fake.sock")
        self.server = FakeServer(self.path)

    def tearDown(self):
        self.server.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def ctl(self, *args, **kw):
        return run_ctl(["--socket", self.path] + list(args), **kw)

    def request(self, i=-1):
        return json.loads(self.server.requests[i])

    def test_reply_in_pieces(self):
        reply = b'{"ok":true,"version":"9.9.9","policy":"fake-1"}\r\n'

        def handler(_line, conn):
            for i in range(len(reply)):
                conn.sendall(reply[i:i + 1])
                time.sleep(0.002)
        self.server.handler = handler
        r = self.ctl("ping")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out, "callwardend 9.9.9, policy fake-1\n")
        self.assertEqual(self.request(), {"op": "ping"})

    def test_long_reply(self):
        flags = [{"id": 5000 - i, "caller": "+15551234567", "code": "orange",
                  "reason": "r%d " % i + "x" * 300, "by": "sup-%d" % i, "source": "supervisor",
                  "created_at": 1790000000 - i, "expires_at": None, "state": "active"}
                 for i in range(4000)]
        reply = {"ok": True, "caller": "+15551234567", "flags": flags, "score": 12.5,
                 "active_flags": 4000, "recent_calls": [],
                 "route": {"action": "queue", "queue": "supervisor", "target": "sip:s",
                           "priority": 10, "rule": "score", "reason": "score", "policy": "p"}}
        data = json.dumps(reply).encode() + b"\n"
        self.assertGreater(len(data), 1000000)
        self.server.handler = reply_with(data)
        r = self.ctl("show", "+15551234567")
        self.assertEqual(r.rc, 0, r)
        rows = [ln for ln in r.out.splitlines() if re.match(r"^ *\d+  active ", ln)]
        self.assertEqual(len(rows), 4000)
        self.assertTrue(rows[0].lstrip().startswith("5000 "))
        self.assertIn("...", rows[0])  # the 300-byte reason is cut for the table
        self.assertTrue(all(len(ln) < 140 for ln in rows))
        r = self.ctl("--json", "show", "+15551234567")
        self.assertEqual(r.rc, 0)
        self.assertEqual(r.raw_out, data)

    def test_malformed_replies_exit_3(self):
        cases = [
            ("not json", b"hello\n"),
            ("array", b"[1,2]\n"),
            ("no ok", b'{"version":"1"}\n'),
            ("ok not bool", b'{"ok":1}\n'),
            ("trailing junk", b'{"ok":true} x\n'),
            ("error without code", b'{"ok":false}\n'),
            ("closed without newline", b'{"ok":true}'),
            ("closed at once", b""),
        ]
        for what, data in cases:
            with self.subTest(what):
                self.server.handler = reply_with(data)
                r = self.ctl("ping")
                self.assertEqual(r.rc, 3, r)
                self.assertIn(self.path, r.err)
                self.assertEqual(r.out, "")

    def test_timeout(self):
        self.server.handler = lambda _line, _conn: time.sleep(3)
        start = time.monotonic()
        r = self.ctl("--timeout", "0.5", "ping")
        self.assertLess(time.monotonic() - start, 2.5)
        self.assertEqual(r.rc, 3, r)
        self.assertIn("no reply within 0.5 s", r.err)
        self.assertIn(self.path, r.err)

    def test_error_reply(self):
        line = b'{"ok":false,"error":{"code":"not_found","message":"no flag 77"}}\n'
        self.server.handler = reply_with(line)
        r = self.ctl("revoke", "77", "--by", "sup-1", "--reason", "typo")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, "")
        self.assertEqual(r.err, "callwardenctl: not_found: no flag 77\n")
        self.assertEqual(self.request(),
                         {"op": "flag.revoke", "flag_id": 77, "by": "sup-1", "reason": "typo"})
        r = self.ctl("--json", "revoke", "77", "--by", "sup-1", "--reason", "typo")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.raw_out, line)

    def test_requests_escape_any_text(self):
        text = 'a "quoted" \\ back\nslash\ttab \x01\x1b[31m é 漢字 \U0001F600 \'; DROP TABLE flags;--'
        self.server.handler = reply_with(
            b'{"ok":true,"flag":{"id":3,"caller":"+15551234567","code":"red",'
            b'"created_at":1790000000,"expires_at":null}}\n')
        r = self.ctl("flag", "555 123-4567", "red", "--reason", text, "--by", text,
                     "--expires-days", "2")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.request(),
                         {"op": "flag.add", "caller": "555 123-4567", "code": "red",
                          "reason": text, "by": text, "expires_days": 2})
        self.assertEqual(r.out, "flag 3 added: +15551234567 red (never expires)\n")
        r = self.ctl("flag", "1", "red", "--reason=-starts with dash", "--by", "-b",
                     "--expires-days", "0.5")
        self.assertEqual(self.request()["reason"], "-starts with dash")
        self.assertEqual(self.request()["by"], "-b")
        self.assertEqual(self.request()["expires_days"], 0.5)
        self.server.handler = reply_with(b'{"ok":true,"version":"1","policy":"p"}\n')
        r = self.ctl("show", "--", text)
        self.assertEqual(self.request(), {"op": "caller.show", "caller": text})

    def test_route_request(self):
        self.server.handler = reply_with(
            b'{"ok":true,"call_id":"x","action":"queue","queue":"q","target":"t","priority":1,'
            b'"rule":"default","reason":"r","policy":"p"}\n')
        before = int(time.time())
        r = self.ctl("route", "+15551234567", "800")
        self.assertEqual(r.rc, 0, r)
        req = self.request()
        m = re.fullmatch(r"ctl-(\d+)-(\d+)", req.pop("call_id"))
        self.assertIsNotNone(m)
        self.assertTrue(before - 1 <= int(m.group(2)) <= int(time.time()))  # coarse time(2)
        self.assertEqual(req, {"op": "call.offered", "caller": "+15551234567", "dialed": "800",
                               "dry_run": True})
        self.ctl("route", "anonymous")
        self.assertNotIn("dialed", self.request())

    def test_send_is_raw(self):
        reply = b'{"ok":true, "id":"a b",  "version":"1","policy":"p"}\n'
        self.server.handler = reply_with(reply)
        r = self.ctl("send", ' {"op":"ping", "id":"a b"} ')
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.server.requests[-1], b' {"op":"ping", "id":"a b"} ')
        self.assertEqual(r.raw_out, reply)
        err = b'{"ok":false,"error":{"code":"bad_json","message":"not JSON"}}\n'
        self.server.handler = reply_with(err)
        r = self.ctl("send", "not json")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.raw_out, err)
        self.assertEqual(r.err, "callwardenctl: bad_json: not JSON\n")

    def test_hostile_strings_are_escaped(self):
        evil = "a\x1b[2J\x1b]0;pwned\x07b\u009b31m\u202eevil\u2028x\nfake line\r\x7f"
        flag = {"id": 9, "caller": "+15551234567", "code": "r\x1b", "reason": evil,
                "by": evil, "source": "supervisor", "created_at": 1790000000,
                "expires_at": 1790086400, "state": "revoked", "revoked_at": 1790003600,
                "revoked_by": evil, "revoke_reason": evil}
        route = {"action": "queue", "queue": "supervisor", "target": evil, "priority": 10,
                 "rule": "threat", "reason": evil, "policy": "p", "record": True,
                 "alert": True, "announce": evil, "max_wait_s": 30}
        show = dict(ok=True, caller="+15551234567", flags=[flag], score=1, active_flags=0,
                    recent_calls=[], route=route)
        outputs = []
        self.server.handler = reply_with(json.dumps(show).encode() + b"\n")
        outputs.append(self.ctl("show", "+15551234567"))
        self.server.handler = reply_with(json.dumps(dict(ok=True, **route)).encode() + b"\n")
        outputs.append(self.ctl("route", "+15551234567"))
        self.server.handler = reply_with(json.dumps(
            {"ok": False, "error": {"code": "bad\x1b", "message": evil}}).encode() + b"\n")
        outputs.append(self.ctl("ping"))
        for r in outputs:
            for text in (r.out, r.err):
                for bad in ("\x1b", "\x07", "\u009b", "\u202e", "\u2028", "\r", "\x7f"):
                    self.assertNotIn(bad, text, r)
        show_out, route_out, err = outputs
        self.assertEqual(field(route_out.out, "reason"),
                         "a\\x1b[2J\\x1b]0;pwned\\x07b\\u009b31m\\u202eevil\\u2028x\\nfake "
                         "line\\r\\x7f")
        self.assertNotIn("\nfake line", route_out.out)
        self.assertEqual(err.rc, 1)
        self.assertTrue(err.err.startswith("callwardenctl: bad\\x1b: a\\x1b[2J"), err)
        self.assertEqual(err.err.count("\n"), 1)
        # one table row plus one revocation line, however hostile the text
        lines = show_out.out.splitlines()
        header = [i for i, ln in enumerate(lines) if ln.lstrip().startswith("ID ")]
        self.assertEqual(len(header), 1, show_out)
        self.assertEqual(len(lines) - header[0] - 1, 2, show_out)
        self.assertRegex(lines[header[0] + 1], r"^ *9  revoked  r\\x1b  ")
        self.assertRegex(lines[header[0] + 2],
                         r"^ +revoked 2026-09-21 15:13 by a\\x1b\[2J.*: a\\x1b")


class CtlDaemonTest(unittest.TestCase):
    """Every command against the real daemon."""

    @classmethod
    def setUpClass(cls):
        for binary in (CTL, DAEMON):
            if not os.access(binary, os.X_OK):
                raise unittest.SkipTest("not built: " + binary)
        cls.tmp = tempfile.mkdtemp(prefix="cwctl-")
        cls.sock = os.path.join(cls.tmp, "cw.sock")
        cls.port = free_port()
        cls.log = open(os.path.join(cls.tmp, "daemon.log"), "w+b")
        cls.daemon = subprocess.Popen(
            [DAEMON, "--db", os.path.join(cls.tmp, "cw.db"), "--unix", cls.sock,
             "--listen", "127.0.0.1:%d" % cls.port, "--policy", POLICY, "--http", ""],
            cwd=cls.tmp, stdout=cls.log, stderr=cls.log)
        deadline = time.monotonic() + 15
        while True:
            if cls.daemon.poll() is not None:
                cls._stop()
                raise RuntimeError("callwardend exited with %s:\n%s"
                                   % (cls.daemon.returncode, cls._log_text()))
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(cls.sock)
                break
            except OSError:
                if time.monotonic() > deadline:
                    cls._stop()
                    raise RuntimeError("callwardend did not listen:\n" + cls._log_text())
                time.sleep(0.05)

    @classmethod
    def _log_text(cls):
        cls.log.seek(0)
        return cls.log.read().decode("utf-8", "replace")

    @classmethod
    def _stop(cls):
        if cls.daemon.poll() is None:
            cls.daemon.send_signal(signal.SIGTERM)
            try:
                cls.daemon.wait(10)
            except subprocess.TimeoutExpired:
                cls.daemon.kill()
                cls.daemon.wait()
        cls.log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls._stop()

    def ctl(self, *args, **kw):
        return run_ctl(["--socket", self.sock] + list(args), **kw)

    def ok(self, *args, **kw):
        r = self.ctl(*args, **kw)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.err, "", r)
        return r

    def json_ok(self, *args):
        r = self.ok("--json", *args)
        self.assertTrue(r.out.endswith("\n") and r.out.count("\n") == 1, r)
        reply = json.loads(r.out)
        self.assertIs(reply["ok"], True)
        return reply

    def add_flag(self, caller, code, reason="test", by="sup-1", *extra):
        reply = self.json_ok("flag", caller, code, "--reason", reason, "--by", by, *extra)
        return reply["flag"]

    def test_ping(self):
        r = self.ok("ping")
        self.assertRegex(r.out, r"^callwardend 0\.1\.0, policy \S.*\n$")
        reply = self.json_ok("ping")
        self.assertEqual(reply["version"], "0.1.0")
        self.assertIn(reply["policy"], r.out)

    def test_tcp_env_and_default_socket(self):
        self.assertRegex(run_ctl(["--tcp", "127.0.0.1:%d" % self.port, "ping"]).out,
                         r"^callwardend ")
        r = run_ctl(["ping"], env={"CALLWARDEN_SOCKET": self.sock})
        self.assertEqual(r.rc, 0, r)
        work = tempfile.mkdtemp(prefix="cwctl-cwd-")
        try:
            os.mkdir(os.path.join(work, "var"))
            os.symlink(self.sock, os.path.join(work, "var", "callwarden.sock"))
            r = run_ctl(["ping"], cwd=work)
            self.assertEqual(r.rc, 0, r)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_route_unknown_and_withheld(self):
        r = self.ok("route", new_caller())
        self.assertEqual(field(r.out, "queue").split()[0], "standard")
        self.assertEqual(field(r.out, "rule"), "default")
        self.assertRegex(field(r.out, "priority"), r"^-?\d+$")
        self.assertIsNotNone(field(r.out, "reason"))
        self.assertIsNotNone(field(r.out, "policy"))
        self.assertIsNone(field(r.out, "record"))
        r = self.ok("route", "anonymous", "+18005550100")
        self.assertEqual(field(r.out, "queue").split()[0], "standard")
        self.assertEqual(field(r.out, "rule"), "withheld")
        reply = self.json_ok("route", "5551230000")
        self.assertRegex(reply["call_id"], r"^ctl-\d+-\d+$")
        self.assertEqual(reply["action"], "queue")
        self.assertEqual(reply["queue"], "standard")

    def test_flag_route_show_revoke(self):
        caller = new_caller()
        local = caller[2:5] + " " + caller[5:8] + "-" + caller[8:]  # national form
        r = self.ok("flag", local, "red", "--reason", "threatened agent", "--by", "sup-17")
        m = re.fullmatch(r"flag (\d+) added: (\S+) red \((expires \d{4}-\d\d-\d\d \d\d:\d\d UTC|"
                         r"never expires)\)\n", r.out)
        self.assertIsNotNone(m, r)
        fid = int(m.group(1))
        self.assertEqual(m.group(2), caller)

        r = self.ok("route", caller)
        self.assertEqual(field(r.out, "queue").split()[0], "supervisor")
        self.assertRegex(field(r.out, "queue"), r"^supervisor \(.+\)$")
        self.assertEqual(field(r.out, "rule"), "threat")
        self.assertEqual(field(r.out, "record"), "yes")
        self.assertEqual(field(r.out, "alert"), "yes")
        self.assertIn("sup-17", field(r.out, "reason"))
        self.assertIn("threatened agent", field(r.out, "reason"))

        r = self.ok("show", local)
        self.assertEqual(field(r.out, "caller"), caller)
        self.assertRegex(field(r.out, "score"), r"^\d+\.\d\d$")
        self.assertEqual(field(r.out, "active"), "1 of 1 flag")
        self.assertRegex(field(r.out, "route"), r"^supervisor \(rule threat, priority -?\d+, "
                                                r"record, alert\)$")
        lines = r.out.splitlines()
        head = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ID "))
        self.assertRegex(lines[head], r"ID +STATE +CODE +CREATED \(UTC\) +EXPIRES +BY +SOURCE "
                                      r"+REASON$")
        row = lines[head + 1].split()
        self.assertEqual(row[:3], [str(fid), "active", "red"])
        created = datetime.datetime.strptime(row[3] + " " + row[4], "%Y-%m-%d %H:%M")
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        self.assertLess(abs((now - created).total_seconds()), 300)
        self.assertRegex(row[5], r"^(\d{4}-\d\d-\d\d|never)$")
        self.assertEqual(row[6:], ["sup-17", "supervisor", "threatened", "agent"])

        r = self.ok("revoke", str(fid), "--by", "sup-2", "--reason", "wrong number")
        self.assertEqual(r.out, "flag %d revoked: %s red (by sup-2: wrong number)\n"
                         % (fid, caller))
        r = self.ok("route", caller)
        self.assertEqual(field(r.out, "queue").split()[0], "standard")
        self.assertEqual(field(r.out, "rule"), "default")
        r = self.ok("show", caller)
        self.assertEqual(field(r.out, "active"), "0 of 1 flag")
        self.assertRegex(r.out, r"\n *%d  revoked  red " % fid)
        self.assertRegex(r.out, r"\n +revoked \d{4}-\d\d-\d\d \d\d:\d\d by sup-2: wrong number\n")

        r = self.ctl("revoke", str(fid), "--by", "sup-2", "--reason", "again")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, "")
        self.assertRegex(r.err, r"^callwardenctl: conflict: .+\n$")

    def test_policy_outcomes(self):
        caller = new_caller()
        self.add_flag(caller, "orange")
        r = self.ok("route", caller)
        self.assertEqual(field(r.out, "queue").split()[0], "standard")
        ids = [self.add_flag(caller, "orange", "again %d" % i)["id"] for i in range(2)]
        r = self.ok("route", caller)
        self.assertEqual(field(r.out, "queue").split()[0], "supervisor")
        self.assertEqual(field(r.out, "rule"), "score")
        r = self.ok("show", caller)
        self.assertEqual(field(r.out, "active"), "3 of 3 flags")
        shown = [int(m) for m in re.findall(r"^ *(\d+)  active +orange", r.out, re.M)]
        self.assertEqual(len(shown), 3)
        self.assertEqual(shown, sorted(shown, reverse=True))
        self.assertEqual(shown[0], ids[-1])

        caller = new_caller()
        self.add_flag(caller, "nuisance")
        r = self.ok("route", caller)
        self.assertEqual(field(r.out, "queue").split()[0], "long-hold")

        caller = new_caller()
        self.add_flag(caller, "yellow")
        r = self.ok("route", caller)
        self.assertEqual(field(r.out, "queue").split()[0], "supervisor")
        self.assertEqual(field(r.out, "rule"), "abuse")
        self.assertEqual(field(r.out, "record"), "yes")

    def test_expires_days(self):
        caller = new_caller()
        flag = self.add_flag(caller, "orange", "r", "sup-3", "--expires-days", "2")
        self.assertEqual(flag["expires_at"] - flag["created_at"], 2 * 86400)
        r = self.ok("flag", caller, "orange", "--reason", "r", "--by", "s",
                    "--expires-days", "0.5")
        exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=12)
        m = re.search(r"\(expires (\S+ \S+) UTC\)", r.out)
        self.assertIsNotNone(m, r)
        got = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M")
        self.assertLess(abs((exp.replace(tzinfo=None) - got).total_seconds()), 300)

    def test_error_replies_exit_1(self):
        cases = [
            ("unknown code", ["flag", new_caller(), "purple", "--reason", "r", "--by", "b"],
             "bad_field"),
            ("withheld caller", ["flag", "anonymous", "red", "--reason", "r", "--by", "b"],
             "bad_field"),
            ("not a number", ["flag", "hello", "red", "--reason", "r", "--by", "b"],
             "bad_field"),
            ("empty reason", ["flag", new_caller(), "red", "--reason", "", "--by", "b"],
             "bad_field"),
            ("unknown flag", ["revoke", "987654321", "--by", "b", "--reason", "r"],
             "not_found"),
            ("show withheld", ["show", "private"], "bad_field"),
            ("caller of 5000 digits", ["show", "1" * 5000], "bad_field"),
            ("unknown op", ["send", '{"op":"no.such.op"}'], "unknown_op"),
            ("not json", ["send", "{nope"], "bad_json"),
            ("missing call_id", ["send", '{"op":"call.offered","caller":"1"}'],
             "missing_field"),
        ]
        for what, args, code in cases:
            with self.subTest(what):
                r = self.ctl(*args)
                self.assertEqual(r.rc, 1, r)
                self.assertRegex(r.err, r"^callwardenctl: %s: .+\n$" % code)
                if args[0] != "send":
                    self.assertEqual(r.out, "")
                r = self.ctl("--json", *args)
                self.assertEqual(r.rc, 1, r)
                reply = json.loads(r.out)
                self.assertIs(reply["ok"], False)
                self.assertEqual(reply["error"]["code"], code)

    def test_send(self):
        r = self.ok("send", '{"op":"ping","id":"x7"}')
        self.assertEqual(r.out.count("\n"), 1)
        reply = json.loads(r.out)
        self.assertEqual(reply["id"], "x7")
        self.assertEqual(reply["version"], "0.1.0")
        r = self.ok("--json", "send", '{"op":"ping","id":8}')
        self.assertEqual(r.out.count("\n"), 1)
        self.assertEqual(json.loads(r.out)["id"], 8)

    def test_hostile_text_round_trips(self):
        caller = new_caller()
        reason = ("said \"bye\" \\o/ \x1b[2J\x1b]0;pwned\x07 \u202eevil\n"
                  "line2 '; DROP TABLE flags;-- é 漢字")
        by = "sup\x1b[31m-9"
        flag = self.add_flag(caller, "red", reason, by)
        self.assertEqual(flag["reason"], reason)
        self.assertEqual(flag["by"], by)
        for args in (["show", caller], ["route", caller]):
            r = self.ok(*args)
            for bad in ("\x1b", "\x07", "\u202e"):
                self.assertNotIn(bad, r.out)
            self.assertIn("\\x1b[2J", r.out)
        r = self.ok("route", caller)
        self.assertIn("\\nline2 '; DROP TABLE flags;-- é 漢字", field(r.out, "reason"))
        shown = self.json_ok("show", caller)
        self.assertEqual(shown["flags"][0]["reason"], reason)
        self.assertEqual(shown["flags"][0]["by"], by)

    def test_show_many_flags(self):
        """A caller.show reply far beyond any small buffer (flags with 2,000-byte reasons)."""
        caller = new_caller()
        n = 120
        lines = b"".join(json.dumps({"op": "flag.add", "id": i, "caller": caller,
                                     "code": "orange", "reason": "%04d " % i + "z" * 2000,
                                     "by": "bulk"}).encode() + b"\n" for i in range(n))
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(self.sock)
            s.sendall(lines)
            got = b""
            while got.count(b"\n") < n:
                chunk = s.recv(65536)
                self.assertTrue(chunk, "daemon closed the connection")
                got += chunk
        self.assertTrue(all(json.loads(ln)["ok"] for ln in got.splitlines()))
        r = self.ok("--json", "show", caller)
        self.assertGreater(len(r.raw_out), n * 2000)
        self.assertEqual(len(json.loads(r.out)["flags"]), n)
        r = self.ok("show", caller)
        rows = re.findall(r"^ *\d+  active +orange .* bulk .*$", r.out, re.M)
        self.assertEqual(len(rows), n)
        self.assertTrue(all(len(row) < 140 and row.endswith("...") for row in rows))


if __name__ == "__main__":
    unittest.main(verbosity=2)
