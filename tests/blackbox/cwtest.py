"""Shared harness for the black-box tests: runs the real callwardend and talks to it."""

import itertools
import json
import os
import re
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("CW_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD_DIR = os.environ.get("CW_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
DAEMON = os.path.join(BUILD_DIR, "callwardend")
SAMPLE_POLICY = os.path.join(SOURCE_DIR, "config", "policy.conf")

START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0
REPLY_TIMEOUT = 10.0
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error")

# A fixed clock for requests that carry "ts": 2023-11-14T22:13:20Z.
T0 = 1700000000
DAY = 86400

_numbers = itertools.count(1)


def new_caller():
    """A caller number no other test in this process uses, in E.164."""
    return "+1212%07d" % next(_numbers)


def _reject_constant(name):
    raise ValueError("reply holds %s, which is not JSON" % name)


def parse_reply(line):
    """Parses one reply line strictly: one JSON object, no NaN or Infinity."""
    obj = json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
    if not isinstance(obj, dict):
        raise ValueError("reply is not a JSON object: %r" % line[:200])
    return obj


def sanitizer_errors(text):
    """The lines of a log that report sanitizer findings."""
    return [l for l in text.splitlines() if any(m in l for m in SANITIZER_MARKS)]


def run_daemon(args, timeout=20, cwd=None):
    """Runs callwardend to completion (for --check-config and start-up failures)."""
    proc = subprocess.run([DAEMON] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          cwd=cwd)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), \
        proc.stderr.decode("utf-8", "replace")


def make_tempdir():
    # Short, so that the Unix socket path stays far below its 108-byte limit.
    return tempfile.mkdtemp(prefix="cw", dir="/tmp")


class DaemonError(AssertionError):
    pass


