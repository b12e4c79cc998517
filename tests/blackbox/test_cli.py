"""The daemon's command line: --check-config, start-up failures, -c config files, defaults."""

import os
import re
import shutil
import signal
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cwtest  # noqa: E402
from cwtest import DAEMON, SAMPLE_POLICY, Daemon, new_caller, run_daemon  # noqa: E402

with open(SAMPLE_POLICY, encoding="utf-8") as _f:
    SAMPLE = _f.read()


def line_of(text, needle, nth=1):
    """1-based line number of the nth line of text containing needle."""
    hits = [i + 1 for i, l in enumerate(text.splitlines()) if needle in l]
    if len(hits) < nth:
        raise AssertionError("%r not in the sample policy: update this test" % needle)
    return hits[nth - 1]


def spoil(old, new, count=1):
    if SAMPLE.count(old) < count:
        raise AssertionError("%r not in the sample policy: update this test" % old)
    return SAMPLE.replace(old, new, count)


class CliCase(unittest.TestCase):
    def setUp(self):
        self.dir = cwtest.make_tempdir()
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def assertNoSanitizer(self, text):
        self.assertEqual(cwtest.sanitizer_errors(text), [], text)

    def assertFails(self, args, cause_pattern, what):
        """Start-up fails: exit 1, and one stderr line names the cause."""
        rc, out, err = run_daemon(args, cwd=self.dir)
        self.assertNoSanitizer(err)
        self.assertEqual(rc, 1, "%s: exit %d, stderr:\n%s" % (what, rc, err))
        hits = [l for l in err.splitlines() if re.search(cause_pattern, l)]
        self.assertEqual(len(hits), 1, "%s: want one line matching %r in:\n%s"
                         % (what, cause_pattern, err))
        self.assertNotRegex(err, r"(?m)^callwardend: ready$")
        return err


class CheckConfig(CliCase):
    def test_sample_is_ok(self):
        db = os.path.join(self.dir, "x.db")
        rc, out, err = run_daemon(["--check-config", "--policy", SAMPLE_POLICY, "--db", db,
                                   "--unix", os.path.join(self.dir, "s.sock")])
        self.assertNoSanitizer(err)
        self.assertEqual((rc, out), (0, "configuration OK\n"), err)
        # No database, no socket: nothing was opened.
        self.assertEqual(os.listdir(self.dir), [])
        rc, out, err = run_daemon(["-n", "--policy", SAMPLE_POLICY, "--db", db])
        self.assertEqual((rc, out), (0, "configuration OK\n"), err)

    def test_broken_policies(self):
        cases = [
            # (what, policy text, line an error must name)
            ("syntax error", spoil("priority = 0;", "priority = ;"),
             line_of(SAMPLE, "priority = 0;")),
            ("unknown top-level key", SAMPLE + "\ncolour = \"red\";\n",
             len(SAMPLE.splitlines()) + 2),
            ("half-life of the wrong type",
             spoil("half_life_days = 90.0;", 'half_life_days = "ninety";'),
             line_of(SAMPLE, "half_life_days = 90.0;")),
            ("impossible half-life", spoil("half_life_days = 90.0;", "half_life_days = -1.0;"),
             line_of(SAMPLE, "half_life_days = 90.0;")),
            # The queue's group starts a couple of lines above its name.
            ("duplicate queue", spoil('name = "long-hold";', 'name = "standard";'),
             range(line_of(SAMPLE, 'name = "long-hold";') - 3,
                   line_of(SAMPLE, 'name = "long-hold";') + 1)),
            ("rule names an unknown queue", spoil('queue = "long-hold";', 'queue = "nowhere";'),
             line_of(SAMPLE, 'queue = "long-hold";')),
            ("rule names an unknown code",
             spoil('flag_at_least = "yellow";', 'flag_at_least = "purple";'),
             line_of(SAMPLE, 'flag_at_least = "yellow";')),
        ]
        for what, text, line in cases:
            with self.subTest(what):
                path = self.write("bad.conf", text)
                rc, out, err = run_daemon(["--check-config", "--policy", path])
                self.assertNoSanitizer(err)
                self.assertEqual(rc, 1, "%s: exit %d\n%s" % (what, rc, err))
                self.assertNotIn("configuration OK", out)
                lines = [l for l in err.splitlines() if l.strip()]
                self.assertTrue(lines, what)
                for l in lines:
                    self.assertRegex(l, r"^%s:\d+: \S" % re.escape(path), what)
                got = {int(re.match(r"^.*?:(\d+): ", l).group(1)) for l in lines}
                want = set(line) if isinstance(line, range) else {line}
                self.assertTrue(got & want, "%s: no error on line %s:\n%s" % (what, line, err))

    def test_every_error_reported(self):
        # Two independent mistakes: both are listed.
        text = spoil('queue = "long-hold";', 'queue = "nowhere";')
        text = text.replace('flag_at_least = "yellow";', 'flag_at_least = "purple";', 1)
        path = self.write("bad.conf", text)
        rc, out, err = run_daemon(["-n", "--policy", path])
        self.assertEqual(rc, 1, err)
        got = {int(m) for m in re.findall(r"^.*?:(\d+): ", err, re.M)}
        self.assertLessEqual({line_of(SAMPLE, 'queue = "long-hold";'),
                              line_of(SAMPLE, 'flag_at_least = "yellow";')}, got, err)

    def test_missing_policy_file(self):
        path = os.path.join(self.dir, "none.conf")
        rc, out, err = run_daemon(["--check-config", "--policy", path])
        self.assertEqual(rc, 1, err)
        self.assertIn(path, err)

    def test_check_config_reads_the_config_file(self):
        cfg = self.write("d.conf", 'policy = "%s";\nmax_line = 4096;\n' % SAMPLE_POLICY)
        rc, out, err = run_daemon(["-c", cfg, "--check-config"], cwd=self.dir)
        self.assertEqual((rc, out), (0, "configuration OK\n"), err)
        bad = self.write("bad.conf", 'policy = "%s";\nmax_lines = 4096;\n' % SAMPLE_POLICY)
        rc, out, err = run_daemon(["-c", bad, "--check-config"], cwd=self.dir)
        self.assertEqual(rc, 1, err)
        self.assertRegex(err, r"%s:2: " % re.escape(bad))


