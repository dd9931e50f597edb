"""bench/onehost.py: the 'onehost' scenario of bench/run.py (issue 16, "on
one host too"): the cost of a new session and of a message must not grow
with the sessions already held.

One medusa (BENCH_ONEHOST_WORKERS [6] workers, no directory, started as
run.py starts its servers: logs at BENCH_LOG_LEVEL [info] to a file), in
the same run: medusa-bench setup (BENCH_ONEHOST_SETUP [10000] sessions,
BENCH_SETUP_CONC [50] at once) and latency (50 sessions, 20 messages/s
each, 64 B, BENCH_DURATION [5] s) on the empty reflector; then
BENCH_ONEHOST [50000] idle paired sessions opened and held by several
`medusa-bench idle --hold` processes (each at most 9,500 sessions: 19,000
descriptors, under the 20,000 a process may hold here; their sockets bound
over 127.0.0.1-200), each of which says when all its sessions are linked
and then does nothing until SIGUSR1; the same setup and latency runs with
them held; then SIGUSR1, and the held ones are checked (a message each way
in every one).  Targets: setup rate and round-trip p99 with the sessions
held >= 0.9x empty (p99: empty / held >= 0.9).

Two things this driver used to do measured the benchmark, not the
reflector (session 22): it ran medusa through the tests' harness, which
passes `-l debug` and parses every log line in a Python thread (some
300,000 lines while 50,000 sessions open, still being parsed during the
held runs), and its idle processes checked their sessions a fixed 20 s
after their own last linkup, which for the first ones fell inside the
held runs.

The reflector needs 2 descriptors per held session too: with the hard
limit at 20,000 a worker holds about 9,900 sessions, so the count is cut
to what the workers can hold (said in the table).
"""

import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'bench'))
PER_PROC = 9500


def _tree_cpu(pid):
    """CPU seconds (user + system) of pid and its children (the workers)."""
    tick = os.sysconf('SC_CLK_TCK')
    total = 0
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                f_ = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(d) == pid or int(f_[1]) == pid:  # f_[1]: the parent
            total += int(f_[11]) + int(f_[12])  # utime, stime
    return total / tick


