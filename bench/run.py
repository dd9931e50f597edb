#!/usr/bin/python3
"""bench/run.py: run medusa-bench against every server and print the table.

`make bench` runs this.  For each scenario, and for each server in turn, it
starts the server afresh on a free port (so one run's heap does not carry
into the next's memory figure), runs bin/medusa-bench against it, stops it,
and keeps the JSON result.  The servers:

  medusa-1w   bin/medusa with 1 worker   (the supervisor and its worker)
  medusa-2w   bin/medusa with 2 workers
  bare        bin/bare-relay: raw TCP pairing + splice(2), the limit
  watershed   node bench/watershed-relay.js: the original's data path
              (needs node and tests/compat/node_modules from `make deps`)

Then it prints a Markdown table: each figure for each server, the ratios
medusa/bare and medusa/watershed, and PASS/FAIL against the targets; the
same table with the machine it ran on goes to $BENCH_OUT/results.md (and
every raw result to results.json, the servers' logs to logs/).

Scale with the environment (defaults in brackets):
  BENCH_SERVERS       medusa-1w,medusa-2w,bare,watershed
  BENCH_SCENARIOS     setup,setup-auth,latency,throughput,idle,resume,hosts,
                      onehost
                      (setup-auth runs setup too: the reference of its
                      ratios; resume: mlogin and the agent themselves,
                      resume on vs off, its own table: bench/resume.py;
                      hosts: 3 hosts on a session directory behind
                      haproxy vs 1 host, and the forwarding hop's cost,
                      its own table: bench/hosts.py, with its
                      BENCH_HOSTS_SETUP [5000], BENCH_HOSTS_RTT [2000];
                      onehost: setup rate and round-trip p99 with
                      BENCH_ONEHOST [50000] idle paired sessions held vs
                      empty, BENCH_ONEHOST_ROUNDS [3] rounds, medians,
                      its own table: bench/onehost.py)
  BENCH_SETUP [20000]  BENCH_SETUP_CONC [50]      setup: sessions, at once
  BENCH_LAT_SESSIONS [50]  BENCH_LAT_RATE [20]  BENCH_LAT_BYTES [64]
  BENCH_DURATION [5]  seconds of each latency and throughput run
  BENCH_TP_SESSIONS [1,8]  BENCH_TP_BYTES [16384]
  BENCH_IDLE [10000]  BENCH_IDLE_CONC [200]  BENCH_IDLE_SETTLE [2]
  BENCH_REPEAT [3]    runs of each; the table shows the median
  BENCH_IDLE_REPEAT [1]   the same for idle (the longest)
  BENCH_LOG_LEVEL [info]  medusa's log level (its logs go to a file)
  BENCH_OUT [build/bench]
  BENCH_STRICT [0]    1: exit 1 when a target is missed, too

A run whose bytes do not check out (medusa-bench exits non-zero) shows as
ERR in the table and makes this exit 1.  When the descriptor hard limit
(which only a process with CAP_SYS_RESOURCE may raise) is too low for
BENCH_IDLE sessions in one server process, that server's idle run holds as
many as it can and the table says so.
"""

import http.client
import json
import os
import socket
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL_SERVERS = ['medusa-1w', 'medusa-2w', 'bare', 'watershed']
ALL_SCENARIOS = ['setup', 'setup-auth', 'latency', 'throughput', 'idle',
                 'resume', 'hosts', 'onehost']
# setup-auth: medusa with credentials on, signing with keys of these types
# (ssh-keygen); the bare relay and watershed have none: their plain setup
# is the reference.
AUTH_KEYS = [('rsa', ['-t', 'rsa', '-b', '2048'], 'RSA-2048'),
             ('ecdsa', ['-t', 'ecdsa', '-b', '256'], 'ECDSA P-256'),
             ('ed25519', ['-t', 'ed25519'], 'Ed25519')]


def env_int(name, default):
    v = os.environ.get(name, '')
    return int(v) if v.strip() else default


