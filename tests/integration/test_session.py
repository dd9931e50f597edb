"""
A real interactive session: reflector + medusa-agent + mlogin, with mlogin
on a real pseudo-terminal (the tests type into it and read what it shows),
and mlogin in a pipeline.  Also the agent's handling of bad input.
"""
import asyncio
import json
import os
import subprocess
import tempfile
import unittest

import websockets

from harness import (Agent, AsyncTestCase, BIN, Medusa, Pty, TIMEOUT)

PROMPT = rb"PROMPT> "


class SessionTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.m = Medusa(workers=2)
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0
        cls.m.check_clean(unittest.TestCase())

    def setUp(self):
        SessionTest.n += 1
        self.sid = "tty-%d" % SessionTest.n
        self.tmp = tempfile.mkdtemp()
        self.agent = Agent(self.m.url("/attach/%s/slave" % self.sid),
                           env={"PS1": "PROMPT> "})
        self.agent.wait_msg("attached; waiting for the client")
        self.tty = None

    def tearDown(self):
        if self.tty is not None:
            self.tty.kill()
        self.agent.stop()
        self.agent.check_clean(self)

    def mlogin(self, *args, rows=30, cols=100, prompt=True):
        """mlogin on a pty, inside a shell that records the terminal's
        modes before and after."""
        before = os.path.join(self.tmp, "before")
        wrapper = 'stty -g > "$0"; "$@"; rc=$?; stty -g > "$0.after"; exit $rc'
        argv = ["/bin/sh", "-c", wrapper, before, os.path.join(BIN, "mlogin")]
        argv += list(args) + [self.m.url("/attach/%s/master" % self.sid)]
        self.tty = Pty(argv, rows=rows, cols=cols)
        self.tty.expect(rb"session established")
        if prompt:
            self.tty.expect(PROMPT)
        return before

    def modes_restored(self, before):
        with open(before) as f, open(before + ".after") as g:
            self.assertEqual(f.read(), g.read())

    def test_commands_sizes_and_exit_status(self):
        before = self.mlogin()
        self.tty.send(b"echo $((6*7))\r")
        self.tty.expect(rb"[\r\n]42\r\n")
        self.tty.expect(PROMPT)
        self.tty.send(b"stty size\r")
        self.tty.expect(rb"[\r\n]30 100\r\n")
        self.tty.expect(PROMPT)
        # A new window size reaches the remote terminal.
        self.tty.resize(40, 120)
        for _ in range(50):
            self.tty.send(b"stty size\r")
            m = self.tty.expect(rb"[\r\n](\d+ \d+)\r\n")
            self.tty.expect(PROMPT)
            if m.group(1) == b"40 120":
                break
        else:
            self.fail("the new size never arrived")
        self.tty.send(b"exit 3\r")
        self.tty.expect(rb"remote process exited")
        self.assertEqual(self.tty.wait(), 3)
        self.modes_restored(before)
        self.assertEqual(self.agent.wait_exit(), 0)

    def test_killed_shell_gives_128_plus_signal(self):
        before = self.mlogin()
        self.tty.send(b"kill -9 $$\r")
        self.assertEqual(self.tty.wait(), 137)
        self.modes_restored(before)
        line = self.agent.wait_msg("command exited")
        self.assertEqual(line["signal"], "SIGKILL")
        self.assertEqual(self.agent.wait_exit(), 0)

    def test_escape_dot_ends_the_session(self):
        before = self.mlogin()
        self.tty.send(b"sleep 1000 &\r")
        self.tty.expect(PROMPT)
        self.tty.send(b"\r~.")
        self.tty.expect(rb"ending the session")
        self.assertEqual(self.tty.wait(), 255)
        self.modes_restored(before)
        self.agent.wait_msg("session ended; hanging up on the command")
        self.assertEqual(self.agent.wait_exit(), 0)

    def test_other_escapes(self):
        # cat, not a shell: no line editor racing with what is typed.
        before = self.mlogin("-c", "cat", prompt=False)
        self.agent.wait_msg("starting command")
        self.tty.send(b"~?")
        self.tty.expect(rb"Supported escape sequences")
        self.tty.send(b"~i")
        self.tty.expect(rb"Session information")
        self.tty.send(b"~~tilde\r")
        self.tty.expect(rb"~tilde\r\n~tilde\r\n")   # echo, then cat's copy
        # Not at the start of a line, ~. is just text.
        self.tty.send(b"a~.b\r")
        self.tty.expect(rb"a~\.b\r\na~\.b\r\n")
        self.tty.send(b"\x04")
        self.tty.expect(rb"remote process exited")
        self.assertEqual(self.tty.wait(), 0)
        self.modes_restored(before)

    def test_other_escape_character(self):
        self.mlogin("-e", "%", "-c", "cat", prompt=False)
        self.agent.wait_msg("starting command")
        self.tty.send(b"~.still here\r")
        self.tty.expect(rb"~\.still here\r\n~\.still here\r\n")
        self.tty.send(b"%.")
        self.tty.expect(rb"ending the session \(%\.\)")
        self.assertEqual(self.tty.wait(), 255)

    def test_escapes_off(self):
        self.mlogin("-e", "none", "-c", "cat", prompt=False)
        self.agent.wait_msg("starting command")
        self.tty.send(b"~.not an escape\r")
        self.tty.expect(rb"~\.not an escape\r\n~\.not an escape\r\n")
        self.tty.send(b"\x04")
        self.assertEqual(self.tty.wait(), 0)

    def test_pipeline_with_exit_status(self):
        url = self.m.url("/attach/%s/master" % self.sid)
        r = subprocess.run([os.path.join(BIN, "mlogin"), "-c", "sh", url],
                           input=b"uname\necho from-stdin\nexit 7\n",
                           capture_output=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertEqual(r.stdout, b"Linux\nfrom-stdin\n")
        self.assertIn(b"remote process exited", r.stderr)
        self.assertEqual(self.agent.wait_exit(), 0)

    def test_command_after_the_target_as_ssh(self):
        url = self.m.url("/attach/%s/master" % self.sid)
        r = subprocess.run([os.path.join(BIN, "mlogin"), "-q", url, "echo",
                            "two  words", "$((6*7))"], capture_output=True,
                           timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Joined by spaces, then run by the remote shell, as ssh does.
        self.assertEqual(r.stdout, b"two words 42\n")

    def test_T_gives_pipes_even_on_a_terminal(self):
        self.mlogin("-T", "-c", "tty; echo rc=$?", prompt=False)
        self.tty.expect(rb"not a tty\s+rc=1")
        self.assertEqual(self.tty.wait(), 0)
        line = self.agent.wait_msg("starting command")
        self.assertIs(line["pty"], False)

    def test_t_gives_a_terminal_to_a_pipe(self):
        url = self.m.url("/attach/%s/master" % self.sid)
        r = subprocess.run([os.path.join(BIN, "mlogin"), "-q", "-t", "-c",
                            "tty", url], capture_output=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, rb"^/dev/pts/\d+\r\n$")

    def test_verbose_says_where_and_how_long(self):
        url = self.m.url("/attach/%s/master" % self.sid)
        r = subprocess.run([os.path.join(BIN, "mlogin"), "-v", "-c", "true",
                            url], capture_output=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"ServerAliveInterval 15 s, ServerAliveCountMax 3, "
                      b"ConnectTimeout 30 s", r.stderr)
        self.assertIn(b"mlogin: connecting to 127.0.0.1 port %d "
                      b"(127.0.0.1:%d)" % (self.m.port, self.m.port), r.stderr)
        self.assertRegex(r.stderr, rb"connected to 127.0.0.1 port \d+ "
                         rb"\(127.0.0.1:\d+\); upgraded in \d+\.\d+ s")

    def test_pipeline_end_of_input_is_passed_on(self):
        url = self.m.url("/attach/%s/master" % self.sid)
        r = subprocess.run("printf 'one\\ntwo\\n' | %s -q -c 'wc -l' %s" % (
            os.path.join(BIN, "mlogin"), url), shell=True,
            capture_output=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), b"2")
        self.assertEqual(r.stderr, b"")


class WaitingTest(unittest.TestCase):
    """mlogin before the agent is there (defect 4: the escapes)."""

    @classmethod
    def setUpClass(cls):
        cls.m = Medusa(workers=1)

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def start(self, sid):
        url = self.m.url("/attach/%s/master" % sid)
        tty = Pty([os.path.join(BIN, "mlogin"), url], rows=24, cols=80)
        self.addCleanup(tty.kill)
        tty.expect(rb"waiting for session\.\.\.")
        return tty

    def test_escape_dot_while_waiting(self):
        # The spinner overwrote a typed ~., which then reached the remote
        # shell as typeahead; now it ends the wait.
        tty = self.start("wait-dot")
        tty.expect(rb"\x08[-\\|/]")          # a turn of the spinner
        tty.send(b"~.")
        tty.expect(rb"ending the session \(~\.\)")
        self.assertEqual(tty.wait(), 255)
        self.assertNotIn(b"~.", tty.buf.split(b"ending")[0])  # no echo

    def test_escape_help_while_waiting(self):
        tty = self.start("wait-help")
        tty.send(b"~?")
        tty.expect(rb"\r\nSupported escape sequences:\r\n")
        tty.send(b"~.")
        self.assertEqual(tty.wait(), 255)

    def test_keys_typed_while_waiting_reach_the_command(self):
        tty = self.start("wait-typeahead")
        tty.send(b"echo typed-$((40+2))\r")
        agent = Agent(self.m.url("/attach/wait-typeahead/slave"))
        try:
            tty.expect(rb"established")
            tty.expect(rb"typed-42")
            tty.send(b"exit 5\r")
            self.assertEqual(tty.wait(), 5)
            self.assertEqual(agent.wait_exit(), 0)
        finally:
            agent.stop()

    def test_interrupt_while_waiting(self):
        tty = self.start("wait-int")
        tty.send(b"\x03")
        tty.expect(rb"Interrupt; ending the session")
        self.assertEqual(tty.wait(), 130)


class RoleTest(unittest.TestCase):
    """Defect 3: the role in the URL is checked by both programs."""

    def test_mlogin_refuses_a_slave_url(self):
        r = subprocess.run([os.path.join(BIN, "mlogin"),
                            "ws://127.0.0.1:1/attach/x/slave"],
                           capture_output=True, text=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2)
        self.assertIn("is the agent's side of the session (.../slave); "
                      "mlogin attaches as .../attach/ID/master", r.stderr)

    def test_agent_refuses_a_master_url(self):
        for url in ("ws://127.0.0.1:1/attach/x/master",
                    "wss://h/acct/medusa/attach/x/master?signature=SECRET"):
            r = subprocess.run([os.path.join(BIN, "medusa-agent"), url],
                               capture_output=True, text=True,
                               timeout=TIMEOUT)
            self.assertEqual(r.returncode, 2, url)
            self.assertIn("is the client's side of the session (.../master);"
                          " the agent attaches as .../attach/ID/slave",
                          r.stderr)
            self.assertNotIn("SECRET", r.stderr)

    def test_no_attach_path(self):
        r = subprocess.run([os.path.join(BIN, "mlogin"), "ws://h/status"],
                           capture_output=True, text=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2)
        self.assertIn("is no attach URL", r.stderr)


class AgentExitTest(unittest.TestCase):
    """Defect 7: the agent's exit status says whether anybody came."""

    def test_nobody_came_is_3(self):
        m = Medusa(workers=1, config={"pairing_timeout_s": 1})
        try:
            agent = Agent(m.url("/attach/nobody/slave"))
            self.assertEqual(agent.wait_exit(), 3)
            agent.wait_msg("no client came")
        finally:
            m.stop()

    def test_statuses_are_documented(self):
        r = subprocess.run([os.path.join(BIN, "medusa-agent"), "--help"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0)
        for line in ("0  a client came and the session ended",
                     "1  the connection failed, was refused or was lost",
                     "2  bad usage", "3  no client came",
                     "128+N  ended by signal N"):
            self.assertIn(line, r.stdout)

    def test_terminated_by_a_signal_is_128_plus_n(self):
        m = Medusa(workers=1)
        try:
            agent = Agent(m.url("/attach/sig/slave"))
            agent.wait_msg("attached; waiting for the client")
            agent.proc.terminate()
            self.assertEqual(agent.wait_exit(), 128 + 15)
        finally:
            m.stop()


class MloginErrorsTest(unittest.TestCase):

    def run_mlogin(self, *args, env=None):
        return subprocess.run([os.path.join(BIN, "mlogin")] + list(args),
                              capture_output=True, text=True, timeout=TIMEOUT,
                              stdin=subprocess.DEVNULL, env=env)

    def test_usage_errors(self):
        for args, want in [((), "usage"), (("-e", "ab", "ws://x/a"), "escape"),
                           (("-s", "x"), "MEDUSA_URL"),
                           (("x",), "MEDUSA_URL"),
                           (("-c", "a", "ws://x/attach/a/master", "b"),
                            "a COMMAND or -c, not both"),
                           (("ftp://x/a",), "ws:// or wss://"),
                           (("ws://x:99999/a",), "bad port"),
                           (("-s", "a/b", "--reflector", "ws://x"), "bad session"),
                           (("--nope",), "usage")]:
            with self.subTest(args=args):
                r = self.run_mlogin(*args, env={"PATH": "/usr/bin:/bin"})
                self.assertEqual(r.returncode, 2)
                self.assertIn(want, r.stderr)
        r = self.run_mlogin("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("~.", r.stdout)

    def test_unreachable_reflector_is_255(self):
        r = self.run_mlogin("ws://127.0.0.1:1/attach/x/master")
        self.assertEqual(r.returncode, 255)
        self.assertIn("cannot connect to 127.0.0.1 port 1", r.stderr)

    def test_refusal_shows_the_reflector_message(self):
        m = Medusa(workers=1)
        try:
            r = self.run_mlogin("ws://127.0.0.1:%d/attach/a@b/master" % m.port)
            self.assertEqual(r.returncode, 255)
            self.assertIn("400", r.stderr)
            self.assertIn("InvalidSessionId", r.stderr)
        finally:
            m.stop()

    def test_session_id_and_reflector_from_the_environment(self):
        m = Medusa(workers=1)
        try:
            agent = Agent(m.url("/attach/envsess/slave"))
            agent.wait_msg("attached; waiting for the client")
            env = dict(os.environ, MEDUSA_URL="ws://127.0.0.1:%d/" % m.port)
            r = subprocess.run([os.path.join(BIN, "mlogin"), "-q", "-s", "envsess",
                                "-c", "echo via-env"], capture_output=True,
                               env=env, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, b"via-env\n")
            self.assertEqual(agent.wait_exit(), 0)
        finally:
            m.stop()

    def test_lost_connection_is_255_with_a_message(self):
        m = Medusa(workers=1)
        # With resume off: with it, the ends would redial (issue 14).
        agent = Agent(m.url("/attach/lost/slave"), args=["--no-resume"])
        agent.wait_msg("attached; waiting for the client")
        p = subprocess.Popen([os.path.join(BIN, "mlogin"), "-o", "Resume=no",
                              "-c", "sleep 100",
                              m.url("/attach/lost/master")],
                             stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        agent.wait_msg("starting command")
        m.stop()
        out, err = p.communicate(timeout=TIMEOUT)
        self.assertEqual(p.returncode, 255)
        self.assertIn(b"server shutting down", err)
        self.assertEqual(agent.wait_exit(), 0)
        agent.stop()


class AgentInputTest(AsyncTestCase):
    """The agent against a hand-driven master: bad input is logged and
    ignored, and the session goes on."""

    @classmethod
    def setUpClass(cls):
        cls.m = Medusa(workers=1)

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()

    async def master(self, sid):
        ws = await websockets.connect(self.m.url("/attach/%s/master" % sid),
                                      compression=None, open_timeout=TIMEOUT)
        msg = await asyncio.wait_for(ws.recv(), TIMEOUT)
        self.assertEqual(msg, 'medusa:{"type":"linkup"}')
        return ws

    async def recv_json(self, ws):
        while True:
            m = await asyncio.wait_for(ws.recv(), TIMEOUT)
            if isinstance(m, str) and m.startswith("mlogin:"):
                return json.loads(m[7:])

    async def test_bad_input_is_logged_and_ignored(self):
        agent = Agent(self.m.url("/attach/badin/slave"))
        await asyncio.to_thread(agent.wait_msg, "attached; waiting for the client")
        ws = await self.master("badin")
        await asyncio.to_thread(agent.wait_msg, "linked to the client")
        await ws.send(b"typed too early\n")
        await ws.send("mlogin:{not json")
        await ws.send('mlogin:{"type":"teleport"}')
        await ws.send('mlogin:["type","start"]')
        await ws.send('mlogin:{"type":"resize","columns":100000000,"lines":5}')
        await ws.send("ping")
        for msg in ("input before start dropped", "ignoring malformed mlogin message",
                    "ignoring unknown mlogin message", "ignoring resize with a bad size"):
            await asyncio.to_thread(agent.wait_msg, msg)
        await ws.send("mlogin:" + json.dumps({
            "type": "start", "command": "/bin/sh", "pty": False,
            "arguments": ["-c", "echo ready; read x; echo got $x; exit 5"]}))
        started = await self.recv_json(ws)
        self.assertEqual(started["type"], "started")
        self.assertIsInstance(started["pid"], int)
        self.assertIs(started["pty"], False)
        await ws.send('mlogin:{"type":"start","command":"/bin/false"}')
        await asyncio.to_thread(agent.wait_msg, "second start ignored")
        await ws.send('mlogin:{"type":"resize","columns":-4,"lines":"x"}')
        out = b""
        while b"ready\n" not in out:
            out += await asyncio.wait_for(ws.recv(), TIMEOUT)
        await ws.send(b"hello\n")
        while b"got hello\n" not in out:
            m = await asyncio.wait_for(ws.recv(), TIMEOUT)
            if isinstance(m, bytes):
                out += m
        ex = await self.recv_json(ws)
        self.assertEqual(ex, {"type": "exit", "code": 5})
        await ws.close(code=1000, reason="done")
        self.assertEqual(await asyncio.to_thread(agent.wait_exit), 0)
        agent.check_clean(self)

    async def test_command_that_cannot_run_is_an_error(self):
        agent = Agent(self.m.url("/attach/norun/slave"))
        await asyncio.to_thread(agent.wait_msg, "attached; waiting for the client")
        ws = await self.master("norun")
        await ws.send('mlogin:{"type":"start","command":"/no/such/program"}')
        err = await self.recv_json(ws)
        self.assertEqual(err["type"], "error")
        self.assertIn("cannot run /no/such/program", err["error"])
        await ws.close()
        self.assertEqual(await asyncio.to_thread(agent.wait_exit), 0)

    async def test_bad_cwd_is_an_error(self):
        agent = Agent(self.m.url("/attach/nocwd/slave"))
        await asyncio.to_thread(agent.wait_msg, "attached; waiting for the client")
        ws = await self.master("nocwd")
        await ws.send('mlogin:{"type":"start","cwd":"/no/such/dir"}')
        err = await self.recv_json(ws)
        self.assertEqual(err["type"], "error")
        self.assertIn("/no/such/dir", err["error"])
        await ws.close()
        await asyncio.to_thread(agent.wait_exit)

    async def test_defaults_and_environment(self):
        agent = Agent(self.m.url("/attach/defaults/slave"), env={"MEDUSA_T": "env-ok"})
        await asyncio.to_thread(agent.wait_msg, "attached; waiting for the client")
        ws = await self.master("defaults")
        await ws.send('mlogin:{"type":"start"}')
        self.assertEqual((await self.recv_json(ws))["type"], "started")
        await ws.send(b'echo "$TERM $MEDUSA_T $(stty size)"; exit\r')
        out = b""
        while b"xterm env-ok 25 80" not in out:
            m = await asyncio.wait_for(ws.recv(), TIMEOUT)
            if isinstance(m, bytes):
                out += m
        self.assertEqual((await self.recv_json(ws))["type"], "exit")
        await ws.close()
        await asyncio.to_thread(agent.wait_exit)

    async def test_agent_connection_errors(self):
        r = await asyncio.create_subprocess_exec(
            os.path.join(BIN, "medusa-agent"), "ws://127.0.0.1:1/attach/x/slave",
            stderr=asyncio.subprocess.PIPE)
        _, err = await r.communicate()
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"cannot attach to the reflector", err)
        for args in ([], ["-f", "/nonexistent"], ["ftp://x"], ["a", "b"]):
            r = await asyncio.create_subprocess_exec(
                os.path.join(BIN, "medusa-agent"), *args,
                stderr=asyncio.subprocess.PIPE)
            await r.communicate()
            self.assertEqual(r.returncode, 2, args)

    async def test_config_file_as_the_original(self):
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump({"signed_url": self.m.url("/acct/medusa/attach/cfg/slave") +
                       "?algorithm=rsa-sha256&expires=1&signature=SECRETSIG",
                       "insecure_tls": False}, f)
        agent = Agent(None, args=["-f", path])
        line = await asyncio.to_thread(agent.wait_msg,
                                       "attached; waiting for the client")
        self.assertEqual(line["path"], "/acct/medusa/attach/cfg/slave")
        ws = await self.master("cfg")
        await ws.close()
        self.assertEqual(await asyncio.to_thread(agent.wait_exit), 0)
        os.unlink(path)
        # Defect 9: the presigned query string (a credential) was logged,
        # and booleans were strings.
        self.assertFalse([l for l in agent.raw if "SECRETSIG" in l])
        self.assertIs(agent.wait_msg("connecting")["tls"], False)


if __name__ == "__main__":
    unittest.main()
