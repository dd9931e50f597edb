"""The reflector's claims in the session directory (issue 16), against a
real redis-server started here: a session's first side claims it for the
host ("<advertise> <fence>" under medusa:s:<account>/<id>, with the
claim's TTL), the claim is refreshed while the session lives and removed
at its end; a stale claim of this host is taken over; another host's
claim is counted (the session is served here: forwarding is not wired
yet); Redis stopped: sessions still pair, the errors are counted, nothing
crashes; Redis back: claims again without a restart; a reflector killed
with -9: its claims lapse within claim_ttl_s.  The counters are read from
/status (workers[].directory) and /metrics (medusa_directory_*_total)."""

import asyncio
import os
import signal
import subprocess
import tempfile
import time
import unittest

from harness import (BIN, LINKUP, TIMEOUT, WAIT, Medusa, wait_until, ws_connect,
                     ws_pair, ws_recv)
from test_auth import refusal
from test_directory import REDIS, Redis, free_port
from test_metrics import parse, scrape, total

ADV = "127.0.0.1:1"     # what this host advertises (never dialled here)
BENCH = os.path.join(BIN, "medusa-bench")


def counters(m):
    """The workers' directory counters, summed (REPORT: once a second)."""
    total = {}
    for w in m.status()["workers"]:
        for k, v in w.get("directory", {}).items():
            total[k] = total.get(k, 0) + v
    return total


def on_directory(redis, workers, cfg):
    """A reflector on redis's directory, once every worker is connected."""
    m = Medusa(workers=workers, config=dict(
        cfg, directory="redis://127.0.0.1:%d" % redis.port))
    wait_until(lambda: counters(m).get("directory_connects", 0) >=
               workers, what="every worker connected to Redis")
    return m


