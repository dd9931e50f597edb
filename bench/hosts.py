"""bench/hosts.py: the 'hosts' scenario of bench/run.py (issue 16).

Many hosts on one session directory, against one host without, in the
same run (each reflector with 1 worker, everything on this machine):

  3 hosts     medusa on 127.0.0.2, .3 and .4 sharing a redis-server,
              behind haproxy in TCP round-robin (so the two sides of most
              sessions reach two hosts and one goes through the
              forwarding hop): medusa-bench setup (BENCH_HOSTS_SETUP
              [5000] sessions, BENCH_SETUP_CONC [50] at once) and
              throughput (8 sessions of 16 KiB messages, BENCH_DURATION
              [5] s)
  1 host      medusa on 127.0.0.5 without a directory, the same two runs
              straight at it
  1 host+dir  host .2 straight (both sides on it): setup only, what the
              claim before each new session (a Redis round trip) costs
  hop         one pair with its master on host .2 and its slave on .3
              (the slave's bytes go through .3's splice) against a pair
              with both sides on .2: BENCH_HOSTS_RTT [2000] round trips of
              64 B one at a time (p50, p99), and 16 KiB messages slave to
              master for BENCH_DURATION s (MB/s).  Python's websockets
              plays both ends in both cases (its cost is in both).
"""

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))


