"""
Operations: a crash costs only its own shard, rolling restarts move live
sessions into new workers without losing a byte, a new worker build takes
effect, an interrupted handoff loses nothing silently, drain and reload,
and medusactl.

The load: sessions streaming sequence-numbered messages both ways, each
receiver checking that every message arrives, in order and intact.
"""
import asyncio
import concurrent.futures
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
                     ids_for_shards, open_fds, quiet_fds, worker_rss_kb, TIMEOUT, VALGRIND, until)

WAIT = 'medusa:{"type":"wait"}'
LINKUP = 'medusa:{"type":"linkup"}'
SANITIZED = "build-san" in BIN
ALT_WORKER = os.environ.get("MEDUSA_ALT_WORKER",
                            os.path.join(TOP, "build", "alt", "medusa-worker"))
# The only build with fault injection (worker/faults.h).
FAULT_WORKER = os.environ.get("MEDUSA_FAULT_WORKER",
                              os.path.join(TOP, "build", "faults", "medusa-worker"))


def fault_worker(tc, **knobs):
    """Medusa() arguments for the fault-injection build of the worker with
    the given MEDUSA_FAULT_* knobs (HANDIN_CRASH=20, ...) in its
    environment."""
    if not os.path.exists(FAULT_WORKER):
        tc.fail("no %s: run make check" % FAULT_WORKER)
    return ({"worker_path": FAULT_WORKER},
            ["env"] + ["MEDUSA_FAULT_%s=%s" % kv for kv in knobs.items()])


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
                await asyncio.sleep(self.period)    # the load's pace
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
        await until(lambda: all(self.dirs[k].got >= base[k] + at_least
                                for k in base), what="sessions to flow")

    async def finish(self, sids):
        """Stop sending; every message sent on sids must have arrived."""
        self.stop.set()
        ds = [self.dirs[(sid, name)] for sid in sids for name in ("m2s", "s2m")]
        late = lambda: [d for d in ds if d.got < d.sent and d.error is None
                        and not d.closed]
        await until(lambda: not late(), what=lambda: "; ".join(
            "%s %s: %d of %d arrived" % (d.sid, d.name, d.got, d.sent)
            for d in late()))

    async def ended(self, sids):
        """Wait until both directions of each of sids have seen the end."""
        ds = [self.dirs[(sid, name)] for sid in sids for name in ("m2s", "s2m")]
        await until(lambda: all(d.closed for d in ds), what=lambda: "%s to end"
                    % ", ".join("%s %s" % (d.sid, d.name) for d in ds
                                if not d.closed))

    async def close(self):
        self.stop.set()
        for a, b in self.conns.values():
            await a.close()
            await b.close()
        for t in self.tasks:
            t.cancel()

    def check_intact(self, tc, sids=None):
        """Every message of sids (all: None) arrived, none was cut."""
        for (sid, _), d in self.dirs.items():
            if sids is None or sid in sids:
                tc.assertEqual((d.error, d.closed, d.got), (None, False, d.sent),
                               sid)

    def max_gap(self, sids):
        return max(self.dirs[(s, n)].max_gap for s in sids for n in ("m2s", "s2m"))


def medusactl(m, *args):
    return subprocess.run([os.path.join(BIN, "medusactl"), "-S", m.admin_socket]
                          + list(args), capture_output=True, text=True,
                          timeout=120)


