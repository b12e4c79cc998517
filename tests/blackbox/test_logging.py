"""Logs: caller numbers masked at debug level unless configured, untrusted text escaped."""
import os
import unittest

import cwtest


class Logging(unittest.TestCase):
    def run_calls(self, config_text):
        tmp = cwtest.make_tempdir()
        conf = None
        if config_text is not None:
            conf = os.path.join(tmp, "d.conf")
            with open(conf, "w") as f:
                f.write(config_text)
        d = cwtest.Daemon(config=conf, extra_args=["-v"]).start()
        try:
            with d.connect() as c:
                c.call({"op": "call.offered", "call_id": 'evil"\nid', "caller": "5551234567"})
                c.call({"op": "call.offered", "call_id": "w1", "caller": "anonymous"})
        finally:
            d.stop()
        log = d.log()
        d.cleanup()
        return log

    def test_masked_by_default(self):
        log = self.run_calls(None)
        lines = [l for l in log.splitlines() if "event=call.offered" in l]
        self.assertEqual(len(lines), 2, log)
        self.assertIn("caller=+*******4567", lines[0])
        self.assertNotIn("5551234567", log)
        self.assertIn('call_id="evil\\x22\\x0aid"', lines[0])
        self.assertIn("caller=withheld", lines[1])

    def test_full_numbers_when_configured(self):
        log = self.run_calls("log_full_numbers = true;\n")
        self.assertIn("caller=+15551234567", log)

    def test_no_numbers_at_info(self):
        d = cwtest.Daemon().start()
        try:
            with d.connect() as c:
                c.call({"op": "call.offered", "call_id": "i1", "caller": "5551234567"})
        finally:
            d.stop()
        self.assertNotIn("4567", d.log())
        d.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