@unittest.skipIf(REDIS is None, "redis-server is not installed")
class ClaimsTest(unittest.TestCase):
    def setUp(self):
        self.redis = Redis(free_port())
        self.procs = []

    def tearDown(self):
        for m in self.procs:
            if m.proc.poll() is None:
                m.stop()
            m.check_clean(self)
        if self.redis.p.poll() is None:
            self.redis.stop()

    def reflector(self, ttl=30, advertise=ADV, workers=2, **extra):
        m = on_directory(self.redis, workers, dict(
            extra, advertise=advertise, claim_ttl_s=ttl))
        self.procs.append(m)
        return m

    def get(self, sid):
        return self.redis.cmd("GET", "medusa:s:/" + sid)

    def test_claim_refresh_release(self):
        m = self.reflector(ttl=3)

        async def run():
            master = await ws_connect(m, "/attach/Claim-1/master")
            self.assertEqual(await ws_recv(master), WAIT)
            # Claimed under the lowercased id, this host's, with a fence.
            wait_until(lambda: self.get("claim-1") != "",
                       what="the claim in Redis")
            adv, fence = self.get("claim-1").split(" ")
            self.assertEqual(adv, ADV)
            self.assertEqual(len(fence), 32)
            ttl = int(self.redis.cmd("PTTL", "medusa:s:/claim-1"))
            self.assertTrue(0 < ttl <= 3000, ttl)
            slave = await ws_connect(m, "/attach/Claim-1/slave")
            self.assertEqual(await ws_recv(slave), LINKUP)
            self.assertEqual(await ws_recv(master), LINKUP)
            # Refreshed (every ttl/3) while it lives: outlives its TTL.
            wait_until(lambda: counters(m).get("claim_refreshes", 0) >= 2,
                       what="refreshes")
            t0 = time.monotonic()
            while time.monotonic() - t0 < 3.5:
                await master.send("x")
                self.assertEqual(await ws_recv(slave), "x")
                self.assertEqual(self.get("claim-1"), ADV + " " + fence)
                await asyncio.sleep(0.5)
            await master.close()
            await slave.close()
        asyncio.run(run())
        # Released at its end.
        wait_until(lambda: self.get("claim-1") == "",
                   what="the claim released")
        wait_until(lambda: counters(m)["claim_releases"] == 1,
                   what="the release counted")
        c = counters(m)
        self.assertEqual(c["claims"], 1)
        self.assertEqual(c["directory_errors"], 0)
        # /metrics has them too (medusa_directory_*_total), and they
        # survive a kill -9 of every worker (the supervisor keeps the
        # departed workers' last reports).
        s = parse(scrape(m)[1])
        self.assertEqual(total(s, "medusa_directory_claims_total"), 1)
        self.assertEqual(total(s, "medusa_directory_claim_releases_total"), 1)
        self.assertGreaterEqual(total(s, "medusa_directory_claim_refreshes_total"), 2)
        self.assertEqual(total(s, "medusa_directory_errors_total"), 0)
        mark = m.mark()
        for pid in m.worker_pids().values():
            os.kill(pid, signal.SIGKILL)
        m.wait_ready(start=mark)
        wait_until(lambda: m.status()["health"] == "ok",
                   what="both workers back")
        wait_until(lambda: total(parse(scrape(m)[1]),
                                 "medusa_directory_connects_total") >= 4,
                   what="the new workers connected to Redis")
        s = parse(scrape(m)[1])
        self.assertEqual(total(s, "medusa_directory_claims_total"), 1)
        self.assertEqual(total(s, "medusa_directory_claim_releases_total"), 1)

    # The claims in Redis: how many, and the least time one has left.
    CLAIMS = ("local ks=redis.call('keys','medusa:s:*') local m=-1 "
              "for _,k in ipairs(ks) do local t=redis.call('pttl',k) "
              "if m<0 or t<m then m=t end end return {#ks,m}")

    def claims(self):
        n, least = self.redis.cmd("EVAL", self.CLAIMS, "0").split()
        return int(n), int(least)

    @unittest.skipUnless(os.path.exists(BENCH), "bin/medusa-bench not built")
    def test_many_claims_all_refreshed(self):
        """6000 sessions held on one worker: every claim is refreshed
        (spread over claim_ttl/3, the backlog bounded), none lapses; the
        refresh once sent them all at once and the backlog (4096)
        refused the rest, whose claims lapsed."""
        n, ttl = 6000, 2
        m = self.reflector(ttl=ttl, workers=1, **{
            "max_connections": 3 * n, "max_connections_per_address": 3 * n})
        bench = subprocess.Popen(
            [BENCH, "idle", "--url", "ws://127.0.0.1:%d" % m.port, "-s",
             str(n), "-c", "200", "-d", str(ttl * 3), "--src-addrs", "8",
             "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        try:
            # (A claim answered after its 200 ms time-out, as under the
            # sanitizers, leaves its session served here unclaimed and
            # the claim to lapse: the claims won are counted.)
            wait_until(lambda: self.claims()[0] >= n * 0.9 or
                       bench.poll() is not None, timeout=TIMEOUT * 3,
                       every=0.2, what="%d claims in Redis" % n)
            if bench.poll() is not None:
                self.fail("medusa-bench ended: %s" % (bench.communicate(),))
            # Past a whole TTL from now, every claim won is still there
            # (refreshed: none lapsed, each has time left).
            t0 = time.monotonic()
            wait_until(lambda: time.monotonic() - t0 > ttl * 1.5,
                       every=0.1, what="a TTL and a half")
            count, least = self.claims()
            won = counters(m)["claims"]
            self.assertEqual(count, won, counters(m))
            self.assertGreaterEqual(won, n * 0.9)
            self.assertGreater(least, 0)
            out, err = bench.communicate(timeout=TIMEOUT * 6)
            self.assertEqual(bench.returncode, 0, err)
        finally:
            if bench.poll() is None:
                bench.kill()
                bench.communicate()
        # The bench's sessions ended: their claims are gone (released;
        # test_a_burst_of_ends_deletes_every_claim has a TTL that cannot
        # hide a lapse).
        wait_until(lambda: self.claims()[0] == 0, timeout=TIMEOUT * 3,
                   every=0.2, what="every claim gone")

    def hold(self, m, n, secs):
        """medusa-bench holding n idle paired sessions on m; returns once
        90% of them are claimed in Redis."""
        bench = subprocess.Popen(
            [BENCH, "idle", "--url", "ws://127.0.0.1:%d" % m.port, "-s",
             str(n), "-c", "200", "-d", str(secs), "--src-addrs", "8",
             "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self.addCleanup(lambda: bench.poll() is None and (
            bench.kill(), bench.communicate()))
        wait_until(lambda: self.claims()[0] >= n * 0.9 or
                   bench.poll() is not None, timeout=TIMEOUT * 3,
                   every=0.2, what="%d claims in Redis" % n)
        if bench.poll() is not None:
            self.fail("medusa-bench ended: %s" % (bench.communicate(),))
        return bench

    @unittest.skipUnless(os.path.exists(BENCH), "bin/medusa-bench not built")
    def test_a_burst_of_ends_deletes_every_claim(self):
        """6000 sessions ending at once (their client killed), then 6000
        at a stop of the reflector: each burst of releases overflows the
        backlog (4096); the rest wait for room, and a worker on its way
        out waits for them, so every claim is deleted, none left to lapse
        in the TTL (120 s here: longer than the test waits)."""
        n = 6000
        m = self.reflector(ttl=120, workers=1, **{
            "max_connections": 3 * n, "max_connections_per_address": 3 * n})
        bench = self.hold(m, n, 600)
        bench.kill()
        bench.communicate()
        wait_until(lambda: self.claims()[0] == 0, timeout=TIMEOUT * 2,
                   every=0.2, what="every claim deleted after the burst")
        self.hold(m, n, 600)
        self.assertEqual(m.stop(), 0)
        self.assertEqual(self.claims()[0], 0)
        self.assertFalse([l for l in m.logs if l.get("level", 0) >= 40 and
                          "shutdown time-out" in l.get("msg", "")])

    def test_stale_own_claim_taken_over(self):
        m = self.reflector()
        self.redis.cmd("SET", "medusa:s:/stale", ADV + " " + "0" * 32)
        # Another host's, a host that is down (nothing listens there).
        self.redis.cmd("SET", "medusa:s:/theirs", "127.0.0.1:9 " + "1" * 32)

        async def run():
            master, slave = await ws_pair(m, "stale")
            wait_until(lambda: self.get("stale") != ADV + " " + "0" * 32,
                       what="the stale claim taken over")
            self.assertTrue(self.get("stale").startswith(ADV + " "))
            for ws in (master, slave):
                await ws.close()
        asyncio.run(run())
        # Another host's claim: forwarded there; that host is down: 502.
        got = refusal(m.port, "/attach/theirs/master")
        self.assertEqual(got[:2], (502, "BadGateway"))
        self.assertEqual(self.get("theirs"), "127.0.0.1:9 " + "1" * 32)
        wait_until(lambda: counters(m)["forwards_failed"] == 1,
                   what="the failed forward counted")
        self.assertEqual(counters(m)["claim_takeovers"], 1)
        wait_until(lambda: self.get("stale") == "", what="released")

    def calls(self, command):
        """How many times Redis ran a command (INFO commandstats)."""
        for line in self.redis.cmd("INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_%s:" % command):
                return int(line.split("calls=")[1].split(",")[0])
        return 0

    def test_a_claim_granted_after_its_time_out_is_released(self):
        m = self.reflector(ttl=60, workers=1)
        evals = self.calls("eval")
        # Writes wait 1.5 s: the claim (SET NX) times out (0.2 s), the
        # session is served here unclaimed, then Redis grants it.
        self.assertEqual(self.redis.cmd("CLIENT", "PAUSE", "1500", "WRITE"),
                         "OK")

        async def run():
            loop = asyncio.get_running_loop()
            master = await ws_connect(m, "/attach/late/master")
            self.assertEqual(await ws_recv(master), WAIT)
            await loop.run_in_executor(None, lambda: wait_until(
                lambda: counters(m).get("directory_timeouts", 0) >= 1,
                what="the claim's time-out"))
            # Granted late, then released (the compare-and-delete EVAL):
            # not left to lapse in 60 s with no one to refresh it.
            await loop.run_in_executor(None, lambda: wait_until(
                lambda: self.calls("set") >= 1 and
                self.calls("eval") > evals,
                what="the late claim released"))
            self.assertEqual(self.get("late"), "")
            slave = await ws_connect(m, "/attach/late/slave")
            self.assertEqual(await ws_recv(slave), LINKUP)
            self.assertEqual(await ws_recv(master), LINKUP)
            for ws in (master, slave):
                await ws.close()
        asyncio.run(run())

    def test_a_late_grant_released_does_not_leave_the_session_unclaimed(self):
        """A shorter stall: the attach's claim times out (0.2 s), the
        session's own claim is sent at once and refused (the first one,
        granted late, holds the key), and by its GET the key is gone (the
        late grant released): it claims again, so the session is claimed
        for its life and released at its end."""
        m = self.reflector(ttl=60, workers=1)
        self.assertEqual(self.redis.cmd("CLIENT", "PAUSE", "300", "WRITE"),
                         "OK")

        async def run():
            loop = asyncio.get_running_loop()
            master = await ws_connect(m, "/attach/short/master")
            self.assertEqual(await ws_recv(master), WAIT)
            await loop.run_in_executor(None, lambda: wait_until(
                lambda: counters(m).get("claims", 0) +
                counters(m).get("directory_timeouts", 0) >= 2,
                what="the claims answered"))
            if counters(m)["directory_timeouts"] != 1:
                # The second claim timed out too (a slow machine): not
                # the case this test is about.
                await master.close()
                self.skipTest("timeouts: %r" % counters(m))
            self.assertTrue(self.get("short").startswith(ADV + " "))
            self.assertEqual(counters(m)["claims"], 1)
            await master.close()
        asyncio.run(run())
        wait_until(lambda: self.get("short") == "", what="released at its end")

    def test_redis_outage_and_return(self):
        m = self.reflector()
        port = self.redis.port
        self.redis.stop()

        async def pairs(prefix, n):
            for i in range(n):
                master, slave = await ws_pair(m, "%s%d" % (prefix, i))
                await master.send("ping %d" % i)
                self.assertEqual(await ws_recv(slave), "ping %d" % i)
                await master.close()
                await slave.close()
        # Down: sessions pair and relay here, errors counted.
        asyncio.run(pairs("down", 10))
        wait_until(lambda: counters(m)["directory_errors"] > 0,
                   what="the outage counted")
        self.assertIsNone(m.proc.poll())
        # Back on the same port: claims again, no restart.
        self.redis = Redis(port)
        wait_until(lambda: counters(m)["directory_connects"] >= 4,
                   what="every worker reconnected")

        async def claimed():
            master = await ws_connect(m, "/attach/back/master")
            self.assertEqual(await ws_recv(master), WAIT)
            wait_until(lambda: self.get("back").startswith(ADV),
                       what="a claim after Redis came back")
            await master.close()
        asyncio.run(claimed())
        m.wait_log(lambda l: l.get("msg", "").startswith(
            "session directory unreachable"))

    def test_killed_host_claims_lapse(self):
        a = self.reflector(ttl=2, advertise="127.0.0.1:2")
        b = self.reflector(ttl=2, advertise="127.0.0.1:3")

        async def hold():
            held = []
            for i in range(5):
                ws = await ws_connect(a, "/attach/dead%d/master" % i)
                self.assertEqual(await ws_recv(ws), WAIT)
                held.append(ws)
            wait_until(lambda: all(self.get("dead%d" % i) != ""
                                   for i in range(5)), what="claims")
            # The whole of a: supervisor and workers, -9.
            pids = list(a.worker_pids().values()) + [a.proc.pid]
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            t0 = time.monotonic()
            wait_until(lambda: all(self.get("dead%d" % i) == ""
                                   for i in range(5)),
                       what="the dead host's claims lapsed")
            self.assertLess(time.monotonic() - t0, 2.0 + 1.0)
            # The other host claims and pairs them at once.
            master, slave = await ws_pair(b, "dead0")
            wait_until(lambda: self.get("dead0").startswith("127.0.0.1:3 "),
                       what="b's claim")
            for ws in [master, slave] + held:
                try:
                    await asyncio.wait_for(ws.close(), TIMEOUT)
                except Exception:
                    pass
        asyncio.run(hold())
        a.proc.wait()



@unittest.skipIf(REDIS is None, "redis-server is not installed")
class ForwardTest(unittest.TestCase):
    """Two hosts on one directory (advertise: the default, the bound
    address): the two sides of each session reach different hosts and
    pair at the owner through the forwarding hop."""

    def setUp(self):
        self.redis = Redis(free_port())
        self.hosts = []
        # The deployment's secret, the same file for both hosts.
        fd, self.secret = tempfile.mkstemp(prefix="medusa-secret-")
        os.write(fd, os.urandom(32))
        os.close(fd)
        os.chmod(self.secret, 0o644)
        if not self._testMethodName.startswith("test_limit"):
            for _ in range(2):
                self.host()

    def host(self, workers=2, **extra):
        m = on_directory(self.redis, workers, dict(
            extra, claim_ttl_s=5, secret_file=self.secret))
        self.hosts.append(m)
        return m

    def tearDown(self):
        for m in self.hosts:
            if m.proc.poll() is None:
                m.stop()
                m.check_clean(self)
        self.redis.stop()
        os.unlink(self.secret)

    def test_sides_on_two_hosts_pair(self):
        a, b = self.hosts
        n = 40

        async def one(i):
            sid = "fwd%d" % i
            first, second = (a, b) if i % 2 else (b, a)
            master = await ws_connect(first, "/attach/%s/master" % sid)
            self.assertEqual(await ws_recv(master), WAIT)
            owner = "127.0.0.1:%d" % first.port
            # Claimed before the WAIT: already there.
            self.assertTrue(self.get(sid).startswith(owner + " "))
            slave = await ws_connect(second, "/attach/%s/slave" % sid)
            self.assertEqual(await ws_recv(slave), LINKUP)
            self.assertEqual(await ws_recv(master), LINKUP)
            data = os.urandom(3000 + i)
            await master.send(data)
            self.assertEqual(await ws_recv(slave), data)
            await slave.send("back %d" % i)
            self.assertEqual(await ws_recv(master), "back %d" % i)
            await master.close()
            await slave.close()

        async def run():
            await asyncio.gather(*(one(i) for i in range(n)))
        asyncio.run(run())
        wait_until(lambda: sum(counters(m)["forwards_out"]
                               for m in self.hosts) == n,
                   what="every second side forwarded")
        wait_until(lambda: sum(counters(m)["forwards_in"]
                               for m in self.hosts) == n,
                   what="every hop believed (REPORT: once a second)")
        self.assertEqual(sum(counters(m)["forwards_refused"]
                             for m in self.hosts), 0)

    def limited(self, key, code):
        """Host b (one worker) with limit key at 3: three attaches
        forwarded from b to a are held there as sessions and connections
        would be, the fourth is refused with the limit's 503 and JSON."""
        a = self.host(workers=1)
        b = self.host(workers=1, **{key: 3})

        async def run():
            held = []
            for i in range(3):
                master = await ws_connect(a, "/attach/lim%d/master" % i)
                self.assertEqual(await ws_recv(master), WAIT)
                slave = await ws_connect(b, "/attach/lim%d/slave" % i)
                self.assertEqual(await ws_recv(slave), LINKUP)
                self.assertEqual(await ws_recv(master), LINKUP)
                held += [master, slave]
            master = await ws_connect(a, "/attach/lim3/master")
            self.assertEqual(await ws_recv(master), WAIT)
            status, got, _ = await asyncio.to_thread(
                refusal, b.port, "/attach/lim3/slave")
            self.assertEqual((status, got), (503, code))
            # The held ones still relay; one gone frees a place.
            await held[1].send("still")
            self.assertEqual(await ws_recv(held[0]), "still")
            await held[1].close()
            await held[0].close()
            await asyncio.sleep(0)
            slave = None
            for _ in range(200):
                try:
                    slave = await ws_connect(b, "/attach/lim3/slave")
                    break
                except Exception:
                    await asyncio.sleep(0.05)   # the splice is closing
            self.assertIsNotNone(slave)
            self.assertEqual(await ws_recv(slave), LINKUP)
            self.assertEqual(await ws_recv(master), LINKUP)
            for ws in held[2:] + [master, slave]:
                await ws.close()
        asyncio.run(run())
        wait_until(lambda: counters(b)["forwards_out"] == 4,
                   what="four forwards counted")

    def test_limit_sessions_counts_forwards(self):
        self.limited("max_sessions_per_worker", "TooManySessions")

    def test_limit_per_address_counts_forwards(self):
        self.limited("max_connections_per_address", "TooManyConnections")

    def get(self, sid):
        return self.redis.cmd("GET", "medusa:s:/" + sid)



if __name__ == "__main__":
    unittest.main()
