"""
Operations: a crash costs only its own shard, rolling restarts move live
sessions into new workers without losing a byte, a new worker build takes
effect, an interrupted handoff loses nothing silently, drain and reload,
and medusactl.

The load: sessions streaming sequence-numbered messages both ways, each
receiver checking that every message arrives, in order and intact.
"""
import asyncio
import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

import websockets

from harness import (AsyncTestCase, BIN, SLOW, TOP, Medusa, fd_table, http_get, http_get_json,
                     ids_for_shards, open_fds, worker_rss_kb, TIMEOUT, VALGRIND)

WAIT = 'medusa:{"type":"wait"}'
LINKUP = 'medusa:{"type":"linkup"}'
SANITIZED = "build-san" in BIN
ALT_WORKER = os.environ.get("MEDUSA_ALT_WORKER",
                            os.path.join(TOP, "build", "alt", "medusa-worker"))


def payload(sid, direction, seq):
    body = ("%s:%s:%d:" % (sid, direction, seq)).encode()
    return body + bytes((seq + i) & 0xff for i in range(64 + seq % 200))


class Direction:
    """One side sending sequence-numbered messages, the other checking."""

    def __init__(self, sid, name, tx, rx, period):
        self.sid, self.name, self.tx, self.rx = sid, name, tx, rx
        self.period = period
        self.sent = 0
        self.got = 0
        self.error = None
        self.closed = False
        self.last = None
        self.max_gap = 0.0
        self.measuring = False

    async def send(self, stop):
        try:
            while not stop.is_set():
                await self.tx.send(payload(self.sid, self.name, self.sent))
                self.sent += 1
                await asyncio.sleep(self.period)
        except websockets.ConnectionClosed:
            self.closed = True

    async def receive(self):
        try:
            while True:
                m = await self.rx.recv()
                now = time.monotonic()
                if m != payload(self.sid, self.name, self.got):
                    self.error = "message %d wrong: %r" % (self.got, m[:40])
                    return
                if self.measuring and self.last is not None:
                    self.max_gap = max(self.max_gap, now - self.last)
                self.last = now
                self.got += 1
        except websockets.ConnectionClosed:
            self.closed = True


class Load:
    """n sessions streaming both ways at `rate` messages a second each."""

    def __init__(self, m, ids, rate=10):
        self.m, self.ids, self.period = m, ids, 1.0 / rate
        self.dirs = {}
        self.conns = {}
        self.stop = asyncio.Event()
        self.tasks = []

    async def start(self):
        for sid in self.ids:
            a = await websockets.connect(self.m.url("/attach/%s/master" % sid),
                                         compression=None, ping_interval=None,
                                         open_timeout=TIMEOUT)
            assert await a.recv() == WAIT
            b = await websockets.connect(self.m.url("/attach/%s/slave" % sid),
                                         compression=None, ping_interval=None,
                                         open_timeout=TIMEOUT)
            assert await b.recv() == LINKUP
            while await a.recv() != LINKUP:
                pass
            self.conns[sid] = (a, b)
            for d in (Direction(sid, "m2s", a, b, self.period),
                      Direction(sid, "s2m", b, a, self.period)):
                self.dirs[(sid, d.name)] = d
                self.tasks.append(asyncio.ensure_future(d.send(self.stop)))
                self.tasks.append(asyncio.ensure_future(d.receive()))

    def measure(self, on):
        for d in self.dirs.values():
            d.measuring = on

    async def flowing(self, sids, at_least=3):
        """Wait until every direction of sids has received at_least more."""
        base = {k: d.got for k, d in self.dirs.items() if k[0] in sids}
        deadline = time.monotonic() + TIMEOUT
        while any(self.dirs[k].got < base[k] + at_least for k in base):
            if time.monotonic() > deadline:
                raise AssertionError("sessions stopped flowing")
            await asyncio.sleep(0.05)

    async def finish(self, sids):
        """Stop sending; every message sent on sids must have arrived."""
        self.stop.set()
        deadline = time.monotonic() + TIMEOUT
        for sid in sids:
            for name in ("m2s", "s2m"):
                d = self.dirs[(sid, name)]
                while d.got < d.sent and d.error is None and not d.closed:
                    if time.monotonic() > deadline:
                        raise AssertionError("%s %s: %d of %d arrived" %
                                             (sid, name, d.got, d.sent))
                    await asyncio.sleep(0.02)

    async def close(self):
        self.stop.set()
        for a, b in self.conns.values():
            await a.close()
            await b.close()
        for t in self.tasks:
            t.cancel()

    def max_gap(self, sids):
        return max(self.dirs[(s, n)].max_gap for s in sids for n in ("m2s", "s2m"))