def all_pids(m, state=None):
    st = m.status()
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
        await load.ended(doomed)
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
        st = m.status()
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
        self.assertIn("sessions moved 200, stayed 0 (could not move 0)", r.stdout)
        after = set(all_pids(m, "ready"))
        self.assertEqual(len(after), 4)
        self.assertFalse(before & after, "every worker was replaced")
        await load.flowing(ids)
        load.measure(False)
        await load.finish(ids)
        load.check_intact(self)
        gap = load.max_gap(ids)
        print("\n  longest pause a session saw during the restart: %.0f ms "
              "(messages every %.0f ms)" % (gap * 1000, load.period * 1000))
        st = m.status()
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
            await until(lambda: get() == want, fail=False)
            return get()
        base_sup = quiet_fds(sup)
        base_table = fd_table(sup)
        base_workers = None
        for i in range(10):
            r = await asyncio.to_thread(medusactl, m, "restart")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            await load.flowing(ids, at_least=2)
            # Only the new workers are left once the old ones drained.
            def four_workers():
                pids = all_pids(m)
                return pids if len(pids) == 4 else None
            pids = await until(four_workers, what="the old workers to drain")
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
        load.check_intact(self)
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
        st = m.status()
        self.assertEqual({w["version"] for w in st["workers"]}, {"0.1.0"})
        # Deploy: the new binary replaces the old file, then SIGHUP.
        shutil.copy(ALT_WORKER, path + ".new")
        os.rename(path + ".new", path)
        mark = m.mark()
        m.proc.send_signal(signal.SIGHUP)
        await asyncio.to_thread(m.wait_log, lambda l: l.get("msg") ==
                                "rolling restart finished", start=mark)
        def two_workers():
            st = m.status()
            return st if len(st["workers"]) == 2 else None
        st = await until(two_workers, what="the old workers to go")
        self.assertEqual({w["version"] for w in st["workers"]}, {"0.1.0-next"})
        self.assertEqual({w["state"] for w in st["workers"]}, {"ready"})
        await load.flowing(ids)
        await load.finish(ids)
        load.check_intact(self)
        await load.close()
        self.assertEqual(m.stop(), 0)
        shutil.rmtree(d)

    async def test_handoff_interrupted_by_the_new_worker_crashing(self):
        config, wrapper = fault_worker(self, HANDIN_CRASH=20)
        m = Medusa(workers=1, config=config, wrapper=wrapper)
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
        moved, stayed = done["moved"], done["stayed"]
        self.assertEqual(done["failed"], 0)
        self.assertEqual(moved + stayed, 100)
        self.assertEqual(moved, 20)
        # The sessions that had moved are logged by name, and ended with
        # the worker that crashed; every other one keeps every byte.
        handed = {l["session"] for l in m.logs[mark:]
                  if l.get("msg") == "session handed off"}
        self.assertEqual(len(handed), moved)
        kept = [s for s in ids if s not in handed]
        await load.ended(handed)
        await load.flowing(kept)
        await load.finish(kept)
        load.check_intact(self, kept)
        self.assertTrue(any(l.get("msg") == "worker exited" and l.get("level") == 50
                            for l in m.logs[mark:]))
        await load.close()
        self.assertEqual(m.stop(), 0)


def worker_script(body):
    """A stand-in worker binary: a shell script in a directory the
    supervisor (run as nobody) can reach; body runs before the real worker
    is exec'd.  Returns (dir, path)."""
    d = tempfile.mkdtemp()
    os.chmod(d, 0o777)
    path = os.path.join(d, "worker")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n%s\nexec %s \"$@\"\n" % (
            body.replace("$D", d), os.path.join(BIN, "medusa-worker")))
    os.chmod(path, 0o755)
    return d, path


async def closed_code(ws):
    """Read until the end: the close code received (None: no CLOSE)."""
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as e:
        return e.rcvd.code if e.rcvd else None