def _bench(bindir, scenario, url, args, log):
    p = subprocess.run([os.path.join(bindir, 'medusa-bench'), scenario,
                        '--url', url, '-q'] + args, capture_output=True,
                       text=True, timeout=600)
    res = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{')]
    if p.returncode != 0 or not res or not res[-1].get('ok'):
        raise RuntimeError('medusa-bench %s %s: %s' % (
            scenario, url, p.stderr.strip()[-300:]))
    log('    %s %s: %s' % (scenario, url, json.dumps(res[-1])[:200]))
    return res[-1]


async def _pair(a, b, sid, nrtt, secs):
    from harness import LINKUP, WAIT, ws_connect, ws_recv
    master = await ws_connect(a, '/attach/%s/master' % sid)
    assert await ws_recv(master) == WAIT
    slave = await ws_connect(b, '/attach/%s/slave' % sid)
    assert await ws_recv(slave) == LINKUP
    assert await ws_recv(master) == LINKUP
    msg = os.urandom(64)
    rtt = []
    for _ in range(nrtt):
        t = time.perf_counter()
        await master.send(msg)
        await slave.send(await slave.recv())
        assert await master.recv() == msg
        rtt.append((time.perf_counter() - t) * 1e6)
    rtt.sort()
    blob = os.urandom(16384)
    got = 0
    stop = time.perf_counter() + secs

    async def feed():
        while time.perf_counter() < stop:
            await slave.send(blob)
        await slave.send(b'end')

    async def eat():
        nonlocal got
        while True:
            m = await master.recv()
            if m == b'end':
                return
            got += len(m)
    t0 = time.perf_counter()
    await asyncio.gather(feed(), eat())
    mbs = got / (time.perf_counter() - t0) / 1e6
    await master.close()
    await slave.close()
    return (statistics.median(rtt), rtt[int(len(rtt) * 0.99) - 1], mbs)


def run(bindir, log):
    """Start the hosts, run, stop; return (rows, raw): rows of (figure,
    many, one, ratio)."""
    from harness import Medusa
    from test_directory import Redis, free_port
    from test_directory_hosts import CFG
    from test_tls import start_haproxy, stop_haproxy

    nsetup = int(os.environ.get('BENCH_HOSTS_SETUP', '5000'))
    conc = os.environ.get('BENCH_SETUP_CONC', '50')
    secs = int(os.environ.get('BENCH_DURATION', '5'))
    nrtt = int(os.environ.get('BENCH_HOSTS_RTT', '2000'))
    os.environ.setdefault('MEDUSA_BIN', bindir)
    d = tempfile.mkdtemp(prefix='medusa-bench-hosts-')
    os.chmod(d, 0o755)
    secret = os.path.join(d, 'secret')
    with open(secret, 'wb') as f:
        f.write(os.urandom(32))
    os.chmod(secret, 0o644)
    procs, hap, redis = [], None, None
    raw = {}
    try:
        redis = Redis(free_port())
        hosts = [Medusa(workers=1, config={
            'bind': '127.0.0.%d' % h, 'secret_file': secret,
            'log_level': 'warn', 'max_connections_per_address': 100000,
            'directory': 'redis://127.0.0.1:%d' % redis.port})
            for h in (2, 3, 4)]
        procs += hosts
        one = Medusa(workers=1, config={
            'bind': '127.0.0.5', 'log_level': 'warn',
            'max_connections_per_address': 100000})
        procs.append(one)
        hport = free_port()
        servers = '\n'.join('    server r%d 127.0.0.%d:%d' % (i, i + 2,
                                                              m.port)
                            for i, m in enumerate(hosts))
        hap = start_haproxy(d, CFG.format(port=hport, servers=servers),
                            hport)
        many = 'ws://127.0.0.1:%d' % hport
        single = 'ws://127.0.0.5:%d' % one.port
        direct = 'ws://127.0.0.2:%d' % hosts[0].port
        setup = ['-n', str(nsetup), '-c', conc]
        tput = ['-s', '8', '-d', str(secs)]
        log('  hosts: setup and throughput, 3 hosts + haproxy vs 1 host')
        raw['setup_3'] = _bench(bindir, 'setup', many, setup, log)
        raw['setup_1'] = _bench(bindir, 'setup', single, setup, log)
        raw['setup_1dir'] = _bench(bindir, 'setup', direct, setup, log)
        raw['tput_3'] = _bench(bindir, 'throughput', many, tput, log)
        raw['tput_1'] = _bench(bindir, 'throughput', single, tput, log)
        log('  hosts: the hop (.2 <- .3) against a same-host pair')

        class At:
            def __init__(self, host, m):
                self.host, self.port = host, m.port

            def url(self, path):
                return 'ws://%s:%d%s' % (self.host, self.port, path)
        a = At('127.0.0.2', hosts[0])
        b = At('127.0.0.3', hosts[1])
        raw['hop'] = asyncio.run(_pair(a, b, 'bench-hop', nrtt, secs))
        raw['same'] = asyncio.run(_pair(a, a, 'bench-same', nrtt, secs))
    finally:
        if hap is not None:
            stop_haproxy(hap)
        for m in procs:
            m.stop()
        if redis is not None:
            redis.stop()
        shutil.rmtree(d, ignore_errors=True)

    def row(fig, x, y, fmt):
        return [fig, fmt % x, fmt % y, '%.2f' % (x / y if y else 0)]
    rows = [
        row('setup, sessions/s (3 hosts + haproxy vs 1 host)',
            raw['setup_3']['sessions_per_s'],
            raw['setup_1']['sessions_per_s'], '%.0f'),
        row('setup, sessions/s (1 host: directory vs none)',
            raw['setup_1dir']['sessions_per_s'],
            raw['setup_1']['sessions_per_s'], '%.0f'),
        row('throughput, MB/s, 8 sessions (3 hosts + haproxy vs 1 host)',
            raw['tput_3']['mb_per_s'], raw['tput_1']['mb_per_s'], '%.1f'),
        row('hop vs same host: round trip p50, us', raw['hop'][0],
            raw['same'][0], '%.0f'),
        row('hop vs same host: round trip p99, us', raw['hop'][1],
            raw['same'][1], '%.0f'),
        row('hop vs same host: one pair, MB/s', raw['hop'][2],
            raw['same'][2], '%.1f'),
    ]
    return rows, raw


def table(rows):
    hdr = ['figure', 'many / directory / hop', 'one / none / same', 'ratio']
    lines = ['| ' + ' | '.join(hdr) + ' |',
             '|' + '|'.join(['---'] * len(hdr)) + '|']
    for r in rows:
        lines.append('| ' + ' | '.join(r) + ' |')
    return '\n'.join(lines)


if __name__ == '__main__':
    def _log(msg):
        print(msg, file=sys.stderr, flush=True)
    bindir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, 'bin')
    print(table(run(bindir, _log)[0]))
