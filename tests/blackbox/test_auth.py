"""Roles and tokens (issue 5): hello, unauthorized, forbidden, Unix peers, loopback-only open TCP."""
import os
import subprocess
import unittest

import cwtest

TELEPHONY = "telephony-token-0123456789"
SUPERVISOR = "supervisor-token-0123456789"
OPS = "ops-token-0123456789abcdef"

CONFIG = """tokens = (
  { token = "%s"; role = "telephony"; },
  { token = "%s"; role = "supervisor"; },
  { token = "%s"; role = "ops"; }
);
unix_users = ( { uid = %d; role = "supervisor"; } );
""" % (TELEPHONY, SUPERVISOR, OPS, os.getuid())

# (what, op request, roles that may use it)
OPS_TABLE = [
    ("call.offered", {"op": "call.offered", "call_id": "a-1", "caller": "5550001111"},
     {"telephony", "ops"}),
    ("call.ended", {"op": "call.ended", "call_id": "no-such-call"}, {"telephony", "ops"}),
    ("ping", {"op": "ping"}, {"telephony", "supervisor", "ops"}),
    ("flag.list", {"op": "flag.list"}, {"supervisor", "ops"}),
    ("caller.show", {"op": "caller.show", "caller": "5550001111"}, {"supervisor", "ops"}),
    ("subscribe", {"op": "subscribe", "topics": ["alert"]}, {"supervisor", "ops"}),
    ("followup.list", {"op": "followup.list"}, {"supervisor", "ops"}),
    ("stats", {"op": "stats"}, {"ops"}),
    ("policy.check", {"op": "policy.check"}, {"ops"}),
]

TOKENS = {"telephony": TELEPHONY, "supervisor": SUPERVISOR, "ops": OPS}


class Auth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cwtest.Daemon(config_text=CONFIG).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.cleanup()

    def test_nothing_before_hello(self):
        with self.d.connect() as c:
            for req in [{"op": "ping", "id": 1}, {"op": "call.offered", "call_id": "x"},
                        {"op": "stats"}]:
                r = c.call(req)
                self.assertEqual(r["error"]["code"], "unauthorized", req)

    def test_wrong_tokens(self):
        with self.d.connect() as c:
            for token in ["nope", TELEPHONY + "x", TELEPHONY[:-1], "", OPS.upper()]:
                r = c.call({"op": "hello", "token": token})
                self.assertEqual(r["error"]["code"], "unauthorized", token)
            self.assertEqual(c.call({"op": "hello"})["error"]["code"], "missing_field")
            self.assertEqual(c.call({"op": "ping"})["error"]["code"], "unauthorized")

    def test_role_table(self):
        for role, token in TOKENS.items():
            with self.d.connect() as c:
                r = c.call({"op": "hello", "token": token, "id": "h"})
                self.assertEqual((r["ok"], r["role"], r["id"]), (True, role, "h"))
                for what, req, allowed in OPS_TABLE:
                    r = c.call(req)
                    if role in allowed:
                        self.assertNotIn(r.get("error", {}).get("code"),
                                         ("forbidden", "unauthorized"), (role, what, r))
                    else:
                        self.assertEqual(r["error"]["code"], "forbidden", (role, what, r))
                    if what == "subscribe" and r["ok"]:
                        c.call({"op": "unsubscribe"})

    def test_tokens_never_logged(self):
        with self.d.connect() as c:
            c.call({"op": "hello", "token": OPS})
            c.call({"op": "hello", "token": "guess-guess-guess-guess"})
        log = self.d.log()
        for secret in (TELEPHONY, SUPERVISOR, OPS, "guess-guess-guess-guess"):
            self.assertNotIn(secret, log)

    def test_unix_peer_role_from_uid(self):
        # This uid is mapped to supervisor: supervisor ops work without hello, ops ones do not.
        with self.d.connect("unix") as c:
            self.assertTrue(c.call({"op": "flag.list"})["ok"])
            self.assertEqual(c.call({"op": "stats"})["error"]["code"], "forbidden")
            self.assertTrue(c.call({"op": "hello", "token": OPS})["ok"])
            self.assertTrue(c.call({"op": "stats"})["ok"])

    def test_unix_socket_mode(self):
        mode = os.stat(self.d.unix_path).st_mode & 0o777
        self.assertEqual(mode & 0o007, 0, oct(mode))


class OpenLoopback(unittest.TestCase):
    def test_no_tokens_means_ops_on_loopback_with_a_warning(self):
        d = cwtest.Daemon().start()
        try:
            with d.connect() as c:
                self.assertTrue(c.call({"op": "stats"})["ok"])
            self.assertIn("WARNING: no tokens configured", d.log())
        finally:
            d.stop()
            d.cleanup()

    def test_refuses_beyond_loopback_without_tokens(self):
        tmp = cwtest.make_tempdir()
        p = subprocess.run([cwtest.DAEMON, "--listen", "0.0.0.0:0", "--unix", "",
                            "--db", os.path.join(tmp, "x.db"), "--policy", cwtest.SAMPLE_POLICY],
                           capture_output=True, text=True, timeout=20, cwd=tmp)
        self.assertEqual(p.returncode, 1)
        lines = p.stderr.strip().splitlines()
        self.assertIn("refusing to listen beyond loopback", lines[-1])


if __name__ == "__main__":
    unittest.main(verbosity=2)
