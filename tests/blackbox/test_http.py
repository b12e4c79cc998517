"""The HTTP API (issue 5, part 4): /v1/route, the op-backed resources, auth, limits, slow
clients, /healthz and /metrics in the Prometheus text format."""

import http.client
import json
import math
import os
import re
import socket
import time
import unittest
import urllib.parse

import cwtest
from cwtest import SAMPLE_POLICY, T0, Daemon, new_caller, run_daemon
# The socket's auth tests' tokens: the same config serves HTTP.
from test_auth import CONFIG as TOKENS_CONFIG, OPS, SUPERVISOR, TELEPHONY


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return cwtest.parse_reply(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


def request(conn, method, path, body=None, headers=None):
    """One request on an http.client connection; the reply, read in full."""
    h = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode("utf-8")
        h.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode("utf-8")
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, data)


def raw_exchange(port, data, timeout=5.0):
    """Sends raw bytes on a new connection and returns everything read until it closes or
    goes quiet for a moment."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        s.settimeout(1.0)
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def status_of(raw):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", raw)
    return int(m.group(1)) if m else None


# A strict reader of the Prometheus text exposition format, version 0.0.4.
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_value(text):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", text):
        raise ValueError("bad sample value %r" % text)
    return float(text)


def parse_labels(text, i):
    """Parses {name="value",...} from text[i] == '{'; returns (labels, index after '}')."""
    labels = {}
    i += 1
    while True:
        if text[i] == "}":
            return labels, i + 1
        m = LABEL_NAME.match(text, i)
        if not m:
            raise ValueError("bad label name at %r" % text[i:])
        name = m.group(0)
        i = m.end()
        if text[i:i + 2] != '="':
            raise ValueError("expected =\" after label %s" % name)
        i += 2
        value = []
        while True:
            c = text[i]
            if c == "\\":
                esc = text[i + 1]
                if esc not in ('\\', '"', "n"):
                    raise ValueError("bad escape \\%s" % esc)
                value.append("\n" if esc == "n" else esc)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError("raw newline in a label value")
            else:
                value.append(c)
                i += 1
        if name in labels:
            raise ValueError("label %s given twice" % name)
        labels[name] = "".join(value)
        if text[i] == ",":
            i += 1
        elif text[i] != "}":
            raise ValueError("expected , or } at %r" % text[i:])


def family_of(sample, families):
    for suffix in ("_bucket", "_sum", "_count"):
        if sample.endswith(suffix) and families.get(sample[:-len(suffix)], {}).get("type") \
                == "histogram":
            return sample[:-len(suffix)]
    return sample


def parse_prometheus(text):
    """Families by name: {"type", "help", "samples": [(name, labels, value)]}. Raises
    ValueError on anything the format does not allow or that our output must not do."""
    if not text.endswith("\n"):
        raise ValueError("the text does not end with a newline")
    families = {}
    order = []
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not METRIC_NAME.match(parts[2]):
                raise ValueError("bad comment line %r" % line)
            fam = families.setdefault(parts[2], {"type": None, "help": None, "samples": []})
            if fam["samples"]:
                raise ValueError("%s after samples of %s" % (parts[1], parts[2]))
            key = parts[1].lower()
            if fam[key] is not None:
                raise ValueError("second %s line for %s" % (parts[1], parts[2]))
            if key == "type" and parts[3] not in TYPES:
                raise ValueError("unknown type %r" % parts[3])
            if key == "help" and re.search(r"\\[^\\n]", parts[3]):
                raise ValueError("bad escape in HELP %r" % line)
            fam[key] = parts[3]
            continue
        if line.startswith("#"):
            continue
        if not line:
            raise ValueError("empty line")
        m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
        if not m:
            raise ValueError("bad sample line %r" % line)
        name, i = m.group(0), m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = parse_labels(line, i)
        if line[i:i + 1] != " ":
            raise ValueError("no space before the value in %r" % line)
        fields = line[i + 1:].split(" ")
        if len(fields) not in (1, 2):
            raise ValueError("bad value part in %r" % line)
        value = parse_value(fields[0])
        fname = family_of(name, families)
        if fname not in families or families[fname]["type"] is None:
            raise ValueError("sample %s without a TYPE line" % name)
        if order and order[-1] != fname and fname in order:
            raise ValueError("samples of %s are not together" % fname)
        if not order or order[-1] != fname:
            order.append(fname)
        families[fname]["samples"].append((name, labels, value))
    for name, fam in families.items():
        if fam["help"] is None:
            raise ValueError("%s has no HELP" % name)
        if fam["type"] == "counter":
            if not name.endswith("_total"):
                raise ValueError("counter %s does not end in _total" % name)
            for s in fam["samples"]:
                if s[0] != name or s[2] < 0:
                    raise ValueError("bad counter sample %r" % (s,))
        if fam["type"] == "histogram":
            check_histogram(name, fam["samples"])
    return families


def check_histogram(name, samples):
    groups = {}
    for sname, labels, value in samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if sname == name + "_bucket":
            if "le" not in labels:
                raise ValueError("bucket without le")
            g["buckets"].append((parse_value(labels["le"]), value))
        elif sname == name + "_sum":
            g["sum"] = value
        elif sname == name + "_count":
            g["count"] = value
        else:
            raise ValueError("sample %s in histogram %s" % (sname, name))
    for g in groups.values():
        les = [b[0] for b in g["buckets"]]
        if not les or les[-1] != math.inf or les != sorted(les) or len(set(les)) != len(les):
            raise ValueError("%s buckets not ascending to +Inf: %r" % (name, les))
        counts = [b[1] for b in g["buckets"]]
        if counts != sorted(counts):
            raise ValueError("%s buckets are not cumulative: %r" % (name, counts))
        if g["count"] != counts[-1] or g["sum"] is None:
            raise ValueError("%s: +Inf bucket %r, count %r" % (name, counts[-1], g["count"]))


def metric(families, sample, **labels):
    """A sample's value, or None."""
    fam = families.get(family_of(sample, families))
    if fam is None:
        return None
    for name, l, value in fam["samples"]:
        if name == sample and l == labels:
            return value
    return None