def _bench(bindir, scenario, url, args, log, server):
    """One medusa-bench run, with the CPU time the reflector (all its
    processes) and medusa-bench took during it: a machine shared with
    other work changes the rates, far less the CPU per session."""
    c0 = _tree_cpu(server.proc.pid)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([os.path.join(bindir, 'medusa-bench'), scenario,
                        '--url', url, '-q', '--src-addrs', '200'] + args,
                       capture_output=True, text=True, timeout=900)
    res = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{')]
    if p.returncode != 0 or not res or not res[-1].get('ok'):
        raise RuntimeError('medusa-bench %s: %s' % (
            scenario, p.stderr.strip()[-300:]))
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res[-1]['reflector_cpu_s'] = _tree_cpu(server.proc.pid) - c0
    res[-1]['bench_cpu_s'] = (r1.ru_utime + r1.ru_stime -
                              r0.ru_utime - r0.ru_stime)
    log('    %s: %s' % (scenario, json.dumps(
        {k: v for k, v in res[-1].items() if k in (
            'sessions_per_s', 'linkup_p99_ms', 'rtt_p50_us', 'rtt_p99_us',
            'reflector_cpu_s', 'bench_cpu_s', 'elapsed_s')})))
    return res[-1]


def _tree_fds(pid):
    """Descriptors the reflector's processes hold."""
    n = 0
    for d in os.listdir('/proc'):
        try:
            if d.isdigit() and (int(d) == pid or int(open(
                    '/proc/%s/stat' % d).read().rsplit(')', 1)[1].split()[1])
                    == pid):
                n += len(os.listdir('/proc/%s/fd' % d))
        except OSError:
            pass
    return n


def _round(bindir, url, m, held, setup, lat, base, log):
    """Empty, then held: setup and latency each; then the held sessions
    checked and closed, and the reflector back to its descriptors."""
    res = {}
    idle = []
    try:
        res['setup_empty'] = _bench(bindir, 'setup', url, setup, log, m)
        res['lat_empty'] = _bench(bindir, 'latency', url, lat, log, m)
        t0 = time.monotonic()
        left, i = held, 0
        while left > 0:
            k = min(PER_PROC, left)
            # --hold: once linked, each says so and holds its sessions
            # doing nothing until SIGUSR1, so that its own checks (a
            # message each way in every session) come after the runs.
            idle.append(subprocess.Popen(
                [os.path.join(bindir, 'medusa-bench'), 'idle', '--url', url,
                 '-q', '-s', str(k), '-c', '200', '--hold',
                 '--timeout', '1800', '--src-addrs', '200',
                 '--label', 'idle%d' % i],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            left -= k
            i += 1
        for p in idle:
            line = p.stdout.readline()      # {"linked": k}, or EOF: failed
            if not line.startswith('{"linked"'):
                p.wait()
                raise RuntimeError('an idle load generator failed: %s'
                                   % p.stderr.read()[-300:])
        res['open_s'] = time.monotonic() - t0
        log('    %d held (%.0f s to open)' % (held, res['open_s']))
        res['setup_held'] = _bench(bindir, 'setup', url, setup, log, m)
        res['lat_held'] = _bench(bindir, 'latency', url, lat, log, m)
        for p in idle:
            p.send_signal(signal.SIGUSR1)
        for p in idle:
            out, err = p.communicate(timeout=900)
            r = [json.loads(x) for x in out.splitlines()
                 if x.startswith('{') and not x.startswith('{"linked"')]
            if p.returncode != 0 or not r or not r[-1].get('ok'):
                raise RuntimeError('idle: ' + err[-300:])
    finally:
        for p in idle:
            if p.poll() is None:
                p.kill()
                p.communicate()
    # The next empty run must not meet the teardown of these.
    t0 = time.monotonic()
    while _tree_fds(m.proc.pid) > base + 100:
        if time.monotonic() - t0 > 120:
            raise RuntimeError('the held sessions did not all end')
        time.sleep(0.5)
    return res


def run(bindir, log):
    import tempfile
    from run import Server
    want = int(os.environ.get('BENCH_ONEHOST', '50000'))
    workers = int(os.environ.get('BENCH_ONEHOST_WORKERS', '6'))
    nsetup = os.environ.get('BENCH_ONEHOST_SETUP', '10000')
    conc = os.environ.get('BENCH_SETUP_CONC', '50')
    secs = os.environ.get('BENCH_DURATION', '5')
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    per_worker = (hard - 100) // 2
    # Shards are hashed: leave each worker a tenth spare for the skew.
    held = min(want, int(workers * per_worker * 0.9))
    note = ('%d held (asked %d; %d workers x ~%d sessions at a hard limit '
            'of %d descriptors)' % (held, want, workers, per_worker, hard))
    workdir = tempfile.mkdtemp(prefix='medusa-onehost-')
    os.makedirs(os.path.join(workdir, 'logs'))
    m = Server('medusa-onehost', bindir, workdir,
               os.environ.get('BENCH_LOG_LEVEL', 'info'), nworkers=workers)
    m.start('onehost')
    url = m.url()
    setup = ['-n', nsetup, '-c', conc]
    lat = ['-s', '50', '-r', '20', '-m', '64', '-d', secs]
    rounds = int(os.environ.get('BENCH_ONEHOST_ROUNDS', '3'))
    raw = {'held': held, 'note': note, 'log': m.logpath, 'rounds': []}
    try:
        base = _tree_fds(m.proc.pid)
        for r in range(rounds):
            log('  onehost: round %d of %d' % (r + 1, rounds))
            raw['rounds'].append(_round(bindir, url, m, held, setup, lat,
                                        base, log))
    finally:
        m.stop()
    rr = raw['rounds']
    med = statistics.median

    def fig(run, key):
        return med([x[run][key] for x in rr])
    se, sh = (fig('setup_empty', 'sessions_per_s'),
              fig('setup_held', 'sessions_per_s'))
    le, lh = fig('lat_empty', 'rtt_p99_us'), fig('lat_held', 'rtt_p99_us')
    rows = [
        ['setup, sessions/s', '%.0f' % se, '%.0f' % sh, '%.2f' % (sh / se),
         '>= 0.9', 'PASS' if sh / se >= 0.9 else 'FAIL'],
        ['round trip p99, us', '%.0f' % le, '%.0f' % lh, '%.2f' % (le / lh),
         '>= 0.9 (empty/held)', 'PASS' if le / lh >= 0.9 else 'FAIL'],
        ['round trip p50, us', '%.0f' % fig('lat_empty', 'rtt_p50_us'),
         '%.0f' % fig('lat_held', 'rtt_p50_us'), '', '', ''],
    ]
    # Where the time went: CPU per session set up, of the reflector (the
    # supervisor and its workers) and of the load generator.
    n = float(rr[0]['setup_empty']['sessions'])
    for who, key in (('reflector', 'reflector_cpu_s'),
                     ('medusa-bench', 'bench_cpu_s')):
        e = fig('setup_empty', key) * 1e6 / n
        h = fig('setup_held', key) * 1e6 / n
        rows.append(['setup, %s CPU us/session' % who, '%.0f' % e,
                     '%.0f' % h, '%.2f' % (h / e if e else 0), '', ''])
    return rows, raw


def table(rows, raw):
    hdr = ['figure', 'empty', '%d held' % raw['held'], 'ratio', 'target',
           'result']
    lines = ['| ' + ' | '.join(hdr) + ' |',
             '|' + '|'.join(['---'] * len(hdr)) + '|']
    for r in rows:
        lines.append('| ' + ' | '.join(r) + ' |')
    return '\n'.join(lines) + '\n\n' + raw['note']


if __name__ == '__main__':
    def _log(msg):
        print(msg, file=sys.stderr, flush=True)
    bindir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, 'bin')
    rows, raw = run(bindir, _log)
    print(table(rows, raw))
