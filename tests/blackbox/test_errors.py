"""Every error code reachable now, id echo, the line limit, and call.offered's leniency."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cwtest  # noqa: E402
from cwtest import T0, new_caller  # noqa: E402

NOID = object()  # the reply must carry no id
ANYID = object()  # not checked (the id could not be read)

# A valid flag.add body to spoil one field at a time.
ADD = '"op":"flag.add","caller":"5550001111","code":"orange","reason":"r","by":"b"'
REVOKE = '"op":"flag.revoke","flag_id":1,"by":"b","reason":"r"'
FIVE_K = "5" * 5000


def line(text):
    return text.encode("utf-8") if isinstance(text, str) else text


# (what, request line, error code, expected id)
BAD_JSON = [
    ("not JSON", "hello", "bad_json", ANYID),
    ("truncated", '{"op":"ping","id":5', "bad_json", ANYID),
    ("truncated string", '{"op":"ping","id":"ab', "bad_json", ANYID),
    ("invalid UTF-8", b'{"op":"ping","id":"\xff\xfe"}', "bad_json", ANYID),
    ("overlong UTF-8", b'{"op":"ping","id":"\xc0\xaf"}', "bad_json", ANYID),
    ("UTF-16 surrogate as UTF-8", b'{"op":"ping","id":"\xed\xa0\x80"}', "bad_json", ANYID),
    ("array", '[{"op":"ping"}]', "bad_json", NOID),
    ("number", "42", "bad_json", NOID),
    ("string", '"ping"', "bad_json", NOID),
    ("null", "null", "bad_json", NOID),
    ("true", "true", "bad_json", NOID),
    ("two objects", '{"op":"ping"}{"op":"ping"}', "bad_json", ANYID),
    ("trailing comma", '{"op":"ping",}', "bad_json", ANYID),
    ("NaN", '{"op":"ping","id":NaN}', "bad_json", ANYID),
    ("single quotes", "{'op':'ping'}", "bad_json", ANYID),
    ("raw control character", b'{"op":"ping","id":"a\x01b"}', "bad_json", ANYID),
    ("raw NUL byte", b'{"op":"ping","id":"a\x00b"}', "bad_json", ANYID),
    ("garbage after object", '{"op":"ping"} x', "bad_json", ANYID),
]

UNKNOWN_OP = [(op, '{"op":%s,"id":"u"}' % json.dumps(op), "unknown_op", "u") for op in [
    "nope", "stats.x", "",
    "PING", "ping ", "flag.add.x", "call", "call.offered.x"]]

NOT_FOUND_CALLS = [
    ("%s on an unknown call" % op, '{"op":"%s","id":"n","call_id":"no-such-call"}' % op,
     "not_found", "n") for op in ["call.answered", "call.ended", "call.abandoned"]]

MISSING = [
    ("no op", '{"id":1}', "missing_field", 1),
    ("call.ended without call_id", '{"op":"call.ended","id":5}', "missing_field", 5),
    ("empty object", "{}", "missing_field", NOID),
    ("op null", '{"op":null,"id":1}', "missing_field", 1),
    ("call.offered without call_id", '{"op":"call.offered","id":2,"caller":"5551234567"}',
     "missing_field", 2),
    ("call.offered call_id null", '{"op":"call.offered","id":2,"call_id":null}',
     "missing_field", 2),
    ("flag.add without caller", '{"op":"flag.add","id":3,"code":"red","reason":"r","by":"b"}',
     "missing_field", 3),
    ("flag.add without code",
     '{"op":"flag.add","id":3,"caller":"5550001111","reason":"r","by":"b"}', "missing_field", 3),
    ("flag.add without reason",
     '{"op":"flag.add","id":3,"caller":"5550001111","code":"red","by":"b"}', "missing_field", 3),
    ("flag.add reason null",
     '{"op":"flag.add","id":3,"caller":"5550001111","code":"red","by":"b","reason":null}',
     "missing_field", 3),
    ("flag.add without by",
     '{"op":"flag.add","id":3,"caller":"5550001111","code":"red","reason":"r"}',
     "missing_field", 3),
    ("flag.revoke without flag_id", '{"op":"flag.revoke","id":4,"by":"b","reason":"r"}',
     "missing_field", 4),
    ("flag.revoke without by", '{"op":"flag.revoke","id":4,"flag_id":1,"reason":"r"}',
     "missing_field", 4),
    ("flag.revoke without reason", '{"op":"flag.revoke","id":4,"flag_id":1,"by":"b"}',
     "missing_field", 4),
    ("caller.show without caller", '{"op":"caller.show","id":5}', "missing_field", 5),
]

BAD_FIELD = [
    ("op a number", '{"op":1,"id":1}', 1),
    ("op an array", '{"op":["ping"],"id":1}', 1),
    ("op an object", '{"op":{},"id":1}', 1),
    ("id an object", '{"op":"ping","id":{"a":1}}', ANYID),
    ("id an array", '{"op":"ping","id":[1]}', ANYID),
    ("ping with an unknown field", '{"op":"ping","id":1,"x":1}', 1),
    # flag.add
    ("flag.add unknown field", '{%s,"id":1,"colour":"red"}' % ADD, 1),
    ("flag.add caller a number", '{%s,"id":1,"caller":5550001111}' % ADD.replace(
        '"caller":"5550001111",', ""), 1),
    ("flag.add caller withheld", '{%s,"id":1}' % ADD.replace("5550001111", "anonymous"), 1),
    ("flag.add caller empty", '{%s,"id":1}' % ADD.replace("5550001111", ""), 1),
    ("flag.add caller letters", '{%s,"id":1}' % ADD.replace("5550001111", "abc"), 1),
    ("flag.add caller 16 digits", '{%s,"id":1}' % ADD.replace("5550001111", "1" * 16), 1),
    ("flag.add caller of 5,000 digits", '{%s,"id":1}' % ADD.replace("5550001111", FIVE_K), 1),
    ("flag.add caller with NUL", '{%s,"id":1}' % ADD.replace("5550001111", "55500\\u00001111"),
     1),
    ("flag.add code unknown", '{%s,"id":1}' % ADD.replace('"orange"', '"purple"'), 1),
    ("flag.add code empty", '{%s,"id":1}' % ADD.replace('"orange"', '""'), 1),
    ("flag.add code a number", '{%s,"id":1}' % ADD.replace('"orange"', "3"), 1),
    ("flag.add reason empty", '{%s,"id":1}' % ADD.replace('"reason":"r"', '"reason":""'), 1),
    ("flag.add reason a number", '{%s,"id":1}' % ADD.replace('"reason":"r"', '"reason":42'), 1),
    ("flag.add reason 2049 bytes",
     '{%s,"id":1}' % ADD.replace('"reason":"r"', '"reason":"%s"' % ("x" * 2049)), 1),
    ("flag.add reason 2050 bytes in 1025 characters",
     '{%s,"id":1}' % ADD.replace('"reason":"r"', '"reason":"%s"' % ("\u00e9" * 1025)), 1),
    ("flag.add reason with NUL",
     '{%s,"id":1}' % ADD.replace('"reason":"r"', '"reason":"a\\u0000b"'), 1),
    ("flag.add by empty", '{%s,"id":1}' % ADD.replace('"by":"b"', '"by":""'), 1),
    ("flag.add by 129 bytes",
     '{%s,"id":1}' % ADD.replace('"by":"b"', '"by":"%s"' % ("b" * 129)), 1),
    ("flag.add by a number", '{%s,"id":1}' % ADD.replace('"by":"b"', '"by":7'), 1),
    ("flag.add by with NUL", '{%s,"id":1}' % ADD.replace('"by":"b"', '"by":"\\u0000"'), 1),
    ("expires_days negative", '{%s,"id":1,"expires_days":-1}' % ADD, 1),
    ("expires_days zero", '{%s,"id":1,"expires_days":0}' % ADD, 1),
    ("expires_days over 36500", '{%s,"id":1,"expires_days":36501}' % ADD, 1),
    ("expires_days huge", '{%s,"id":1,"expires_days":1e300}' % ADD, 1),
    ("expires_days 1e999", '{%s,"id":1,"expires_days":1e999}' % ADD, 1),
    ("expires_days -1e999", '{%s,"id":1,"expires_days":-1e999}' % ADD, 1),
    ("expires_days a string", '{%s,"id":1,"expires_days":"5"}' % ADD, 1),
    ("expires_days a bool", '{%s,"id":1,"expires_days":true}' % ADD, 1),
    ("expires_at and expires_days",
     '{%s,"id":1,"ts":%d,"expires_days":1,"expires_at":%d}' % (ADD, T0, T0 + 10), 1),
    ("expires_at before ts", '{%s,"id":1,"ts":%d,"expires_at":%d}' % (ADD, T0, T0 - 1), 1),
    ("expires_at equal to ts", '{%s,"id":1,"ts":%d,"expires_at":%d}' % (ADD, T0, T0), 1),
    ("expires_at a string", '{%s,"id":1,"expires_at":"tomorrow"}' % ADD, 1),
    ("expires_at negative", '{%s,"id":1,"expires_at":-5}' % ADD, 1),
    ("expires_at 1e999", '{%s,"id":1,"expires_at":1e999}' % ADD, 1),
    ("ts a string", '{%s,"id":1,"ts":"yesterday"}' % ADD, 1),
    ("ts negative", '{%s,"id":1,"ts":-1}' % ADD, 1),
    ("ts an object", '{%s,"id":1,"ts":{}}' % ADD, 1),
    ("ts 1e999", '{%s,"id":1,"ts":1e999}' % ADD, 1),
    # flag.revoke
    ("flag_id 0", '{%s,"id":1}' % REVOKE.replace('"flag_id":1', '"flag_id":0'), 1),
    ("flag_id -1", '{%s,"id":1}' % REVOKE.replace('"flag_id":1', '"flag_id":-1'), 1),
    ("flag_id a string", '{%s,"id":1}' % REVOKE.replace('"flag_id":1', '"flag_id":"x"'), 1),
    ("flag_id a numeric string",
     '{%s,"id":1}' % REVOKE.replace('"flag_id":1', '"flag_id":"1"'), 1),
    ("flag_id 1e300", '{%s,"id":1}' % REVOKE.replace('"flag_id":1', '"flag_id":1e300'), 1),
    ("flag_id 1.5", '{%s,"id":1}' % REVOKE.replace('"flag_id":1', '"flag_id":1.5'), 1),
    ("flag_id true", '{%s,"id":1}' % REVOKE.replace('"flag_id":1', '"flag_id":true'), 1),
    ("flag_id an array", '{%s,"id":1}' % REVOKE.replace('"flag_id":1', '"flag_id":[1]'), 1),
    ("revoke by empty", '{%s,"id":1}' % REVOKE.replace('"by":"b"', '"by":""'), 1),
    ("revoke reason empty", '{%s,"id":1}' % REVOKE.replace('"reason":"r"', '"reason":""'), 1),
    ("revoke reason with NUL",
     '{%s,"id":1}' % REVOKE.replace('"reason":"r"', '"reason":"\\u0000"'), 1),
    ("revoke unknown field", '{%s,"id":1,"force":true}' % REVOKE, 1),
    # caller.show
    ("show caller withheld", '{"op":"caller.show","id":1,"caller":"anonymous"}', 1),
    ("show caller letters", '{"op":"caller.show","id":1,"caller":"abc"}', 1),
    ("show caller of 5,000 digits", '{"op":"caller.show","id":1,"caller":"%s"}' % FIVE_K, 1),
    ("show caller a number", '{"op":"caller.show","id":1,"caller":5551234567}', 1),
    ("show caller with NUL", '{"op":"caller.show","id":1,"caller":"555\\u00001234567"}', 1),
    ("show unknown field", '{"op":"caller.show","id":1,"caller":"5551234567","all":1}', 1),
    ("show ts a string", '{"op":"caller.show","id":1,"caller":"5551234567","ts":"now"}', 1),
    # call.offered: only call_id can be wrong
    ("call_id empty", '{"op":"call.offered","id":1,"call_id":"","caller":"5551234567"}', 1),
    ("call_id a number", '{"op":"call.offered","id":1,"call_id":42}', 1),
    ("call_id an object", '{"op":"call.offered","id":1,"call_id":{}}', 1),
    ("call_id 129 bytes", '{"op":"call.offered","id":1,"call_id":"%s"}' % ("c" * 129), 1),
    ("call_id with NUL", '{"op":"call.offered","id":1,"call_id":"c\\u00001"}', 1),
]

ERRORS = (BAD_JSON + UNKNOWN_OP + NOT_FOUND_CALLS + MISSING +
          [(what, text, "bad_field", rid) for what, text, rid in BAD_FIELD])


class Errors:
    def check_error(self, what, text, code, rid, r):
        self.assertError(r, code, what)
        self.assertLessEqual(set(r), {"id", "ok", "error"}, "%s: %r" % (what, r))
        if rid is NOID:
            self.assertNotIn("id", r, what)
        elif rid is not ANYID:
            self.assertIn("id", r, "%s: id not echoed: %r" % (what, r))
            self.assertEqual(r["id"], rid, what)

    def test_error_table(self):
        # One connection takes every bad line and still works after them.
        for what, text, code, rid in ERRORS:
            with self.subTest(what):
                self.check_error(what, text, code, rid, self.c.raw(line(text)))
        self.assertEqual(self.ok({"op": "ping", "id": "after"})["id"], "after")

    def test_error_table_pipelined(self):
        # The same lines in one write: one reply each, in order.
        self.c.send(b"".join(line(t) + b"\n" for _, t, _, _ in ERRORS) + b'{"op":"ping"}\n')
        for what, text, code, rid in ERRORS:
            with self.subTest(what):
                self.check_error(what, text, code, rid, self.c.reply())
        self.assertIs(self.c.reply()["ok"], True)

    def test_field_named_in_message(self):
        for text, field in [('{%s,"colour":"red"}' % ADD, "colour"),
                            ('{%s,"expires_days":-1}' % ADD, "expires_days"),
                            ('{%s}' % REVOKE.replace('"flag_id":1', '"flag_id":"x"'), "flag_id"),
                            ('{"op":"flag.add","code":"red","reason":"r","by":"b"}', "caller"),
                            ('{"op":"flag.add","caller":"5551234567","code":"red",'
                             '"reason":"a\\u001fb","by":"x\\u0000"}', "'by'")]:
            r = self.c.raw(line(text))
            self.assertIn(field, r["error"]["message"], r)

    def test_unknown_op_message_is_safe(self):
        # An op name full of control characters and quotes still gives one valid line.
        r = self.c.raw(line(json.dumps({"op": "\u0001\n\"}{\u2028\\", "id": 3})))
        self.assertError(r, "unknown_op")
        self.assertEqual(r["id"], 3)
        # A very long one is refused one way or the other, on one line.
        r = self.c.raw(line(json.dumps({"op": "\u0001\n\"}{" + "x" * 5000, "id": 4})))
        self.assertIs(r["ok"], False)
        self.assertIn(r["error"]["code"], ("unknown_op", "bad_field"), r)
        self.assertLess(len(r["error"]["message"]), 1000, r)
        self.assertEqual(r["id"], 4)

    def test_failed_requests_change_nothing(self):
        caller = new_caller()
        bad = [{"op": "flag.add", "caller": caller, "code": "red", "reason": "", "by": "b"},
               {"op": "flag.add", "caller": caller, "code": "red", "reason": "r", "by": "b",
                "expires_days": -1},
               {"op": "flag.add", "caller": caller, "code": "nope", "reason": "r", "by": "b"},
               {"op": "flag.add", "caller": caller, "code": "red", "reason": "r", "by": "b",
                "x": 1}]
        for req in bad:
            self.err(req, "bad_field")
        self.assertEqual(self.show(caller)["flags"], [])
        self.assertRoute(self.offer(caller), "standard", "default")

    def test_not_found_and_conflict(self):
        self.err({"op": "flag.revoke", "id": 1, "flag_id": 9007199254740991, "by": "b",
                  "reason": "r"}, "not_found")
        f = self.flag(new_caller(), "orange")
        req = {"op": "flag.revoke", "flag_id": f["id"], "by": "b", "reason": "r", "ts": T0 + 1}
        self.ok(req)
        for _ in range(2):
            self.err(req, "conflict")

    def test_id_echo(self):
        ids = ["abc", "", "\u00fcn\u00ef \u260e", 7, 0, -3, 2.5, -3.5e-3, 1234567,
               123456789012345, 1.23456789, 9007199254740991, True, False, None]
        for rid in ids:
            with self.subTest(id=rid):
                for req in ({"op": "ping"}, {"op": "nope"},
                            {"op": "call.offered", "call_id": "c", "caller": "x"},
                            {"op": "flag.add", "caller": new_caller(), "code": "orange",
                             "reason": "r", "by": "b"},
                            {"op": "flag.add", "caller": "x", "code": "orange",
                             "reason": "r", "by": "b"},
                            {"op": "caller.show", "caller": new_caller()}):
                    req = dict(req, id=rid)
                    r = self.call(req)
                    self.assertIn("id", r, "id %r not echoed for %r: %r" % (rid, req, r))
                    self.assertEqual(r["id"], rid, req)
                    self.assertIs(type(r["id"]), type(rid), (req, r))

    def test_no_id_no_echo(self):
        for req in ({"op": "ping"}, {"op": "nope"}, {"op": "call.offered", "call_id": "c"},
                    {"op": "flag.add", "caller": new_caller(), "code": "orange",
                     "reason": "r", "by": "b"},
                    {"op": "flag.revoke", "flag_id": 2 ** 50, "by": "b", "reason": "r"}):
            self.assertNotIn("id", self.call(req), req)

    def test_crlf(self):
        self.c.send(b'{"op":"ping","id":1}\r\n{"op":"ping","id":2}\n')
        self.assertEqual([r["id"] for r in self.c.replies(2)], [1, 2])


class LineLimit:
    MAX = 65536

    @staticmethod
    def padded(n, rid):
        """A valid ping line of exactly n bytes (newline not counted)."""
        head = '{"op":"ping","id":"'
        return (head + "p" * (n - len(head) - 2) + '"}').encode()

    def test_boundaries(self):
        for what, data, code in [
                ("exactly the limit", self.padded(self.MAX, 1) + b"\n", None),
                ("the limit with CRLF", self.padded(self.MAX, 1) + b"\r\n", None),
                ("one byte over", self.padded(self.MAX + 1, 1) + b"\n", "line_too_long"),
                ("far over", self.padded(4 * self.MAX, 1) + b"\n", "line_too_long")]:
            with self.subTest(what):
                r = self.c.raw(data)
                if code is None:
                    self.assertIs(r.get("ok"), True, r)
                else:
                    self.assertError(r, code, what)
                # The connection carries on.
                self.assertEqual(self.ok({"op": "ping", "id": what})["id"], what)

    def test_huge_line_in_pieces(self):
        # 4 MB without a newline, in pieces, then the newline: one error, then normal service.
        chunk = b"x" * 65536
        for _ in range(64):
            self.c.send(chunk)
        self.c.send(b"\n")
        self.assertError(self.c.reply(), "line_too_long")
        self.assertTrue(self.c.nothing_pending(0.2))
        self.assertEqual(self.ok({"op": "ping", "id": 1})["id"], 1)

    def test_long_lines_between_good_ones(self):
        long = b"{" + b" " * (self.MAX + 10) + b"}\n"
        self.c.send(long + b'{"op":"ping","id":1}\n' + long + long + b'{"op":"ping","id":2}\n')
        codes = [r.get("id", r.get("error", {}).get("code")) for r in self.c.replies(5)]
        self.assertEqual(codes, ["line_too_long", 1, "line_too_long", "line_too_long", 2])

    def test_other_connection_unaffected(self):
        other = self.daemon.connect(self.transport)
        self.addCleanup(other.close)
        # This connection is in the middle of a huge line...
        self.c.send(b"y" * (self.MAX * 3))
        # ...while the other is served normally.
        self.assertIs(self.ok({"op": "ping"}, other)["ok"], True)
        self.c.send(b"\n")
        self.assertError(self.c.reply(), "line_too_long")


class Lenient:
    """call.offered always decides, whatever else is wrong."""

    def test_call_offered_lenient(self):
        flagged = new_caller()
        # Some cases have no usable ts and use the clock: the flag must outlive it.
        self.flag(flagged, "red", expires_days=36500)
        cases = [
            # (what, fields besides op/call_id, expected queue, rule or None)
            ("missing caller", {}, "standard", "withheld"),
            ("caller null", {"caller": None}, "standard", "withheld"),
            ("caller true", {"caller": True}, "standard", "withheld"),
            ("caller an object", {"caller": {"n": 1}}, "standard", "withheld"),
            ("caller an array", {"caller": ["5551234567"]}, "standard", "withheld"),
            ("caller letters", {"caller": "abc"}, "standard", "withheld"),
            ("caller of 5,000 digits", {"caller": "5" * 5000}, "standard", "withheld"),
            ("numeric caller", {"caller": int(flagged[1:])}, "supervisor", "threat"),
            ("numeric caller, local form", {"caller": int(flagged[2:])}, "supervisor",
             "threat"),
            ("negative numeric caller", {"caller": -5}, "standard", "withheld"),
            ("garbage ts", {"caller": flagged, "ts": "yesterday"}, "supervisor", "threat"),
            ("negative ts", {"caller": flagged, "ts": -5}, "supervisor", None),
            ("object ts", {"caller": flagged, "ts": {}}, "supervisor", "threat"),
            ("null ts", {"caller": flagged, "ts": None}, "supervisor", "threat"),
            ("dialed a number", {"caller": flagged, "dialed": 42}, "supervisor", "threat"),
            ("dialed garbage", {"caller": flagged, "dialed": "\u00e9\u00e9"}, "supervisor",
             "threat"),
            ("dialed an object", {"caller": flagged, "dialed": {}}, "supervisor", "threat"),
            ("unknown field", {"caller": flagged, "colour": "red"}, "supervisor", "threat"),
            ("caller with NUL", {"caller": "555\u00001234567"}, None, None),
            ("dialed with NUL", {"caller": flagged, "dialed": "\u0000"}, "supervisor", "threat"),
        ]
        for what, fields, queue, rule in cases:
            with self.subTest(what):
                req = {"op": "call.offered", "id": what, "call_id": "len-1"}
                req.update(fields)
                r = self.ok(req)
                self.assertEqual(r["id"], what)
                self.assertEqual(r["call_id"], "len-1")
                self.assertEqual(r["action"], "queue")
                if queue is not None:
                    self.assertEqual(r["queue"], queue, r)
                if rule is not None:
                    self.assertRoute(r, queue, rule, what)

    def test_nul_elsewhere_keeps_call_id(self):
        # A \u0000 in an ignored field must not spoil a call_id holding other control
        # characters (\u001f here): the call still gets its decision and its call_id back.
        for extra in (',"note":"\\u0000"', ',"caller":"555\\u00001234567"', ""):
            with self.subTest(extra=extra):
                r = self.c.raw(('{"op":"call.offered","id":1,"call_id":"a\\u001fb"%s}'
                                % extra).encode())
                self.assertIs(r["ok"], True, r)
                self.assertEqual(r["call_id"], "a\u001fb")

    def test_ts_1e999_still_decides(self):
        self.c.send(b'{"op":"call.offered","call_id":"c","caller":"5551112222","ts":1e999}\n')
        r = self.c.reply()
        self.assertIs(r["ok"], True, r)
        self.assertEqual(r["queue"], "standard")

    def test_call_id_limits(self):
        for cid in ["c" * 128, "\u00e9" * 64, "x", "call with spaces and \"quotes\""]:
            self.assertEqual(self.offer(new_caller(), call_id=cid)["call_id"], cid)


class TcpErrors(Errors, LineLimit, Lenient, cwtest.DaemonCase):
    transport = "tcp"


class UnixErrors(Errors, LineLimit, cwtest.DaemonCase):
    transport = "unix"


if __name__ == "__main__":
    cwtest.main()
