"""
systemd's notification protocol, with a fake manager: the test binds a
datagram socket, starts medusa with NOTIFY_SOCKET naming it, and reads what
arrives (and from which pid, SCM_CREDENTIALS, since systemd's default
NotifyAccess=main accepts only the main process's).  READY=1 once every
worker is ready, RELOADING=1 then READY=1 around a rolling restart (SIGHUP
and medusactl restart), STOPPING=1 on SIGTERM; the workers do not inherit
NOTIFY_SOCKET.  And the shipped unit passes systemd-analyze verify.
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import unittest

from harness import BIN, TIMEOUT, LogProc, http_get_json

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class FakeManager:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="medusa-notify-")
        os.chmod(self.dir, 0o755)  # medusa may run as nobody
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)

    def recv(self, timeout=TIMEOUT):
        """(pid, text) of the next datagram."""
        self.sock.settimeout(timeout)
        data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = None
        for level, kind, body in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", body[:12])[0]
        return pid, data.decode()

    def expect_none(self):
        self.sock.setblocking(False)
        try:
            data = self.sock.recv(4096)
        except BlockingIOError:
            return
        finally:
            self.sock.setblocking(True)
        raise AssertionError("unexpected notification: %r" % data)

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir)


class TestSdNotify(unittest.TestCase):

    def test_notifications(self):
        mgr = FakeManager()
        self.addCleanup(mgr.close)
        fd, cfg = tempfile.mkstemp(prefix="medusa-", suffix=".json")
        sock = cfg[:-5] + ".sock"
        with os.fdopen(fd, "w") as f:
            json.dump({"bind": "127.0.0.1", "port": 0, "auth": "none",
                       "status_listen": "127.0.0.1:0",
                       "admin_socket": sock}, f)
        os.chmod(cfg, 0o644)
        self.addCleanup(os.unlink, cfg)
        env = dict(os.environ, NOTIFY_SOCKET=mgr.path)
        m = LogProc([os.path.join(BIN, "medusa"), "-f", cfg, "-w", "3",
                     "-l", "debug"], env=env)
        self.addCleanup(lambda: m.proc.poll() is None and m.proc.kill())
        sup = m.proc.pid

        pid, text = mgr.recv()
        self.assertEqual(pid, sup)
        self.assertEqual(text.split("\n"), ["READY=1",
                                            "STATUS=3 workers ready"])
        m.wait_log(lambda l: l.get("msg") == "worker ready", count=3)
        status_port = m.wait_log(lambda l: l.get("msg") == "listening" and
                                 l.get("listener") == "status")["port"]
        st = http_get_json(status_port, "/status")
        self.assertEqual(len(st["workers"]), 3)
        for w in st["workers"]:
            with open("/proc/%d/environ" % w["pid"], "rb") as f:
                self.assertNotIn(b"NOTIFY_SOCKET=", f.read())
        mgr.expect_none()

        # SIGHUP: reload and roll.
        mark = m.mark()
        m.proc.send_signal(signal.SIGHUP)
        self.assertEqual(mgr.recv(), (sup, "RELOADING=1"))
        self.assertEqual(mgr.recv(), (sup, "READY=1"))
        m.wait_msg("rolling restart finished", start=mark)

        # medusactl restart: the same.
        mark = m.mark()
        r = subprocess.run([os.path.join(BIN, "medusactl"), "-S", sock,
                            "restart"], capture_output=True, text=True,
                           timeout=TIMEOUT * 3)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(mgr.recv(), (sup, "RELOADING=1"))
        self.assertEqual(mgr.recv(), (sup, "READY=1"))
        mgr.expect_none()

        m.proc.send_signal(signal.SIGTERM)
        self.assertEqual(mgr.recv(), (sup, "STOPPING=1"))
        self.assertEqual(m.wait_exit(), 0)
        m.check_clean(self)

    @unittest.skipIf(shutil.which("systemd-analyze") is None,
                     "systemd-analyze missing")
    def test_unit_verifies(self):
        # verify checks that ExecStart's binary exists: the built one
        # stands in for /usr/bin/medusa; --man=no, the pages not being
        # installed here (test_docs lints them).
        d = tempfile.mkdtemp(prefix="medusa-unit-")
        self.addCleanup(shutil.rmtree, d)
        with open(os.path.join(TOP, "etc", "medusa.service")) as f:
            unit = f.read()
        self.assertIn("Type=notify", unit)
        self.assertIn("RuntimeDirectory=medusa", unit)
        unit = unit.replace("/usr/bin/medusa", os.path.join(BIN, "medusa"))
        path = os.path.join(d, "medusa.service")
        with open(path, "w") as f:
            f.write(unit)
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                           capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))


if __name__ == "__main__":
    unittest.main()
