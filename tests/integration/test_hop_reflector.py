"""The owner's side of the hop between reflector hosts (issue 16,
worker/whop.c), under "auth": "signature": an attach carrying a right
X-Medusa-Hop (HMAC-SHA256 with the deployment's secret, computed here by
python3's hmac, time within the window, a fresh nonce) needs no
credential and pairs; a forged one (wrong secret), a stale one, a replayed
one and one on another path are refused with 403 and a JSON body, and
counted in /status (workers[].directory)."""

import asyncio
import hashlib
import hmac
import os
import secrets
import shutil
import tempfile
import time
import unittest

from harness import LINKUP, TIMEOUT, WAIT, Medusa, wait_until, ws_recv
from test_auth import refusal

SECRET = b"hop-test-secret-of-32-bytes-ok!!"


def hop(path, secret=SECRET, ts=None, nonce=None, peer="192.0.2.7",
        method="GET"):
    ts = str(int(time.time()) if ts is None else ts)
    nonce = nonce or secrets.token_hex(16)
    msg = b"\0".join([b"medusa-hop", b"1", method.encode(), path.encode(),
                      ts.encode(), nonce.encode(), peer.encode()])
    mac = hmac.new(secret, msg, hashlib.sha256).hexdigest()
    return "1 %s %s %s %s" % (ts, nonce, peer, mac)


def path(sid, role):
    return "/alice/medusa/attach/%s/%s" % (sid, role)


class HopTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="medusa-hop-")
        os.chmod(cls.tmp, 0o755)
        keys = os.path.join(cls.tmp, "keys")
        os.mkdir(keys)
        os.chmod(keys, 0o755)
        sec = os.path.join(cls.tmp, "secret")
        with open(sec, "wb") as f:
            f.write(SECRET)
        os.chmod(sec, 0o644)
        cls.m = Medusa(workers=2, config={
            "auth": "signature", "keys_dir": keys, "secret_file": sec})

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()
        cls.m.check_clean(unittest.TestCase())
        shutil.rmtree(cls.tmp)

    def counts(self):
        t = {}
        for w in self.m.status()["workers"]:
            for k, v in w["directory"].items():
                t[k] = t.get(k, 0) + v
        return t

    def test_forwarded_attaches(self):
        port = self.m.port
        p = path("h1", "master")
        # No credential, no hop: refused as ever.
        self.assertNotEqual(refusal(port, p)[0], 101)
        # Forged: the mac of another secret.
        self.assertEqual(refusal(port, p, [
            ("X-Medusa-Hop", hop(p, secret=b"x" * 32))])[:2],
            (403, "Forbidden"))
        # Stale: two minutes old, right mac.
        self.assertEqual(refusal(port, p, [
            ("X-Medusa-Hop", hop(p, ts=int(time.time()) - 120))])[:2],
            (403, "Forbidden"))
        # Made for another path.
        self.assertEqual(refusal(port, p, [
            ("X-Medusa-Hop", hop(path("other", "master")))])[:2],
            (403, "Forbidden"))
        # Malformed.
        self.assertEqual(refusal(port, p, [("X-Medusa-Hop", "1 2 3")])[:2],
                         (403, "Forbidden"))

        async def run():
            import websockets

            def ws(pth, value):
                return websockets.connect(
                    "ws://127.0.0.1:%d%s" % (port, pth),
                    extra_headers=[("X-Medusa-Hop", value)],
                    compression=None, ping_interval=None,
                    open_timeout=TIMEOUT)
            mv = hop(p)
            master = await ws(p, mv)
            self.assertEqual(await ws_recv(master), WAIT)
            slave = await ws(path("h1", "slave"), hop(path("h1", "slave")))
            self.assertEqual(await ws_recv(slave), LINKUP)
            self.assertEqual(await ws_recv(master), LINKUP)
            await master.send("over the hop")
            self.assertEqual(await ws_recv(slave), "over the hop")
            # The same header again (a replay): refused.
            got = await asyncio.get_running_loop().run_in_executor(
                None, refusal, port, p, [("X-Medusa-Hop", mv)])
            self.assertEqual(got[:2], (403, "Forbidden"))
            await master.close()
            await slave.close()
        asyncio.run(run())
        wait_until(lambda: self.counts()["forwards_refused"] == 5,
                   what="the refusals counted")
        self.assertEqual(self.counts()["forwards_in"], 2)
        self.m.wait_log(lambda l: l.get("msg") ==
                        "forwarded attach refused")


if __name__ == "__main__":
    unittest.main()
