/*
 * Both sides of a session with the original's WebSocket library
 * (watershed 0.3.x): usage: node watershed_pair.js BASE_URL SESSION_ID N
 *
 * Checks: the reflector's 101 passes watershed's strict checks; "wait"
 * then "linkup"; N messages each way (text and binary, 0..300 KiB, so the
 * 16- and 64-bit length forms) arrive byte-exact and in order; no PING ever
 * reaches a watershed peer; the master's close reaches the slave as a CLOSE
 * with its reason, not as a bare disconnect.  Prints one JSON line.
 */
var wspeer = require('./wspeer');

var base = process.argv[2], id = process.argv[3];
var n = parseInt(process.argv[4] || '100', 10);
var result = { waits: 0, linkups: [], pings: 0, resets: 0 };

function fail(msg) {
    result.error = msg;
    console.log(JSON.stringify(result));
    process.exit(1);
}

setTimeout(function () { fail('timed out'); }, 60000).unref();

function track(shed, name) {
    shed.on('ping', function () { result.pings++; });
    shed.on('connectionReset', function () { result.resets++; });
    shed.on('error', function (e) { fail(name + ' error: ' + e.message); });
}

function exchange(sender, receiver, seed, done) {
    var want = wspeer.messages(seed, n, 300 * 1024);
    var got = 0;
    receiver.on('text', onmsg);
    receiver.on('binary', onmsg);
    function onmsg(m) {
        if (typeof (m) === 'string' && m.indexOf('medusa:') === 0)
            return;
        if (!wspeer.same(m, want[got]))
            fail('message ' + got + ' differs (seed ' + seed + ')');
        if (++got === n)
            done();
    }
    want.forEach(function (m) {
        /* watershed masks in place: send a copy. */
        sender.send(Buffer.isBuffer(m) ? Buffer.from(m) : m);
    });
}

wspeer.connect(base, '/attach/' + id + '/master', function (err, master) {
    if (err)
        fail('master: ' + err.message);
    track(master, 'master');
    master.once('text', function (t) {
        if (t !== 'medusa:{"type":"wait"}')
            fail('master first message: ' + t);
        result.waits++;
        var linked = 0, slave = null;
        function onlink(who) {
            return function (t) {
                if (t === 'medusa:{"type":"linkup"}') {
                    result.linkups.push(who);
                    if (++linked === 2)
                        run(master, slave);
                }
            };
        }
        /*
         * Listen before the slave dials: the master's linkup may come
         * before the slave's own connection is reported.
         */
        master.once('text', onlink('master'));
        wspeer.connect(base, '/attach/' + id + '/slave', function (err2, s) {
            if (err2)
                fail('slave: ' + err2.message);
            slave = s;
            track(slave, 'slave');
            slave.once('text', onlink('slave'));
        });
    });
});

function run(master, slave) {
    var pending = 2;
    function oneDone() {
        if (--pending > 0)
            return;
        slave.on('end', function (code, reason) {
            result.slave_end = [code, reason];
            setTimeout(function () {
                console.log(JSON.stringify(result));
                process.exit(0);
            }, 100);
        });
        master.end('master done');
    }
    exchange(master, slave, 1, oneDone);
    exchange(slave, master, 2, oneDone);
}
