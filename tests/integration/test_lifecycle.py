"""
Processes: a worker crash costs only its own shard and the worker comes
back; SIGTERM and SIGINT close every session with 1001; the command line
and configuration are checked; time-outs and pings.
"""
import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from harness import (AsyncTestCase, BIN, TOP, Medusa, RawWS, http_get_json,
                     ids_for_shards, TIMEOUT, until,
                     LINKUP, ws_connect, ws_recv, ws_pair, ws_close_of)


class CrashTest(AsyncTestCase):

    async def test_worker_crash_costs_only_its_shard(self):
        m = Medusa(workers=3)
        try:
            ids = ids_for_shards(3, "crash")
            pairs = [await ws_pair(m, sid) for sid in ids]
            pids = m.worker_pids()
            mark = m.mark()
            os.kill(pids[1], signal.SIGKILL)
            # Both sides of the killed shard's session see it at once.
            for ws in pairs[1]:
                self.assertIsNone(await ws_close_of(ws))
            line = await asyncio.to_thread(m.wait_log, lambda l: l.get("msg") ==
                                           "worker exited" and l.get("shard") == 1,
                                           start=mark)
            self.assertEqual(line["signal"], "Killed")
            self.assertEqual(line["level"], 50)
            # The other shards go on.
            for k in (0, 2):
                master, slave = pairs[k]
                await master.send("still %d" % k)
                self.assertEqual(await ws_recv(slave), "still %d" % k)
                await slave.send(b"back")
                self.assertEqual(await ws_recv(master), b"back")
            # The shard comes back, under a new pid, and pairs again.
            await asyncio.to_thread(m.wait_ready, start=mark, count=1)
            newpids = m.worker_pids()
            self.assertNotEqual(newpids[1], pids[1])
            self.assertEqual((newpids[0], newpids[2]), (pids[0], pids[2]))
            master, slave = await ws_pair(m, ids[1])
            await master.send("reborn")
            self.assertEqual(await ws_recv(slave), "reborn")
            st = m.status()
            self.assertEqual(st["workers"][1]["restarts"], 1)
            for a, b in pairs[0::2] + [(master, slave)]:
                await a.close()
                await b.close()
        finally:
            self.assertEqual(m.stop(), 0)
        m.check_clean(self)

    async def test_workers_exit_when_the_supervisor_dies(self):
        m = Medusa(workers=2)
        pids = list(m.worker_pids().values())
        master, slave = await ws_pair(m, "orphan")
        m.stop(signal.SIGKILL)
        self.assertEqual(await ws_close_of(master), (1001, "server shutting down"))
        for pid in pids:
            await until(lambda: not pid_alive(pid),
                        what="worker %d to exit" % pid)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


class StopTest(AsyncTestCase):

    async def stop_with(self, sig):
        m = Medusa(workers=2)
        ids = ids_for_shards(2, "stop")
        pairs = [await ws_pair(m, sid) for sid in ids]
        lone = await ws_connect(m, "/attach/stop-lone/slave")
        m.proc.send_signal(sig)
        for ws in [w for p in pairs for w in p] + [lone]:
            self.assertEqual(await ws_close_of(ws), (1001, "server shutting down"))
        rc = await asyncio.to_thread(m.stop)
        self.assertEqual(rc, 0)
        m.check_clean(self)

    async def test_sigterm_closes_sessions_with_1001(self):
        await self.stop_with(signal.SIGTERM)

    async def test_sigint_closes_sessions_with_1001(self):
        await self.stop_with(signal.SIGINT)


