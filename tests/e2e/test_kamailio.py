"""End-to-end: Kamailio 5.6 running integrations/kamailio/kamailio.cfg asks callwarden's HTTP API
(GET /v1/route) for every INVITE and redirects the call with 302 to the decision's target, or to
the default queue's target when callwarden is down, hung or answers nonsense. Real SIP over UDP
on loopback, a real callwardend and a real Kamailio."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))

import cwtest  # noqa: E402
import sipclient  # noqa: E402

KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"
KAMAILIO_CFG = os.path.join(cwtest.SOURCE_DIR, "integrations", "kamailio", "kamailio.cfg")
START_TIMEOUT = 10.0

STANDARD = "sip:standard@pbx.example"
SUPERVISOR = "sip:supervisor@pbx.example"
LONG_HOLD = "sip:long-hold@pbx.example"
FALLBACK = "sip:fallback@pbx.example"  # what the config is told to use when callwarden fails
CLOSED_LINE = "+18005550199"
SERVICE_LINE = "8005550100"


def free_port(kind=socket.SOCK_STREAM):
    """A loopback port nothing listens on right now."""
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def test_policy(directory):
    """The sample policy plus a rule that rejects calls to a closed line."""
    with open(cwtest.SAMPLE_POLICY, encoding="utf-8") as f:
        text = f.read()
    rule = ('rules = (\n  { name = "closed-line"; when = { dialed = [ "%s" ]; };'
            ' reject = "this line is closed"; },\n' % CLOSED_LINE)
    if text.count("\nrules = (\n") != 1:
        raise AssertionError("the sample policy has no 'rules = (' line to extend")
    path = os.path.join(directory, "policy.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace("\nrules = (\n", "\n" + rule, 1))
    return path


def require_kamailio(case):
    """Kamailio is a dependency of the suite (dev.sh installs it): missing, the test fails
    under CI and is skipped on a developer's machine that has not run dev.sh."""
    if os.path.exists(KAMAILIO):
        return
    msg = "kamailio not found at %s (./dev.sh test installs it)" % KAMAILIO
    if os.environ.get("CI"):
        raise AssertionError(msg)
    case.skipTest(msg)