def medusactl(m, *args):
    return subprocess.run([os.path.join(BIN, "medusactl"), "-S", m.admin_socket]
                          + list(args), capture_output=True, text=True,
                          timeout=120)


def all_pids(m, state=None):
    st = http_get_json(m.port, "/status")
    return [w["pid"] for w in st["workers"] if w["pid"] is not None and
            (state is None or w["state"] == state)]


class CrashTest(AsyncTestCase):

    async def test_kill9_costs_only_its_shard_under_load(self):
        m = Medusa(workers=4, config={"hold_timeout_s": min(60, SLOW)})
        ids = ["load-%d" % i for i in range(200)]
        load = Load(m, ids)
        await load.start()
        await load.flowing(ids)
        victim = 2
        pid = m.worker_pids()[victim]
        doomed = [s for s in ids if self.shard(s) == victim]
        others = [s for s in ids if self.shard(s) != victim]
        self.assertTrue(doomed and others)
        mark = m.mark()
        t0 = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        # Once the supervisor has seen the death, a new session on that
        # shard pairs as soon as it can: the attach is held until the new
        # worker is ready.  (One routed at the very moment of the crash
        # belongs to the crashed shard.)
        await asyncio.to_thread(m.wait_log, lambda l: l.get("msg") ==
                                "worker exited" and l.get("worker_pid") == pid,
                                start=mark)
        sid = ids_for_shards(4, "after-crash")[victim]
        a = await websockets.connect(m.url("/attach/%s/master" % sid),
                                     compression=None, open_timeout=TIMEOUT)
        self.assertEqual(await a.recv(), WAIT)
        b = await websockets.connect(m.url("/attach/%s/slave" % sid),
                                     compression=None, open_timeout=TIMEOUT)
        self.assertEqual(await b.recv(), LINKUP)
        back = time.monotonic() - t0
        print("\n  crashed shard served again after %.0f ms" % (back * 1000))
        self.assertLess(back, 1.0 * SLOW)
        # Both sides of the killed shard's sessions saw it end.
        for s in doomed:
            for n in ("m2s", "s2m"):
                d = load.dirs[(s, n)]
                deadline = time.monotonic() + TIMEOUT
                while not d.closed and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                self.assertTrue(d.closed, "%s %s still open" % (s, n))
        # Every other session keeps every byte.
        await load.flowing(others)
        await load.finish(others)
        for s in others:
            for n in ("m2s", "s2m"):
                d = load.dirs[(s, n)]
                self.assertIsNone(d.error)
                self.assertFalse(d.closed)
                self.assertEqual(d.got, d.sent)
        line = m.wait_log(lambda l: l.get("msg") == "worker exited" and
                          l.get("worker_pid") == pid, start=mark)
        self.assertEqual((line["level"], line["signal"]), (50, "Killed"))
        await a.close()
        await b.close()
        await load.close()
        self.assertEqual(m.stop(), 0)
        m.check_clean(self)

    @staticmethod
    def shard(sid):
        from harness import fnv1a
        return fnv1a(sid) % 4

    async def test_a_worker_that_keeps_dying_marks_its_shard_failed(self):
        # The first two workers are real; every later start dies at once.
        d = tempfile.mkdtemp()
        os.chmod(d, 0o777)     # the workers run as nobody
        counter = os.path.join(d, "n")
        script = os.path.join(d, "worker")
        with open(script, "w") as f:
            # Appending a line and counting them is race-free: the first
            # two starts (which run at once) see 1 and 2.
            f.write('#!/bin/sh\necho x >> %s\nn=$(wc -l < %s)\n'
                    '[ "$n" -le 2 ] && exec %s\nexit 1\n'
                    % (counter, counter, os.path.join(BIN, "medusa-worker")))
        os.chmod(script, 0o755)    # run by the supervisor, as nobody
        m = Medusa(workers=2, config={"worker_path": script})
        ids = ids_for_shards(2, "failing")
        os.kill(m.worker_pids()[1], signal.SIGKILL)
        m.wait_log(lambda l: l.get("msg") == "shard failed: its worker keeps dying")
        st = http_get_json(m.port, "/status")
        self.assertEqual(st["health"], "degraded")
        states = {w["shard"]: w["state"] for w in st["workers"]}
        self.assertEqual(states, {0: "ready", 1: "failed"})
        status, headers, body = http_get(m.port, "/attach/%s/master" % ids[1], {
            "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        self.assertEqual(status, 503)
        # The other shard serves on.
        a = await websockets.connect(m.url("/attach/%s/master" % ids[0]))
        b = await websockets.connect(m.url("/attach/%s/slave" % ids[0]))
        self.assertEqual(await b.recv(), LINKUP)
        await a.close()
        await b.close()
        self.assertEqual(m.stop(), 0)
        shutil.rmtree(d)


class RestartTest(AsyncTestCase):

    async def test_rolling_restart_under_load_loses_nothing(self):
        m = Medusa(workers=4)
        ids = ["roll-%d" % i for i in range(200)]
        load = Load(m, ids)
        await load.start()
        await load.flowing(ids)
        before = set(all_pids(m, "ready"))
        load.measure(True)
        r = await asyncio.to_thread(medusactl, m, "restart")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("restart done: 4 shards, 0 failed", r.stdout)
        self.assertIn("sessions moved 200, stayed 0, lost 0", r.stdout)
        after = set(all_pids(m, "ready"))
        self.assertEqual(len(after), 4)
        self.assertFalse(before & after, "every worker was replaced")
        await load.flowing(ids)
        load.measure(False)
        await load.finish(ids)
        for d in load.dirs.values():
            self.assertIsNone(d.error, d.sid)
            self.assertFalse(d.closed, d.sid)
            self.assertEqual(d.got, d.sent, d.sid)
        gap = load.max_gap(ids)
        print("\n  longest pause a session saw during the restart: %.0f ms "
              "(messages every %.0f ms)" % (gap * 1000, load.period * 1000))
        st = http_get_json(m.port, "/status")
        self.assertEqual(len([s for s in st["sessions"]["sessions"]
                              if s["state"] == "forwarding"]), 200)
        await load.close()
        self.assertEqual(m.stop(), 0)
        m.check_clean(self)

    async def test_ten_restarts_keep_fds_and_memory_flat(self):
        m = Medusa(workers=4)
        ids = ["flat-%d" % i for i in range(100)]
        load = Load(m, ids)
        await load.start()
        sup = m.proc.pid
        samples = []

        async def settled(get, want):
            # Connections being torn down (the last medusactl, a /status)
            # close a moment later: wait for the count, then read it.
            deadline = time.monotonic() + 5
            while get() != want and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            return get()
        base_sup = open_fds(sup)
        base_table = fd_table(sup)
        base_workers = None
        for i in range(10):
            r = await asyncio.to_thread(medusactl, m, "restart")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            await load.flowing(ids, at_least=2)
            # Only the new workers are left once the old ones drained.
            deadline = time.monotonic() + TIMEOUT
            while len(all_pids(m)) != 4 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            pids = all_pids(m)
            wfds = sum(open_fds(p) for p in pids)
            if base_workers is None:
                base_workers = wfds
            samples.append((await settled(lambda: open_fds(sup), base_sup),
                            worker_rss_kb(sup),
                            await settled(lambda: sum(open_fds(p) for p in pids),
                                          base_workers),
                            sum(worker_rss_kb(p) for p in pids)))
        print("\n  after restart 2 and 10: supervisor fds %d/%d, rss %d/%d KiB; "
              "workers fds %d/%d, rss %d/%d KiB" % (
                  samples[1][0], samples[9][0], samples[1][1], samples[9][1],
                  samples[1][2], samples[9][2], samples[1][3], samples[9][3]))
        self.assertEqual(samples[9][0], samples[1][0], "supervisor fds: %r "
                         "then %r" % (base_table, fd_table(sup)))
        self.assertEqual(samples[9][2], samples[1][2])
        if not SANITIZED and not VALGRIND:
            # (AddressSanitizer's quarantine grows memory by design.)
            self.assertLess(samples[9][1], samples[1][1] + 2048)
            self.assertLess(samples[9][3], samples[1][3] * 1.25 + 4096)
        await load.finish(ids)
        for d in load.dirs.values():
            self.assertEqual((d.error, d.closed, d.got), (None, False, d.sent))
        await load.close()
        self.assertEqual(m.stop(), 0)
        m.check_clean(self)

    async def test_a_new_worker_build_takes_effect(self):
        if not os.path.exists(ALT_WORKER):
            self.fail("no %s: run make test" % ALT_WORKER)
        d = tempfile.mkdtemp()
        os.chmod(d, 0o755)     # the workers run as nobody
        path = os.path.join(d, "medusa-worker")
        shutil.copy(os.path.join(BIN, "medusa-worker"), path)
        m = Medusa(workers=2, config={"worker_path": path})
        ids = ["build-%d" % i for i in range(40)]
        load = Load(m, ids)
        await load.start()
        st = http_get_json(m.port, "/status")
        self.assertEqual({w["version"] for w in st["workers"]}, {"0.1.0"})
        # Deploy: the new binary replaces the old file, then SIGHUP.
        shutil.copy(ALT_WORKER, path + ".new")
        os.rename(path + ".new", path)
        mark = m.mark()
        m.proc.send_signal(signal.SIGHUP)
        await asyncio.to_thread(m.wait_log, lambda l: l.get("msg") ==
                                "rolling restart finished", start=mark)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            st = http_get_json(m.port, "/status")
            if len(st["workers"]) == 2:
                break
            await asyncio.sleep(0.05)
        self.assertEqual({w["version"] for w in st["workers"]}, {"0.1.0-next"})
        self.assertEqual({w["state"] for w in st["workers"]}, {"ready"})
        await load.flowing(ids)
        await load.finish(ids)
        for dd in load.dirs.values():
            self.assertEqual((dd.error, dd.closed, dd.got), (None, False, dd.sent))
        await load.close()
        self.assertEqual(m.stop(), 0)
        shutil.rmtree(d)

    async def test_handoff_interrupted_by_the_new_worker_crashing(self):
        env = dict(os.environ, MEDUSA_FAULT_HANDIN_CRASH="20")
        m = Medusa(workers=1, wrapper=["env", "MEDUSA_FAULT_HANDIN_CRASH=20"])
        ids = ["intr-%d" % i for i in range(100)]
        load = Load(m, ids)
        await load.start()
        old = m.worker_pids()[0]
        mark = m.mark()
        r = await asyncio.to_thread(medusactl, m, "restart")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("handoff aborted", r.stdout)
        self.assertIn("restart FAILED", r.stdout)
        # The old worker serves the shard again, with what it kept.
        self.assertEqual(m.worker_pids()[0], old)
        done = m.wait_log(lambda l: l.get("msg") == "handoff aborted", start=mark)
        moved, stayed, lost = done["moved"], done["stayed"], done["lost"]
        self.assertEqual(moved + stayed + lost, 100)
        self.assertEqual(moved, 20)
        # The sessions that had moved are logged by name, and ended with
        # the worker that crashed; every other one keeps every byte.
        handed = {l["session"] for l in m.logs[mark:]
                  if l.get("msg") == "session handed off"}
        self.assertEqual(len(handed), moved)
        kept = [s for s in ids if s not in handed]
        for s in handed:
            for n in ("m2s", "s2m"):
                d = load.dirs[(s, n)]
                deadline = time.monotonic() + TIMEOUT
                while not d.closed and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                self.assertTrue(d.closed)
        await load.flowing(kept)
        await load.finish(kept)
        for s in kept:
            for n in ("m2s", "s2m"):
                d = load.dirs[(s, n)]
                self.assertEqual((d.error, d.closed, d.got), (None, False, d.sent))
        self.assertTrue(any(l.get("msg") == "worker exited" and l.get("level") == 50
                            for l in m.logs[mark:]))
        await load.close()
        self.assertEqual(m.stop(), 0)
        del env


class DrainAndReloadTest(AsyncTestCase):

    async def test_sigquit_drains_then_exits(self):
        m = Medusa(workers=2)
        a = await websockets.connect(m.url("/attach/drain-1/master"))
        self.assertEqual(await a.recv(), WAIT)
        b = await websockets.connect(m.url("/attach/drain-1/slave"))
        self.assertEqual(await b.recv(), LINKUP)
        waiting = await websockets.connect(m.url("/attach/drain-2/master"))
        self.assertEqual(await waiting.recv(), WAIT)
        mark = m.mark()
        m.proc.send_signal(signal.SIGQUIT)
        await asyncio.to_thread(m.wait_log, lambda l: l.get("msg") == "draining"
                                and l.get("component") == "worker", start=mark,
                                count=2)
        # No new sessions...
        st, _, body = http_get(m.port, "/attach/drain-3/master", {
            "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        self.assertEqual(st, 503)
        self.assertEqual(http_get_json(m.port, "/status")["health"], "draining")
        # ...but the waiting one may still pair, and live ones go on.
        w2 = await websockets.connect(m.url("/attach/drain-2/slave"))
        self.assertEqual(await w2.recv(), LINKUP)
        await a.send("still flowing")
        self.assertEqual(await b.recv(), "still flowing")
        self.assertIsNone(m.proc.poll())
        for ws in (a, b, waiting, w2):
            await ws.close()
        rc = await asyncio.to_thread(m.proc.wait, TIMEOUT)
        self.assertEqual(rc, 0)
        m.stop()

    async def test_sighup_reloads_what_it_can(self):
        m = Medusa(workers=1, config={"pairing_timeout_s": 600})
        with open(m.config_path) as f:
            cfg = json.load(f)
        cfg.update({"pairing_timeout_s": 0.3, "port": 1, "log_level": "debug"})
        with open(m.config_path, "w") as f:
            json.dump(cfg, f)
        mark = m.mark()
        m.proc.send_signal(signal.SIGHUP)
        await asyncio.to_thread(m.wait_log, lambda l: l.get("msg") ==
                                "SIGHUP: port needs a full restart", start=mark)
        await asyncio.to_thread(m.wait_log, lambda l: l.get("msg") ==
                                "rolling restart finished", start=mark)
        # Still on its port; the new pairing time-out is in force.
        ws = await websockets.connect(m.url("/attach/reload/slave"))
        with self.assertRaises(websockets.ConnectionClosed) as cc:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        self.assertEqual(cc.exception.rcvd.reason, "timed out waiting for the peer")
        # A broken file is refused with a log line, and nothing changes.
        with open(m.config_path, "w") as f:
            f.write("{broken")
        mark = m.mark()
        m.proc.send_signal(signal.SIGHUP)
        await asyncio.to_thread(m.wait_log, lambda l: l.get("msg") ==
                                "SIGHUP: configuration not reloaded; workers not "
                                "restarted", start=mark)
        self.assertEqual(m.stop(), 0)


class MedusactlTest(unittest.TestCase):

    def test_status_sessions_and_errors(self):
        m = Medusa(workers=2)
        try:
            mode = stat.S_IMODE(os.stat(m.admin_socket).st_mode)
            self.assertEqual(mode, 0o600)
            r = medusactl(m, "status")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("health: ok", r.stdout)
            self.assertEqual(len([l for l in r.stdout.splitlines()
                                  if " ready " in l]), 2)
            r = medusactl(m, "--json", "sessions")
            self.assertEqual(json.loads(r.stdout)["sessions"]["sessions"], [])
            r = medusactl(m, "restart", "--shard", "9")
            self.assertEqual(r.returncode, 1)
            self.assertIn("no shard 9", r.stdout)
            for args in (("bogus",), ("status", "--shard", "1"), ()):
                r = medusactl(m, *args)
                self.assertEqual(r.returncode, 2, args)
            r = subprocess.run([os.path.join(BIN, "medusactl"), "-S",
                                "/nonexistent/sock", "status"],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("cannot connect to /nonexistent/sock", r.stderr)
        finally:
            self.assertEqual(m.stop(), 0)
        self.assertFalse(os.path.exists(m.admin_socket))


if __name__ == "__main__":
    unittest.main()
