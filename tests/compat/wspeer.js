/*
 * Connect to the reflector exactly as the original peers do: an HTTP GET
 * with only Host, "Connection: upgrade", "Upgrade: websocket" and
 * Sec-WebSocket-Key (no Sec-WebSocket-Version), then hand the upgraded
 * socket to watershed 0.3.x, which checks the 101 strictly.
 */
var http = require('http');
var Watershed = require('watershed').Watershed;

function connect(base, path, cb) {
    var u = new URL(base);
    var ws = new Watershed();
    var key = ws.generateKey();
    var req = http.request({
        host: u.hostname,
        port: u.port,
        path: path,
        headers: {
            connection: 'upgrade',
            upgrade: 'websocket',
            'sec-websocket-key': key
        }
    });
    req.on('upgrade', function (res, socket, head) {
        var shed;
        try {
            socket.setNoDelay(true);
            shed = ws.connect(res, socket, head, key);
        } catch (e) {
            cb(e);
            return;
        }
        cb(null, shed);
    });
    req.on('response', function (res) {
        cb(new Error('no upgrade: HTTP ' + res.statusCode));
    });
    req.on('error', cb);
    req.end();
}

/* Deterministic pseudo-random numbers (xorshift32). */
function rng(seed) {
    var x = seed >>> 0 || 1;
    return function () {
        x ^= x << 13; x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5; x >>>= 0;
        return x / 4294967296;
    };
}

/* n messages, text or binary, sizes 0..maxlen, reproducible from seed. */
function messages(seed, n, maxlen) {
    var r = rng(seed);
    var out = [];
    var chars = 'abcdefgh \u00e9\u20ac\ud83d\ude00';
    for (var i = 0; i < n; i++) {
        var size = Math.floor(r() * (maxlen + 1));
        if (r() < 0.5) {
            var s = i + ':';
            var parts = [];
            while (s.length + parts.length < size / 2) {
                var k = Math.floor(r() * 6);
                parts.push(k === 5 ? '\ud83d\ude00' : chars[k]);
            }
            out.push(s + parts.join(''));
        } else {
            var b = Buffer.alloc(size);
            for (var j = 0; j < size; j++)
                b[j] = (i + j * 7) & 0xff;
            out.push(b);
        }
    }
    return out;
}

function same(a, b) {
    if (typeof (a) === 'string' || typeof (b) === 'string')
        return (a === b);
    return (Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b));
}

module.exports = { connect: connect, messages: messages, same: same };