class StartupFailures(CliCase):
    def base(self):
        return ["--db", os.path.join(self.dir, "cw.db"), "--unix",
                os.path.join(self.dir, "cw.sock"), "--policy", SAMPLE_POLICY]

    def test_port_in_use(self):
        s = socket.socket()
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        err = self.assertFails(self.base() + ["--listen", "127.0.0.1:%d" % port],
                               r"[Aa]ddress already in use", "port in use")
        self.assertIn(str(port), [l for l in err.splitlines() if "in use" in l][0])

    def test_bad_policy(self):
        path = self.write("bad.conf", spoil("priority = 0;", "priority = ;"))
        args = self.base() + ["--listen", "127.0.0.1:0", "--policy", path]
        self.assertFails(args, r"%s:%d: " % (re.escape(path), line_of(SAMPLE, "priority = 0;")),
                         "bad policy")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "cw.sock")))

    def test_missing_policy(self):
        path = os.path.join(self.dir, "nope.conf")
        self.assertFails(self.base() + ["--listen", "127.0.0.1:0", "--policy", path],
                         re.escape(path), "missing policy")

    def test_db_parent_is_a_file(self):
        self.write("plain", "not a directory\n")
        db = os.path.join(self.dir, "plain", "cw.db")
        self.assertFails(["--db", db, "--listen", "127.0.0.1:0", "--unix", "",
                          "--policy", SAMPLE_POLICY], re.escape(db), "db under a file")

    def test_db_not_a_database(self):
        db = self.write("junk.db", "this is not an SQLite database\n" * 100)
        self.assertFails(["--db", db, "--listen", "127.0.0.1:0", "--unix", "",
                          "--policy", SAMPLE_POLICY], re.escape(db), "db is junk")

    def test_bad_listen(self):
        for spec in ["nonsense", "127.0.0.1:99999", "127.0.0.1:", "999.1.1.1:80"]:
            with self.subTest(spec):
                self.assertFails(self.base() + ["--listen", spec], re.escape(spec), spec)

    def test_unix_path_unusable(self):
        self.write("plain", "x")
        path = os.path.join(self.dir, "plain", "cw.sock")
        self.assertFails(["--db", os.path.join(self.dir, "cw.db"), "--listen", "127.0.0.1:0",
                          "--unix", path, "--policy", SAMPLE_POLICY], re.escape(path),
                         "unix socket under a file")

    def test_bad_config_file(self):
        cfg = self.write("d.conf", 'listen = "127.0.0.1:0";\nmax_line = "big";\n')
        self.assertFails(["-c", cfg] + self.base(), r"%s:2: " % re.escape(cfg), "bad config")
        missing = os.path.join(self.dir, "missing.conf")
        self.assertFails(["-c", missing] + self.base(), re.escape(missing), "missing config")

    def test_bad_usage(self):
        for args in (["--no-such-option"], ["extra-argument"], ["--listen"]):
            with self.subTest(args):
                rc, out, err = run_daemon(args, cwd=self.dir)
                self.assertNotEqual(rc, 0, err)
                self.assertIn("usage", err.lower())
                self.assertEqual(os.listdir(self.dir), [])

    def test_bad_country_code(self):
        for cc in ["0", "1234", "x"]:
            with self.subTest(cc):
                rc, out, err = run_daemon(self.base() + ["--listen", "127.0.0.1:0",
                                                         "--country-code", cc])
                self.assertEqual(rc, 1, err)
                self.assertIn("country", err)


