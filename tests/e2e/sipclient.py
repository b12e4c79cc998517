"""A minimal SIP user agent client over UDP for the end-to-end tests: sends an INVITE built by
hand, follows the transaction (100 Trying, retransmissions, final reply) and ACKs the final
reply as RFC 3261 asks for a non-2xx answer."""

import os
import re
import select
import socket
import time

T1 = 0.5  # RFC 3261 timer T1: first INVITE retransmission after 0.5 s, then doubling


def _token():
    return os.urandom(6).hex()


class Reply:
    """One SIP response: status, reason, headers (lower-case name -> list of values)."""

    def __init__(self, data):
        text = data.decode("utf-8", "replace")
        head = text.split("\r\n\r\n", 1)[0]
        lines = head.split("\r\n")
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)$", lines[0])
        if not m:
            raise AssertionError("not a SIP response: %r" % data[:200])
        self.status = int(m.group(1))
        self.reason = m.group(2)
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.setdefault(name.strip().lower(), []).append(value.strip())
        self.raw = text

    def header(self, name):
        """The first value of a header, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def contact_uri(self):
        """The URI of the Contact header (between < and >), or None."""
        c = self.header("contact") or self.header("m")
        if c is None:
            return None
        m = re.search(r"<([^>]*)>", c)
        return m.group(1) if m else c.split(";")[0].strip()


class Result:
    """What one INVITE transaction gave: the final reply, the provisional ones, timings."""

    def __init__(self):
        self.final = None
        self.provisional = []
        self.first_provisional_s = None
        self.elapsed_s = None
        self.sent = 0  # INVITEs sent (1 + retransmissions)


class SipClient:
    """A UAC on 127.0.0.1 sending to one SIP server (host, port)."""

    def __init__(self, server):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _recv(self, timeout):
        r, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not r:
            return None
        data, _ = self.sock.recvfrom(65535)
        return data

    def nothing_arrives(self, wait):
        """True when no datagram arrives within wait seconds."""
        return self._recv(wait) is None

    def request(self, method, ruri, headers, body=b""):
        lines = ["%s %s SIP/2.0" % (method, ruri)] + headers
        lines.append("Content-Length: %d" % len(body))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body

    def options(self, timeout=0.5):
        """One OPTIONS request; the reply or None (used to wait for the server to listen)."""
        host, port = self.server
        branch = "z9hG4bK" + _token()
        msg = self.request("OPTIONS", "sip:%s:%d" % (host, port), [
            "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" % (self.port, branch),
            "Max-Forwards: 70",
            "From: <sip:probe@127.0.0.1>;tag=%s" % _token(),
            "To: <sip:%s:%d>" % (host, port),
            "Call-ID: %s@127.0.0.1" % _token(),
            "CSeq: 1 OPTIONS",
        ])
        self.sock.sendto(msg, self.server)
        deadline = time.monotonic() + timeout
        while True:
            data = self._recv(deadline - time.monotonic())
            if data is None:
                return None
            reply = Reply(data)
            if branch in (reply.header("via") or ""):
                return reply

    def invite(self, caller, dialed, call_id=None, timeout=8.0, from_uri=None):
        """Sends an INVITE from caller to dialed and waits for its final reply, which it ACKs.
        Retransmits like a real UAC (timer A) until a provisional or final reply arrives."""
        host, port = self.server
        branch = "z9hG4bK" + _token()
        call_id = call_id or "%s@127.0.0.1" % _token()
        ruri = "sip:%s@%s:%d" % (dialed, host, port)
        from_hdr = "<%s>;tag=%s" % (from_uri or "sip:%s@127.0.0.1" % caller, _token())
        to_hdr = "<%s>" % ruri
        via = "SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" % (self.port, branch)
        invite = self.request("INVITE", ruri, [
            "Via: " + via,
            "Max-Forwards: 70",
            "From: " + from_hdr,
            "To: " + to_hdr,
            "Call-ID: " + call_id,
            "CSeq: 1 INVITE",
            "Contact: <sip:%s@127.0.0.1:%d>" % (caller or "anonymous", self.port),
            "User-Agent: callwarden-e2e",
        ])
        res = Result()
        start = time.monotonic()
        deadline = start + timeout
        interval = T1
        next_send = start
        while res.final is None:
            now = time.monotonic()
            if now >= deadline:
                raise AssertionError("no final reply to INVITE %s within %.1f s (provisional: %r)"
                                     % (call_id, timeout,
                                        [r.status for r in res.provisional]))
            if not res.provisional and now >= next_send:
                self.sock.sendto(invite, self.server)
                res.sent += 1
                next_send = now + interval
                interval = min(interval * 2, 4.0)
            wait = deadline - now if res.provisional else min(deadline, next_send) - now
            data = self._recv(wait)
            if data is None:
                continue
            reply = Reply(data)
            if reply.header("call-id") != call_id or branch not in (reply.header("via") or ""):
                continue  # a late retransmission of an earlier transaction's reply
            if reply.status < 200:
                if res.first_provisional_s is None:
                    res.first_provisional_s = time.monotonic() - start
                res.provisional.append(reply)
            else:
                res.final = reply
        res.elapsed_s = time.monotonic() - start
        if res.final.status >= 300:
            ack = self.request("ACK", ruri, [
                "Via: " + via,
                "Max-Forwards: 70",
                "From: " + from_hdr,
                "To: " + (res.final.header("to") or to_hdr),
                "Call-ID: " + call_id,
                "CSeq: 1 ACK",
            ])
            self.sock.sendto(ack, self.server)
        return res