class HandoffFaultTest(AsyncTestCase):
    """What a handoff does when a session cannot move, when the server is
    stopped in the middle of one, and when a restart loses both of a
    shard's workers."""

    @unittest.skipIf(VALGRIND, "under valgrind the ulimit does not bind: "
                     "valgrind keeps the descriptor table itself")
    async def test_a_successor_without_room_refuses_and_sessions_stay(self):
        # The successor starts with so few descriptors that it can take
        # only some sessions (and the kernel may drop the sockets of
        # others): each is refused at once, not left frozen.
        d, path = worker_script('[ -e $D/low ] && ulimit -n 40')
        m = Medusa(workers=1, config={"worker_path": path})
        ids = ["room-%d" % i for i in range(30)]
        load = Load(m, ids)
        await load.start()
        open(os.path.join(d, "low"), "w").close()
        mark = m.mark()
        t0 = time.monotonic()
        r = await asyncio.to_thread(medusactl, m, "restart")
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("restart FAILED", r.stdout)
        done = m.wait_log(lambda l: l.get("msg") == "handoff done", start=mark)
        self.assertGreater(done["failed"], 0)
        self.assertGreater(done["moved"], 0)
        self.assertEqual(done["moved"] + done["stayed"], 30)
        self.assertEqual(done["failed"], done["stayed"])
        self.assertIn("could not move %d" % done["failed"], r.stdout)
        refused = [l for l in m.logs[mark:] if l.get("msg") ==
                   "the successor could not take a session; it stays here"]
        self.assertEqual(len(refused), done["failed"])
        self.assertLess(took, 60)       # (it used to hang for 120 s)
        # Every session, moved or not, keeps every byte.
        await load.flowing(ids)
        await load.finish(ids)
        load.check_intact(self)
        await load.close()
        self.assertEqual(m.stop(), 0)
        m.check_clean(self)
        shutil.rmtree(d)

    async def test_a_session_too_big_to_send_stays_and_the_rest_move(self):
        from harness import RawWS, frame
        m = Medusa(workers=1, config={"max_message_bytes": 20 << 20})
        ids = ["small-%d" % i for i in range(5)]
        load = Load(m, ids)
        await load.start()
        # A master in the middle of a 17 MiB message: its session's state
        # is larger than a control frame can carry.
        big = await RawWS.connect(m.port, "/attach/big/master")
        slave = await websockets.connect(m.url("/attach/big/slave"),
                                         compression=None, max_size=None,
                                         ping_interval=None)
        self.assertEqual(await slave.recv(), LINKUP)
        first = bytes(range(256)) * (17 << 12)
        big.send_raw(frame(2, first, fin=False))
        await big.send(9, b"all in?")          # a ping after it
        while True:
            f = await big.recv_frame()
            if f[1] == 10:
                break
        mark = m.mark()
        r = await asyncio.to_thread(medusactl, m, "restart")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("could not move 1", r.stdout)
        line = m.wait_log(lambda l: l.get("msg") == "a session cannot be sent "
                          "to the successor; it stays here", start=mark)
        self.assertEqual(line["session"], "big")
        self.assertIn("too long", line["error"])
        done = m.wait_log(lambda l: l.get("msg") == "handoff done", start=mark)
        self.assertEqual((done["moved"], done["stayed"], done["failed"]), (5, 1, 1))
        # The big one finishes its message where it is...
        big.send_raw(frame(0, b"the end"))
        got = await asyncio.wait_for(slave.recv(), TIMEOUT)
        self.assertEqual(got, first + b"the end")
        # ...and the others flow on in the new worker.
        await load.flowing(ids)
        await load.finish(ids)
        load.check_intact(self)
        big.close()
        await slave.close()
        await load.close()
        self.assertEqual(m.stop(), 0)
        m.check_clean(self)

    async def test_sigterm_during_a_handoff_closes_everything_with_1001(self):
        # The successor stops itself (SIGSTOP) before it takes the first
        # session: those sent to it wait in the channel, unacknowledged,
        # when the stop comes.
        config, wrapper = fault_worker(self, HANDIN_STOP=0)
        m = Medusa(workers=1, config=dict(config, shutdown_timeout_s=30),
                   wrapper=wrapper)
        conns = []
        for i in range(100):
            a = await websockets.connect(m.url("/attach/term-%d/master" % i),
                                         compression=None, ping_interval=None)
            self.assertEqual(await a.recv(), WAIT)
            b = await websockets.connect(m.url("/attach/term-%d/slave" % i),
                                         compression=None, ping_interval=None)
            self.assertEqual(await b.recv(), LINKUP)
            while await a.recv() != LINKUP:
                pass
            conns += [a, b]
        old = m.worker_pids()[0]
        mark = m.mark()
        m.proc.send_signal(signal.SIGHUP)
        line = await asyncio.to_thread(
            m.wait_log, lambda l: l.get("msg") == "fault injection: stopping "
            "half-way through a hand-in", start=mark)
        new = line["pid"]
        self.assertNotEqual(new, old)
        try:
            m.proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(
                m.wait_log, lambda l: l.get("msg") == "shutting down during a "
                "handoff; the sessions not yet moved close here", start=mark)
        finally:
            os.kill(new, signal.SIGCONT)
        codes = await asyncio.gather(*(closed_code(ws) for ws in conns))
        self.assertEqual(set(codes), {1001})
        self.assertEqual(m.wait_exit(), 0)
        m.check_clean(self)
        os.unlink(m.config_path)

    async def test_a_restart_that_loses_both_workers_still_leaves_one(self):
        # The new build fails to start (once told to); meanwhile the old
        # worker dies.  The shard must get a worker again, not stay empty.
        # (Its line on stderr reaches the supervisor's log stream.)
        d, path = worker_script(
            '[ -e $D/fail ] && { echo \'{"msg": "stand-in failing"}\' >&2; '
            'while [ ! -e $D/go ]; do sleep 0.02; done; exit 1; }')
        m = Medusa(workers=1, config={"worker_path": path})
        old = m.worker_pids()[0]
        open(os.path.join(d, "fail"), "w").close()
        mark = m.mark()
        m.proc.send_signal(signal.SIGHUP)
        await asyncio.to_thread(m.wait_log, lambda l: l.get("msg") ==
                                "stand-in failing", start=mark)
        os.kill(old, signal.SIGKILL)
        await asyncio.to_thread(m.wait_log, lambda l: l.get("msg") ==
                                "worker exited" and l.get("worker_pid") == old,
                                start=mark)
        os.unlink(os.path.join(d, "fail"))
        open(os.path.join(d, "go"), "w").close()   # the starting one exits
        await asyncio.to_thread(m.wait_log, lambda l: l.get("msg") ==
                                "rolling restart finished", start=mark)
        line = await asyncio.to_thread(
            m.wait_log, lambda l: l.get("msg") == "worker ready" and
            l.get("component") == "supervisor", start=mark)
        self.assertNotEqual(line["worker_pid"], old)
        a = await websockets.connect(m.url("/attach/back/master"))
        self.assertEqual(await a.recv(), WAIT)
        b = await websockets.connect(m.url("/attach/back/slave"))
        self.assertEqual(await b.recv(), LINKUP)
        await a.close()
        await b.close()
        self.assertEqual(m.stop(), 0)
        m.check_clean(self)
        shutil.rmtree(d)