class ParserSelfTest(unittest.TestCase):
    """The parser must refuse what Prometheus refuses, or the metrics test proves nothing."""

    GOOD = ('# HELP a_total A.\n# TYPE a_total counter\na_total{q="x\\"y\\\\z\\n"} 3\n'
            '# HELP h H.\n# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 2\n'
            'h_sum 0.5\nh_count 2\n')

    def test_good(self):
        fams = parse_prometheus(self.GOOD)
        self.assertEqual(metric(fams, "a_total", q='x"y\\z\n'), 3)
        self.assertEqual(metric(fams, "h_count"), 2)

    def test_bad(self):
        for what, text in [
            ("no newline at the end", self.GOOD[:-1]),
            ("counter without _total", "# HELP a A.\n# TYPE a counter\na 1\n"),
            ("sample before TYPE", "a 1\n# HELP a A.\n# TYPE a gauge\n"),
            ("bad escape", '# HELP a A.\n# TYPE a gauge\na{q="\\t"} 1\n'),
            ("unquoted label", "# HELP a A.\n# TYPE a gauge\na{q=x} 1\n"),
            ("bad value", "# HELP a A.\n# TYPE a gauge\na one\n"),
            ("buckets not cumulative", '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 2\n'
             'h_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'),
            ("no +Inf bucket", '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 1\n'
             'h_sum 1\nh_count 1\n'),
            ("count differs from +Inf", '# HELP h H.\n# TYPE h histogram\n'
             'h_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'),
            ("no HELP", "# TYPE a gauge\na 1\n"),
        ]:
            with self.subTest(what):
                with self.assertRaises(ValueError):
                    parse_prometheus(text)


class HttpCase(cwtest.DaemonCase):
    daemon_kwargs = {"http": True}

    def setUp(self):
        super().setUp()
        self.h = http.client.HTTPConnection("127.0.0.1", self.daemon.http_port, timeout=10)
        self.addCleanup(self.h.close)

    def req(self, method, path, body=None, headers=None, conn=None):
        return request(conn or self.h, method, path, body, headers)

    def http_ok(self, method, path, body=None, status=200, **kw):
        r = self.req(method, path, body, **kw)
        self.assertEqual(r.status, status, "%s %s: %s" % (method, path, r.body[:300]))
        self.assertEqual(r.header("content-type"), "application/json")
        obj = r.json()
        self.assertIs(obj.get("ok"), True, obj)
        return obj

    def http_fails(self, method, path, status, code, body=None, **kw):
        r = self.req(method, path, body, **kw)
        self.assertEqual(r.status, status, "%s %s: %s" % (method, path, r.body[:300]))
        self.assertEqual(r.header("content-type"), "application/json")
        obj = r.json()
        self.assertError(obj, code, "%s %s" % (method, path))
        return r

    def scrape(self):
        r = self.req("GET", "/metrics")
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        return parse_prometheus(r.body.decode("utf-8"))

    def route(self, caller, **params):
        return self.http_ok("GET", "/v1/route?" + urllib.parse.urlencode(
            dict(caller=caller, **params)))


