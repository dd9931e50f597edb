/*
 * The original client against our agent: npm manta 5.4.2's medusaAttach()
 * as the master, doing exactly what the original bin/mlogin does after
 * linkup (its start_session()): "start" with the original's fields, the
 * command always wrapped in SmartOS's ctrun (/usr/bin/ctrun -i core -l
 * child /bin/bash --norc, or ... /bin/bash -c CMD with -c), cwd "/", its
 * columns/lines (undefined when stdout is not a terminal, so JSON leaves
 * them out), then the "ping" text, keystrokes, and on "exit"
 * shed.end('done').  (The rest of bin/mlogin creates a Manta job for the
 * agent, which needs Manta's jobs API; this part is what meets our agent.)
 * usage: node manta_mlogin.js BASE_URL ID [CMD]
 * Prints one JSON line: the agent's messages and its terminal output.
 */
var crypto = require('crypto');
var manta = require('manta');

var base = process.argv[2], id = process.argv[3], usercmd = process.argv[4];
var result = { messages: [], output: '' };

function finish(code) {
    console.log(JSON.stringify(result));
    process.exit(code);
}
setTimeout(function () { result.error = 'timed out'; finish(1); }, 30000).unref();

/* As bin/mlogin's parseOptions(). */
var command = '/usr/bin/ctrun';
var args = [ '-i', 'core', '-l', 'child', '/bin/bash' ];
if (usercmd)
    args.push('-c', usercmd);
else
    args.push('--norc');

var pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
var client = manta.createClient({
    url: base.replace(/^ws/, 'http'),
    user: 'tester',
    sign: manta.privateKeySigner({
        key: pair.privateKey.export({ type: 'pkcs1', format: 'pem' }),
        keyId: crypto.createHash('md5').update(pair.publicKey.export(
            { type: 'pkcs1', format: 'der' })).digest('hex')
            .match(/../g).join(':'),
        user: 'tester'
    })
});

client.medusaAttach(id, function (err, shed) {
    if (err) {
        result.error = err.message;
        finish(1);
    }
    shed.on('text', function (t) {
        if (t === 'medusa:{"type":"linkup"}') {
            shed.send('mlogin:' + JSON.stringify({
                type: 'start',
                cwd: '/',
                term: process.env.TERM || 'xterm',
                columns: process.stdout.columns,
                lines: process.stdout.rows,
                command: command,
                arguments: args
            }));
            shed.send('ping');
            return;
        }
        var m = t.match(/^mlogin:(.*)$/);
        if (!m)
            return;
        var o = JSON.parse(m[1]);
        result.messages.push(o);
        if (o.type === 'started' && !usercmd) {
            shed.send(Buffer.from('echo "cwd=$(pwd) $((6*7))"; exit 5\r'));
        } else if (o.type === 'exit' || o.type === 'error') {
            shed.end('done');
            setTimeout(function () { finish(0); }, 200);
        }
    });
    shed.on('binary', function (b) { result.output += b.toString(); });
    shed.on('connectionReset', function () { result.reset = true; });
    shed.on('error', function (e) { result.error = e.message; finish(1); });
});
