"""
Level ERROR (50) only when an operator must act: a clean rolling restart
(SIGHUP and medusactl restart) with live sessions, then a drain, logs
nothing at ERROR or above, from the supervisor or any worker (they share
its stderr).  Before the fix a retiring worker that finished and closed
its control channel was "killed" at ERROR ("control channel closed").
"""

import asyncio
import os
import signal
import subprocess
import unittest

from harness import BIN, TIMEOUT, Medusa, ws_pair


class TestQuietOperations(unittest.TestCase):

    def test_no_error_over_restarts_and_drain(self):
        m = Medusa(workers=2)
        self.addCleanup(lambda: m.proc.poll() is None and m.stop())

        async def run():
            pairs = [await ws_pair(m, "quiet%d" % i) for i in range(4)]
            mark = m.mark()
            m.proc.send_signal(signal.SIGHUP)
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: m.wait_msg("rolling restart finished",
                                         start=mark, timeout=TIMEOUT * 3))
            r = await asyncio.create_subprocess_exec(
                os.path.join(BIN, "medusactl"), "-S", m.admin_socket,
                "restart", stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
            _, err = await asyncio.wait_for(r.communicate(), TIMEOUT * 3)
            self.assertEqual(r.returncode, 0, err)
            # Sessions still relay after both restarts.
            for i, (master, slave) in enumerate(pairs):
                await master.send(b"x%d" % i)
                got = await asyncio.wait_for(slave.recv(), TIMEOUT)
                self.assertIn(b"x%d" % i, got)
            for master, slave in pairs:
                await master.close()
                await slave.close()

        asyncio.run(run())
        m.proc.send_signal(signal.SIGQUIT)       # drain, then exit
        self.assertEqual(m.wait_exit(), 0)
        loud = [l for l in m.raw if '"level":5' in l or '"level":6' in l]
        self.maxDiff = None
        self.assertEqual(loud, [])
        self.assertGreater(len(m.logs), 10)


if __name__ == "__main__":
    unittest.main()