class Route(HttpCase):
    def test_same_decision_as_call_offered(self):
        for setup in ("unknown", "red"):
            caller = new_caller()
            if setup == "red":
                self.flag(caller, "red", reason="threatened agent")
            sock = self.offer(caller, call_id="s-" + caller)
            web = self.route(caller, call_id="h-" + caller, ts=T0)
            self.assertEqual(web.pop("call_id"), "h-" + caller)
            sock.pop("call_id")
            self.assertEqual(web, sock)
            self.assertRoute(web, "standard" if setup == "unknown" else "supervisor",
                             "default" if setup == "unknown" else "threat")

    def test_text_format(self):
        caller = new_caller()
        r = self.req("GET", "/v1/route?format=text&caller=" + caller)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type"), "text/plain; charset=utf-8")
        self.assertEqual(r.body, b"standard sip:standard@pbx.example\n")
        self.flag(caller, "red")
        r = self.req("GET", "/v1/route?caller=%s&format=text&dialed=8005550100&ts=%d"
                     % (urllib.parse.quote(caller), T0))
        self.assertEqual(r.body, b"supervisor sip:supervisor@pbx.example\n")
        self.http_fails("GET", "/v1/route?caller=1&format=xml", 400, "bad_field")

    def test_without_call_id_one_is_made_and_the_call_logged(self):
        caller = new_caller()
        a = self.route(caller)
        b = self.route(caller, call_id="")
        self.assertRegex(a["call_id"], r"^cw-\d+-\d+$")
        self.assertRegex(b["call_id"], r"^cw-\d+-\d+$")
        self.assertNotEqual(a["call_id"], b["call_id"])
        # Counted and logged like any call: the events find it, the call log has it.
        self.http_ok("POST", "/v1/calls/%s/answered" % a["call_id"], {"agent": "ag-1"})
        want = {a["call_id"], b["call_id"]}
        self.assertTrue(cwtest.wait_for(
            lambda: {c["call_id"] for c in self.show(caller)["recent_calls"]} == want),
            self.show(caller))

    def test_dry_run_is_not_logged(self):
        caller = new_caller()
        r = self.route(caller, call_id="dry-1", dry_run="1")
        self.assertEqual(r["queue"], "standard")
        self.http_fails("POST", "/v1/calls/dry-1/answered", 404, "not_found", {"agent": "a"})

    def test_odd_input_still_decides(self):
        for query in ["", "caller=", "caller=anonymous", "caller=%FF%FE", "caller=abc&x=1&x=2",
                      "caller=5551234567&ts=garbage&dialed=%%%", "caller=%00"]:
            with self.subTest(query):
                r = self.http_ok("GET", "/v1/route?" + query)
                self.assertIn(r["queue"], ("standard", "long-hold"), r)
                self.assertRegex(r["call_id"], r"^cw-")
        self.http_fails("GET", "/v1/route?call_id=" + "x" * 129, 400, "bad_field")
        self.http_ok("GET", "/v1/route?call_id=" + "x" * 128)

    def test_keep_alive_and_no_small_write_delay(self):
        caller = new_caller()
        self.route(caller)
        sock = self.h.sock
        start = time.monotonic()
        for i in range(100):
            r = self.req("GET", "/v1/route?format=text&caller=" + caller)
            self.assertEqual(r.status, 200)
        took = time.monotonic() - start
        self.assertIs(self.h.sock, sock, "the connection was not kept")
        # A reply in pieces without TCP_NODELAY waits ~40 ms for the ACK: 4 s for 100.
        self.assertLess(took, 2.0, "100 keep-alive requests took %.2f s" % took)

    def test_pipelined_requests_answered_in_order(self):
        # A flag waits for its commit on the writer thread; the decision behind it must
        # see it, and the replies come back in request order.
        caller = new_caller()
        body = json.dumps({"caller": caller, "code": "red", "reason": "r", "by": "b"}).encode()
        post = b"POST /v1/flags HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (
            len(body), body)
        get = b"GET /v1/route?format=text&caller=%s HTTP/1.1\r\nHost: x\r\n\r\n" % \
            urllib.parse.quote(caller).encode()
        out = raw_exchange(self.daemon.http_port, post + get + get)
        parts = re.findall(rb"HTTP/1\.1 (\d{3}) [^\r]*\r\n.*?\r\n\r\n([^\r]*?\n)(?=HTTP/|$)",
                           out, re.S)
        self.assertEqual([p[0] for p in parts], [b"201", b"200", b"200"], out)
        self.assertEqual(parts[1][1], b"supervisor sip:supervisor@pbx.example\n")

    def test_connection_closes_after_its_reply(self):
        # HTTP/1.0 without keep-alive, and HTTP/1.1 asking to close: the whole reply, then EOF.
        for req in (b"GET /v1/route?caller=5551230000 HTTP/1.0\r\n\r\n",
                    b"GET /v1/route?caller=5551230000 HTTP/1.1\r\nHost: x\r\n"
                    b"Connection: close\r\n\r\n"):
            with self.subTest(req=req):
                s = socket.create_connection(("127.0.0.1", self.daemon.http_port), timeout=5)
                try:
                    s.sendall(req)
                    data = b""
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                finally:
                    s.close()
                head, _, body = data.partition(b"\r\n\r\n")
                self.assertEqual(status_of(head), 200, data)
                # HTTP/1.0 without keep-alive may end the body by closing instead
                n = re.search(rb"Content-Length: (\d+)", head, re.I)
                self.assertEqual(len(body), int(n.group(1)) if n else len(body), data)
                self.assertEqual(json.loads(body)["queue"], "standard")
        self.assertTrue(self.daemon.running())

    def test_http_1_0_keep_alive(self):
        s = socket.create_connection(("127.0.0.1", self.daemon.http_port), timeout=5)
        try:
            req = b"GET /v1/route?caller=5551230000 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
            for _ in range(2):
                s.sendall(req)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += s.recv(4096)
                head, _, body = data.partition(b"\r\n\r\n")
                n = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))
                while len(body) < n:
                    body += s.recv(4096)
                self.assertEqual(status_of(head), 200)
                self.assertRegex(head, rb"(?i)connection: keep-alive")
        finally:
            s.close()


