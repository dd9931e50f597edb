"""bench/onehost.py: the 'onehost' scenario of bench/run.py (issue 16, "on
one host too"): the cost of a new session and of a message must not grow
with the sessions already held.

One medusa (BENCH_ONEHOST_WORKERS [6] workers, no directory), in the same
run: medusa-bench setup (BENCH_ONEHOST_SETUP [10000] sessions, BENCH_SETUP_CONC
[50] at once) and latency (50 sessions, 20 messages/s each, 64 B,
BENCH_DURATION [5] s) on the empty reflector; then BENCH_ONEHOST [50000]
idle paired sessions opened and held by several `medusa-bench idle`
processes (each at most 9,500 sessions: 19,000 descriptors, under the
20,000 a process may hold here; their sockets bound over 127.0.0.1-200);
the same setup and latency runs with them held; the held ones then checked
(a message each way in every one).  Targets: setup rate and round-trip p99
with the sessions held >= 0.9x empty (p99: empty / held >= 0.9).

The reflector needs 2 descriptors per held session too: with the hard
limit at 20,000 a worker holds about 9,900 sessions, so the count is cut
to what the workers can hold (said in the table).
"""

import json
import os
import resource
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))
PER_PROC = 9500


def _bench(bindir, scenario, url, args, log):
    p = subprocess.run([os.path.join(bindir, 'medusa-bench'), scenario,
                        '--url', url, '-q', '--src-addrs', '200'] + args,
                       capture_output=True, text=True, timeout=900)
    res = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{')]
    if p.returncode != 0 or not res or not res[-1].get('ok'):
        raise RuntimeError('medusa-bench %s: %s' % (
            scenario, p.stderr.strip()[-300:]))
    log('    %s: %s' % (scenario, json.dumps(res[-1])[:240]))
    return res[-1]


def _conns(m):
    return sum(w.get('connections', 0) for w in m.status()['workers'])


def run(bindir, log):
    from harness import Medusa
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
    os.environ.setdefault('MEDUSA_BIN', bindir)
    m = Medusa(workers=workers, config={
        'log_level': 'warn', 'max_connections': 10000000,
        'max_connections_per_address': 10000000,
        'max_sessions_per_worker': 10000000})
    url = 'ws://127.0.0.1:%d' % m.port
    setup = ['-n', nsetup, '-c', conc]
    lat = ['-s', '50', '-r', '20', '-m', '64', '-d', secs]
    raw = {'held': held, 'note': note}
    idle = []
    try:
        log('  onehost: empty reflector')
        raw['setup_empty'] = _bench(bindir, 'setup', url, setup, log)
        raw['lat_empty'] = _bench(bindir, 'latency', url, lat, log)
        log('  onehost: opening %s' % note)
        left, i = held, 0
        while left > 0:
            k = min(PER_PROC, left)
            idle.append(subprocess.Popen(
                [os.path.join(bindir, 'medusa-bench'), 'idle', '--url', url,
                 '-q', '-s', str(k), '-c', '200', '-d', '20',
                 '--src-addrs', '200', '--label', 'idle%d' % i],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            left -= k
            i += 1
        t0 = time.monotonic()
        while _conns(m) < 2 * held:
            if any(p.poll() is not None for p in idle):
                raise RuntimeError('an idle load generator ended early: %s'
                                   % [p.communicate() for p in idle
                                      if p.poll() is not None][0][1][-300:])
            if time.monotonic() - t0 > 600:
                raise RuntimeError('the held sessions did not all link')
            time.sleep(1)
        raw['open_s'] = time.monotonic() - t0
        log('  onehost: %d held (%.0f s to open); the same runs' %
            (held, raw['open_s']))
        raw['setup_held'] = _bench(bindir, 'setup', url, setup, log)
        raw['lat_held'] = _bench(bindir, 'latency', url, lat, log)
        for p in idle:
            out, err = p.communicate(timeout=900)
            if p.returncode != 0:
                raise RuntimeError('idle: ' + err[-300:])
    finally:
        for p in idle:
            if p.poll() is None:
                p.kill()
                p.communicate()
        m.stop()
    se, sh = (raw['setup_empty']['sessions_per_s'],
              raw['setup_held']['sessions_per_s'])
    le, lh = raw['lat_empty']['rtt_p99_us'], raw['lat_held']['rtt_p99_us']
    rows = [
        ['setup, sessions/s', '%.0f' % se, '%.0f' % sh, '%.2f' % (sh / se),
         '>= 0.9', 'PASS' if sh / se >= 0.9 else 'FAIL'],
        ['round trip p99, us', '%.0f' % le, '%.0f' % lh, '%.2f' % (le / lh),
         '>= 0.9 (empty/held)', 'PASS' if le / lh >= 0.9 else 'FAIL'],
    ]
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
