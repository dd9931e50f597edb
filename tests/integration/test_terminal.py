"""
mlogin's terminal as a user sees it, read from a real terminal emulator:
tmux runs mlogin in a pane, and the tests read the pane's screen
(capture-pane) and the modes the emulator is in (display -p #{...}).

Issue 13 defect 5: when the agent goes away in the middle of a
full-screen program, the terminal is left as mlogin found it (no
alternate screen, no mouse reporting, the cursor shown), and the notice
starts on a line of its own and says what happened in a user's words.
Also ~^Z suspends mlogin as in ssh.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import Agent, BIN, Medusa, TIMEOUT

TMUX = shutil.which("tmux")


class Tmux:
    """A private tmux server with one pane of a given size."""

    def __init__(self, argv, cols=100, rows=30):
        self.dir = tempfile.mkdtemp()
        self.sock = os.path.join(self.dir, "sock")
        conf = os.path.join(self.dir, "tmux.conf")
        with open(conf, "w") as f:
            f.write("set -g remain-on-exit on\nset -g status off\n"
                    "set -g history-limit 1000\n")
        self.base = [TMUX, "-S", self.sock, "-f", conf]
        env = dict(os.environ, PS1="$ ")
        env.pop("TMUX", None)
        subprocess.run(self.base + ["new-session", "-d", "-s", "t", "-x",
                                    str(cols), "-y", str(rows)] + argv,
                       check=True, env=env, timeout=TIMEOUT)

    def fmt(self, f):
        return subprocess.run(self.base + ["display", "-p", "-t", "t", f],
                              capture_output=True, text=True, check=True,
                              timeout=TIMEOUT).stdout.strip()

    def screen(self):
        return subprocess.run(self.base + ["capture-pane", "-p", "-J", "-t", "t"],
                              capture_output=True, text=True, check=True,
                              timeout=TIMEOUT).stdout

    def send(self, text, literal=True):
        subprocess.run(self.base + ["send-keys", "-t", "t"] +
                       (["-l"] if literal else []) + [text], check=True,
                       timeout=TIMEOUT)

    def wait(self, pred, what, timeout=TIMEOUT):
        """Wait until pred() is true (the emulator's state changes when
        the program's output has been processed; there is no event to
        block on, so this polls)."""
        deadline = time.monotonic() + timeout
        while True:
            v = pred()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s; screen:\n%s"
                                     % (what, self.screen()))
            time.sleep(0.05)

    def wait_screen(self, rx, timeout=TIMEOUT):
        return self.wait(lambda: re.search(rx, self.screen(), re.M),
                         "%r" % rx, timeout)

    def wait_dead(self):
        self.wait(lambda: self.fmt("#{pane_dead}") == "1", "the pane to end")
        return int(self.fmt("#{pane_dead_status}"))

    def close(self):
        subprocess.run(self.base + ["kill-server"], capture_output=True,
                       timeout=TIMEOUT)
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipUnless(TMUX or os.environ.get("MEDUSA_REQUIRE_ALL"),
                     "tmux is not installed (make deps)")
class TerminalTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.m = Medusa(workers=1)
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def setUp(self):
        TerminalTest.n += 1
        self.sid = "term-%d" % TerminalTest.n
        self.agent = Agent(self.m.url("/attach/%s/slave" % self.sid))
        self.addCleanup(self.agent.stop)
        self.agent.wait_msg("attached; waiting for the client")

    def tmux(self, *argv):
        t = Tmux(list(argv))
        self.addCleanup(t.close)
        return t

    def url(self):
        return self.m.url("/attach/%s/master" % self.sid)

    def mlogin_pane(self, command):
        """mlogin in a pane, its exit status shown after it; the pane
        stays alive (a dead pane's modes are tmux's, not ours)."""
        return self.tmux("/bin/sh", "-c", '"$@"; echo "[rc=$?]"; exec sleep '
                         '1000', "sh", os.path.join(BIN, "mlogin"), "-o",
                         "Resume=no", "-c", command, self.url())

    def test_modes_undone_after_the_agent_goes_away(self):
        t = self.mlogin_pane(r"printf '\033[?1049h\033[?1000h\033[?1006h"
                             r"\033[?25l\033[?2004hFULL SCREEN'; sleep 1000")
        t.wait_screen(r"FULL SCREEN")
        t.wait(lambda: t.fmt("#{alternate_on} #{mouse_any_flag} "
                             "#{cursor_flag}") == "1 1 0",
               "the full-screen modes")
        self.agent.proc.kill()          # the agent goes away for good
        t.wait_screen(r"\[rc=255\]")
        self.assertEqual(t.fmt("#{alternate_on} #{mouse_any_flag} "
                               "#{mouse_sgr_flag} #{cursor_flag}"),
                         "0 0 0 1")
        screen = t.screen()
        self.assertRegex(screen, r"(?m)^mlogin: the remote agent went away "
                         r"without ending the session \(the reflector said: "
                         r"slave disconnected\)")

    def test_the_notice_starts_on_a_line_of_its_own(self):
        t = self.mlogin_pane("printf 'PARTIAL LINE'; sleep 1000")
        t.wait_screen(r"PARTIAL LINE")
        self.agent.proc.kill()
        t.wait_screen(r"\[rc=255\]")
        lines = t.screen().splitlines()
        i = [n for n, l in enumerate(lines) if "PARTIAL LINE" in l][0]
        self.assertEqual(lines[i].rstrip(), "PARTIAL LINE")
        self.assertTrue(lines[i + 1].startswith("mlogin: the remote agent "
                                                "went away"), lines)

    def test_escape_ctrl_z_suspends_mlogin(self):
        t = self.tmux("/bin/bash", "--norc", "--noprofile", "-i")
        t.wait_screen(r"^\$")
        t.send("%s -c cat %s" % (os.path.join(BIN, "mlogin"), self.url()))
        t.send("Enter", literal=False)
        self.agent.wait_msg("starting command")
        t.wait_screen(r"session established")
        t.send("Enter", literal=False)
        t.send("~")
        t.send("C-z", literal=False)
        t.wait_screen(r"suspending mlogin \(~\^Z\)")
        t.wait_screen(r"Stopped")
        t.send("fg")
        t.send("Enter", literal=False)
        t.send("back-again")
        t.send("Enter", literal=False)
        t.wait_screen(r"back-again\s*\n\s*back-again")
        t.send("~.")
        t.wait_screen(r"ending the session \(~\.\)")
        t.send("echo rc=$?")
        t.send("Enter", literal=False)
        t.wait_screen(r"^rc=255")


if __name__ == "__main__":
    unittest.main()
