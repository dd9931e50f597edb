"""
/metrics on the status listener (issue 15): Prometheus text format 0.0.4,
checked by Debian's promtool, values asserted after real sessions, counters
that do not go back over a kill -9 of a worker or a rolling restart (nor
/status's per-worker bytes), and a real prometheus scraping it.
"""

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest
import urllib.request

from harness import (TIMEOUT, Medusa, frame, http_get, wait_until,
                     ws_connect, ws_pair)
from test_auth import refusal

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
SAMPLE = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$')


def scrape(m):
    status, headers, body = http_get(m.status_port, "/metrics")
    assert status == 200, (status, body)
    return headers, body.decode()


def parse(text):
    """{(name, ((label, value), ...)): value} of the samples."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        mt = SAMPLE.match(line)
        assert mt, line
        labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', mt.group(2) or "")))
        out[(mt.group(1), labels)] = float(mt.group(3))
    return out


def total(samples, name):
    return sum(v for (n, _), v in samples.items() if n == name)


class TestMetrics(unittest.TestCase):

    def setUp(self):
        self.m = Medusa(workers=2)
        self.addCleanup(lambda: self.m.proc.poll() is None and self.m.stop())

    def sessions(self, n, payload):
        """n sessions, each the payload master to slave; returns bytes sent."""
        async def run():
            for i in range(n):
                master, slave = await ws_pair(self.m, "met%d" % i)
                await master.send(payload)
                got = await asyncio.wait_for(slave.recv(), TIMEOUT)
                self.assertEqual(got, payload)
                await master.close()
                await slave.close()
        asyncio.run(run())
        return n * len(payload)

    def test_format_values_and_survival(self):
        self.assertIsNotNone(PROMTOOL, "promtool (Debian prometheus)")
        sent = self.sessions(3, b"p" * 1000)
        # Workers report every second: wait for the bytes to show.
        wait_until(lambda: total(parse(scrape(self.m)[1]),
                                 "medusa_relayed_bytes_total") >= sent,
                   what="the relayed bytes in /metrics")
        headers, text = scrape(self.m)
        self.assertEqual(headers["content-type"],
                         "text/plain; version=0.0.4; charset=utf-8")
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        s = parse(text)
        self.assertEqual(s[("medusa_attaches_routed_total",
                            (("role", "master"),))], 3)
        self.assertEqual(s[("medusa_attaches_routed_total",
                            (("role", "slave"),))], 3)
        self.assertGreaterEqual(total(s, "medusa_relayed_messages_total"), 3)
        self.assertEqual(total(s, "medusa_worker_starts_total"), 2)
        self.assertEqual(total(s, "medusa_worker_crashes_total"), 0)
        self.assertEqual(s[("medusa_workers", (("state", "ready"),))], 2)
        # The workers' event counters and histograms (REPORT, PROTO 9).
        wait_until(lambda: total(parse(scrape(self.m)[1]),
                                 "medusa_sessions_ended_total") >= 3,
                   what="the ends in /metrics")
        s = parse(scrape(self.m)[1])
        for role in ("master", "slave"):
            self.assertEqual(s[("medusa_worker_attaches_total",
                                (("role", role), ("status", "101")))], 3)
        self.assertEqual(s[("medusa_sessions_linked_total", ())], 3)
        self.assertEqual(s[("medusa_sessions_ended_total",
                            (("cause", "closed"), ("closed_by", "master")))],
                         3)
        self.assertEqual(s[("medusa_session_bytes_total",
                            (("direction", "master_to_slave"),))], sent)
        self.assertEqual(s[("medusa_session_bytes_total",
                            (("direction", "slave_to_master"),))], 0)
        self.assertEqual(s[("medusa_session_messages_total",
                            (("direction", "master_to_slave"),))], 3)
        self.assertEqual(s[("medusa_session_linkup_seconds_count", ())], 3)
        self.assertEqual(s[("medusa_session_linkup_seconds_bucket",
                            (("le", "+Inf"),))], 3)
        self.assertEqual(s[("medusa_session_duration_seconds_count", ())], 3)
        self.assertEqual(s[("medusa_handoff_pause_seconds_count", ())], 0)
        self.assertEqual(total(s, "medusa_auth_refusals_total"), 0)
        self.assertEqual(s[("medusa_resumes_total", ())], 0)
        # A second master is the worker's refusal: 409, counted.
        async def dup():
            master = await ws_connect(self.m, "/attach/dup/master")
            got = await asyncio.get_running_loop().run_in_executor(
                None, refusal, self.m.port, "/attach/dup/master")
            await master.close()
            return got[:2]
        self.assertEqual(asyncio.run(dup()), (409, "SessionExists"))
        wait_until(lambda: parse(scrape(self.m)[1]).get(
            ("medusa_worker_attaches_total",
             (("role", "master"), ("status", "409")))) == 1,
            what="the 409 counted")
        # No account or session id in any label.
        self.assertNotIn("met0", text)
        # A refused request is counted by its status.
        self.assertEqual(http_get(self.m.port, "/nothing")[0], 404)
        s = parse(scrape(self.m)[1])
        self.assertGreaterEqual(s[("medusa_requests_refused_total",
                                   (("status", "404"),))], 1)
        before = total(s, "medusa_relayed_bytes_total")
        self.assertEqual(before, sent)
        shard_bytes = {w["shard"]: w["bytes"] for w in self.m.status()["workers"]}
        self.assertEqual(sum(shard_bytes.values()), before)

        # kill -9 of every worker: nothing goes back, crashes counted.
        mark = self.m.mark()
        for pid in self.m.worker_pids().values():
            os.kill(pid, signal.SIGKILL)
        self.m.wait_ready(start=mark)
        wait_until(lambda: self.m.status()["health"] == "ok",
                   what="both workers back")
        s = parse(scrape(self.m)[1])
        self.assertEqual(total(s, "medusa_relayed_bytes_total"), before)
        self.assertEqual(total(s, "medusa_worker_crashes_total"), 2)
        self.assertEqual(total(s, "medusa_worker_starts_total"), 4)
        self.assertEqual({w["shard"]: w["bytes"]
                          for w in self.m.status()["workers"]}, shard_bytes)

        # More traffic, then a rolling restart: still nothing goes back.
        sent2 = self.sessions(2, b"q" * 500)
        wait_until(lambda: total(parse(scrape(self.m)[1]),
                                 "medusa_relayed_bytes_total") >= before + sent2,
                   what="the new bytes in /metrics")
        before = total(parse(scrape(self.m)[1]), "medusa_relayed_bytes_total")
        mark = self.m.mark()
        self.m.proc.send_signal(signal.SIGHUP)
        self.m.wait_msg("rolling restart finished", start=mark,
                        timeout=TIMEOUT * 3)
        s = parse(scrape(self.m)[1])
        self.assertEqual(total(s, "medusa_relayed_bytes_total"), before)
        self.assertEqual(total(s, "medusa_worker_crashes_total"), 2)
        self.assertEqual(s[("medusa_handoff_sessions_total",
                            (("outcome", "moved"),))], 0)
        self.assertEqual(sum(w["bytes"] for w in self.m.status()["workers"]),
                         before)
        self.m.check_clean(self)

    def test_real_prometheus_scrapes(self):
        self.assertIsNotNone(PROMETHEUS, "prometheus (Debian prometheus)")
        sent = self.sessions(1, b"r" * 321)
        wait_until(lambda: total(parse(scrape(self.m)[1]),
                                 "medusa_relayed_bytes_total") >= sent,
                   what="the relayed bytes in /metrics")
        d = tempfile.mkdtemp(prefix="medusa-prom-")
        self.addCleanup(shutil.rmtree, d, True)
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n"
                    "scrape_configs:\n  - job_name: medusa\n"
                    "    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % self.m.status_port)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        log = open(os.path.join(d, "log"), "w")
        p = subprocess.Popen([PROMETHEUS, "--config.file",
                              os.path.join(d, "prometheus.yml"),
                              "--storage.tsdb.path", os.path.join(d, "data"),
                              "--web.listen-address", "127.0.0.1:%d" % port],
                             stdout=log, stderr=log)

        def stop():
            p.terminate()
            try:
                p.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            log.close()
        self.addCleanup(stop)

        def api(path):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d%s" %
                                            (port, path), timeout=5) as r:
                    return json.load(r)
            except OSError:
                return None

        def up():
            t = api("/api/v1/targets")
            return t is not None and any(
                a["health"] == "up" for a in t["data"]["activeTargets"])
        wait_until(up, timeout=TIMEOUT * 3, every=0.2,
                   what="prometheus's target up")

        def value():
            q = api("/api/v1/query?query=sum(medusa_relayed_bytes_total)")
            if q is None or not q["data"]["result"]:
                return None
            return float(q["data"]["result"][0]["value"][1])
        v = wait_until(value, timeout=TIMEOUT * 3, every=0.2,
                       what="the metric in prometheus")
        self.assertGreaterEqual(v, sent)


if __name__ == "__main__":
    unittest.main()


class TestAuditLine(unittest.TestCase):
    """One "session ended" line with audit=true per session, carried over
    a handoff to a new worker (rolling restart)."""

    def test_audit_fields_and_once_over_handoff(self):
        # (also: the handoff counter of /metrics counts the session moved)
        m = Medusa(workers=1)
        self.addCleanup(lambda: m.proc.poll() is None and m.stop())

        async def run():
            master, slave = await ws_pair(m, "audit1")
            mport = master.transport.get_extra_info("sockname")[1]
            sport = slave.transport.get_extra_info("sockname")[1]
            await master.send(b"a" * 100)
            self.assertEqual(await asyncio.wait_for(slave.recv(), TIMEOUT),
                             b"a" * 100)
            mark = m.mark()
            m.proc.send_signal(signal.SIGHUP)
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: m.wait_msg("rolling restart finished",
                                         start=mark, timeout=TIMEOUT * 3))
            await slave.send(b"b" * 50)
            self.assertEqual(await asyncio.wait_for(master.recv(), TIMEOUT),
                             b"b" * 50)
            await master.close()
            await slave.wait_closed()
            return mport, sport
        mport, sport = asyncio.run(run())
        s = parse(scrape(m)[1])
        self.assertEqual(s[("medusa_handoff_sessions_total",
                            (("outcome", "moved"),))], 1)
        # The moved session's pause, observed once by the new worker.
        wait_until(lambda: parse(scrape(m)[1]).get(
            ("medusa_handoff_pause_seconds_count", ())) == 1,
            what="the handoff pause in /metrics")
        line = m.wait_log(lambda l: l.get("msg") == "session ended" and
                          l.get("session") == "audit1")
        self.assertIs(line.get("audit"), True)
        self.assertEqual(line["master_peer"], "127.0.0.1:%d" % mport)
        self.assertEqual(line["slave_peer"], "127.0.0.1:%d" % sport)
        self.assertEqual(line["closed_by"], "master")
        self.assertEqual(line["end_cause"], "closed")
        self.assertEqual(int(line["close_code"]), 1000)
        self.assertEqual(int(line["bytes"]), 150)
        self.assertEqual(int(line["bytes_master_to_slave"]), 100)
        self.assertEqual(int(line["bytes_slave_to_master"]), 50)
        self.assertEqual(line["account"], "")     # a bare path: none
        self.assertEqual(line["master_fingerprint"], "none")
        self.assertEqual(line["slave_fingerprint"], "none")
        self.assertEqual(int(line["messages"]), 2)
        self.assertRegex(line["started"], r"^\d{4}-\d\d-\d\dT")
        self.assertGreaterEqual(int(line["duration_ms"]), 0)
        self.assertEqual(line["level"], 30)
        # Exactly one, once the session's sides are gone.
        m.stop()
        ended = [l for l in m.logs if l.get("msg") == "session ended"
                 and l.get("session") == "audit1"]
        self.assertEqual(len(ended), 1, ended)


class TestEndCauses(unittest.TestCase):
    """medusa_sessions_ended_total{closed_by,cause} and the audit line's
    end_cause: one session ended each way a session can end."""

    def test_each_cause_counted_once(self):
        m = Medusa(workers=1, config={"pairing_timeout_s": 2,
                                      "idle_timeout_s": 3})
        self.addCleanup(lambda: m.proc.poll() is None and m.stop())

        async def run():
            # closed by the slave
            master, slave = await ws_pair(m, "c-slave")
            await slave.close()
            await master.wait_closed()
            # the master's connection lost: a reset, no CLOSE
            master, slave = await ws_pair(m, "c-lost")
            master.transport.abort()
            await slave.wait_closed()
            # the slave's bad input (an unmasked frame): ours, a CLOSE
            # 1002 to it, and the session counts it lost, not closed
            master, slave = await ws_pair(m, "c-bad")
            slave.transport.write(frame(2, b"x", mask=None))
            await slave.wait_closed()
            await master.wait_closed()
            self.assertEqual(slave.close_code, 1002)
            # a master alone: the pairing time-out
            master = await ws_connect(m, "/attach/c-pair/master")
            await master.wait_closed()
            # a linked pair that says nothing: the idle time-out
            master, slave = await ws_pair(m, "c-idle")
            await master.wait_closed()
            await slave.wait_closed()
        asyncio.run(run())
        want = {("slave", "closed"): 1, ("master", "lost"): 1,
                ("slave", "lost"): 1,
                ("reflector", "pairing_timeout"): 1,
                ("reflector", "idle_timeout"): 1}

        def ends():
            s = parse(scrape(m)[1])
            return {(dict(lab)["closed_by"], dict(lab)["cause"]): v
                    for (n, lab), v in s.items()
                    if n == "medusa_sessions_ended_total"}
        wait_until(lambda: sum(ends().values()) == 5,
                   what="five ends in /metrics")
        got = ends()
        self.assertEqual({k: v for k, v in got.items() if v}, want)
        # Every pair of labels is on the page, zero or not.
        self.assertEqual(len(got), 8)
        for sid, cause in (("c-slave", "closed"), ("c-lost", "lost"),
                           ("c-bad", "lost"),
                           ("c-pair", "pairing_timeout"),
                           ("c-idle", "idle_timeout")):
            line = m.wait_log(lambda l, sid=sid: l.get("msg") ==
                              "session ended" and l.get("session") == sid)
            self.assertEqual(line["end_cause"], cause, sid)

    def test_shutdown_is_a_cause(self):
        m = Medusa(workers=1)
        self.addCleanup(lambda: m.proc.poll() is None and m.stop())

        async def run():
            master, slave = await ws_pair(m, "c-stop")
            m.proc.send_signal(signal.SIGTERM)
            await master.wait_closed()
            await slave.wait_closed()
            return master.close_code, slave.close_code
        self.assertEqual(asyncio.run(run()), (1001, 1001))
        self.assertEqual(m.stop(), 0)
        line = m.wait_log(lambda l: l.get("msg") == "session ended" and
                          l.get("session") == "c-stop")
        self.assertEqual((line["closed_by"], line["end_cause"]),
                         ("reflector", "shutdown"))
