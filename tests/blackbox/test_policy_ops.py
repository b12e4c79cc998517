"""Issue 5: policy.check, policy.reload, SIGHUP, audited reloads, reload under traffic, simulate."""
import os
import shutil
import signal
import threading
import time
import unittest

import cwtest

BROKEN = 'queues = ( { name = "x"; } );\nfoo = 1;\n'


def sample_text():
    with open(cwtest.SAMPLE_POLICY) as f:
        return f.read()


class PolicyOps(unittest.TestCase):
    def setUp(self):
        self.dir = cwtest.make_tempdir()
        self.policy = os.path.join(self.dir, "policy.conf")
        shutil.copy(cwtest.SAMPLE_POLICY, self.policy)
        self.d = cwtest.Daemon(policy=self.policy).start()
        self.c = self.d.connect()

    def tearDown(self):
        self.c.close()
        self.d.stop()
        self.d.cleanup()

    def write_policy(self, text):
        tmp = self.policy + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.policy)

    def version(self):
        return self.c.call({"op": "ping"})["policy"]

    def test_check_good_and_broken(self):
        r = self.c.call({"op": "policy.check"})
        self.assertTrue(r["ok"])
        self.assertEqual(r["policy"], self.version())
        bad = os.path.join(self.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write(BROKEN)
        r = self.c.call({"op": "policy.check", "path": bad})
        self.assertEqual(r["error"]["code"], "bad_field")
        self.assertTrue(r["error"]["message"].startswith(bad + ":2: unknown key 'foo'"))
        self.assertGreaterEqual(len(r["errors"]), 2)
        for line in r["errors"]:
            self.assertRegex(line, r"^%s:\d+: " % bad)
        # Checking changes nothing.
        self.assertEqual(self.version(), "sample-2026-11-23.2")

    def test_reload_applies_and_is_audited(self):
        self.write_policy(sample_text().replace('version = "sample-2026-11-23.2"',
                                                'version = "edited-1"'))
        r = self.c.call({"op": "policy.reload", "by": "ops-7", "id": 4})
        self.assertEqual((r["ok"], r["policy"], r["id"], r["old"]),
                         (True, "edited-1", 4, "sample-2026-11-23.2"))
        self.assertEqual(self.version(), "edited-1")
        audit = cwtest.wait_for(lambda: self.c.call({"op": "audit.list", "actor": "ops-7"})["audit"])
        self.assertEqual(audit[0]["action"], "policy.reload")
        self.assertEqual(audit[0]["detail"]["old"], "sample-2026-11-23.2")
        self.assertEqual(audit[0]["detail"]["new"], "edited-1")

    def test_bad_reload_keeps_old_policy(self):
        cases = [("broken", BROKEN), ("empty", ""), ("truncated", sample_text()[:700])]
        for what, text in cases:
            with self.subTest(what):
                self.write_policy(text)
                r = self.c.call({"op": "policy.reload"})
                self.assertEqual(r["error"]["code"], "bad_field", what)
                # the reply names the version that stays
                self.assertEqual(r["policy"], "sample-2026-11-23.2", what)
                self.assertEqual(self.version(), "sample-2026-11-23.2")
                # a check of the same file changes nothing and names no policy
                c = self.c.call({"op": "policy.check"})
                self.assertEqual(c["error"]["code"], "bad_field", what)
                self.assertNotIn("policy", c)
                d = self.c.call({"op": "call.offered", "call_id": "b-" + what,
                                 "caller": "anonymous"})
                self.assertEqual(d["rule"], "withheld")
        os.remove(self.policy)
        os.mkdir(self.policy)
        self.assertEqual(self.c.call({"op": "policy.reload"})["error"]["code"], "bad_field")
        self.assertIn("has errors, not reloading", self.d.log())

    def test_sighup_storm_and_reload_under_traffic(self):
        self.write_policy(sample_text().replace('version = "sample-2026-11-23.2"',
                                                'version = "hup-1"'))
        failures = []
        done = threading.Event()

        def traffic():
            with self.d.connect() as c:
                i = 0
                while not done.is_set():
                    r = c.call({"op": "call.offered", "call_id": "t-%d" % i,
                                "caller": cwtest.new_caller(), "dry_run": True})
                    if not r.get("ok") or r.get("degraded"):
                        failures.append(r)
                    i += 1

        t = threading.Thread(target=traffic)
        t.start()
        try:
            for _ in range(100):
                self.d.proc.send_signal(signal.SIGHUP)
            for i in range(20):
                self.assertTrue(self.c.call({"op": "policy.reload"})["ok"])
        finally:
            done.set()
            t.join()
        self.assertEqual(failures, [])
        self.assertEqual(cwtest.wait_for(lambda: self.version() == "hup-1" or None), True)
        self.assertTrue(self.d.running())

    def test_simulate(self):
        now = int(time.time())
        t = now - 3000
        caller = cwtest.new_caller()
        self.assertTrue(self.c.call({"op": "flag.add", "caller": caller, "code": "orange",
                                     "reason": "swore", "by": "s", "ts": t - 10})["ok"])
        for i in range(3):
            self.c.call({"op": "call.offered", "call_id": "sim-%d" % i, "caller": caller,
                         "ts": t + 100 * i})
        other = cwtest.new_caller()
        self.c.call({"op": "call.offered", "call_id": "sim-o", "caller": other, "ts": t + 50})
        time.sleep(0.3)  # the call log commits every 50 ms
        cand = os.path.join(self.dir, "cand.conf")
        with open(cand, "w") as f:
            f.write(sample_text().replace("score_at_least = 2.5", "score_at_least = 0.5"))
        before = self.d.query("SELECT count(*) AS n FROM calls")[0]["n"]
        r = self.c.call({"op": "policy.simulate", "path": cand, "since": t - 1,
                         "until": t + 1000})
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["calls"], 4)
        self.assertEqual(r["current"]["queues"], {"standard": 4})
        self.assertEqual(r["candidate"]["queues"], {"standard": 1, "supervisor": 3})
        self.assertEqual(r["changed_calls"], 3)
        self.assertEqual({c["call_id"] for c in r["changed"]}, {"sim-0", "sim-1", "sim-2"})
        ch = r["changed"][0]
        self.assertEqual((ch["from"]["rule"], ch["to"]["rule"]), ("default", "score"))
        self.assertIn("abuse score", ch["to"]["reason"])
        # A flag added after the calls does not count for them.
        self.c.call({"op": "flag.add", "caller": other, "code": "red", "reason": "later",
                     "by": "s"})
        r = self.c.call({"op": "policy.simulate", "path": cand, "since": t - 1,
                         "until": t + 1000})
        self.assertEqual(r["current"]["queues"], {"standard": 4})
        self.assertEqual(self.d.query("SELECT count(*) AS n FROM calls")[0]["n"], before)
        # Both ends count: a one-second range holds the call of that second.
        r = self.c.call({"op": "policy.simulate", "path": cand, "since": t + 100,
                         "until": t + 100})
        self.assertEqual((r["calls"], r["since"], r["until"]), (1, t + 100, t + 100), r)
        r = self.c.call({"op": "policy.simulate", "path": cand, "since": t + 101,
                         "until": t + 100})
        self.assertEqual(r["error"]["code"], "bad_field", r)
        # since 0 is the start of time, not "the last 7 days".
        self.c.call({"op": "call.offered", "call_id": "sim-old", "caller": other,
                     "ts": now - 30 * 86400})
        time.sleep(0.3)
        r = self.c.call({"op": "policy.simulate", "path": cand, "since": 0})
        self.assertTrue(r["ok"], r)
        self.assertEqual((r["calls"], r["since"]), (5, 0), r)
        r = self.c.call({"op": "policy.simulate", "path": cand})
        self.assertEqual(r["calls"], 4, r)
        bad = self.c.call({"op": "policy.simulate", "path": os.path.join(self.dir, "nope")})
        self.assertEqual(bad["error"]["code"], "bad_field")
        # A broken candidate answers like policy.check: every error, each with file:line.
        broken = os.path.join(self.dir, "broken-cand.conf")
        with open(broken, "w") as f:
            f.write(BROKEN)
        bad = self.c.call({"op": "policy.simulate", "path": broken})
        self.assertEqual(bad["error"]["code"], "bad_field", bad)
        self.assertGreaterEqual(len(bad["errors"]), 2, bad)
        for line in bad["errors"]:
            self.assertRegex(line, r"^%s:\d+: " % broken)
        self.assertEqual(self.c.call({"op": "policy.simulate"})["error"]["code"],
                         "missing_field")


if __name__ == "__main__":
    unittest.main(verbosity=2)
