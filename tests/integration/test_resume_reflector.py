"""
The reflector's part in sessions that resume (issue 14; worker/wresume.c),
driven by python3-websockets and raw sockets standing in for mlogin and
the agent: tokens at linkup, a side that comes back (after its connection
was lost, or while the reflector still believes the old one alive), the
refusals of bad tokens, the end for good, a worker killed under a session,
and an original peer seeing exactly the original behaviour.  Tokens for
the refusal tables are made here, with the deployment's secret, as an
independent implementation of token.h.
"""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import tempfile
import time
import unittest

from harness import (AsyncTestCase, Medusa, TIMEOUT, WAIT, LINKUP, ws_recv,
                     ws_close_of, wait_until, parse_response, raw_exchange)

SECRET = b"a test deployment secret of 32 bytes"[:32]
RESUME = [("X-Medusa-Resume", "1")]
DETACHED = 'medusa:{"type":"detached"}'


def make_token(account, sid, role, expires, secret=SECRET):
    msg = (b"medusa-resume\0" + account.encode() + b"\0" + sid.encode() +
           b"\0" + str(role).encode() + b"\0" + str(expires).encode())
    mac = hmac.new(secret, msg, hashlib.sha256).digest()
    return "1.%d.%s" % (expires, base64.urlsafe_b64encode(mac).decode()
                        .rstrip("="))


def linkup_of(text):
    assert text.startswith("medusa:"), text
    m = json.loads(text[len("medusa:"):])
    assert m["type"] == "linkup", text
    return m


