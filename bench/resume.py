"""bench/resume.py: the 'resume' scenario of bench/run.py (issue 14).

The real ends, not medusa-bench: bin/medusa-agent running `cat` and
bin/mlogin in pipe mode (-q -c cat) through medusa with 1 worker, once
with resume on (the default) and once off (-o Resume=no, --no-resume), in
the same run:

  throughput   BENCH_RESUME_MB [64] MiB through mlogin's stdin, `cat` and
               back to its stdout (both directions at once): MB/s
  round trip   BENCH_RESUME_RTT [300] lines of 64 B, one at a time: p50 us
  CPU          user + system seconds of mlogin and the agent during the
               throughput run: what the ends cost, less at the mercy of
               the scheduler than MB/s on a shared machine
  memory       the peak RSS (VmHWM) of mlogin and of the agent minus their
               RSS once linked, after the throughput run: what the replay
               buffers (and the socket queues) cost a streaming session
  resume time  (on only) mlogin's connection reset by a TCP proxy
               (tests/integration/tcpproxy.py) BENCH_RESUME_BREAKS [10]
               times: from the reset to the first echoed byte after it

Each of throughput, round trip and memory is measured BENCH_RESUME_REPEAT
[5] times, on and off in turn (a fresh pair each time), and the median
(memory: the largest) reported: one run of 64 MiB takes half a second, and
on a machine shared with other work single runs of the same build varied
from 110 to 230 MB/s.

Targets: throughput on >= 0.9x off, p50 on <= 1.1x off, resume < 1 s.
"""

import os
import statistics
import subprocess
import sys
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))