class Resources(HttpCase):
    def test_flags(self):
        caller = new_caller()
        f = self.http_ok("POST", "/v1/flags", {"caller": caller, "code": "orange", "reason": "yelled",
                                          "by": "sup-1", "ts": T0}, status=201)["flag"]
        self.assertEqual((f["caller"], f["code"]), (caller, "orange"))
        # Pretty-printed JSON spans lines.
        body = json.dumps({"caller": caller, "code": "red", "reason": "line one\nline two",
                           "by": "sup-2", "ts": T0 + 1}, indent=2)
        g = self.http_ok("POST", "/v1/flags", body, status=201)["flag"]
        self.assertEqual(g["reason"], "line one\nline two")
        listed = self.http_ok("GET", "/v1/flags?code=orange&by=sup-1&limit=1000&state=all")[
            "flags"]
        self.assertIn(f["id"], [x["id"] for x in listed])
        self.assertNotIn(g["id"], [x["id"] for x in listed])
        page = self.http_ok("GET", "/v1/flags?limit=1&state=all")
        self.assertEqual(len(page["flags"]), 1)
        self.assertIsInstance(page["cursor"], str)
        nxt = self.http_ok("GET", "/v1/flags?limit=1&state=all&cursor=" + page["cursor"])
        self.assertLess(nxt["flags"][0]["id"], page["flags"][0]["id"])

        r = self.http_ok("POST", "/v1/flags/%d/revoke" % f["id"], {"by": "sup-3", "reason": "ok"})
        self.assertEqual(r["flag"]["revoked_by"], "sup-3")
        self.http_fails("POST", "/v1/flags/%d/revoke" % f["id"], 409, "conflict",
                   {"by": "sup-3", "reason": "again"})
        r = self.http_ok("DELETE", "/v1/flags/%d?by=sup-4&reason=reviewed" % g["id"])
        self.assertEqual(r["flag"]["revoke_reason"], "reviewed")
        self.http_fails("DELETE", "/v1/flags/999999?by=a&reason=b", 404, "not_found")
        self.http_fails("DELETE", "/v1/flags/abc?by=a&reason=b", 400, "bad_field")
        self.http_fails("POST", "/v1/flags/%d/revoke" % f["id"], 400, "missing_field", {"by": "x"})

    def test_callers(self):
        caller = new_caller()
        self.flag(caller, "yellow")
        # "+" in a path is itself; %2B is the same.
        for path in ("/v1/callers/" + caller, "/v1/callers/%2B" + caller[1:],
                     "/v1/callers/" + caller[2:]):
            r = self.http_ok("GET", path + "?ts=%d" % T0)
            self.assertEqual(r["caller"], caller)
            self.assertEqual(r["active_flags"], 1)
        r = self.http_ok("GET", "/v1/callers/%s/export" % caller)
        self.assertEqual(len(r["flags"]), 1)
        self.assertIn("audit", r)
        self.http_fails("GET", "/v1/callers/not-a-number", 400, "bad_field")
        self.http_fails("GET", "/v1/callers/%s?bogus=1" % caller, 400, "bad_field")

    def test_call_events_and_report(self):
        caller = new_caller()
        cid = "rep-" + caller[1:]
        self.route(caller, call_id=cid)
        self.http_ok("POST", "/v1/calls/%s/answered" % cid, {"agent": "ag-7"})
        r = self.http_ok("POST", "/v1/calls/%s/report" % cid,
                    {"code": "red", "agent": "ag-7", "note": "threatened me"})
        self.assertEqual((r["call_id"], r["flag"]["caller"]), (cid, caller))
        self.assertIs(r["duplicate"], False)
        again = self.http_ok("POST", "/v1/calls/%s/report" % cid,
                        {"code": "red", "agent": "ag-7", "note": "threatened me"})
        self.assertIs(again["duplicate"], True)
        self.http_ok("POST", "/v1/calls/%s/ended" % cid, {"ended_by": "agent"})
        self.http_fails("POST", "/v1/calls/nope-%s/report" % caller, 404, "not_found",
                   {"code": "red", "agent": "a"})
        self.http_fails("POST", "/v1/calls/nope-%s/abandoned" % caller, 404, "not_found")
        self.http_fails("POST", "/v1/calls/%s/ended" % cid, 400, "bad_field", {"ended_by": "dog"})

    def test_followups(self):
        caller = new_caller()
        fu = self.http_ok("POST", "/v1/followups", {"caller": caller, "due_in_hours": 24,
                                               "by": "sup-3", "note": "call back"},
                     status=201)["followup"]
        listed = self.http_ok("GET", "/v1/followups?caller=" + caller)["followups"]
        self.assertEqual([x["id"] for x in listed], [fu["id"]])
        done = self.http_ok("POST", "/v1/followups/%d/done" % fu["id"],
                       {"by": "sup-3", "note": "called back"})
        self.assertEqual(done["followup"]["done_by"], "sup-3")
        self.http_fails("POST", "/v1/followups/%d/done" % fu["id"], 409, "conflict",
                   {"by": "sup-3", "note": "again"})
        self.http_fails("POST", "/v1/followups/999999/done", 404, "not_found",
                   {"by": "a", "note": "b"})

    def test_audit(self):
        caller = new_caller()
        self.flag(caller, "orange", by="sup-audit")
        rows = self.http_ok("GET", "/v1/audit?caller=" + caller)["audit"]
        self.assertEqual([(a["action"], a["actor"]) for a in rows], [("flag.add", "sup-audit")])
        self.http_fails("GET", "/v1/audit?since=yesterday", 400, "bad_field")

    def test_policy(self):
        r = self.http_ok("POST", "/v1/policy/check", {"path": SAMPLE_POLICY})
        self.assertEqual(r["path"], SAMPLE_POLICY)
        bad = os.path.join(self.daemon.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write("version = ;\n")
        r = self.http_fails("POST", "/v1/policy/check", 400, "bad_field", {"path": bad})
        self.assertTrue(r.json()["errors"])
        r = self.http_ok("POST", "/v1/policy/reload", {"by": "ops-http"})
        self.assertIn("loaded_at", r)
        # The reload's audit row is committed after the reply.
        self.assertTrue(cwtest.wait_for(lambda: [a["action"] for a in self.http_ok(
            "GET", "/v1/audit?actor=ops-http")["audit"]] == ["policy.reload"]))
        r = self.http_ok("POST", "/v1/policy/simulate", {"path": SAMPLE_POLICY, "since": 0})
        self.assertIn("candidate", r)

    def test_stats_and_ping(self):
        r = self.http_ok("GET", "/v1/stats")
        self.assertIn("decisions", r)
        r = self.http_ok("GET", "/v1/ping")
        self.assertEqual(r["version"], self.http_ok("GET", "/healthz")["version"])

    def test_healthz(self):
        r = self.http_ok("GET", "/healthz")
        self.assertEqual(r["status"], "serving")
        r = self.req("HEAD", "/healthz")
        self.assertEqual((r.status, r.body), (200, b""))
        # No body bytes follow a HEAD reply: the next reply on the connection starts clean.
        out = raw_exchange(self.daemon.http_port,
                           b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                           b"GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        head, _, rest = out.partition(b"\r\n\r\n")
        self.assertEqual(status_of(head), 200, out)
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 "), out)


class Errors(HttpCase):
    def test_unknown_paths_and_methods(self):
        for path in ("/", "/v1", "/v1/flags/", "/v2/route", "/v1/callers", "/metricsx"):
            with self.subTest(path):
                self.http_fails("GET", path, 404, "not_found")
        for method, path, allow in [("PUT", "/v1/flags", "GET, POST"),
                                    ("DELETE", "/v1/route", "GET"),
                                    ("POST", "/v1/route", "GET"),
                                    ("PATCH", "/v1/flags/1", "DELETE"),
                                    ("GET", "/v1/policy/reload", "POST"),
                                    ("POST", "/healthz", "GET, HEAD"),
                                    ("OPTIONS", "/metrics", "GET")]:
            with self.subTest(method + " " + path):
                r = self.http_fails(method, path, 405, "method_not_allowed")
                self.assertEqual(r.header("allow"), allow)

    def test_bad_bodies(self):
        caller = new_caller()
        good = {"caller": caller, "code": "red", "reason": "r", "by": "b"}
        self.http_fails("POST", "/v1/flags", 400, "bad_json", "{bad")
        self.http_fails("POST", "/v1/flags", 400, "bad_json", "[1, 2]")
        self.http_fails("POST", "/v1/flags", 400, "bad_json", '{"a": 1} trailing')
        self.http_fails("POST", "/v1/flags", 400, "bad_json", b"\xff\xfe")
        self.http_fails("POST", "/v1/flags", 400, "bad_field", dict(good, bogus=1))
        self.http_fails("POST", "/v1/flags", 400, "bad_field", dict(good, op="flag.list"))
        self.http_fails("POST", "/v1/flags?by=x", 400, "bad_field", good)
        self.http_fails("POST", "/v1/flags", 400, "missing_field", {"caller": caller})
        self.http_fails("POST", "/v1/flags", 400, "missing_field")
        self.http_fails("GET", "/v1/flags?limit=abc", 400, "bad_field")
        self.http_fails("GET", "/v1/flags?limit=1&limit=2", 400, "bad_field")
        self.http_fails("GET", "/v1/flags?code=%ZZ", 400, "bad_request")
        self.http_fails("GET", "/v1/flags?op=stats", 400, "bad_field")
        self.http_fails("GET", "/v1/callers/%GG", 400, "bad_request")
        self.assertEqual(self.show(caller)["flags"], [])

    def test_too_large(self):
        # Over the JSON limits: answered, and the connection goes on.
        big = json.dumps({"caller": "5551230000", "code": "red", "by": "b",
                          "reason": "x" * 70000})
        self.http_fails("POST", "/v1/flags", 413, "too_large", big)
        self.http_fails("GET", "/v1/route?caller=" + "1" * 9000, 414, "uri_too_long")
        self.http_fails("GET", "/v1/stats", 431, "headers_too_large",
                   headers={"X-Big": "y" * 17000})
        self.http_ok("GET", "/v1/ping")
        # Over evhttp's own limits: refused while reading, the daemon serves on.
        port = self.daemon.http_port
        for what, data in [
            ("declared body", b"POST /v1/flags HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000"
                              b"\r\n\r\n{}"),
            ("request line", b"GET /v1/route?c=" + b"1" * 70000 + b" HTTP/1.1\r\n\r\n"),
            ("headers", b"GET /v1/ping HTTP/1.1\r\n" + b"X-A: " + b"b" * 70000 + b"\r\n\r\n"),
            ("many headers", b"GET /v1/ping HTTP/1.1\r\n" + b"X-A: bbbbbbbbbb\r\n" * 6000 +
             b"\r\n"),
        ]:
            with self.subTest(what):
                out = raw_exchange(port, data)
                self.assertIn(status_of(out), (400, 413, None), out[:200])
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                self.addCleanup(conn.close)
                self.http_ok("GET", "/v1/ping", conn=conn)

    def test_garbage_and_odd_methods(self):
        port = self.daemon.http_port
        for data in [b"HELLO\r\n\r\n", b"BREW /v1/route HTTP/1.1\r\n\r\n",
                     b"GET /v1/route HTTP/9.9\r\n\r\n", b"\x00\x01\x02\r\n\r\n",
                     b"GET  HTTP/1.1\r\n\r\n", b"GET http://[::1/ HTTP/1.1\r\n\r\n"]:
            with self.subTest(data):
                out = raw_exchange(port, data)
                st = status_of(out)
                self.assertTrue(st is None or 400 <= st < 600, out[:200])
        self.http_ok("GET", "/v1/ping")

    def test_error_shape_matches_the_socket(self):
        r = self.http_fails("POST", "/v1/flags", 400, "missing_field", {"code": "red"})
        sock = self.call({"op": "flag.add", "code": "red"})
        self.assertEqual(r.json(), sock)


class Metrics(HttpCase):
    def test_parses_and_counters_move(self):
        before = self.scrape()
        caller = new_caller()
        for i in range(5):
            self.route(caller, call_id="m-%s-%d" % (caller, i), ts=T0 + i)
        self.offer(new_caller(), call_id="m-sock-" + caller)  # the socket path is timed too
        self.http_fails("GET", "/nope", 404, "not_found")
        self.ok({"op": "flag.add", "caller": new_caller(), "code": "red", "reason": "r",
                 "by": "b"})  # now: a flag from T0 would have expired
        after = self.scrape()

        def delta(sample, **labels):
            return (metric(after, sample, **labels) or 0) - (metric(before, sample, **labels)
                                                             or 0)

        self.assertEqual(delta("callwarden_decisions_total", queue="standard", rule="default"),
                         6)
        self.assertEqual(delta("callwarden_decision_latency_seconds_count"), 6)
        self.assertGreater(delta("callwarden_decision_latency_seconds_sum"), 0)
        self.assertEqual(delta("callwarden_events_total", type="call.offered"), 6)
        self.assertEqual(delta("callwarden_events_total", type="flag.add"), 1)
        self.assertEqual(delta("callwarden_errors_total", code="not_found"), 1)
        self.assertEqual(delta("callwarden_flags_active", code="red"), 1)
        self.assertGreaterEqual(delta("callwarden_http_requests_total", code="200"), 6)
        self.assertEqual(metric(after, "callwarden_flags_active", code="nuisance"),
                         metric(before, "callwarden_flags_active", code="nuisance"))
        ping = self.call({"op": "ping"})
        self.assertEqual(metric(after, "callwarden_policy_info", version=ping["policy"]), 1)
        self.assertEqual(metric(after, "callwarden_policy_loaded_timestamp_seconds"),
                         ping["policy_loaded_at"])
        self.assertGreaterEqual(metric(after, "callwarden_connections", transport="http"), 1)
        self.assertGreaterEqual(metric(after, "callwarden_connections", transport="socket"), 1)
        for name in ("callwarden_db_errors_total", "callwarden_decisions_degraded_total",
                     "callwarden_subscriber_overflows_total",
                     "callwarden_subscriber_events_dropped_total"):
            self.assertIsNotNone(metric(after, name), name)
        for topic in ("alert", "flag", "decision"):
            self.assertIsNotNone(metric(after, "callwarden_subscribers", topic=topic))

    def test_connections_gauge(self):
        def http_conns():
            return metric(self.scrape(), "callwarden_connections", transport="http")

        base = http_conns()
        other = http.client.HTTPConnection("127.0.0.1", self.daemon.http_port, timeout=10)
        self.http_ok("GET", "/v1/ping", conn=other)
        self.assertEqual(http_conns(), base + 1)
        other.close()
        self.assertTrue(cwtest.wait_for(lambda: http_conns() == base), http_conns())

    def test_subscribers_gauge(self):
        with self.daemon.connect() as c:
            self.ok({"op": "subscribe", "topics": ["alert"]}, c)
            self.assertEqual(metric(self.scrape(), "callwarden_subscribers", topic="alert"), 1)
        self.assertEqual(cwtest.wait_for(lambda: metric(
            self.scrape(), "callwarden_subscribers", topic="alert") == 0), True)


class Auth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(config_text=TOKENS_CONFIG, http=True).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.stop()
            log = cls.d.log()
            for token in (TELEPHONY, SUPERVISOR, OPS):
                assert token not in log, "a token is in the log"
        finally:
            cls.d.cleanup()

    def setUp(self):
        self.h = http.client.HTTPConnection("127.0.0.1", self.d.http_port, timeout=10)
        self.addCleanup(self.h.close)

    def call(self, method, path, token=None, body=None):
        headers = {"Authorization": "Bearer " + token} if token else {}
        return request(self.h, method, path, body, headers)

    def test_missing_and_wrong_tokens(self):
        for headers, error in [({}, False),
                               ({"Authorization": "Bearer nope"}, True),
                               ({"Authorization": "Bearer " + OPS + "x"}, True),
                               ({"Authorization": "Bearer " + OPS[:-1]}, True),
                               ({"Authorization": "Basic " + OPS}, True),
                               ({"Authorization": OPS}, True),
                               ({"Authorization": "Bearer"}, True)]:
            with self.subTest(headers):
                r = request(self.h, "GET", "/v1/route?caller=1", headers=headers)
                self.assertEqual(r.status, 401, r.body)
                self.assertEqual(r.json()["error"]["code"], "unauthorized")
                self.assertTrue(r.header("www-authenticate").startswith("Bearer"))
                self.assertEqual('error="invalid_token"' in r.header("www-authenticate"),
                                 error)
        r = request(self.h, "GET", "/v1/ping", headers={"authorization": "bearer  " + OPS})
        self.assertEqual(r.status, 200)

    def test_roles(self):
        caller = new_caller()
        flag = {"caller": caller, "code": "red", "reason": "r", "by": "b"}
        # (method, path, body, roles allowed)
        table = [
            ("GET", "/v1/route?caller=" + caller, None, {"telephony", "ops"}),
            ("GET", "/v1/ping", None, {"telephony", "supervisor", "ops"}),
            ("POST", "/v1/flags", flag, {"supervisor", "ops"}),
            ("GET", "/v1/flags", None, {"supervisor", "ops"}),
            ("GET", "/v1/callers/" + caller, None, {"supervisor", "ops"}),
            ("GET", "/v1/audit", None, {"supervisor", "ops"}),
            ("POST", "/v1/calls/none/answered", {"agent": "a"}, {"telephony", "ops"}),
            ("POST", "/v1/calls/none/report", {"code": "red", "agent": "a"},
             {"telephony", "supervisor", "ops"}),
            ("GET", "/v1/stats", None, {"ops"}),
            ("POST", "/v1/policy/check", {}, {"ops"}),
            ("POST", "/v1/policy/reload", {}, {"ops"}),
        ]
        for role, token in (("telephony", TELEPHONY), ("supervisor", SUPERVISOR),
                            ("ops", OPS)):
            for method, path, body, allowed in table:
                with self.subTest(role=role, path=path):
                    r = self.call(method, path, token, body)
                    if role in allowed:
                        self.assertNotIn(r.status, (401, 403), r.body)
                    else:
                        self.assertEqual(r.status, 403, r.body)
                        self.assertEqual(r.json()["error"]["code"], "forbidden")

    def test_monitoring_open_on_loopback(self):
        self.assertEqual(self.call("GET", "/healthz").status, 200)
        r = self.call("GET", "/metrics")
        self.assertEqual(r.status, 200)
        parse_prometheus(r.body.decode("utf-8"))


class Limits(unittest.TestCase):
    """Slow and idle clients are closed after http_timeout; at most max_connections."""

    TIMEOUT = 2

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(config_text="http_timeout = %d;\nmax_connections = 6;\n" % cls.TIMEOUT,
                       http=True, tcp=False).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.stop()
        finally:
            cls.d.cleanup()

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.d.http_port), timeout=10)
        self.addCleanup(s.close)
        return s

    @staticmethod
    def closed(s):
        """True when the peer has closed s (EOF or reset)."""
        s.setblocking(False)
        try:
            return s.recv(65536) == b""
        except BlockingIOError:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        finally:
            s.setblocking(True)

    def get(self, conn, path):
        r = request(conn, "GET", path)
        self.assertEqual(r.status, 200, r.body)
        return r

    def test_slowloris(self):
        slow = self.connect()
        idle = self.connect()
        slow.sendall(b"GET /v1/route?caller=5551230000 HTTP/1.1\r\nHost: x\r\n")
        good = http.client.HTTPConnection("127.0.0.1", self.d.http_port, timeout=10)
        self.addCleanup(good.close)
        start = time.monotonic()
        closed_at = None
        while time.monotonic() - start < self.TIMEOUT + 4:
            # The slow client trickles a header line now and then: never idle, never done.
            try:
                slow.sendall(b"X-Slow: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            if self.closed(slow):
                closed_at = time.monotonic() - start
                break
            t = time.monotonic()
            self.get(good, "/v1/route?caller=5551239999")
            self.assertLess(time.monotonic() - t, 0.5, "a slow client held up another one")
            time.sleep(0.3)
        self.assertIsNotNone(closed_at, "the slow client was never disconnected")
        self.assertGreaterEqual(closed_at, self.TIMEOUT - 0.5)
        self.assertTrue(self.closed(idle) or cwtest.wait_for(lambda: self.closed(idle), 2))
        fams = parse_prometheus(self.get(good, "/metrics").body.decode("utf-8"))
        self.assertGreaterEqual(metric(fams, "callwarden_http_timeouts_total"), 1)
        # The good connection kept going: each of its requests reset its clock.
        self.assertEqual(self.get(good, "/v1/ping").status, 200)

    def test_connection_cap(self):
        # Let the slowloris test's connections go first.
        held = [self.connect() for _ in range(6)]
        time.sleep(0.3)
        extra = self.connect()
        self.assertTrue(cwtest.wait_for(lambda: self.closed(extra), 2),
                        "a connection over max_connections was kept")
        held.pop().close()
        time.sleep(0.3)
        conn = http.client.HTTPConnection("127.0.0.1", self.d.http_port, timeout=10)
        self.addCleanup(conn.close)
        fams = parse_prometheus(self.get(conn, "/metrics").body.decode("utf-8"))
        self.assertGreaterEqual(metric(fams, "callwarden_http_connections_refused_total"), 1)
        for s in held:
            s.close()


class Shutdown(unittest.TestCase):
    def test_stop_with_connections_open(self):
        d = Daemon(http=True)
        self.addCleanup(d.cleanup)
        d.start()
        socks = []
        for data in (b"", b"GET /v1/route?caller=1 HTTP/1.1\r\nHost: x\r\n",
                     b"POST /v1/flags HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"):
            s = socket.create_connection(("127.0.0.1", d.http_port), timeout=10)
            self.addCleanup(s.close)
            s.sendall(data)
            socks.append(s)
        kept = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
        self.addCleanup(kept.close)
        self.assertEqual(request(kept, "GET", "/v1/route?caller=5551230000").status, 200)
        time.sleep(0.2)
        d.stop()  # exits 0, nothing from the sanitizers
        for s in socks:
            s.settimeout(5)
            try:
                self.assertEqual(s.recv(4096), b"")
            except ConnectionResetError:
                pass


class Logging(unittest.TestCase):
    def test_debug_lines_show_no_number(self):
        d = Daemon(http=True, extra_args=["-v"])
        self.addCleanup(d.cleanup)
        d.start()
        conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
        self.addCleanup(conn.close)
        for path in ("/v1/route?caller=%2B15557654321", "/v1/callers/%2B15557654321",
                     "/v1/callers/5557654321/export"):
            self.assertEqual(request(conn, "GET", path).status, 200)
        d.stop()
        log = d.log()
        self.assertRegex(log, r"conn=\d+ accepted peer=127\.0\.0\.1:\d+ transport=http")
        self.assertRegex(log, r"conn=\d+ http method=GET resource=/v1/route status=200")
        self.assertRegex(log, r"resource=/v1/callers/\{\}/export status=200")
        self.assertNotIn("5557654321", log)


class Startup(unittest.TestCase):
    def setUp(self):
        self.dir = cwtest.make_tempdir()
        self.addCleanup(lambda: __import__("shutil").rmtree(self.dir, True))

    def base(self):
        return ["--db", os.path.join(self.dir, "cw.db"), "--policy", SAMPLE_POLICY,
                "--listen", "", "--unix", ""]

    def assertFails(self, args, pattern):
        rc, out, err = run_daemon(self.base() + args, cwd=self.dir)
        self.assertEqual(rc, 1, err)
        self.assertEqual(len([l for l in err.splitlines() if re.search(pattern, l)]), 1, err)
        self.assertEqual(cwtest.sanitizer_errors(err), [])

    def test_failures(self):
        self.assertFails(["--http", "0.0.0.0:0"],
                         r"^callwardend: http 0\.0\.0\.0:0: refusing to listen beyond loopback")
        self.assertFails(["--http", "nonsense"], r"^callwardend: http nonsense: ")
        self.assertFails(["--http", "127.0.0.1:99999"], r"^callwardend: http 127\.0\.0\.1:99999")
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        self.assertFails(["--http", "127.0.0.1:%d" % port],
                         r"^callwardend: http 127\.0\.0\.1:%d: Address already in use$" % port)

    def test_config_setting_and_disabling(self):
        cfg = os.path.join(self.dir, "d.conf")
        with open(cfg, "w") as f:
            f.write('http = "127.0.0.1:0";\n')
        d = Daemon(directory=self.dir, config=cfg)
        self.addCleanup(d.cleanup)
        # The command line wins over the file: --http "" turns HTTP off.
        d.start()
        self.assertNotIn("listening on http", d.log())
        d.stop()
        args = d.args()
        i = args.index("--http")
        del args[i:i + 2]
        d.http = "from the file"  # start() then leaves the file's setting alone
        d.start(args)
        port = int(re.search(r"listening on http 127\.0\.0\.1:(\d+)", d.log()).group(1))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.assertEqual(request(conn, "GET", "/healthz").status, 200)
        conn.close()
        d.stop()

if __name__ == "__main__":
    cwtest.main()