class TimeoutTest(AsyncTestCase):

    @classmethod
    def setUpClass(cls):
        cls.m = Medusa(workers=1, config={"pairing_timeout_s": 0.5,
                                          "idle_timeout_s": 0.5,
                                          "ping_interval_s": 0.2})

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()
        cls.m.check_clean(unittest.TestCase())

    async def test_pairing_timeout(self):
        slave = await ws_connect(self.m, "/attach/lonely/slave")
        self.assertEqual(await ws_close_of(slave),
                         (1001, "timed out waiting for the peer"))

    async def test_idle_timeout(self):
        master, slave = await ws_pair(self.m, "idle")
        self.assertEqual(await ws_close_of(master), (1001, "idle timeout"))
        self.assertEqual(await ws_close_of(slave), (1001, "idle timeout"))

    async def test_pings_only_to_peers_that_accept_them(self):
        pinged = await RawWS.connect(self.m.port, "/attach/pings/slave",
                                     extra="X-Medusa-Ping: 1\r\n")
        plain = await RawWS.connect(self.m.port, "/attach/pings/master")
        for raw in (pinged, plain):
            self.assertEqual(raw.status, 101)
        f = await pinged.recv_frame()
        self.assertEqual(f[2], LINKUP.encode())
        # Answer three pings; activity keeps the session from idling.
        for i in range(3):
            f = await pinged.recv_frame()
            self.assertEqual(f[1], 9)
            await pinged.send(10, f[2])
            await pinged.send(1, b"tick %d" % i)
        # The plain peer got the relayed ticks, never a ping.
        frames = [await plain.recv_frame() for _ in range(4)]
        self.assertEqual([f[1] for f in frames], [1, 1, 1, 1], frames)
        self.assertEqual([f[2] for f in frames[1:]], [b"tick 0", b"tick 1", b"tick 2"])
        # Stop answering: the reflector gives up on the silent peer.
        self.assertEqual(await plain.recv_close(), (1001, "slave ping timed out"))
        pinged.close()
        plain.close()


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]


@unittest.skipUnless(os.geteuid() == 0, "needs root")
class PrivilegeTest(unittest.TestCase):

    def test_root_drops_to_nobody_before_serving(self):
        m = Medusa(workers=2)
        try:
            line = m.wait_log(lambda l: l.get("msg") == "dropped privileges")
            self.assertEqual((line["user"], line["uid"]), ("nobody", 65534))
            # Real, effective and saved uids: no way back to root.
            self.assertEqual(uid_of(m.proc.pid)[:3], [65534] * 3)
            for pid in m.worker_pids().values():
                self.assertEqual(uid_of(pid)[:3], [65534] * 3)
            st = os.stat(m.admin_socket)
            self.assertEqual((st.st_uid, oct(st.st_mode & 0o777)), (65534, "0o600"))
            # It still serves, and still restarts its workers.
            r = subprocess.run([os.path.join(BIN, "medusactl"), "-S",
                                m.admin_socket, "restart"], capture_output=True,
                               text=True, timeout=TIMEOUT)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            new = [w["pid"] for w in m.status()["workers"]
                   if w["state"] == "ready"]
            self.assertEqual(len(new), 2)
            for pid in new:
                self.assertEqual(uid_of(pid)[:3], [65534] * 3)
        finally:
            self.assertEqual(m.stop(), 0)
        self.assertFalse(os.path.exists(m.admin_socket))

    def test_private_install_directory(self):
        """A checkout nobody can enter (say under /root): the worker binary
        and the config are reached through directories opened as root."""
        d = tempfile.mkdtemp()          # mode 0700, owned by root
        for prog in ("medusa", "medusa-worker"):
            shutil.copy(os.path.join(BIN, prog), os.path.join(d, prog))
        cfg = os.path.join(d, "medusa.json")
        sock = os.path.join(tempfile.gettempdir(), "medusa-priv-%d.sock" % os.getpid())
        with open(cfg, "w") as f:
            json.dump({"bind": "127.0.0.1", "port": 0, "workers": 2,
                       "admin_socket": sock}, f)
        os.chmod(cfg, 0o600)
        from harness import LogProc
        p = LogProc([os.path.join(d, "medusa"), "-f", cfg, "-l", "debug"])
        try:
            p.wait_log(lambda l: l.get("msg") == "worker ready" and
                       l.get("component") == "supervisor", count=2)
            # It says how it reached the binary, and that new builds in a
            # private place are not picked up.
            p.wait_log(lambda l: l.get("msg", "").startswith(
                "this user cannot reach the worker binary"))
            mark = p.mark()
            p.proc.send_signal(signal.SIGHUP)
            p.wait_log(lambda l: l.get("msg", "").startswith(
                "SIGHUP: the configuration's directory is not readable"),
                start=mark)
            p.wait_log(lambda l: l.get("msg") == "configuration reloaded",
                       start=mark)
            p.wait_log(lambda l: l.get("msg") == "rolling restart finished" and
                       l.get("failed") == 0, start=mark)
        finally:
            p.proc.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait_exit(), 0)
            shutil.rmtree(d)

    def test_no_user_keeps_root_and_says_so(self):
        m = Medusa(workers=1, config={"user": ""})
        try:
            m.wait_log(lambda l: l.get("msg") == "running as root: no \"user\" "
                       "is configured")
            self.assertEqual(uid_of(m.proc.pid)[0], 0)
        finally:
            m.stop()