class Running(CliCase):
    def daemon(self, **kw):
        d = Daemon(directory=self.dir, **kw)
        self.addCleanup(d.cleanup)
        return d

    def test_config_file_settings(self):
        sock = os.path.join(self.dir, "c.sock")
        db = os.path.join(self.dir, "a.db")
        cfg = self.write("d.conf", "\n".join([
            "# daemon settings",
            'listen = "127.0.0.1:0";',
            'unix = "%s";' % sock,
            'db = "%s";' % db,
            'policy = "%s";' % SAMPLE_POLICY,
            'country_code = "44";',
            "max_line = 2048;",
            "max_connections = 100;",
            'http = "";',  # the HTTP default port may be in use on a developer's machine
            'log_level = "info";', ""]))
        d = self.daemon()
        d.start([DAEMON, "-c", cfg])
        self.assertEqual(d.unix_path, sock)
        self.assertTrue(os.path.exists(db))
        with d.connect("unix") as c:
            self.assertEqual(c.call({"op": "flag.add", "caller": "2079460000", "code": "red",
                                     "reason": "r", "by": "b"})["flag"]["caller"],
                             "+442079460000")
            self.check_max_line(c, 2048)
        d.stop()
        self.assertFalse(os.path.exists(sock))

    def check_max_line(self, c, n):
        def ping(size):
            head = b'{"op":"ping","id":"'
            return head + b"x" * (size - len(head) - 2) + b'"}'
        self.assertIs(c.raw(ping(n))["ok"], True)
        self.assertEqual(c.raw(ping(n + 1))["error"]["code"], "line_too_long")
        self.assertIs(c.raw(ping(100))["ok"], True)

    def test_command_line_overrides_config(self):
        cfg = self.write("d.conf", "\n".join([
            'listen = "127.0.0.1:1";',  # privileged: would fail if it were used
            'unix = "%s";' % os.path.join(self.dir, "config.sock"),
            'db = "%s";' % os.path.join(self.dir, "config.db"),
            'policy = "%s";' % os.path.join(self.dir, "no-such-policy.conf"),
            'country_code = "44";',
            "max_line = 1024;", ""]))
        sock, db = os.path.join(self.dir, "cli.sock"), os.path.join(self.dir, "cli.db")
        d = self.daemon()
        d.start([DAEMON, "-c", cfg, "--listen", "127.0.0.1:0", "--unix", sock, "--db", db,
                 "--policy", SAMPLE_POLICY, "--country-code", "1"])
        self.assertEqual(d.unix_path, sock)
        self.assertTrue(os.path.exists(db))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "config.db")))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "config.sock")))
        with d.connect("tcp") as c:
            f = c.call({"op": "flag.add", "caller": "2079460000", "code": "red", "reason": "r",
                        "by": "b"})["flag"]
            self.assertEqual(f["caller"], "+12079460000")
            # max_line was not overridden: it comes from the file.
            self.check_max_line(c, 1024)
        d.stop()

    def test_default_max_line(self):
        d = self.daemon().start()
        with d.connect() as c:
            self.check_max_line(c, 65536)
        d.stop()

    def test_embedded_defaults_relative_to_cwd(self):
        os.mkdir(os.path.join(self.dir, "config"))
        shutil.copy(SAMPLE_POLICY, os.path.join(self.dir, "config", "policy.conf"))
        d = self.daemon()
        d.start([DAEMON, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        self.assertTrue(os.path.exists(os.path.join(self.dir, "var", "callwarden.db")))
        self.assertEqual(d.unix_path, os.path.join(self.dir, "var", "callwarden.sock"))
        with d.connect("unix") as c:
            self.assertIs(c.call({"op": "ping"})["ok"], True)
        d.stop()
        self.assertFalse(os.path.exists(os.path.join(self.dir, "var", "callwarden.sock")))

    def test_tcp_only_and_unix_only(self):
        d = self.daemon(unix=False).start()
        self.assertNotIn("listening on unix", d.log())
        self.assertFalse([n for n in os.listdir(self.dir) if n.endswith(".sock")])
        with d.connect("tcp") as c:
            self.assertIs(c.call({"op": "ping"})["ok"], True)
        d.stop()
        d = self.daemon(tcp=False).start()
        self.assertNotIn("listening on tcp", d.log())
        with d.connect("unix") as c:
            self.assertIs(c.call({"op": "ping"})["ok"], True)
        d.stop()

    def test_sigint_is_clean(self):
        d = self.daemon().start()
        with d.connect() as c:
            c.call({"op": "flag.add", "caller": new_caller(), "code": "red", "reason": "r",
                    "by": "b"})
        d.stop(signal.SIGINT)
        self.assertFalse(os.path.exists(d.sock))

    def test_sigterm_with_clients_connected(self):
        # Open connections and writes in flight do not stop a clean exit.
        d = self.daemon().start()
        idle = d.connect()
        busy = d.connect("unix")
        self.addCleanup(idle.close)
        self.addCleanup(busy.close)
        busy.send(b"".join(cwtest.encode({"op": "flag.add", "id": i, "caller": new_caller(),
                                          "code": "orange", "reason": "r", "by": "b"})
                           for i in range(200)))
        self.assertEqual(busy.reply()["id"], 0)
        d.stop()
        # Every reply that arrived is whole; then the connection ends.
        while True:
            try:
                r = busy.reply(timeout=2)
            except AssertionError:
                break
            self.assertIn("ok", r)
        self.assertTrue(idle.wait_eof(2))

    def test_sighup_keeps_running(self):
        d = self.daemon().start()
        d.proc.send_signal(signal.SIGHUP)
        with d.connect() as c:
            self.assertIs(c.call({"op": "ping"})["ok"], True)
        d.stop()

    def test_policy_version_in_replies(self):
        m = re.search(r'^version = "([^"]+)";', SAMPLE, re.M)
        d = self.daemon().start()
        with d.connect() as c:
            p = c.call({"op": "ping"})["policy"]
            if m:
                self.assertEqual(p, m.group(1))
            self.assertEqual(c.call({"op": "call.offered", "call_id": "c",
                                     "caller": "anonymous"})["policy"], p)
        d.stop()
        # Without a version the policy is named by a hash of the file.
        path = self.write("p.conf", re.sub(r'^version = "[^"]+";', "", SAMPLE, flags=re.M))
        d = self.daemon(policy=path).start()
        with d.connect() as c:
            self.assertRegex(c.call({"op": "ping"})["policy"], r"^sha-[0-9a-f]+$")
        d.stop()


if __name__ == "__main__":
    cwtest.main()
