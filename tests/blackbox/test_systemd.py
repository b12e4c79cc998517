"""systemd: the unit verifies, and the daemon speaks the notify protocol (READY, STATUS, watchdog)."""
import os
import shutil
import signal
import socket
import subprocess
import unittest

import cwtest

UNIT = os.path.join(cwtest.SOURCE_DIR, "systemd", "callwarden.service")


class Unit(unittest.TestCase):
    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
    def test_unit_verifies(self):
        # Verify a copy whose binary path is this build's: the installed path may not exist here.
        tmp = cwtest.make_tempdir()
        with open(UNIT) as f:
            text = f.read()
        self.assertIn("Type=notify", text)
        self.assertIn("ExecReload=/bin/kill -HUP $MAINPID", text)
        path = os.path.join(tmp, "callwarden.service")
        with open(path, "w") as f:
            f.write(text.replace("/usr/sbin/callwardend", cwtest.DAEMON))
        p = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True,
                           timeout=60)
        complaints = [l for l in (p.stdout + p.stderr).splitlines() if "callwarden" in l]
        self.assertEqual((p.returncode, complaints), (0, []))

    def test_installed_config_checks(self):
        conf = os.path.join(cwtest.SOURCE_DIR, "config", "callwardend.conf")
        p = subprocess.run([cwtest.DAEMON, "-c", conf, "--policy", cwtest.SAMPLE_POLICY, "-n"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "configuration OK"))


class Notify(unittest.TestCase):
    def test_ready_status_watchdog_reload_stopping(self):
        tmp = cwtest.make_tempdir()
        path = os.path.join(tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(5)
        env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="200000")
        d = cwtest.Daemon()
        args = d.args()
        log = open(os.path.join(d.dir, "notify.log"), "wb")
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=log, cwd=d.dir)
        try:
            msgs = []

            def until(pred):
                while True:
                    m = sock.recv(4096).decode()
                    msgs.append(m)
                    if pred(m):
                        return m

            ready = until(lambda m: "READY=1" in m)
            self.assertIn("STATUS=routing with policy sample-", ready)
            until(lambda m: m == "WATCHDOG=1")
            proc.send_signal(signal.SIGHUP)
            until(lambda m: m.startswith("STATUS=routing with policy"))
            proc.send_signal(signal.SIGTERM)
            until(lambda m: m == "STOPPING=1")
            self.assertEqual(proc.wait(timeout=10), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
            sock.close()
            d.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