class Kamailio:
    """One kamailio in the foreground with the shipped config, on a loopback UDP port, with its
    own process group so that stopping it leaves no process behind."""

    def __init__(self, directory, http_port, fallback=FALLBACK):
        self.dir = directory
        self.http_port = http_port
        self.fallback = fallback
        self.sip_port = free_port(socket.SOCK_DGRAM)
        self.proc = None
        self.log_path = os.path.join(directory, "kamailio.log")

    def args(self):
        return [KAMAILIO, "-f", KAMAILIO_CFG,
                "-DD", "-E",            # foreground, log to stderr
                "-T", "-S",             # UDP only
                "-l", "udp:127.0.0.1:%d" % self.sip_port,
                "-m", "64", "-M", "8",  # shared and private memory, MB
                "-Y", self.dir, "-P", os.path.join(self.dir, "kamailio.pid"), "-w", self.dir,
                "-A", 'CW_URL="http://127.0.0.1:%d"' % self.http_port,
                "-A", 'CW_FALLBACK="%s"' % self.fallback,
                "-A", "CW_CHILDREN=2"]

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def start(self):
        check = subprocess.run(self.args() + ["-c"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        if check.returncode != 0:
            raise AssertionError("kamailio -c refused %s:\n%s"
                                 % (KAMAILIO_CFG, check.stdout.decode("utf-8", "replace")))
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, cwd=self.dir, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        with self.client() as c:
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError("kamailio exited with %d at start-up; log:\n%s"
                                         % (self.proc.returncode, self.log()))
                reply = c.options(timeout=0.2)
                if reply is not None and reply.status == 200:
                    return self
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError("kamailio does not answer OPTIONS after %.0f s; log:\n%s"
                                         % (START_TIMEOUT, self.log()))

    def client(self):
        return sipclient.SipClient(("127.0.0.1", self.sip_port))

    def stop(self):
        """SIGTERM to the main process, then SIGKILL to whatever is left of its group."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        pgid = proc.pid
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 5
        while True:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            if time.monotonic() > deadline:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                break
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def start_callwarden(directory, http_port):
    """callwardend with its HTTP listener on http_port and the test policy."""
    daemon = cwtest.Daemon(directory=directory, policy=test_policy(directory),
                           extra_args=["--http", "127.0.0.1:%d" % http_port])
    return daemon.start()


class KamailioCase(unittest.TestCase):
    """A callwardend and a kamailio pointed at its HTTP API, shared by the tests of a class."""

    @classmethod
    def setUpClass(cls):
        cls.dir = cwtest.make_tempdir()
        cls.http_port = free_port()
        cls.daemon = None
        cls.kamailio = None
        if not os.path.exists(KAMAILIO):
            return  # setUp fails or skips each test
        try:
            cls.daemon = start_callwarden(cls.dir, cls.http_port)
            cls.kamailio = Kamailio(cls.dir, cls.http_port).start()
        except BaseException:
            cls.cleanup()
            raise

    @classmethod
    def cleanup(cls):
        try:
            if cls.kamailio is not None:
                cls.kamailio.stop()
        finally:
            if cls.daemon is not None:
                cls.daemon.cleanup()
            shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.daemon is not None:
                cls.daemon.stop()
        finally:
            cls.cleanup()

    def setUp(self):
        require_kamailio(self)
        self.assertIsNotNone(self.kamailio.proc, "kamailio is not running")
        self.assertIsNone(self.kamailio.proc.poll(),
                          "kamailio died; log:\n" + self.kamailio.log())
        self.sip = self.kamailio.client()
        self.addCleanup(self.sip.close)

    def ops(self, obj):
        """One request on callwarden's event socket (TCP); fails unless ok."""
        with self.daemon.connect() as c:
            r = c.call(obj)
        self.assertIs(r.get("ok"), True, "request %r failed: %r" % (obj, r))
        return r

    def flag(self, caller, code):
        return self.ops({"op": "flag.add", "caller": caller, "code": code,
                         "reason": "e2e test flag", "by": "sup-1"})

    def invite(self, caller, dialed=SERVICE_LINE, **kw):
        res = self.sip.invite(caller, dialed, **kw)
        self.assertTrue(res.provisional and res.provisional[0].status == 100,
                        "no 100 Trying before the final reply: %r" % res.final.raw)
        return res

    def assertRedirect(self, res, target, queue=None, rule=None, fallback=False,
                       priority=None):
        final = res.final
        self.assertEqual(final.status, 302, final.raw)
        self.assertEqual(final.reason, "Moved Temporarily", final.raw)
        self.assertEqual(len(final.headers.get("contact", [])), 1, final.raw)
        self.assertEqual(final.contact_uri(), target, final.raw)
        if queue is not None:
            self.assertEqual(final.header("x-callwarden-queue"), queue, final.raw)
        if rule is not None:
            self.assertEqual(final.header("x-callwarden-rule"), rule, final.raw)
        if priority is not None:
            self.assertEqual(final.header("x-callwarden-priority"), str(priority), final.raw)
        if fallback:
            self.assertTrue(final.header("x-callwarden-fallback"), final.raw)
            self.assertIsNone(final.header("x-callwarden-rule"), final.raw)
        else:
            self.assertIsNone(final.header("x-callwarden-fallback"), final.raw)


class KamailioRoutes(KamailioCase):

    def test_red_flag_goes_to_supervisor(self):
        # An international number: its "+" must reach callwarden as "+", not as a space.
        caller = "+442079460018"
        self.flag(caller, "red")
        self.assertRedirect(self.invite(caller), SUPERVISOR, "supervisor", "threat",
                            priority=10)

    def test_nuisance_flag_goes_to_long_hold(self):
        caller = cwtest.new_caller()
        self.flag(caller, "nuisance")
        self.assertRedirect(self.invite(caller), LONG_HOLD, "long-hold", "nuisance",
                            priority=-10)

    def test_sixth_call_in_ten_minutes_goes_to_long_hold(self):
        caller = cwtest.new_caller()
        call_ids = ["rep-%d-%s@127.0.0.1" % (i, os.urandom(4).hex()) for i in range(6)]
        for call_id in call_ids[:5]:
            self.assertRedirect(self.invite(caller, call_id=call_id), STANDARD, "standard",
                                "default")
        self.assertRedirect(self.invite(caller, call_id=call_ids[5]), LONG_HOLD, "long-hold",
                            "nuisance-pattern")
        # The SIP Call-IDs reached callwarden as the calls' ids.
        logged = cwtest.wait_for(lambda: [c["call_id"] for c in self.ops(
            {"op": "caller.show", "caller": caller})["recent_calls"]] == call_ids[::-1])
        self.assertTrue(logged, self.ops({"op": "caller.show", "caller": caller}))

    def test_socket_events_follow_a_call_routed_over_http(self):
        caller = cwtest.new_caller()
        call_id = "ev-%s@127.0.0.1" % os.urandom(4).hex()
        self.assertRedirect(self.invite(caller, call_id=call_id), STANDARD, "standard")
        self.ops({"op": "call.answered", "call_id": call_id, "agent": "agent-7"})
        self.ops({"op": "call.ended", "call_id": call_id, "ended_by": "agent"})

        def logged():
            calls = self.ops({"op": "caller.show", "caller": caller})["recent_calls"]
            return calls and calls[0].get("ended_by") == "agent" and calls[0]
        call = cwtest.wait_for(logged)
        self.assertTrue(call, self.ops({"op": "caller.show", "caller": caller}))
        self.assertEqual((call["call_id"], call["agent"]), (call_id, "agent-7"), call)

    def test_long_call_id_still_routes(self):
        # callwarden takes call ids of up to 128 bytes; the config sends a longer one's digest.
        caller = cwtest.new_caller()
        self.flag(caller, "red")
        res = self.invite(caller, call_id="x" * 200 + "@127.0.0.1")
        self.assertRedirect(res, SUPERVISOR, "supervisor", "threat")

    def test_unknown_caller_goes_to_standard(self):
        self.assertRedirect(self.invite(cwtest.new_caller()), STANDARD, "standard", "default",
                            priority=0)

    def test_withheld_caller_goes_to_standard(self):
        res = self.invite("anonymous", from_uri="sip:anonymous@anonymous.invalid")
        self.assertRedirect(res, STANDARD, "standard", "withheld")

    def test_reject_rule_declines_the_call(self):
        res = self.invite(cwtest.new_caller(), dialed=CLOSED_LINE)
        self.assertEqual(res.final.status, 603, res.final.raw)
        self.assertEqual(res.final.header("x-callwarden-rule"), "closed-line", res.final.raw)
        self.assertIsNone(res.final.header("contact"), res.final.raw)

    def test_ack_ends_the_transaction(self):
        # Kamailio answers statefully: without the ACK it would resend the 302 after T1.
        self.invite(cwtest.new_caller())
        self.assertTrue(self.sip.nothing_arrives(sipclient.T1 + 0.3),
                        "the 302 was resent after its ACK")


class Silent:
    """A TCP listener that accepts connections and never answers: a hung callwarden."""

    def __init__(self, port, answer=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.answer = answer
        self.conns = []
        self.stopped = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.answer is not None:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(self.answer)
                except OSError:
                    pass

    def close(self):
        self.stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)
        for c in self.conns:
            c.close()


def http_answer(status, body):
    return (("HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
             "Connection: close\r\n\r\n") % (status, len(body))).encode() + body


class KamailioFallsThrough(KamailioCase):
    """Calls are never blocked by a routing outage: they reach the default queue's target."""

    def test_outage_and_recovery(self):
        caller = cwtest.new_caller()
        self.flag(caller, "red")
        self.assertRedirect(self.invite(caller), SUPERVISOR, "supervisor", "threat")

        # Stopped: connection refused, the call goes on at once.
        self.daemon.stop()
        res = self.invite(caller)
        self.assertRedirect(res, FALLBACK, fallback=True)
        self.assertLess(res.elapsed_s, 0.5, "fall-through with callwarden down was slow")

        # Hung: accepts and never answers; the call goes on after the 1 s timeout, and the
        # caller had its 100 Trying at once, so it never retransmitted.
        silent = Silent(self.http_port)
        try:
            res = self.invite(caller)
        finally:
            silent.close()
        self.assertRedirect(res, FALLBACK, fallback=True)
        self.assertEqual(res.final.header("x-callwarden-fallback"), "timed out", res.final.raw)
        self.assertGreaterEqual(res.elapsed_s, 0.9, res.final.raw)
        self.assertLess(res.elapsed_s, 2.0, "fall-through with callwarden hung took too long")
        self.assertLess(res.first_provisional_s, sipclient.T1, "100 Trying came late")
        self.assertEqual(res.sent, 1, "the INVITE was retransmitted while callwarden hung")

        # Nonsense: a 200 that is not a decision, or an error status.
        for answer in (http_answer("200 OK", b"not json!"),
                       http_answer("200 OK", b'{"ok":true,"action":"queue","queue":"x",'
                                   b'"rule":"r","target":"<sip:x@y>"}'),
                       http_answer("200 OK", b'{"ok":true,"action":"transfer","queue":"x",'
                                   b'"rule":"r","target":"sip:x@y"}'),
                       http_answer("503 Service Unavailable", b'{"ok":false}')):
            silent = Silent(self.http_port, answer)
            try:
                res = self.invite(caller)
            finally:
                silent.close()
            self.assertRedirect(res, FALLBACK, fallback=True)
            self.assertLess(res.elapsed_s, 0.5, answer)

        # Back: routing by the flags again.
        self.daemon.start()
        self.assertRedirect(self.invite(caller), SUPERVISOR, "supervisor", "threat")


if __name__ == "__main__":
    cwtest.main()
