/*
 * An agent built on the original's WebSocket library (watershed 0.3.x),
 * speaking the original agent's side of the protocol: it waits for
 * linkup, answers "start" with "started", echoes keystrokes back as
 * output, and on the line "bye" sends "exit" with no fields (as the
 * original did).  It counts any PING it receives: the original agent's
 * library failed on them, so there must be none.
 * usage: node watershed_agent.js BASE_URL ID   Prints one JSON line.
 */
var wspeer = require('./wspeer');

var base = process.argv[2], id = process.argv[3];
var result = { messages: [], input: '', pings: 0 };

function finish(code) {
    console.log(JSON.stringify(result));
    process.exit(code);
}
setTimeout(function () { result.error = 'timed out'; finish(1); }, 30000).unref();

wspeer.connect(base, '/attach/' + id + '/slave', function (err, shed) {
    if (err) {
        result.error = err.message;
        finish(1);
    }
    console.error('attached');
    shed.on('ping', function () { result.pings++; });
    shed.on('text', function (t) {
        var m = t.match(/^mlogin:(.*)$/);
        if (!m)
            return;
        var o = JSON.parse(m[1]);
        result.messages.push(o);
        if (o.type === 'start') {
            shed.send('mlogin:{"type":"started","pid":4242}');
            shed.send(Buffer.from('agent ready\r\n'));
        }
    });
    shed.on('binary', function (b) {
        result.input += b.toString();
        shed.send(Buffer.from('echo:' + b.toString()));
        if (/bye\n/.test(result.input))
            shed.send('mlogin:{"type":"exit"}');
    });
    shed.on('end', function (code, reason) {
        result.end = [code, reason];
        finish(0);
    });
    shed.on('error', function (e) { result.error = e.message; finish(1); });
});