class ResumeReflectorTest(AsyncTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="medusa-resume-")
        os.chmod(cls.tmp, 0o755)
        cls.secret = os.path.join(cls.tmp, "secret")
        with open(cls.secret, "wb") as f:
            f.write(SECRET)
        cls.m = Medusa(workers=2, config={"secret_file": cls.secret,
                                          "pairing_timeout_s": 5})
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()
        cls.m.check_clean(unittest.TestCase())

    def sid(self):
        ResumeReflectorTest.n += 1
        return "res-%d" % ResumeReflectorTest.n

    async def ws(self, sid, role, headers=()):
        import websockets
        return await websockets.connect(
            self.m.url("/attach/%s/%s" % (sid, role)),
            extra_headers=list(headers), compression=None,
            ping_interval=None, open_timeout=TIMEOUT, max_size=None)

    async def pair(self, sid, mh=RESUME, sh=RESUME):
        m = await self.ws(sid, "master", mh)
        self.assertEqual(await ws_recv(m), WAIT)
        s = await self.ws(sid, "slave", sh)
        ls = linkup_of(await ws_recv(s))
        lm = linkup_of(await ws_recv(m))
        return m, s, lm, ls

    async def test_linkup_carries_a_token_to_each_side_that_resumes(self):
        sid = self.sid()
        m, s, lm, ls = await self.pair(sid)
        self.assertTrue(lm["resume"])
        self.assertTrue(ls["resume"])
        self.assertNotEqual(lm["token"], ls["token"])
        # One link, named alike to both: 16 hex digits, random.
        self.assertRegex(lm["link"], r"^[0-9a-f]{16}$")
        self.assertEqual(lm["link"], ls["link"])
        # Our own computation of the token agrees (the role is bound).
        exp = int(lm["token"].split(".")[1])
        self.assertEqual(lm["token"], make_token("", sid, 1, exp))
        self.assertEqual(ls["token"], make_token("", sid, 2, exp))
        self.assertAlmostEqual(exp, time.time() + 3600, delta=60)
        # Only one side announced: no tokens, resume false for it.
        sid2 = self.sid()
        m2, s2, lm2, ls2 = await self.pair(sid2, sh=())
        self.assertEqual(lm2, {"type": "linkup", "resume": False})
        self.assertEqual(ls2, {"type": "linkup"})
        for w in (m, s, m2, s2):
            await w.close()

    async def test_a_lost_side_comes_back_and_the_other_waits(self):
        sid = self.sid()
        m, s, lm, ls = await self.pair(sid)
        # The master's connection is lost: no CLOSE, the socket just goes.
        m.transport.abort()
        self.assertEqual(await ws_recv(s), DETACHED)
        # Its messages while alone are dropped (the ends replay them).
        mark = self.m.mark()
        await s.send(b"while away")
        self.m.wait_log(lambda l: l.get("msg") == "message before linkup "
                        "dropped" and l.get("session") == sid, start=mark)
        m2 = await self.ws(sid, "master", RESUME + [
            ("X-Medusa-Resume-Token", lm["token"])])
        l2s = linkup_of(await ws_recv(s))
        l2m = linkup_of(await ws_recv(m2))
        self.assertTrue(l2m["resume"] and l2s["resume"])
        # A new link, named alike to both.
        self.assertEqual(l2m["link"], l2s["link"])
        self.assertNotEqual(l2m["link"], lm["link"])
        await s.send(b"after")
        self.assertEqual(await ws_recv(m2), b"after")
        await m2.send("back")
        self.assertEqual(await ws_recv(s), "back")
        await m2.close()
        await s.close()

    async def test_a_resumed_side_replaces_a_connection_believed_alive(self):
        from test_metrics import parse, scrape

        def resumes():
            return parse(scrape(self.m)[1])[("medusa_resumes_total", ())]
        loop = asyncio.get_running_loop()
        sid = self.sid()
        m, s, lm, ls = await self.pair(sid)
        before = await loop.run_in_executor(None, resumes)
        # The slave comes back while its old connection still looks fine.
        s2 = await self.ws(sid, "slave", RESUME + [
            ("X-Medusa-Resume-Token", ls["token"])])
        self.assertEqual(await ws_close_of(s), (1001, "replaced by a "
                                                      "resumed connection"))
        linkup_of(await ws_recv(s2))
        linkup_of(await ws_recv(m))
        await m.send(b"x")
        self.assertEqual(await ws_recv(s2), b"x")
        await loop.run_in_executor(None, lambda: wait_until(
            lambda: resumes() == before + 1, what="the resume counted"))
        # Without a token a second slave is still refused.
        got = await asyncio.get_running_loop().run_in_executor(
            None, self.raw_status, sid, "slave", RESUME)
        self.assertEqual(got[:2], (409, "SessionHasSlave"))
        await m.close()
        await s2.close()

    def raw_status(self, sid, role, headers):
        req = ("GET /attach/%s/%s HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: "
               "dGhlIHNhbXBsZSBub25jZQ==\r\n" % (sid, role))
        for k, v in headers:
            req += "%s: %s\r\n" % (k, v)
        st, _, body = parse_response(raw_exchange(self.m.port,
                                                  (req + "\r\n").encode()))
        return st, json.loads(body)["code"] if body else None

    def refusals(self):
        """/metrics' resume refusals by cause."""
        from test_metrics import parse, scrape
        return {c: parse(scrape(self.m)[1]).get(
            ("medusa_resume_refusals_total", (("cause", c),)), 0)
            for c in ("invalid", "expired", "session_ended")}

    async def test_bad_tokens_are_refused_clearly(self):
        sid = self.sid()
        m, s, lm, ls = await self.pair(sid)
        loop = asyncio.get_running_loop()
        before = await loop.run_in_executor(None, self.refusals)
        exp = int(time.time()) + 600
        cases = [
            ("another session", make_token("", "other", 1, exp), 403,
             "InvalidResumeToken"),
            ("the other role", ls["token"], 403, "InvalidResumeToken"),
            ("another account", make_token("bob", sid, 1, exp), 403,
             "InvalidResumeToken"),
            ("another secret", make_token("", sid, 1, exp, b"x" * 32), 403,
             "InvalidResumeToken"),
            ("tampered expiry", lm["token"].replace(".", ".9", 1), 403,
             "InvalidResumeToken"),
            ("garbage", "not a token", 403, "InvalidResumeToken"),
            ("expired", make_token("", sid, 1, int(time.time()) - 5), 403,
             "ResumeTokenExpired"),
        ]
        loop = asyncio.get_running_loop()
        for name, tok, st, code in cases:
            with self.subTest(case=name):
                got = await loop.run_in_executor(
                    None, self.raw_status, sid, "master", RESUME + [
                        ("X-Medusa-Resume-Token", tok)])
                self.assertEqual(got, (st, code))
        # Counted by cause in /metrics (the workers report each second).
        # Only the causes made here: an earlier test's 410 may still be
        # on its way to /metrics (session_ended).
        want = {"invalid": before["invalid"] + 6,
                "expired": before["expired"] + 1}

        def made_here():
            got = self.refusals()
            return {c: got[c] for c in want}
        await loop.run_in_executor(None, lambda: wait_until(
            lambda: made_here() == want, what=lambda: "the refusals "
            "counted: %r, not %r" % (made_here(), want)))
        # The owner's session went on through all of them.
        await m.send(b"still")
        self.assertEqual(await ws_recv(s), b"still")
        await m.close()
        await s.close()

    async def test_close_1000_ends_it_for_good(self):
        sid = self.sid()
        m, s, lm, ls = await self.pair(sid)
        await m.close(1000, "bye")
        self.assertEqual(await ws_close_of(s), (1000, "bye"))
        got = await asyncio.get_running_loop().run_in_executor(
            None, self.raw_status, sid, "master", RESUME + [
                ("X-Medusa-Resume-Token", lm["token"])])
        self.assertEqual(got, (410, "SessionEnded"))

    async def test_a_side_that_does_not_come_back_in_time(self):
        sid = self.sid()
        m, s, lm, ls = await self.pair(sid)
        mark = self.m.mark()
        s.transport.abort()
        self.assertEqual(await ws_recv(m), DETACHED)
        # pairing_timeout_s (5 s) later the session is over: 1000.
        self.assertEqual(await ws_close_of(m, ),
                         (1000, "timed out waiting for the peer"))
        self.m.wait_log(lambda l: l.get("msg") == "pairing timed out" and
                        l.get("session") == sid, start=mark)
        got = await asyncio.get_running_loop().run_in_executor(
            None, self.raw_status, sid, "slave", RESUME + [
                ("X-Medusa-Resume-Token", ls["token"])])
        self.assertEqual(got, (410, "SessionEnded"))

    async def test_original_peers_see_the_original_behaviour(self):
        sid = self.sid()
        m = await self.ws(sid, "master")
        self.assertEqual(await ws_recv(m), WAIT)
        s = await self.ws(sid, "slave")
        self.assertEqual(await ws_recv(s), LINKUP)
        self.assertEqual(await ws_recv(m), LINKUP)
        m.transport.abort()
        self.assertEqual(await ws_close_of(s), (1001, "master disconnected"))

    async def test_a_killed_worker_costs_a_pause(self):
        sid = self.sid()
        m, s, lm, ls = await self.pair(sid)
        pids = self.m.worker_pids()
        shard = [sh for sh, pid in pids.items()][0]
        st = self.m.status()
        mine = [x for x in st["sessions"]["sessions"] if x["id"] == sid][0]
        mark = self.m.mark()
        os.kill(mine["pid"], signal.SIGKILL)
        # Both sides see their connection go; both come back with tokens.
        self.assertIsNone(await ws_close_of(m))
        self.assertIsNone(await ws_close_of(s))
        self.m.wait_log(lambda l: l.get("msg") == "worker ready" and
                        l.get("component") == "supervisor", start=mark)
        m2 = await self.ws(sid, "master", RESUME + [
            ("X-Medusa-Resume-Token", lm["token"])])
        self.assertEqual(await ws_recv(m2), WAIT)
        s2 = await self.ws(sid, "slave", RESUME + [
            ("X-Medusa-Resume-Token", ls["token"])])
        linkup_of(await ws_recv(s2))
        linkup_of(await ws_recv(m2))
        await s2.send(b"again")
        self.assertEqual(await ws_recv(m2), b"again")
        await m2.close()
        await s2.close()

    async def test_a_side_away_over_a_handoff_is_linked_once(self):
        # A reflector of its own: its counters are this test's alone.
        from test_metrics import parse, scrape
        mm = Medusa(workers=1, config={"secret_file": self.secret})
        self.addCleanup(lambda: mm.proc.poll() is None and mm.stop())
        main, self.m = self.m, mm
        try:
            sid = self.sid()
            m, s, lm, ls = await self.pair(sid)
            m.transport.abort()
            self.assertEqual(await ws_recv(s), DETACHED)
            # The session, its master away, moves to a new worker.
            mark = mm.mark()
            mm.proc.send_signal(signal.SIGHUP)
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: mm.wait_msg("rolling restart finished",
                                          start=mark, timeout=TIMEOUT * 3))
            m2 = await self.ws(sid, "master", RESUME + [
                ("X-Medusa-Resume-Token", lm["token"])])
            linkup_of(await ws_recv(s))
            linkup_of(await ws_recv(m2))
            await s.send(b"moved")
            self.assertEqual(await ws_recv(m2), b"moved")
            await m2.close()
            await s.wait_closed()
        finally:
            self.m = main

        def ended():
            return parse(scrape(mm)[1]).get(
                ("medusa_sessions_ended_total",
                 (("cause", "closed"), ("closed_by", "master"))))
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: wait_until(lambda: ended() == 1,
                                     what="the end in /metrics"))
        samples = parse(scrape(mm)[1])
        # One session: linked up once, though its master came back
        # after a handoff.
        self.assertEqual(samples[("medusa_sessions_linked_total", ())], 1)
        self.assertEqual(
            samples[("medusa_session_linkup_seconds_count", ())], 1)
        self.assertEqual(samples[("medusa_resumes_total", ())], 1)


if __name__ == "__main__":
    unittest.main()
