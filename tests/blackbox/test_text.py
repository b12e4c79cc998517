"""Text fields are stored and returned verbatim: SQL metacharacters, unicode, control characters."""

import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cwtest  # noqa: E402
from cwtest import T0, new_caller  # noqa: E402

TEXTS = [
    ("SQL comment", "'; DROP TABLE flags; --"),
    ("SQL injection", "Robert'); DELETE FROM flags WHERE ('1'='1"),
    ("double quotes", '" OR 1=1 -- "'),
    ("semicolons", "a;b;;c"),
    ("percent signs", "%s %d %n %x %%"),
    ("backslashes", "C:\\temp\\ \\\\ \\n"),
    ("LIKE wildcards", "100% _sure_ [abc]"),
    ("accents", "ça râlé, señor, Grüße"),
    ("CJK", "电话骚扰 / 迷惑電話"),
    ("emoji (4-byte UTF-8)", "caller was 😡 ☎️ 🚨"),
    ("right-to-left", "مكالمة مزعجة"),
    ("combining marks", "e\u0301 a\u0308"),
    ("line and paragraph separators", "a\u2028b\u2029c"),
    ("BOM", "\ufeffstarts with a BOM"),
    ("tab", "col1\tcol2"),
    ("newline", "line one\nline two"),
    ("carriage return", "cr\rhere\r\n"),
    ("escape sequence", "\u001b[31mred\u001b[0m"),
    ("C0 controls", "".join(chr(c) for c in range(1, 32))),
    ("DEL and C1", "\u007f\u0080\u009f"),
    ("JSON-looking", '{"op":"flag.revoke","flag_id":1}'),
    ("fake log line", "ok\ncallwardend: ready"),
    ("leading and trailing spaces", "  padded  "),
    ("longest reason", "x" * 2048),
    ("longest reason in 2-byte characters", "\u00e9" * 1024),
    ("longest reason in 4-byte characters", "\U0001f4de" * 512),
]


def clip(text, n=128):
    """The longest prefix of text that fits in n bytes of UTF-8."""
    while len(text.encode("utf-8")) > n:
        text = text[:-1]
    return text


class Text(cwtest.DaemonCase):
    def test_reasons_verbatim(self):
        caller = new_caller()
        added = []
        for i, (what, text) in enumerate(TEXTS):
            with self.subTest(what):
                f = self.flag(caller, "orange", ts=T0 + i, reason=text, by=clip(text),
                              expires_days=1)
                self.assertEqual(f["reason"], text)
                self.assertEqual(f["by"], clip(text))
                added.append((f["id"], text))
        # caller.show returns each one unchanged, newest first.
        flags = self.show(caller, ts=T0)["flags"]
        self.assertEqual([(f["id"], f["reason"]) for f in flags], added[::-1])
        # The database holds them byte for byte (nothing was interpreted as SQL).
        db = sqlite3.connect(self.daemon.db, timeout=5)
        try:
            rows = dict(db.execute("SELECT id, reason FROM flags WHERE caller = ?",
                                   (caller,)).fetchall())
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        finally:
            db.close()
        self.assertEqual(rows, dict(added))
        self.assertIn("flags", tables)

    def test_revoke_text_verbatim(self):
        for what, text in TEXTS[:12]:
            with self.subTest(what):
                f = self.flag(new_caller(), "red")
                r = self.ok({"op": "flag.revoke", "flag_id": f["id"], "by": clip(text),
                             "reason": text, "ts": T0 + 1})["flag"]
                self.assertEqual((r["revoked_by"], r["revoke_reason"]), (clip(text), text))

    def test_by_limit_in_bytes(self):
        # 128 bytes is the limit whatever the characters.
        self.flag(new_caller(), "orange", by="\u00e9" * 64)
        self.err({"op": "flag.add", "caller": new_caller(), "code": "orange", "reason": "r",
                  "by": "\u00e9" * 65}, "bad_field")

    def test_escaped_ascii_equals_plain(self):
        # JSON escapes are decoded: \\u0041 is "A", and a surrogate pair is one character.
        line = (b'{"op":"flag.add","caller":"5550009999","code":"orange",'
                b'"reason":"\\u0041\\/\\ud83d\\ude21","by":"b"}')
        r = self.c.raw(line)
        self.assertIs(r["ok"], True, r)
        self.assertEqual(r["flag"]["reason"], "A/\U0001f621")

    def test_lone_surrogate_escape(self):
        # An unpaired surrogate escape cannot become UTF-8: refused, not stored as garbage.
        r = self.c.raw(b'{"op":"flag.add","caller":"5550008888","code":"orange",'
                       b'"reason":"\\ud83d","by":"b","id":1}')
        self.assertIs(r["ok"], False, r)
        self.assertIn(r["error"]["code"], ("bad_json", "bad_field"), r)

    def test_unicode_call_id_and_id_echo(self):
        cid = "appel-\u00e9\u00e8-\U0001f4de-'\";--"
        r = self.ok({"op": "call.offered", "id": cid, "call_id": cid, "caller": new_caller()})
        self.assertEqual((r["id"], r["call_id"]), (cid, cid))


if __name__ == "__main__":
    cwtest.main()