class CommandLineTest(unittest.TestCase):

    def run_medusa(self, *args, config=None):
        path = None
        if config is not None:
            fd, path = tempfile.mkstemp(suffix=".json")
            with os.fdopen(fd, "w") as f:
                f.write(config)
            args = ("-f", path) + args
        try:
            return subprocess.run([os.path.join(BIN, "medusa")] + list(args),
                                  capture_output=True, text=True, timeout=TIMEOUT)
        finally:
            if path:
                os.unlink(path)

    def test_help_and_version(self):
        r = self.run_medusa("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: medusa", r.stdout)
        r = self.run_medusa("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^medusa \d+\.\d+\.\d+")
        r = subprocess.run([os.path.join(BIN, "medusa-worker"), "--help"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        r = subprocess.run([os.path.join(BIN, "medusa-worker")],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2)
        self.assertIn("started by medusa", r.stderr)

    def test_check_config(self):
        r = self.run_medusa("-t", config='{"port": 9000, "workers": 4}')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("valid", r.stdout)
        r = self.run_medusa("-t", "-f", os.path.join(TOP, "etc", "medusa.json"))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_bad_configs_and_flags(self):
        cases = [
            (('-t',), '{"port": 70000}', '"port" must be between'),
            (('-t',), '{"prot": 1}', 'unknown key "prot"'),
            (('-t',), '{"port": "x"}', '"port" must be a number'),
            (('-t',), '{"bind": []}', '"bind" must be'),
            (('-t',), '{"port": 1,}', 'line 1'),
            (('-t',), '[]', 'must be a JSON object'),
            (('-t',), '{"outbound_low_water_bytes": 2000000}', 'below'),
            (('-t',), '{"user": "no-such-user-here"}', 'no such user'),
            (('-t',), '{"user": "nobody", "group": "no-such-group"}',
             'no such group'),
            (('-t', '-p', 'x'), '{}', '-p must be a number'),
            (('-t', '-w', '-1'), '{}', '-w must be a number'),
            (('-t', '-l', 'loud'), '{}', '-l must be'),
            (('-t', '--bogus'), '{}', 'usage'),
            (('-t', 'extra'), '{}', 'unexpected argument'),
        ]
        for args, cfg, want in cases:
            with self.subTest(args=args, cfg=cfg):
                r = self.run_medusa(*args, config=cfg)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(want, r.stderr)
        r = self.run_medusa("-t", "-f", "/nonexistent/medusa.json")
        self.assertEqual(r.returncode, 2)
        self.assertIn("No such file", r.stderr)

    def test_port_in_use_is_a_clear_error(self):
        m = Medusa(workers=1)
        try:
            r = self.run_medusa("-p", str(m.port), config='{"workers": 1}')
            self.assertEqual(r.returncode, 1)
            self.assertIn("cannot listen", r.stderr)
            self.assertIn("Address already in use", r.stderr)
        finally:
            m.stop()


if __name__ == "__main__":
    unittest.main()
