"""Call-log backpressure (issue 4, bounded memory; issue 5, the HTTP side): while more than
calllog_backlog_max call-log rows wait for their commit, the daemon holds reads (sockets) and
parks requests (HTTP /v1/route), and answers them all once the log has caught up."""

import http.client
import json
import os
import shutil
import threading
import unittest

import cwtest
from cwtest import Daemon, new_caller

BACKLOG = 16


class Backpressure(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(config_text="calllog_backlog_max = %d;\n" % BACKLOG, http=True).start()

    def tearDown(self):
        try:
            self.d.stop()
        finally:
            self.d.cleanup()

    def logged_calls(self, want):
        """Waits until the call log holds want rows; returns how many it holds."""
        count = lambda: self.d.query("SELECT count(*) AS n FROM calllog.calls")[0]["n"]
        cwtest.wait_for(lambda: count() >= want or None, timeout=10)
        return count()

    def assert_held_and_resumed(self):
        log = self.d.log()
        self.assertRegex(log, r"call log behind backlog=\d+: holding reads")
        self.assertRegex(log, r"call log caught up backlog=\d+: reading again")

    def test_socket_reads_wait_for_the_call_log(self):
        n = 400
        with self.d.connect() as c:
            c.send(b"".join(cwtest.encode({"op": "call.offered", "id": i, "call_id": "bp-%d" % i,
                                           "caller": new_caller()}) for i in range(n)))
            replies = c.replies(n, timeout=30)
        self.assertEqual([r["id"] for r in replies], list(range(n)))
        self.assertTrue(all(r["ok"] and r["queue"] for r in replies))
        self.assertEqual(self.logged_calls(n), n)
        self.assert_held_and_resumed()

    def test_http_route_waits_for_the_call_log(self):
        threads, per_thread = 6, 60
        results, errors = [], []

        def client(t):
            conn = http.client.HTTPConnection("127.0.0.1", self.d.http_port, timeout=30)
            try:
                for i in range(per_thread):
                    conn.request("GET", "/v1/route?caller=%s&call_id=h-%d-%d"
                                 % (new_caller(), t, i))
                    r = conn.getresponse()
                    results.append((r.status, json.loads(r.read())))
            except Exception as e:  # reported below, with the others' results
                errors.append(repr(e))
            finally:
                conn.close()

        workers = [threading.Thread(target=client, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), threads * per_thread)
        self.assertTrue(all(status == 200 and body["ok"] and body["queue"]
                            for status, body in results), results[:3])
        self.assertEqual(self.logged_calls(threads * per_thread), threads * per_thread)
        self.assert_held_and_resumed()
        # Monitoring is never held.
        conn = http.client.HTTPConnection("127.0.0.1", self.d.http_port, timeout=5)
        conn.request("GET", "/healthz")
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()


class Settings(unittest.TestCase):
    def test_backlog_bounds(self):
        d = cwtest.make_tempdir()
        self.addCleanup(shutil.rmtree, d, True)
        for value, ok in (("15", False), ("16", True), ("16777216", True), ("16777217", False),
                          ('"big"', False)):
            path = os.path.join(d, "cw.conf")
            with open(path, "w") as f:
                f.write("calllog_backlog_max = %s;\n" % value)
            rc, _, err = cwtest.run_daemon(["-c", path, "--policy", cwtest.SAMPLE_POLICY,
                                            "--check-config"])
            self.assertEqual(rc == 0, ok, (value, err))
            if not ok:
                self.assertIn("calllog_backlog_max", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
