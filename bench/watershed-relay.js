/*
 * watershed-relay.js: the original Medusa reflector's data path, for the
 * benchmarks' comparison.
 *
 *	node bench/watershed-relay.js [PORT [ADDRESS]]
 *
 * The original reflector was a node.js program that accepted the WebSocket
 * upgrades with npm watershed 0.3.x and relayed between the two sides of a
 * session.  This is that path and nothing else: a node http server whose
 * 'upgrade' handler takes /attach/<id>/master and /attach/<id>/slave (and
 * /<account>/medusa/attach/..., as the original peers send it), accepts
 * them with watershed 0.3.4 (from tests/compat/node_modules, installed by
 * `make deps`), pairs master and slave by id (case-insensitive; either may
 * come first), sends a waiting master medusa:{"type":"wait"} at once and
 * every 2 s, sends medusa:{"type":"linkup"} to the slave and then the
 * master, and relays text and binary messages unchanged.  When one side
 * ends, the other gets a CLOSE with a reason.  A second master or slave is
 * refused with 409 before the upgrade.
 *
 * It approximates the original without Manta's web tier in front of it
 * (TLS, authentication, the proxy hop) and without its logging, job
 * lookups and /status: the comparison is of the relaying itself.  Like
 * watershed, it applies no backpressure.  It prints
 * {"msg":"listening","port":N} on standard error once it listens.
 */
var http = require('http');
var path = require('path');

var compat = path.join(__dirname, '..', 'tests', 'compat', 'node_modules');
var Watershed = require(path.join(compat, 'watershed')).Watershed;

var WAIT = 'medusa:{"type":"wait"}';
var LINKUP = 'medusa:{"type":"linkup"}';
var ROUTE = /^(?:\/[^\/]+\/medusa)?\/attach\/([A-Za-z0-9._~-]+)\/(master|slave)\/?(?:\?.*)?$/;

var sessions = {};
var shed = new Watershed();

function refuse(socket, status, code, message) {
    var body = JSON.stringify({ code: code, message: message });
    socket.end('HTTP/1.1 ' + status + ' ' + http.STATUS_CODES[status] +
        '\r\nContent-Type: application/json\r\nContent-Length: ' +
        Buffer.byteLength(body) + '\r\nConnection: close\r\n\r\n' + body);
}

function endSession(s, from, code, reason) {
    if (s.ended)
        return;
    s.ended = true;
    if (s.timer)
        clearInterval(s.timer);
    if (sessions[s.id] === s)
        delete sessions[s.id];
    var other = from === 'master' ? s.slave : s.master;
    if (other)
        other.end(reason || (from + ' disconnected'));
}

function relay(from, to) {
    from.on('text', function (t) { to.send(t); });
    from.on('binary', function (b) { to.send(b); });
}

function attach(req, socket, head) {
    var m = ROUTE.exec(req.url);
    if (!m) {
        refuse(socket, 404, 'ResourceNotFound', req.url + ' does not exist');
        return;
    }
    var id = m[1].toLowerCase(), role = m[2];
    var s = sessions[id];
    if (!s) {
        s = sessions[id] = { id: id, master: null, slave: null,
            timer: null, ended: false, linked: false };
    }
    if (s[role]) {
        if (role === 'master')
            refuse(socket, 409, 'SessionExists', 'session exists already');
        else
            refuse(socket, 409, 'SessionHasSlave',
                'session already has a slave');
        return;
    }
    var ws;
    try {
        ws = shed.accept(req, socket, head);
    } catch (e) {
        if (!s.master && !s.slave)
            delete sessions[id];
        refuse(socket, 400, 'BadRequest', e.message);
        return;
    }
    socket.setNoDelay(true);
    s[role] = ws;
    ws.on('error', function () {});
    ws.on('end', function (code, reason) {
        endSession(s, role, code, reason);
    });

    if (s.master && s.slave) {
        if (s.timer) {
            clearInterval(s.timer);
            s.timer = null;
        }
        s.linked = true;
        relay(s.master, s.slave);
        relay(s.slave, s.master);
        s.slave.send(LINKUP);
        s.master.send(LINKUP);
    } else if (role === 'master') {
        ws.send(WAIT);
        s.timer = setInterval(function () { ws.send(WAIT); }, 2000);
    }
}

var server = http.createServer(function (req, res) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'ResourceNotFound',
        message: req.url + ' does not exist' }));
});
server.on('upgrade', attach);
server.on('clientError', function (err, socket) { socket.destroy(); });

var port = parseInt(process.argv[2] || '0', 10);
var addr = process.argv[3] || '127.0.0.1';
server.listen({ port: port, host: addr, backlog: 1024 }, function () {
    console.error(JSON.stringify({ msg: 'listening',
        port: server.address().port, pid: process.pid }));
});
process.on('SIGTERM', function () { process.exit(0); });
