"""
Compatibility with the original peers: their WebSocket library (npm
watershed 0.3.x, used by the original client, agent and web tier) on both
sides of a session, and the original client library (npm manta 5.4.2's
medusaAttach) as the master, against a python3-websockets slave.
"""
import asyncio
import json
import os
import shutil
import subprocess
import unittest

import websockets

from harness import Agent, AsyncTestCase, BIN, Medusa, TIMEOUT, TOP

COMPAT = os.path.join(TOP, "tests", "compat")


def have_node_modules():
    return (shutil.which("node") is not None and
            os.path.isdir(os.path.join(COMPAT, "node_modules", "watershed")))


@unittest.skipUnless(have_node_modules() or os.environ.get("MEDUSA_REQUIRE_ALL"),
                     "run `make deps` for the npm packages")
class CompatTest(AsyncTestCase):

    @classmethod
    def setUpClass(cls):
        # Frequent pings: a watershed peer must still never see one.
        cls.m = Medusa(workers=3, config={"ping_interval_s": 0.2})

    @classmethod
    def tearDownClass(cls):
        rc = cls.m.stop()
        cls.m.check_clean(unittest.TestCase())
        assert rc == 0, rc

    async def node(self, script, *args):
        proc = await asyncio.create_subprocess_exec(
            "node", os.path.join(COMPAT, script), *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 90)
        self.assertEqual(proc.returncode, 0, out.decode() + err.decode())
        return json.loads(out.decode().strip().splitlines()[-1])

    async def test_watershed_on_both_sides(self):
        res = await self.node("watershed_pair.js", "ws://127.0.0.1:%d" % self.m.port,
                              "Watershed-1", "150")
        self.assertEqual(res["waits"], 1)
        self.assertEqual(sorted(res["linkups"]), ["master", "slave"])
        self.assertEqual(res["pings"], 0)
        self.assertEqual(res["resets"], 0)
        self.assertEqual(res["slave_end"], ["NORMAL", "master done"])

    async def test_manta_medusa_attach_as_master(self):
        sid = "7f1f3c2e-1d7b-4a8e-9f0a-0c1d2e3f4a5b"
        node = asyncio.ensure_future(self.node(
            "manta_master.js", "ws://127.0.0.1:%d" % self.m.port, sid))
        # The agent's side, once the client waits.
        await asyncio.to_thread(self.m.wait_log, lambda l: l.get("msg") == "attached"
                                and l.get("session") == sid)
        slave = await websockets.connect(
            self.m.url("/tester/medusa/attach/%s/slave" % sid.upper()),
            compression=None, ping_interval=None, open_timeout=TIMEOUT)
        self.assertEqual(await slave.recv(), 'medusa:{"type":"linkup"}')
        start = await asyncio.wait_for(slave.recv(), TIMEOUT)
        self.assertTrue(start.startswith("mlogin:"))
        self.assertEqual(json.loads(start[7:])["type"], "start")
        self.assertEqual(await slave.recv(), "ping")
        self.assertEqual(await slave.recv(), b"echo hi\r")
        await slave.send('mlogin:{"type":"started","pid":42}')
        await slave.send(b"hi\r\n")
        await slave.send('mlogin:{"type":"exit","code":0}')
        with self.assertRaises(websockets.ConnectionClosed) as cc:
            await asyncio.wait_for(slave.recv(), TIMEOUT)
        self.assertEqual((cc.exception.rcvd.code, cc.exception.rcvd.reason),
                         (1000, "done"))
        res = await node
        self.assertEqual(res["texts"][0], 'medusa:{"type":"wait"}')
        self.assertIn('medusa:{"type":"linkup"}', res["texts"])
        self.assertIn('mlogin:{"type":"started","pid":42}', res["texts"])
        self.assertEqual(res["binary"], "hi\r\n")
        self.assertNotIn("reset", res)
        self.assertNotIn("error", res)

    async def test_our_agent_gives_the_original_mlogin_a_shell(self):
        # Issue 13 defect 8: the original mlogin asks for its shell through
        # /usr/bin/ctrun, which does not exist here; the agent answered
        # "cannot run /usr/bin/ctrun" and the session ended.
        self.assertFalse(os.path.exists("/usr/bin/ctrun"))
        agent = Agent(self.m.url("/attach/orig-client/slave"))
        await asyncio.to_thread(agent.wait_msg, "attached; waiting for the client")
        res = await self.node("manta_mlogin.js", "ws://127.0.0.1:%d" % self.m.port,
                              "orig-client")
        self.assertEqual(res["messages"][0]["type"], "started", res)
        self.assertEqual(res["messages"][-1], {"type": "exit", "code": 5})
        self.assertIn("cwd=/ 42", res["output"])
        self.assertNotIn("reset", res)
        self.assertEqual(await asyncio.to_thread(agent.wait_exit), 0)
        line = agent.wait_msg("starting command")
        self.assertEqual((line["columns"], line["lines"]), (80, 25))
        self.assertEqual(line["command"], "/bin/bash")
        self.assertIs(line["pty"], True)
        self.assertIs(line["stderr_apart"], False)
        agent.wait_msg("no ctrun here: running its command")

    async def test_the_original_mlogin_with_a_command(self):
        agent = Agent(self.m.url("/attach/orig-cmd/slave"))
        await asyncio.to_thread(agent.wait_msg, "attached; waiting for the client")
        res = await self.node("manta_mlogin.js", "ws://127.0.0.1:%d" % self.m.port,
                              "orig-cmd", "echo out; echo err >&2; exit 3")
        self.assertEqual(res["messages"][0]["type"], "started", res)
        # No "stderr" extension announced: on a terminal both streams are
        # the terminal's output, as they always were.
        self.assertNotIn("stderr", res["messages"][0])
        self.assertEqual(res["output"], "out\r\nerr\r\n")
        self.assertEqual(res["messages"][-1], {"type": "exit", "code": 3})
        self.assertEqual(await asyncio.to_thread(agent.wait_exit), 0)

    async def test_our_mlogin_with_an_agent_on_the_original_library(self):
        sid = "orig-agent"
        node = await asyncio.create_subprocess_exec(
            "node", os.path.join(COMPAT, "watershed_agent.js"),
            "ws://127.0.0.1:%d" % self.m.port, sid,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        self.assertEqual(await asyncio.wait_for(node.stderr.readline(), TIMEOUT),
                         b"attached\n")
        ml = await asyncio.create_subprocess_exec(
            os.path.join(BIN, "mlogin"), self.m.url("/attach/%s/master" % sid),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(ml.communicate(b"hello\nbye\n"), TIMEOUT)
        self.assertEqual(ml.returncode, 0, err)
        self.assertIn(b"agent ready\r\n", out)
        self.assertIn(b"echo:hello", out)
        self.assertIn(b"remote process exited", err)
        nout, _ = await asyncio.wait_for(node.communicate(), TIMEOUT)
        res = json.loads(nout.decode().strip().splitlines()[-1])
        self.assertEqual(res["pings"], 0)
        self.assertEqual(res["messages"][0]["type"], "start")
        self.assertEqual(res["messages"][0]["command"], "/bin/bash")
        self.assertEqual(res["end"], ["NORMAL", "done"])


if __name__ == "__main__":
    unittest.main()
