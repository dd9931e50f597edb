"""
Sessions that resume, the ends' part (issue 14): mlogin and the agent
through TCP proxies (tcpproxy.py) that reset and black-hole their
connections; the streams stay byte-exact, the shell stays the same
process, ~. still ends the session while mlogin reconnects, and a resume
after the agent's grace period is refused clearly.
"""
import asyncio
import hashlib
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import unittest

from harness import (Agent, BIN, Medusa, Pty, TIMEOUT, wait_until,
                     ws_close_of, ws_connect, ws_recv)
from tcpproxy import TcpProxy

BIG_TIMEOUT = max(TIMEOUT * 10, 300)
# Liveness fast enough that a black hole is noticed within a second.
ALIVE = ["-o", "ServerAliveInterval=0.3", "-o", "ServerAliveCountMax=2"]


class OneWorkerTest(unittest.TestCase):
    """A reflector of one worker for the class's tests (sanitizer reports
    checked at its end); their session ids PREFIX-1, -2, ..."""
    PREFIX = "session"

    @classmethod
    def setUpClass(cls):
        cls.m = Medusa(workers=1, level="info")
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0
        cls.m.check_clean(unittest.TestCase())

    def sid(self):
        type(self).n += 1
        return "%s-%d" % (self.PREFIX, type(self).n)

    def mlogin_cat(self, sid):
        """Our mlogin running cat in sid, on pipes."""
        return subprocess.Popen(
            [os.path.join(BIN, "mlogin"), "-q", "-c", "cat",
             self.m.url("/attach/%s/master" % sid)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)


class ResumeEndsTest(OneWorkerTest):
    PREFIX = "resume-ends"

    def setUp(self):
        self.sid = OneWorkerTest.sid(self)
        self.pa = TcpProxy(("127.0.0.1", self.m.port))
        self.pm = TcpProxy(("127.0.0.1", self.m.port))

    def tearDown(self):
        self.pa.close()
        self.pm.close()

    def agent(self, args=()):
        a = Agent("ws://127.0.0.1:%d/attach/%s/slave" % (self.pa.port,
                                                         self.sid),
                  args=ALIVE + list(args))
        a.wait_msg("attached; waiting for the client")
        return a

    def murl(self):
        return "ws://127.0.0.1:%d/attach/%s/master" % (self.pm.port, self.sid)

    @staticmethod
    def proxies(proxy):
        return proxy if isinstance(proxy, list) else [proxy]

    def brk(self, proxy, how, ended=lambda: False):
        """Break the proxy's connection (or each of a list of proxies', at
        the same moment): reset, or a black hole until the end behind it
        has noticed and dialled again (or, ended() true, the session is
        over: all of it was through before the black hole)."""
        proxies = self.proxies(proxy)
        if how == "reset":
            for p in proxies:
                p.reset()
            return
        ns = [p.accepted for p in proxies]
        for p in proxies:
            p.blackhole()
        wait_until(lambda: all(p.accepted > n for p, n in
                               zip(proxies, ns)) or ended(), BIG_TIMEOUT,
                   "a redial through the black-holed proxy")
        for p in proxies:
            p.reset()   # the old, held connections: gone for good
            p.restore()

    def test_pipe_50MB_each_way_with_20_breaks(self):
        self.pipe_with_breaks(spaced=True)

    def test_pipe_50MB_with_breaks_of_both_sides_at_once(self):
        self.pipe_with_breaks(spaced=False)

    def test_pipe_50MB_with_both_sides_broken_together(self):
        # Both connections reset, or black-holed, at the same moment, 10
        # times: the worker may notice either first, or neither before
        # both ends are back (the session made afresh, or each old
        # connection replaced).
        self.pipe_with_breaks(spaced=False, together=True)

    def pipe_with_breaks(self, spaced, together=False):
        # mlogin's standard input is fed in 20 parts, one per break, and
        # each break comes once a megabyte of its part is in: always
        # mid-stream (fed from a file, the 50 MB were through after 11
        # breaks at times: 20 ms between polls is 6 MB at full speed).
        # spaced: a break waits until the side broken before has dialled
        # again.
        # together: both sides broken at each of 10 breaks.
        data = os.urandom(50 * 1000 * 1000)
        want = hashlib.sha256(data).hexdigest()
        nparts = 10 if together else 20
        part = len(data) // nparts
        a = self.agent()
        with tempfile.TemporaryFile() as out:
            p = subprocess.Popen([os.path.join(BIN, "mlogin")] + ALIVE +
                                 ["-q", "-c", "cat", self.murl()],
                                 stdin=subprocess.PIPE, stdout=out,
                                 stderr=subprocess.PIPE)
            fed = [0]
            go = threading.Semaphore(0)

            def feed():
                try:
                    for k in range(nparts):
                        go.acquire()
                        end = len(data) if k == nparts - 1 else \
                            (k + 1) * part
                        for o in range(k * part, end, 1 << 18):
                            b = data[o:min(o + (1 << 18), end)]
                            p.stdin.write(b)
                            fed[0] += len(b)
                    p.stdin.close()
                except (BrokenPipeError, ValueError):
                    pass        # mlogin ended: the checks below say why
            feeder = threading.Thread(target=feed, daemon=True)
            feeder.start()
            breaks = {id(self.pm): 0, id(self.pa): 0}
            try:
                for i in range(nparts):
                    proxy = [self.pm, self.pa] if together else \
                        self.pm if i % 2 == 0 else self.pa
                    goal = fed[0] + (1 << 20)
                    go.release()
                    wait_until(lambda: fed[0] >= goal or
                               p.poll() is not None or
                               a.proc.poll() is not None, BIG_TIMEOUT,
                               "a megabyte more of the stream")
                    if p.poll() is not None or a.proc.poll() is not None:
                        self.fail("the session ended mid-stream after %d "
                                  "breaks: mlogin %s (%s), agent %s:\n%s" %
                                  (i, p.poll(), p.stderr.read() if
                                   p.poll() is not None else "",
                                   a.proc.poll(), "\n".join(a.raw[-15:])))
                    n = [x.accepted for x in self.proxies(proxy)]
                    self.brk(proxy, "reset" if i % 4 < 2 else "blackhole")
                    for x in self.proxies(proxy):
                        breaks[id(x)] += 1
                    if spaced:
                        wait_until(lambda: proxy.accepted > n[0] or
                                   p.poll() is not None, BIG_TIMEOUT,
                                   "the broken side to dial again")
                feeder.join(BIG_TIMEOUT)
                self.assertFalse(feeder.is_alive(), "stdin not all taken")
                rc = p.wait(BIG_TIMEOUT)
                err = p.stderr.read()
            finally:
                p.kill()
                p.wait()
                p.stderr.close()
            self.assertEqual(rc, 0, err)
            out.seek(0)
            h = hashlib.sha256()
            n = 0
            while True:
                b = out.read(1 << 20)
                if not b:
                    break
                n += len(b)
                h.update(b)
            self.assertEqual(n, len(data))
            self.assertEqual(h.hexdigest(), want)
        self.assertEqual(a.wait_exit(BIG_TIMEOUT), 0, "\n".join(a.raw[-8:]))
        # 10 breaks a side, each mid-stream: each made its side dial again.
        for proxy in (self.pm, self.pa):
            self.assertEqual(breaks[id(proxy)], 10)
            self.assertGreaterEqual(proxy.accepted, 11)

    def stream_through_cat(self, mlogin_args, agent_args, size):
        """size random bytes through mlogin, the agent's cat and back:
        all of them, in order, well within the time-out (a stall is a
        deadlock: mlogin is killed and the test fails)."""
        data = os.urandom(size)
        a = self.agent(agent_args)
        with tempfile.TemporaryFile() as src, tempfile.TemporaryFile() as out:
            src.write(data)
            src.seek(0)
            p = subprocess.Popen([os.path.join(BIN, "mlogin")] + ALIVE +
                                 mlogin_args + ["-q", "-c", "cat",
                                                self.murl()],
                                 stdin=src, stdout=out,
                                 stderr=subprocess.PIPE)
            try:
                _, err = p.communicate(timeout=BIG_TIMEOUT / 3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                self.fail("the stream stalled: %d of %d bytes back" %
                          (out.tell(), size))
            self.assertEqual(p.returncode, 0, err)
            out.seek(0)
            self.assertEqual(hashlib.sha256(out.read()).hexdigest(),
                             hashlib.sha256(data).hexdigest())
        self.assertEqual(a.wait_exit(BIG_TIMEOUT), 0, "\n".join(a.raw[-8:]))
        # Read on as long as the client keeps to its window: never paused
        # while its own replay is full (the stall, 10 times slower, that
        # only the acks' 2 s tick undid).
        self.assertFalse([l for l in a.raw if "sends past its window" in l])

    def test_a_client_window_larger_than_the_agents(self):
        # The agent reads its socket on while its own replay is full (the
        # client's acks are behind the client's data) up to the larger
        # window of the two: at its own, a client with 8 MiB in flight
        # hid its acks behind data the agent would not read.
        self.stream_through_cat(["-o", "ResumeBuffer=8M"], [], 40 << 20)

    def test_an_agent_window_larger_than_the_clients(self):
        self.stream_through_cat([], ["-o", "ResumeBuffer=8M"], 40 << 20)

    def test_shell_survives_breaks_and_tilde_dot_while_reconnecting(self):
        a = self.agent()
        t = Pty([os.path.join(BIN, "mlogin")] + ALIVE + [self.murl()])
        try:
            a.wait_msg("starting command")
            t.send(b"echo pid=$$\r")
            pid = t.expect(rb"pid=(\d+)").group(1)
            for i in range(10):
                self.brk(self.pm if i % 2 == 0 else self.pa,
                         "reset" if i % 4 < 2 else "blackhole")
                t.send(b"echo again-%d=$$\r" % i)
                got = t.expect(rb"again-%d=(\d+)" % i).group(1)
                self.assertEqual(got, pid)
            # Now a black hole that stays: ~. ends the session at once.
            self.pm.blackhole()
            t.expect(rb"reconnecting")
            t.send(b"\r~.")
            self.assertEqual(t.wait(), 255)
        finally:
            t.kill()
        self.pm.restore()
        a.stop()

    def test_resume_after_the_grace_period_is_refused(self):
        a = self.agent(["--grace", "1"])
        t = Pty([os.path.join(BIN, "mlogin")] + ALIVE + [self.murl()])
        try:
            a.wait_msg("starting command")
            t.send(b"echo up\r")
            t.expect(rb"up")
            # mlogin cut off (its redials reset): the agent's grace
            # ends, it hangs up and ends the session for good.
            self.pm.refusing = True
            self.pm.reset()
            t.expect(rb"reconnecting")
            a.wait_msg("no client came back within the grace period; "
                       "hanging up")
            self.assertEqual(a.wait_exit(), 4)
            self.pm.refusing = False
            t.expect(rb"cannot be resumed")
            self.assertEqual(t.wait(), 254)
        finally:
            t.kill()

    def test_a_break_after_the_exit_still_exits_0(self):
        """The command exits, mlogin takes its exit and closes; the
        agent's connection breaks before the reflector's close reaches
        it.  The agent redials, finds the session over, and exits 0:
        the command's exit is final, not a refused resume (4)."""
        a = self.agent()
        with tempfile.TemporaryDirectory() as d:
            go = os.path.join(d, "go")
            cmd = ("echo ready; while [ ! -e %s ]; do sleep 0.05; done; "
                   "echo bye" % go)
            p = subprocess.Popen([os.path.join(BIN, "mlogin")] + ALIVE +
                                 ["-q", "-c", cmd, self.murl()],
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            try:
                self.assertEqual(p.stdout.readline(), b"ready\n")
                # From here the agent hears nothing: not the reflector's
                # close after mlogin's, not its pings' answers.
                self.pa.blackhole_down()
                open(go, "w").close()
                out, err = p.communicate(timeout=BIG_TIMEOUT)
                self.assertEqual(p.returncode, 0, err)
                self.assertEqual(out, b"bye\n")
                a.wait_msg("command exited")
                a.wait_msg("connection to the reflector lost; redialling")
                self.pa.reset()
                self.pa.restore()
                self.assertEqual(a.wait_exit(BIG_TIMEOUT), 0,
                                 "\n".join(a.raw[-8:]))
            finally:
                p.kill()
                self.pa.restore()
                a.stop()

def pipe_pair(m, sid, extra=()):
    """An agent running the client's `cat` and an mlogin in pipe mode
    whose stdin we write: (agent, mlogin, its output file).  Default
    liveness: a reflector that goes away here closes or resets (a 1 s
    liveness killed waiting agents under the sanitizers' load)."""
    a = Agent(m.url("/attach/%s/slave" % sid), args=list(extra))
    out = tempfile.TemporaryFile()
    p = subprocess.Popen([os.path.join(BIN, "mlogin"), "-q", "-c", "cat",
                          m.url("/attach/%s/master" % sid)],
                         stdin=subprocess.PIPE, stdout=out,
                         stderr=subprocess.PIPE)
    return a, p, out


def output_of(p, out, timeout=BIG_TIMEOUT):
    p.stdin = None      # closed by the caller
    _, err = p.communicate(timeout=timeout)
    out.seek(0)
    data = out.read()
    out.close()
    return p.returncode, data, err


class ResumeReflectorLossTest(unittest.TestCase):
    """The reflector loses the session: a worker killed, the reflector
    restarted; the ends resume it."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="medusa-resume-ends-")
        os.chmod(self.tmp, 0o755)
        self.secret = os.path.join(self.tmp, "secret")
        with open(self.secret, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(self.secret, 0o644)

    def tearDown(self):
        os.unlink(self.secret)
        os.rmdir(self.tmp)

    def fixed_port_config(self):
        """A config whose port a restarted reflector can take again."""
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return {"secret_file": self.secret, "port": port}

    def test_200_sessions_across_4_workers_one_killed(self):
        m = Medusa(workers=4, level="info",
                   config={"secret_file": self.secret})
        pairs = []
        try:
            halves = [(os.urandom(20000), os.urandom(20000))
                      for _ in range(200)]
            for i in range(200):
                pairs.append(pipe_pair(m, "many-%d" % i))
            for a, _, _ in pairs:
                a.wait_msg("starting command", timeout=BIG_TIMEOUT)
            for (a, p, _), (h1, _) in zip(pairs, halves):
                p.stdin.write(h1)
                p.stdin.flush()
            # Mid-stream: kill the worker of the first session.
            st = m.status()
            mine = [x for x in st["sessions"]["sessions"]
                    if x["id"] == "many-0"][0]
            mark = m.mark()
            os.kill(mine["pid"], signal.SIGKILL)
            m.wait_log(lambda l: l.get("msg") == "worker ready" and
                       l.get("component") == "supervisor", start=mark)
            for (a, p, _), (_, h2) in zip(pairs, halves):
                try:
                    p.stdin.write(h2)
                    p.stdin.close()
                except BrokenPipeError:
                    pass        # mlogin ended: shown below

            exact, bad = 0, []
            for (a, p, out), (h1, h2) in zip(pairs, halves):
                rc, data, err = output_of(p, out)
                if rc == 0 and data == h1 + h2:
                    exact += 1
                elif len(bad) < 3:
                    bad.append("rc %d, %d of %d bytes, prefix ok %s, %s" %
                               (rc, len(data), len(h1 + h2),
                                (h1 + h2).startswith(data), err[-300:]))
                self.assertEqual(a.wait_exit(), 0, "mlogin: rc %d, %s, %s\n"
                                 "agent:\n%s" % (rc, data == h1 + h2,
                                                  err[-300:],
                                                  "\n".join(a.raw[-20:])))
            self.assertEqual(exact, 200, "\n".join(bad))
        finally:
            for a, p, _ in pairs:
                p.kill()
                a.stop()
            self.assertEqual(m.stop(), 0)

    def test_reflector_restarted_within_the_grace(self):
        cfg = self.fixed_port_config()
        m = Medusa(workers=2, level="info", config=cfg)
        a, p, out = pipe_pair(m, "restart-1")
        try:
            a.wait_msg("starting command")
            p.stdin.write(b"before\n")
            p.stdin.flush()
            self.assertEqual(m.stop(), 0)       # SIGTERM: 1001 to both
            a.wait_msg("connection to the reflector lost; redialling")
            m = Medusa(workers=2, level="info", config=cfg)
            a.wait_msg("linked again; resuming")
            p.stdin.write(b"after\n")
            p.stdin.close()
            rc, data, err = output_of(p, out)
            self.assertEqual(rc, 0, err)
            self.assertEqual(data, b"before\nafter\n")
            self.assertEqual(a.wait_exit(), 0)
        finally:
            p.kill()
            a.stop()
            m.stop()

    def test_reflector_restarted_with_another_secret_refuses(self):
        """A redial answered 403 (the token was signed with the old
        secret): the agent says the reflector refused to resume and exits
        4; mlogin says the session cannot be resumed, why, and exits 254."""
        cfg = self.fixed_port_config()
        m = Medusa(workers=1, level="info", config=cfg)
        a, p, out = pipe_pair(m, "resecret-1")
        try:
            a.wait_msg("starting command")
            p.stdin.write(b"before\n")
            p.stdin.flush()
            # Echoed (the agent acked it) before the reflector goes.
            wait_until(lambda: os.fstat(out.fileno()).st_size == 7,
                       what="the echo of 'before'")
            self.assertEqual(m.stop(), 0)
            a.wait_msg("connection to the reflector lost; redialling")
            with open(self.secret, "wb") as f:
                f.write(os.urandom(32))
            m = Medusa(workers=1, level="info", config=cfg)
            ln = a.wait_msg("the reflector refused to resume the session; "
                            "it is over")
            self.assertEqual(ln["http"], 403)
            self.assertEqual(ln["level"], 40, ln)   # not an operator's
            self.assertEqual(a.wait_exit(), 4)
            p.stdin.close()
            rc, data, err = output_of(p, out)
            self.assertEqual(rc, 254, err)
            self.assertIn(b"the session cannot be resumed", err)
            self.assertIn(b"403", err)
            self.assertEqual(data, b"before\n")
        finally:
            p.kill()
            a.stop()
            m.stop()


LINK_RE = re.compile(r"^[0-9a-f]{16}$")
STALE_LINK = "0123456789abcdef"


def medusa_msg(text, prefix="medusa:"):
    """The JSON object of a "medusa:"/"mlogin:" TEXT message, else None."""
    if isinstance(text, str) and text.startswith(prefix):
        return json.loads(text[len(prefix):])
    return None


class ResumeLinksTest(OneWorkerTest):
    """Each linkup names its link, each resume the link it answers, and an
    end replays once, for the resume of its own latest link: a resume of
    another link, or a second of its own, is ignored.  (Both sides broken
    within milliseconds: an end saw a linkup whose other side was already
    dead, then the next, and sent two resumes, both of which reached the
    peer's new connection; the peer replayed twice: whole messages
    repeated, then lost.)  A python3-websockets peer stands in for mlogin,
    then for the agent, and sends the stale, right and second resumes."""

    PREFIX = "links"

    async def back(self, path, linkup):
        """Redial path with linkup's token: the new linkup, whose link
        differs, and the end's resume, which names it."""
        ws = await ws_connect(self.m, path, extra_headers=RESUME_HDR + [
            ("X-Medusa-Resume-Token", linkup["token"])])
        l2 = medusa_msg(await ws_recv(ws))
        self.assertEqual(l2["type"], "linkup")
        self.assertRegex(l2["link"], LINK_RE)
        self.assertNotEqual(l2["link"], linkup["link"])
        while True:
            r = medusa_msg(await ws_recv(ws), "mlogin:")
            if r is not None and r["type"] == "resume":
                break
        self.assertEqual(r["link"], l2["link"])
        return ws, l2, r

    async def resumes(self, ws, l2, recv):
        """A resume of an old link, ours, and ours again."""
        for link in (STALE_LINK, l2["link"], l2["link"]):
            await ws.send("mlogin:" + json.dumps(
                {"type": "resume", "recv": recv, "link": link}))

    def test_the_agent_replays_once(self):
        sid = self.sid()
        a = Agent(self.m.url("/attach/%s/slave" % sid))
        a.wait_msg("attached; waiting for the client")
        path = "/attach/%s/master" % sid

        async def peer():
            ws = await ws_connect(self.m, path, extra_headers=RESUME_HDR)
            l1 = medusa_msg(await ws_recv(ws))
            self.assertTrue(l1["resume"])
            self.assertRegex(l1["link"], LINK_RE)
            await ws.send("mlogin:" + json.dumps({
                "type": "start", "command": "/bin/bash",
                "arguments": ["-c", "cat"], "term": "xterm",
                "columns": 80, "lines": 24, "pty": False}))
            while (medusa_msg(await ws_recv(ws), "mlogin:") or
                   {}).get("type") != "started":
                pass
            ws.transport.abort()    # lost, no CLOSE: the agent keeps it
            ws, l2, r = await self.back(path, l1)
            self.assertEqual(r["recv"], 1)      # our start
            await self.resumes(ws, l2, 0)
            await ws.send(b"marker\n")         # message 2, for cat
            got = []
            while True:
                m = await ws_recv(ws)
                if m == b"marker\n":
                    break
                got.append(m)
            await ws.close(1000)
            return got
        got = asyncio.run(peer())
        started = [m for m in got if (medusa_msg(m, "mlogin:") or
                                      {}).get("type") == "started"]
        self.assertEqual(len(started), 1, got)
        a.wait_exit()
        a.check_clean(self)

    def test_mlogin_replays_once(self):
        import websockets
        sid = self.sid()
        p = self.mlogin_cat(sid)
        path = "/attach/%s/slave" % sid
        try:
            async def peer():
                ws = await ws_connect(self.m, path, extra_headers=RESUME_HDR)
                l1 = medusa_msg(await ws_recv(ws))
                self.assertTrue(l1["resume"])
                self.assertRegex(l1["link"], LINK_RE)
                while (medusa_msg(await ws_recv(ws), "mlogin:") or
                       {}).get("type") != "start":
                    pass
                await ws.send("mlogin:" + json.dumps(
                    {"type": "started", "pty": False}))
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: (p.stdin.write(b"hello\n"),
                                   p.stdin.flush()))
                while await ws_recv(ws) != b"hello\n":
                    pass
                ws.transport.abort()
                ws, l2, r = await self.back(path, l1)
                self.assertEqual(r["recv"], 1)  # our started
                await self.resumes(ws, l2, 0)
                # Our message 2: its exit ends the session (CLOSE 1000),
                # after all that mlogin sent for the three resumes.
                await ws.send("mlogin:" + json.dumps(
                    {"type": "exit", "code": 0}))
                got = []
                try:
                    while True:
                        got.append(await ws_recv(ws))
                except websockets.ConnectionClosed as e:
                    self.assertEqual(e.rcvd.code, 1000)
                return got
            got = asyncio.run(peer())
            starts = [m for m in got if (medusa_msg(m, "mlogin:") or
                                         {}).get("type") == "start"]
            self.assertEqual(len(starts), 1, got)
            self.assertEqual(got.count(b"hello\n"), 1, got)
            _, err = p.communicate(timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, err)
        finally:
            p.kill()
            p.wait()
            p.stdin.close()
            p.stdout.close()
            p.stderr.close()


RESUME_HDR = [("X-Medusa-Resume", "1")]
BAD_CTL = [
    ("recv a string", {"type": "ack", "recv": "7"}),
    ("recv negative", {"type": "ack", "recv": -1}),
    ("no recv", {"type": "ack"}),
    ("ack of more than was sent", {"type": "ack", "recv": 1000000}),
    ("resume recv a float", {"type": "resume", "recv": 1.5}),
    ("resume of more than was sent", {"type": "resume", "recv": 1000000}),
]


class ResumePeerMisbehavesTest(OneWorkerTest):
    """A peer (python3-websockets standing in for mlogin or the agent)
    sends a malformed or impossible ack/resume: the real end says so, ends
    the session with CLOSE 1000, and exits with its 'cannot resume'
    status; no crash."""

    PREFIX = "misbehave"

    def test_agent_ends_clearly_on_a_bad_ack_or_resume(self):
        for name, msg in BAD_CTL:
            with self.subTest(case=name):
                sid = self.sid()
                a = Agent(self.m.url("/attach/%s/slave" % sid))
                a.wait_msg("attached; waiting for the client")

                async def peer():
                    ws = await ws_connect(self.m, "/attach/%s/master" % sid,
                                          extra_headers=RESUME_HDR)
                    linkup = json.loads((await ws_recv(ws))[7:])
                    self.assertTrue(linkup["resume"])
                    await ws.send("mlogin:" + json.dumps(msg))
                    return await ws_close_of(ws)
                got = asyncio.run(peer())
                self.assertEqual(got, (1000, "the session cannot resume"))
                line = a.wait_msg("the session cannot resume")
                # The peer's doing, not an operator's: a warning.
                self.assertEqual(line["level"], 40, line)
                self.assertEqual(a.wait_exit(), 4)
                a.check_clean(self)

    def test_mlogin_ends_clearly_on_a_bad_ack_or_resume(self):
        for name, msg in BAD_CTL:
            with self.subTest(case=name):
                sid = self.sid()
                p = self.mlogin_cat(sid)
                try:
                    async def peer():
                        ws = await ws_connect(
                            self.m, "/attach/%s/slave" % sid,
                            extra_headers=RESUME_HDR)
                        linkup = json.loads((await ws_recv(ws))[7:])
                        self.assertTrue(linkup["resume"])
                        start = await ws_recv(ws)
                        self.assertIn('"type":"start"', start)
                        await ws.send("mlogin:" + json.dumps(msg))
                        return await ws_close_of(ws)
                    got = asyncio.run(peer())
                    self.assertEqual(got, (1000,
                                           "the session cannot resume"))
                    _, err = p.communicate(timeout=TIMEOUT)
                    self.assertEqual(p.returncode, 254, err)
                    self.assertIn(b"mlogin: ", err)
                    self.assertTrue(b"ack or resume" in err or
                                    b"sent" in err, err)
                finally:
                    p.kill()