class AttachBatchTest(AsyncTestCase):

    async def test_held_attaches_go_to_the_worker_in_batches(self):
        # The worker starts only when told: meanwhile 20 sessions' 40
        # connections are held, and then go to it together, as
        # ATTACH_BATCHes of at most 16 (16, 16, 8); every session pairs
        # and relays.
        d, path = worker_script('while [ ! -e $D/go ]; do sleep 0.02; done')
        m = Medusa(workers=1, config={"worker_path": path,
                                      "hold_timeout_s": 60},
                   wait_ready=False)
        mark = m.mark()
        n = 20
        pending = {}
        for i in range(n):
            for role in ("master", "slave"):
                pending[(i, role)] = asyncio.ensure_future(websockets.connect(
                    m.url("/attach/batch-%d/%s" % (i, role)),
                    compression=None, ping_interval=None,
                    open_timeout=TIMEOUT))
        await asyncio.to_thread(
            m.wait_log, lambda l: l.get("msg") ==
            "holding an attach for its shard's worker", start=mark, count=2 * n)
        open(os.path.join(d, "go"), "w").close()
        ws = {k: await f for k, f in pending.items()}
        sizes = []
        for _ in range(3):
            line = await asyncio.to_thread(
                m.wait_log, lambda l: l.get("msg") ==
                "attaches received together", start=mark, count=len(sizes) + 1)
            sizes.append(line["connections"])
        self.assertEqual(sorted(sizes), [8, 16, 16])
        for i in range(n):
            a, b = ws[(i, "master")], ws[(i, "slave")]
            self.assertEqual(await asyncio.wait_for(b.recv(), TIMEOUT), LINKUP)
            while await asyncio.wait_for(a.recv(), TIMEOUT) != LINKUP:
                pass
            await a.send(b"to %d" % i)
            self.assertEqual(await asyncio.wait_for(b.recv(), TIMEOUT),
                             b"to %d" % i)
            await b.send("back %d" % i)
            self.assertEqual(await asyncio.wait_for(a.recv(), TIMEOUT),
                             "back %d" % i)
            await a.close()
            await b.close()
        self.assertEqual(m.stop(), 0)
        m.check_clean(self)


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
        self.assertEqual(m.status()["health"], "draining")
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
            # A configuration or socket path that cannot be used is an
            # error, not a silent fallback to the default socket.
            for args, err in ((("-f", "/nonexistent.json"), "/nonexistent.json"),
                              (("-S", "/tmp/" + "x" * 200), "too long")):
                r = subprocess.run([os.path.join(BIN, "medusactl")] +
                                   list(args) + ["status"],
                                   capture_output=True, text=True)
                self.assertEqual(r.returncode, 2, args)
                self.assertIn(err, r.stderr)
        finally:
            self.assertEqual(m.stop(), 0)
        self.assertFalse(os.path.exists(m.admin_socket))

    def test_a_status_larger_than_one_reply(self):
        # About 5 MB of JSON: it comes in pieces, and medusactl joins them.
        n = 4500
        m = Medusa(workers=2, config={"max_id_length": 1024,
                                      "max_connections_per_address": 10000},
                   level="info")
        ids = ["%05d" % i + "x" * 995 for i in range(n)]
        socks = []
        try:
            socks = waiting_masters(m, ids)
            r = medusactl(m, "--json", "sessions")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertGreater(len(r.stdout), 4 << 20)
            doc = json.loads(r.stdout)
            self.assertEqual(sorted(x["id"] for x in doc["sessions"]["sessions"]),
                             sorted(ids))
        finally:
            for s in socks:
                s.close()
            self.assertEqual(m.stop(), 0)

    def test_status_replies_wait_for_room_and_none_is_lost(self):
        # A worker with a control queue of 256 KiB, 1,200 sessions with
        # 200-byte ids (some 280 KB of STATUS_REPLY per query) and eight
        # queries at once.  Queued whole, the replies overflowed the queue
        # and chunks were dropped: those queries waited out their 2 s and
        # lacked sessions.  Paced, each query gets every session.
        config, wrapper = fault_worker(self, CTL_QMAX=256 << 10)
        m = Medusa(workers=1, config=dict(config, max_id_length=256,
                                          max_connections_per_address=10000),
                   wrapper=wrapper, level="info")
        ids = ["%04d" % i + "y" * 196 for i in range(1200)]
        socks = []
        try:
            socks = waiting_masters(m, ids)
            mark = m.mark()
            with concurrent.futures.ThreadPoolExecutor(8) as ex:
                docs = list(ex.map(lambda _: m.status(),
                                   range(8)))
            for doc in docs:
                self.assertEqual(sorted(x["id"] for x in
                                        doc["sessions"]["sessions"]), sorted(ids))
            self.assertEqual([l for l in m.logs[mark:] if l.get("msg") ==
                              "status: some workers did not answer in time"], [])
        finally:
            for s in socks:
                s.close()
            self.assertEqual(m.stop(), 0)
        m.check_clean(self)


def waiting_masters(m, ids):
    """A raw socket per id, each a master waiting for its slave (its 101
    and first "wait" read): many sessions for few descriptors' worth of
    client."""
    import resource
    import socket
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE,
                       (max(soft, min(hard, 2 * len(ids) + 512)), hard))
    socks = []
    for sid in ids:
        s = socket.create_connection(("127.0.0.1", m.port), TIMEOUT)
        s.sendall(("GET /attach/%s/master HTTP/1.1\r\nHost: t\r\nUpgrade: websocket"
                   "\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                   "dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" % sid).encode())
        socks.append(s)
    for s in socks:
        s.settimeout(TIMEOUT)
        got = b""
        while b"wait" not in got:
            d = s.recv(4096)
            assert d, "closed before its first wait"
            got += d
    return socks


if __name__ == "__main__":
    unittest.main()