def _cpu_s(pid):
    """User plus system CPU seconds of a process so far."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _kb(pid, field):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


class Pair:
    """An agent running `cat` and an mlogin in pipe mode on one session."""

    def __init__(self, bindir, url, sid, resume, murl=None):
        self.agent = subprocess.Popen(
            [os.path.join(bindir, 'medusa-agent')] +
            ([] if resume else ['--no-resume']) +
            ['%s/attach/%s/slave' % (url, sid)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.ml = subprocess.Popen(
            [os.path.join(bindir, 'mlogin'), '-q', '-c', 'cat'] +
            ([] if resume else ['-o', 'Resume=no']) +
            ['%s/attach/%s/master' % (murl or url, sid)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, bufsize=0)
        self.echo(b'ready\n')
        self.rss0 = (_kb(self.ml.pid, 'VmRSS'), _kb(self.agent.pid, 'VmRSS'))

    def echo(self, line):
        self.ml.stdin.write(line)
        got = b''
        while len(got) < len(line):
            b = self.ml.stdout.read(len(line) - len(got))
            if not b:
                raise RuntimeError('mlogin ended')
            got += b
        if got != line:
            raise RuntimeError('echo mismatch')

    def cpu_s(self):
        return _cpu_s(self.ml.pid) + _cpu_s(self.agent.pid)

    def peak_kb(self):
        return (_kb(self.ml.pid, 'VmHWM') - self.rss0[0],
                _kb(self.agent.pid, 'VmHWM') - self.rss0[1])

    def close(self):
        for p in (self.ml, self.agent):
            if p.poll() is None:
                p.kill()
            p.wait()


def _throughput(pair, mib):
    chunk = os.urandom(1 << 16)
    total = mib << 20
    got = [0]

    def reader():
        while got[0] < total:
            b = pair.ml.stdout.read(min(1 << 16, total - got[0]))
            if not b:
                return
            got[0] += len(b)
    t = threading.Thread(target=reader)
    t0 = time.monotonic()
    t.start()
    for _ in range(total // len(chunk)):
        pair.ml.stdin.write(chunk)
    t.join()
    dt = time.monotonic() - t0
    if got[0] != total:
        raise RuntimeError('short read: %d of %d' % (got[0], total))
    return total / dt / 1e6


def _rtt_p50_us(pair, n):
    line = b'x' * 63 + b'\n'
    ts = []
    for _ in range(n):
        t0 = time.monotonic()
        pair.echo(line)
        ts.append((time.monotonic() - t0) * 1e6)
    return statistics.median(ts)


def _resume_ms(bindir, url, port, n):
    from tcpproxy import TcpProxy
    proxy = TcpProxy(('127.0.0.1', port))
    pair = Pair(bindir, url, 'bench-resume-break', True,
                murl='ws://127.0.0.1:%d' % proxy.port)
    try:
        ts = []
        for _ in range(n):
            proxy.reset()
            t0 = time.monotonic()
            pair.echo(b'after the break\n')
            ts.append((time.monotonic() - t0) * 1000)
        return statistics.median(ts), max(ts)
    finally:
        pair.close()
        proxy.close()


def run(bindir, server, log):
    """Start server (run.py's Server, medusa-1w) for the runs; return
    (rows, raw): rows of (figure, on, off, ratio, target, result)."""
    mib = int(os.environ.get('BENCH_RESUME_MB', '64'))
    nrtt = int(os.environ.get('BENCH_RESUME_RTT', '300'))
    nbrk = int(os.environ.get('BENCH_RESUME_BREAKS', '10'))
    reps = max(1, int(os.environ.get('BENCH_RESUME_REPEAT', '5')))
    server.start('resume')
    raw = {}
    runs = {'on': [], 'off': []}
    try:
        url = server.url()
        log('  resume on and off in turn, %d times: %d MiB through cat, '
            '%d round trips' % (reps, mib, nrtt))
        for rep in range(reps):
            for on in (True, False):
                key = 'on' if on else 'off'
                pair = Pair(bindir, url, 'bench-resume-%s-%d' % (key, rep),
                            on)
                try:
                    run = {'rtt_p50_us': _rtt_p50_us(pair, nrtt)}
                    cpu0 = pair.cpu_s()
                    run['mb_per_s'] = _throughput(pair, mib)
                    run['cpu_s'] = pair.cpu_s() - cpu0
                    run['mlogin_kb'], run['agent_kb'] = pair.peak_kb()
                finally:
                    pair.close()
                runs[key].append(run)
        for key in runs:
            raw[key] = {f: statistics.median(r[f] for r in runs[key])
                        for f in ('rtt_p50_us', 'mb_per_s', 'cpu_s')}
            for f in ('mlogin_kb', 'agent_kb'):
                raw[key][f] = max(r[f] for r in runs[key])
            raw[key]['runs'] = runs[key]
        log('  resume: %d breaks' % nbrk)
        raw['resume_p50_ms'], raw['resume_max_ms'] = _resume_ms(
            bindir, url, server.port, nbrk)
    finally:
        server.stop()

    def row(fig, field, fmt, kind, lim):
        on, off = raw['on'][field], raw['off'][field]
        r = on / off if off else None
        ok = r is not None and (r >= lim if kind == '>=' else r <= lim)
        return (fig, fmt % on, fmt % off, '-' if r is None else '%.2f' % r,
                '%s %.1fx off' % (kind, lim), 'PASS' if ok else 'FAIL')
    rows = [
        row('MB/s, %d MiB through cat both ways (median of %d)' %
            (mib, reps), 'mb_per_s', '%.0f', '>=', 0.9),
        row('round trip p50 (us), 64 B lines (median of %d)' % reps,
            'rtt_p50_us', '%.0f', '<=', 1.1),
        ('CPU s of mlogin + the agent for the %d MiB (median)' % mib,
         '%.2f' % raw['on']['cpu_s'], '%.2f' % raw['off']['cpu_s'],
         '%.2f' % (raw['on']['cpu_s'] / raw['off']['cpu_s'])
         if raw['off']['cpu_s'] else '-', '', ''),
        ('mlogin peak RSS over linked (KiB)', '%d' % raw['on']['mlogin_kb'],
         '%d' % raw['off']['mlogin_kb'], '-', '', ''),
        ('agent peak RSS over linked (KiB)', '%d' % raw['on']['agent_kb'],
         '%d' % raw['off']['agent_kb'], '-', '', ''),
        ('reset to first byte after resume, p50 / max (ms)',
         '%.0f / %.0f' % (raw['resume_p50_ms'], raw['resume_max_ms']), '-',
         '-', '< 1000 ms', 'PASS' if raw['resume_max_ms'] < 1000 else
         'FAIL'),
    ]
    return rows, raw


def table(rows):
    hdr = ['figure', 'resume on', 'resume off', 'on/off', 'target',
           'result']
    lines = ['| ' + ' | '.join(hdr) + ' |',
             '|' + '|'.join(['---'] * len(hdr)) + '|']
    for r in rows:
        lines.append('| ' + ' | '.join(r) + ' |')
    return '\n'.join(lines)