def env_list(name, default):
    v = os.environ.get(name, '')
    return [x.strip() for x in v.split(',') if x.strip()] if v.strip() \
        else list(default)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def raise_nofile():
    """Soft = hard, and the hard limit up if we may.  Returns the soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for want in (1048576, 262144, 65536):
        if hard != resource.RLIM_INFINITY and hard >= want:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            continue
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Server:
    """One server under test, started afresh for every run."""

    def __init__(self, name, bindir, workdir, log_level, nworkers=0,
                 config=None):
        self.name = name
        self.nworkers = nworkers    # medusa: else from the name
        self.config = config or {}
        self.bindir = bindir
        self.workdir = workdir
        self.log_level = log_level
        self.proc = None
        self.port = None
        self.logpath = None

    def available(self):
        if self.name == 'watershed':
            if shutil.which('node') is None:
                return 'node is not installed'
            ws = os.path.join(TOP, 'tests', 'compat', 'node_modules',
                              'watershed', 'package.json')
            if not os.path.exists(ws):
                return 'tests/compat/node_modules has no watershed ' \
                    '(make deps)'
        return None

    def workers(self):
        return self.nworkers or {'medusa-1w': 1, 'medusa-2w': 2}.get(
            self.name, 0)

    def url(self):
        if self.name == 'bare':
            return 'tcp://127.0.0.1:%d' % self.port
        return 'ws://127.0.0.1:%d' % self.port

    def max_sessions(self, nofile):
        """Paired sessions the descriptor limit lets it hold."""
        if self.workers() > 0:
            # worker/main.c keeps WORKER_FD_RESERVE (32) descriptors; the
            # sessions spread over the shards by hash: keep 5% spare.
            per = (nofile - 32) // 2
            return per if self.workers() == 1 else \
                int(per * self.workers() * 0.95)
        return (nofile - 64) // 2

    def memory_args(self):
        if self.workers() > 0:
            return ['--proc-tree', str(self.proc.pid)]
        return ['--pid', str(self.proc.pid)]

    def start(self, tag, keys_dir=None):
        self.logpath = os.path.join(self.workdir, 'logs',
                                    '%s-%s.log' % (self.name, tag))
        logf = open(self.logpath, 'w')
        self.port = None
        if self.workers() > 0:
            # Port 0 and the "listening" log line, unless the log level
            # hides it: then a port that was free a moment ago.
            port = 0
            if self.log_level not in ('trace', 'debug', 'info'):
                with socket.socket() as so:
                    so.bind(('127.0.0.1', 0))
                    port = so.getsockname()[1]
                self.port = port
            cfg = {
                'bind': '127.0.0.1', 'port': port,
                'workers': self.workers(), 'user': '',
                'log_level': self.log_level,
                'admin_socket': os.path.join(self.workdir,
                                             'admin-%d.sock' % os.getpid()),
                'max_connections': 1000000,
                'max_connections_per_address': 1000000,
                'max_sessions_per_worker': 1000000,
                # Credentials only where the run asks for them (setup-auth).
                'auth': 'signature' if keys_dir else 'none',
                'status_listen': '',
            }
            if keys_dir:
                cfg['keys_dir'] = keys_dir
            cfg.update(self.config)
            cfgpath = os.path.join(self.workdir, 'medusa-%s.json' % self.name)
            with open(cfgpath, 'w') as f:
                json.dump(cfg, f)
            argv = [os.path.join(self.bindir, 'medusa'), '-f', cfgpath]
        elif self.name == 'bare':
            argv = [os.path.join(self.bindir, 'bare-relay'), '-p', '0']
        else:
            argv = ['node', os.path.join(TOP, 'bench', 'watershed-relay.js'),
                    '0']
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=logf,
                                     start_new_session=True)
        logf.close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('%s exited at start (see %s)' %
                                   (self.name,
                                    os.path.basename(self.logpath)))
            if self.port is None:
                with open(self.logpath) as f:
                    for line in f:
                        try:
                            j = json.loads(line)
                        except ValueError:
                            continue
                        if j.get('msg') == 'listening':
                            self.port = int(j['port'])
                            break
            if self.port is not None and self.ready():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError('%s did not start in time (see %s)' %
                           (self.name, os.path.basename(self.logpath)))

    def ready(self):
        """medusa: every worker ready (the public /status says "ok" only
        then); the others: listening."""
        if self.workers() == 0:
            return True
        try:
            c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=2)
            c.request('GET', '/status')
            st = json.loads(c.getresponse().read())
            c.close()
        except (OSError, ValueError, http.client.HTTPException):
            return False
        return st.get('health') == 'ok'

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        # Anything left of its process group (a worker) goes too.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None


def run_bench(bindir, scenario, server, args, timeout, prefix=''):
    argv = [os.path.join(bindir, 'medusa-bench'), scenario,
            '--url', server.url() + prefix, '--label', server.name] + args
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, encoding='utf-8',
                           errors='replace', timeout=timeout + 60)
    except subprocess.TimeoutExpired:
        return {'ok': False, 'error': 'medusa-bench did not finish'}
    res = None
    for line in p.stdout.splitlines():
        if line.startswith('{'):
            try:
                res = json.loads(line)
            except ValueError:
                pass
    for line in p.stderr.splitlines():
        log('    ' + line)
    if res is None:
        res = {'ok': False, 'error': 'no result (exit %d): %s' %
               (p.returncode, p.stderr.strip()[-300:])}
    if p.returncode != 0:
        res['ok'] = False
    return res


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ''
    try:
        with open('/proc/meminfo') as f:
            kb = int(f.readline().split()[1])
            mem = '%.0f GiB' % (kb / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    try:
        commit = subprocess.run(['git', '-C', TOP, 'describe', '--always',
                                 '--dirty'], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = '?'
    return {'cpu': cpu, 'cores': os.cpu_count(), 'memory': mem,
            'kernel': platform.release(), 'commit': commit,
            'load': os.getloadavg()[0],
            'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ('-h', '--help'):
        print(__doc__)
        return 0
    bindir = os.path.join(TOP, 'bin')
    if len(sys.argv) > 2 and sys.argv[1] == '--bin':
        bindir = sys.argv[2]
    servers = env_list('BENCH_SERVERS', ALL_SERVERS)
    scenarios = env_list('BENCH_SCENARIOS', ALL_SCENARIOS)
    for s in servers:
        if s not in ALL_SERVERS:
            log('run.py: unknown server %s' % s)
            return 2
    for s in scenarios:
        if s not in ALL_SCENARIOS:
            log('run.py: unknown scenario %s' % s)
            return 2
    if 'setup-auth' in scenarios and 'setup' not in scenarios:
        scenarios.insert(0, 'setup')
    setup_n = env_int('BENCH_SETUP', 20000)
    setup_c = env_int('BENCH_SETUP_CONC', 50)
    lat_s = env_int('BENCH_LAT_SESSIONS', 50)
    lat_r = env_int('BENCH_LAT_RATE', 20)
    lat_m = env_int('BENCH_LAT_BYTES', 64)
    dur = env_int('BENCH_DURATION', 5)
    tp_sessions = [int(x) for x in env_list('BENCH_TP_SESSIONS', ['1', '8'])]
    tp_m = env_int('BENCH_TP_BYTES', 16384)
    idle_s = env_int('BENCH_IDLE', 10000)
    idle_c = env_int('BENCH_IDLE_CONC', 200)
    idle_settle = env_int('BENCH_IDLE_SETTLE', 2)
    repeat = max(1, env_int('BENCH_REPEAT', 3))
    idle_repeat = max(1, env_int('BENCH_IDLE_REPEAT', 1))
    strict = env_int('BENCH_STRICT', 0)
    out = os.environ.get('BENCH_OUT') or os.path.join(TOP, 'build', 'bench')
    os.makedirs(os.path.join(out, 'logs'), exist_ok=True)
    workdir = tempfile.mkdtemp(prefix='medusa-bench-')
    os.makedirs(os.path.join(workdir, 'logs'), exist_ok=True)

    nofile = raise_nofile()
    info = machine()
    log('bench: %s, %s cores, %s, Linux %s, load %.2f, descriptors %d' %
        (info['cpu'], info['cores'], info['memory'], info['kernel'],
         info['load'], nofile))

    srv = {}
    skipped = {}
    for name in servers:
        s = Server(name, bindir, workdir,
                   os.environ.get('BENCH_LOG_LEVEL', 'info'))
        why = s.available()
        if why:
            skipped[name] = why
            log('bench: %s skipped: %s' % (name, why))
        else:
            srv[name] = s

    # The runs: (key, scenario, args, per-server tweak)
    runs = []
    if 'setup' in scenarios:
        runs.append(('setup', 'setup', ['-n', str(setup_n), '-c',
                                        str(setup_c)]))
    auth_dirs = {}
    if 'setup-auth' in scenarios:
        for kt, kargs, _ in AUTH_KEYS:
            d = os.path.join(workdir, 'keys-' + kt)
            os.makedirs(d)
            key = os.path.join(workdir, 'key-' + kt)
            subprocess.run(['ssh-keygen', '-q', '-N', '', '-f', key] + kargs,
                           check=True)
            shutil.copy(key + '.pub', os.path.join(d, 'bench'))
            os.chmod(workdir, 0o755)
            os.chmod(d, 0o755)
            auth_dirs[kt] = (d, key)
            runs.append(('auth-' + kt, 'setup', ['-n', str(setup_n), '-c',
                                                  str(setup_c), '--key', key,
                                                  '--account', 'bench']))
    if 'latency' in scenarios:
        runs.append(('latency', 'latency', ['-s', str(lat_s), '-r',
                                            str(lat_r), '-m', str(lat_m),
                                            '-d', str(dur)]))
    if 'throughput' in scenarios:
        for n in tp_sessions:
            runs.append(('tp%d' % n, 'throughput', ['-s', str(n), '-m',
                                                   str(tp_m), '-d',
                                                   str(dur)]))
    if 'idle' in scenarios:
        runs.append(('idle', 'idle', ['-c', str(idle_c), '-d',
                                      str(idle_settle)]))

    raw = {name: {key: [] for key, _, _ in runs} for name in srv}
    errors = {name: {} for name in srv}
    notes = {}
    for rep in range(max(repeat, idle_repeat)):
        for key, scenario, args in runs:
            if scenario != 'idle' and rep >= repeat:
                continue
            for name, s in srv.items():
                a = list(args)
                keys_dir = None
                if key.startswith('auth-'):
                    if s.workers() == 0:
                        continue    # its plain setup is the reference
                    keys_dir = auth_dirs[key[5:]][0]
                if scenario == 'idle':
                    if rep >= idle_repeat:
                        continue
                    n = idle_s
                    cap = s.max_sessions(nofile)
                    if n > cap:
                        n = cap // 100 * 100
                        notes[name] = (
                            '%s ran idle with %d sessions, not %d: with a '
                            'descriptor hard limit of %d, one %s process '
                            'holds at most %d' %
                            (name, n, idle_s, nofile,
                             'worker' if s.workers() else 'server', cap))
                    a = ['-s', str(n)] + a
                log('[%s] %s %s (run %d of %d)' %
                    (name, scenario, ' '.join(a), rep + 1,
                     idle_repeat if scenario == 'idle' else repeat))
                try:
                    s.start('%s-%d' % (key, rep), keys_dir)
                except RuntimeError as e:
                    errors[name][key] = str(e)
                    log('    ERROR: %s' % e)
                    if s.logpath and os.path.exists(s.logpath):
                        shutil.copy(s.logpath, os.path.join(out, 'logs'))
                    continue
                try:
                    if scenario == 'idle':
                        a += s.memory_args()
                    res = run_bench(bindir, scenario, s, a, 300,
                                    '/bench/medusa' if keys_dir else '')
                finally:
                    s.stop()
                    shutil.copy(s.logpath, os.path.join(out, 'logs'))
                if not res.get('ok'):
                    errors[name][key] = res.get('error', '?')
                    log('    ERROR: %s' % res.get('error'))
                else:
                    raw[name][key].append(res)

    # Figures: the median over the repeats.
    def fig(name, key, field):
        if name not in raw or not raw[name].get(key):
            return None
        vals = [r[field] for r in raw[name][key] if r.get(field) is not None]
        return statistics.median(vals) if vals else None

    rows = []   # (scenario, figure, key, field, fmt, target)
    if 'setup' in scenarios:
        rows += [
            ('setup', 'sessions/s (%d, %d at a time)' % (setup_n, setup_c),
             'setup', 'sessions_per_s', '%.0f', ('ratio>=', 0.8)),
            ('setup', 'connect to linkup p50 (ms)', 'setup',
             'linkup_p50_ms', '%.2f', None),
            ('setup', 'connect to linkup p99 (ms)', 'setup',
             'linkup_p99_ms', '%.2f', None),
        ]
    if 'setup-auth' in scenarios:
        for kt, _, label in AUTH_KEYS:
            rows.append(('setup, auth on', 'sessions/s, signed with %s '
                         '(reference: plain setup)' % label, 'auth-' + kt,
                         'sessions_per_s', '%.0f', ('ratio>=', 0.6)
                         if kt == 'rsa' else None))
    if 'latency' in scenarios:
        lab = '%d sessions x %d/s, %d B' % (lat_s, lat_r, lat_m)
        rows += [
            ('latency', 'round trip p50 (us), ' + lab, 'latency',
             'rtt_p50_us', '%.0f', ('ratio<=', 1.3)),
            ('latency', 'round trip p90 (us)', 'latency', 'rtt_p90_us',
             '%.0f', None),
            ('latency', 'round trip p99 (us)', 'latency', 'rtt_p99_us',
             '%.0f', None),
            ('latency', 'round trip max (us)', 'latency', 'rtt_max_us',
             '%.0f', None),
        ]
    if 'throughput' in scenarios:
        for n in tp_sessions:
            rows.append(('throughput', 'MB/s, %d session%s, %d B messages' %
                         (n, '' if n == 1 else 's', tp_m), 'tp%d' % n,
                         'mb_per_s', '%.0f', ('ratio>=', 0.8)))
    if 'idle' in scenarios:
        rows += [
            ('idle', 'RSS bytes per paired session', 'idle',
             'bytes_per_session', '%.0f', ('abs<=', 4096)),
            ('idle', 'paired sessions held (of %d)' % idle_s, 'idle', 'held',
             '%.0f', ('abs>=', 10000)),
        ]

    def cell(name, key, field, fmt):
        if name in skipped:
            return 'n/a'
        if key in errors.get(name, {}):
            return 'ERR'
        v = fig(name, key, field)
        return '-' if v is None else fmt % v

    def ratio(a, b, key, field):
        # With credentials on, the servers that have none: plain setup.
        x, y = fig(a, key, field), fig(b, key if not key.startswith(
            'auth-') else 'setup', field)
        if x is None or y is None or y == 0:
            return None
        return x / y

    def verdict(key, field, target):
        if target is None:
            return ''
        kind, lim = target
        bad, have = [], 0
        for m in ('medusa-1w', 'medusa-2w'):
            if m not in srv:
                continue
            if kind.startswith('ratio'):
                v = ratio(m, 'bare', key, field)
            else:
                v = fig(m, key, field)
            if v is None:
                bad.append('%s ?' % m[-2:])
                continue
            have += 1
            ok = v >= lim if kind.endswith('>=') else v <= lim
            if not ok:
                bad.append('%s %s' % (m[-2:], ('%.3f' % v) if
                                      kind.startswith('ratio') else
                                      '%.0f' % v))
        if have == 0:
            return 'n/a'
        return 'PASS' if not bad else 'FAIL (%s)' % ', '.join(bad)

    def target_text(target):
        if target is None:
            return ''
        kind, lim = target
        return {'ratio>=': '>= %.1fx bare' % lim,
                'ratio<=': '<= %.1fx bare' % lim,
                'abs<=': '<= %d' % lim,
                'abs>=': '>= %d' % lim}[kind]

    hdr = ['scenario', 'figure', 'medusa 1w', 'medusa 2w', 'bare',
           'watershed', '1w/bare', '2w/bare', '1w/ws', '2w/ws', 'target',
           'result']
    lines = ['| ' + ' | '.join(hdr) + ' |',
             '|' + '|'.join(['---'] * len(hdr)) + '|']
    failed_targets = False
    for scen, figure, key, field, fmt, target in rows:
        cells = [scen, figure] + [cell(n, key if n.startswith('medusa') or
                                       not key.startswith('auth-') else
                                       'setup', field, fmt)
                                  for n in ALL_SERVERS]
        for a, b in (('medusa-1w', 'bare'), ('medusa-2w', 'bare'),
                     ('medusa-1w', 'watershed'), ('medusa-2w', 'watershed')):
            r = ratio(a, b, key, field)
            cells.append('-' if r is None or field == 'held'
                         else '%.2f' % r)
        v = verdict(key, field, target)
        if v.startswith('FAIL'):
            failed_targets = True
        cells += [target_text(target), v]
        lines.append('| ' + ' | '.join(cells) + ' |')
    table = '\n'.join(lines)
    if 'resume' in scenarios:
        import resume
        log('bench: resume (mlogin and the agent, on vs off)')
        try:
            rrows, raw['resume'] = resume.run(bindir, Server(
                'medusa-1w', bindir, workdir, 'info'), log)
            table += '\n\nResume (issue 14), medusa 1w:\n\n' + \
                resume.table(rrows)
        except (RuntimeError, OSError) as e:
            errors.setdefault('medusa-1w', {})['resume'] = str(e)
    if 'hosts' in scenarios:
        import hosts
        log('bench: hosts (3 hosts on a directory vs 1, the hop)')
        try:
            hrows, raw['hosts'] = hosts.run(bindir, log)
            table += ('\n\nMany hosts (issue 16), 1 worker each, one '
                      'machine:\n\n' + hosts.table(hrows))
        except (RuntimeError, OSError, AssertionError) as e:
            errors.setdefault('hosts', {})['hosts'] = str(e)
    if 'onehost' in scenarios:
        import onehost
        log('bench: onehost (sessions held vs empty)')
        try:
            orows, raw['onehost'] = onehost.run(bindir, log)
            table += ('\n\nOn one host (issue 16), medusa:\n\n' +
                      onehost.table(orows, raw['onehost']))
        except (RuntimeError, OSError) as e:
            errors.setdefault('onehost', {})['onehost'] = str(e)
    mach = ('%s, %s cores, %s, Linux %s; medusa %s; load average %.2f at '
            'the start; %s' % (info['cpu'], info['cores'], info['memory'],
                               info['kernel'], info['commit'], info['load'],
                               info['date']))
    foot = []
    for name, why in skipped.items():
        foot.append('- %s: not run: %s' % (name, why))
    for name, why in notes.items():
        foot.append('- ' + why)
    for name in errors:
        for key, why in errors[name].items():
            foot.append('- %s %s: ERR: %s' % (name, key, why))
    doc = table + '\n\n' + mach + '\n' + ('\n'.join(foot) + '\n'
                                           if foot else '')
    print()
    print(doc)
    with open(os.path.join(out, 'results.md'), 'w') as f:
        f.write(doc)
    with open(os.path.join(out, 'results.json'), 'w') as f:
        json.dump({'machine': info, 'results': raw, 'errors': errors,
                   'skipped': skipped, 'notes': notes}, f, indent=1)
    log('bench: table in %s, raw results in %s' %
        (os.path.join(out, 'results.md'), os.path.join(out, 'results.json')))
    shutil.rmtree(workdir, ignore_errors=True)
    if any(errors[n] for n in errors):
        return 1
    if strict and failed_targets:
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