class Daemon:
    """One callwardend process in a private directory (kept across restarts)."""

    def __init__(self, directory=None, policy=None, config=None, extra_args=(), tcp=True,
                 unix=True, db=None, http=False, config_text=None):
        """config_text: daemon settings, written to a config file in the daemon's directory
        (instead of config, a path)."""
        self.owns_dir = directory is None
        self.dir = directory or make_tempdir()
        if config_text is not None:
            config = os.path.join(self.dir, "cw.conf")
            with open(config, "w") as f:
                f.write(config_text)
        self.db = db or os.path.join(self.dir, "cw.db")
        # The call log's own file beside it, as the daemon names it.
        base = self.db[:-3] if self.db.endswith(".db") and len(self.db) > 3 else None
        self.calls_db = base + "-calls.db" if base else self.db + "-calls"
        self.sock = os.path.join(self.dir, "cw.sock") if unix else None
        self.policy = policy or SAMPLE_POLICY
        self.config = config
        self.extra_args = list(extra_args)
        self.tcp = tcp
        # The HTTP API: off unless asked for (True: a free loopback port; a string: as given),
        # so that daemons of parallel tests never meet on its default port.
        self.http = http
        self.http_port = None
        self.proc = None
        self.port = None
        self.unix_path = None
        self.log_path = None
        self.runs = 0

    def args(self):
        a = [DAEMON]
        if self.config:
            a += ["-c", self.config]
        a += ["--db", self.db, "--policy", self.policy]
        a += ["--listen", "127.0.0.1:0" if self.tcp else ""]
        a += ["--unix", self.sock if self.sock else ""]
        a += ["--http", self.http_spec()]
        return a + self.extra_args

    def http_spec(self):
        if self.http is True:
            return "127.0.0.1:0"
        return self.http or ""

    def log(self):
        if self.log_path is None or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def start(self, args=None):
        """Starts the daemon and waits for its 'ready' line."""
        if not os.path.exists(DAEMON):
            raise DaemonError("no daemon at %s (set CW_BUILD_DIR)" % DAEMON)
        self.runs += 1
        self.log_path = os.path.join(self.dir, "daemon-%d.log" % self.runs)
        if args and "--http" not in args and not self.http:
            args = list(args) + ["--http", ""]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args or self.args(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, cwd=self.dir)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            text = self.log()
            if re.search(r"^callwardend: ready$", text, re.M):
                break
            if self.proc.poll() is not None:
                raise DaemonError("daemon exited with %d before ready; log:\n%s"
                                  % (self.proc.returncode, text))
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise DaemonError("daemon not ready after %.0f s; log:\n%s"
                                  % (START_TIMEOUT, self.log()))
            time.sleep(0.01)
        m = re.search(r"^callwardend: listening on tcp 127\.0\.0\.1:(\d+)$", text, re.M)
        self.port = int(m.group(1)) if m else None
        m = re.search(r"^callwardend: listening on http 127\.0\.0\.1:(\d+)$", text, re.M)
        self.http_port = int(m.group(1)) if m else None
        if self.http is True and self.http_port is None:
            raise DaemonError("no 'listening on http' line; log:\n" + text)
        m = re.search(r"^callwardend: listening on unix (.+)$", text, re.M)
        self.unix_path = m.group(1) if m else None
        if self.unix_path and not os.path.isabs(self.unix_path):
            self.unix_path = os.path.join(self.dir, self.unix_path)
        if self.tcp and self.port is None:
            raise DaemonError("no 'listening on tcp' line; log:\n" + text)
        if self.sock and self.unix_path is None:
            raise DaemonError("no 'listening on unix' line; log:\n" + text)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def check_log(self):
        bad = sanitizer_errors(self.log())
        if bad:
            raise DaemonError("sanitizer errors in the daemon log:\n" + self.log())

    def stop(self, sig=signal.SIGTERM):
        """Stops the daemon with sig; fails unless it exits 0 with a clean log."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            rc = proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise DaemonError("daemon did not stop within %.0f s of signal %d; log:\n%s"
                              % (STOP_TIMEOUT, sig, self.log()))
        self.check_log()
        if rc != 0:
            raise DaemonError("daemon exited with %d after signal %d; log:\n%s"
                              % (rc, sig, self.log()))

    def kill(self):
        """SIGKILL: no clean shutdown; the log must still be free of sanitizer reports."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.kill()
        proc.wait()
        self.check_log()

    def cleanup(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, kind="tcp", timeout=REPLY_TIMEOUT):
        if kind == "tcp":
            return Client.tcp("127.0.0.1", self.port, timeout)
        return Client.unix(self.unix_path, timeout)

    def sqlite(self):
        """A read connection to the daemon's database, from outside."""
        return sqlite3.connect(self.db, timeout=5)

    def sqlite_ro(self):
        """A read-only connection (rows as sqlite3.Row): looks, never writes. The call log's
        file is attached, so its table "calls" reads like one of the main database."""
        conn = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=5)
        conn.row_factory = sqlite3.Row
        if os.path.exists(self.calls_db):
            conn.execute("ATTACH DATABASE ? AS calllog",
                         ("file:%s?mode=ro" % self.calls_db,))
        return conn

    def query(self, sql, args=()):
        """All rows of one read-only query, as dicts."""
        conn = self.sqlite_ro()
        try:
            return [dict(r) for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()


class Client:
    """A line client over TCP or a Unix socket: buffered reads with deadlines."""

    def __init__(self, sock, timeout=REPLY_TIMEOUT):
        self.sock = sock
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False
        sock.setblocking(False)

    @classmethod
    def tcp(cls, host, port, timeout=REPLY_TIMEOUT):
        s = socket.create_connection((host, port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(s, timeout)

    @classmethod
    def unix(cls, path, timeout=REPLY_TIMEOUT):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(path)
        return cls(s, timeout)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        """Sends all of data (bytes), waiting while the socket is full."""
        view = memoryview(data)
        deadline = time.monotonic() + self.timeout * 3
        while len(view):
            try:
                n = self.sock.send(view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError("send blocked: the daemon stopped reading")
                select.select([], [self.sock], [], 0.1)

    def send_obj(self, obj):
        self.send(encode(obj))

    def _fill(self, deadline):
        """Reads what is available; False on EOF. Raises on timeout."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no reply within %.1f s (have %r)"
                                     % (self.timeout, bytes(self.buf[:200])))
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            try:
                data = self.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                data = b""
            if not data:
                self.eof = True
                return False
            self.buf += data
            return True

    def readline(self, timeout=None):
        """One reply line without its newline."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 1]
                return line
            if self.eof or not self._fill(deadline):
                raise AssertionError("connection closed before a full reply line (have %r)"
                                     % bytes(self.buf[:200]))

    def reply(self, timeout=None):
        return parse_reply(self.readline(timeout))

    def replies(self, n, timeout=None):
        return [self.reply(timeout) for _ in range(n)]

    def call(self, obj, timeout=None):
        """Sends one request object and returns its reply as a dict."""
        self.send_obj(obj)
        return self.reply(timeout)

    def raw(self, data, timeout=None):
        """Sends raw bytes (a newline is added when missing) and returns the reply dict."""
        if not data.endswith(b"\n"):
            data += b"\n"
        self.send(data)
        return self.reply(timeout)

    def wait_eof(self, timeout=None):
        """True when the daemon closes the connection with nothing more to read."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof:
            self._fill(deadline)
        return not self.buf

    def exchange(self, data, n, timeout=60):
        """Sends data (bytes) while reading n reply lines, so that a pipeline larger than the
        daemon's output budget cannot deadlock; returns the parsed replies in order."""
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        lines = []
        while len(lines) < n:
            i = self.buf.find(b"\n")
            if i >= 0:
                lines.append(bytes(self.buf[:i]))
                del self.buf[:i + 1]
                continue
            if self.eof:
                raise AssertionError("connection closed after %d of %d replies" % (len(lines), n))
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("only %d of %d replies within %.0f s" % (len(lines), n,
                                                                             timeout))
            r, w, _ = select.select([self.sock], [self.sock] if len(view) else [], [], left)
            if w:
                try:
                    view = view[self.sock.send(view[:1 << 20]):]
                except BlockingIOError:
                    pass
            if r:
                try:
                    chunk = self.sock.recv(1 << 20)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    chunk = b""
                if chunk:
                    self.buf += chunk
                else:
                    self.eof = True
        return [parse_reply(l) for l in lines]

    def nothing_pending(self, wait=0.2):
        """True when no bytes arrive within wait seconds."""
        r, _, _ = select.select([self.sock], [], [], wait)
        return not r and not self.buf


def wait_for(fn, timeout=2.0, interval=0.05):
    """Calls fn until it returns something true or timeout passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


def encode(obj):
    """One request line, compact, non-ASCII kept as UTF-8."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


class TempDirCase(unittest.TestCase):
    """A private directory for the tests of a class (cls.tmp), and a socket path in it that
    nothing listens on (cls.nosock)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = make_tempdir()
        cls.nosock = os.path.join(cls.tmp, "none.sock")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)


class SharedDaemonCase(unittest.TestCase):
    """One daemon (Daemon(**daemon_kwargs)) shared by the tests of a class; stopped (and
    checked) after them."""

    daemon_kwargs = {}

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(**cls.daemon_kwargs)
        try:
            cls.daemon.start()
        except Exception:
            cls.daemon.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.daemon.stop()
        finally:
            cls.daemon.cleanup()

    def setUp(self):
        self.assertTrue(self.daemon.running(), "daemon died; log:\n" + self.daemon.log())


class DaemonCase(SharedDaemonCase):
    """A shared daemon, and for each test a connection (self.c) with request helpers."""

    transport = "tcp"

    def setUp(self):
        super().setUp()
        self.c = self.daemon.connect(self.transport)
        self.addCleanup(self.c.close)

    # Helpers for the common ops, with the clock fixed by ts.
    def call(self, obj, client=None):
        return (client or self.c).call(obj)

    def ok(self, obj, client=None):
        r = self.call(obj, client)
        self.assertIs(r.get("ok"), True, "request %r failed: %r" % (obj, r))
        return r

    def err(self, obj, code, client=None):
        r = self.call(obj, client)
        self.assertError(r, code, obj)
        return r

    def assertError(self, r, code, what=None):
        self.assertIs(r.get("ok"), False, "expected %s for %r, got %r" % (code, what, r))
        self.assertIsInstance(r.get("error"), dict, r)
        self.assertEqual(r["error"].get("code"), code, "for %r: %r" % (what, r))
        self.assertIsInstance(r["error"].get("message"), str, r)
        self.assertTrue(r["error"]["message"], r)

    def flag(self, caller, code, ts=T0, by="sup-1", reason="test flag", **extra):
        req = {"op": "flag.add", "caller": caller, "code": code, "reason": reason, "by": by,
               "ts": ts}
        req.update(extra)
        return self.ok(req)["flag"]

    def offer(self, caller, ts=T0, call_id="c-1", **extra):
        req = {"op": "call.offered", "call_id": call_id, "caller": caller, "ts": ts}
        req.update(extra)
        r = self.ok(req)
        self.assertEqual(r.get("call_id"), call_id, r)
        return r

    def show(self, caller, ts=T0, client=None):
        return self.ok({"op": "caller.show", "caller": caller, "ts": ts}, client)

    def assertRoute(self, r, queue, rule, what=""):
        self.assertEqual((r.get("queue"), r.get("rule")), (queue, rule),
                         "%s: unexpected decision %r" % (what, r))
        self.assertEqual(r.get("action"), "queue", r)
        self.assertIsInstance(r.get("target"), str, r)
        self.assertTrue(r["target"], r)
        self.assertIsInstance(r.get("priority"), int, r)
        self.assertIsInstance(r.get("reason"), str, r)
        self.assertTrue(r["reason"], r)
        self.assertIsInstance(r.get("policy"), str, r)
        self.assertTrue(r["policy"], r)
        self.assertFalse(r.get("degraded", False), r)


def main():
    if not os.path.exists(DAEMON):
        sys.stderr.write("callwardend not found at %s: build first or set CW_BUILD_DIR\n"
                         % DAEMON)
    unittest.main(verbosity=2)
