/*
 * The original mlogin's side of a session: npm manta 5.4.2's
 * MantaClient.medusaAttach(), signing its request with a fresh RSA key, as
 * the master of session ID.  usage: node manta_master.js BASE_URL ID
 *
 * After linkup it plays mlogin: sends "start", then the plain "ping" text,
 * then keystrokes; prints what comes back; on "exit" it ends the session as
 * mlogin does (shed.end('done')).  Prints one JSON line.
 */
var crypto = require('crypto');
var manta = require('manta');

var base = process.argv[2], id = process.argv[3];
var result = { texts: [], binary: '' };

function finish(code) {
    console.log(JSON.stringify(result));
    process.exit(code);
}
setTimeout(function () { result.error = 'timed out'; finish(1); }, 30000).unref();

var pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
var pem = pair.privateKey.export({ type: 'pkcs1', format: 'pem' });
var fp = crypto.createHash('md5').update(pair.publicKey.export(
    { type: 'pkcs1', format: 'der' })).digest('hex').match(/../g).join(':');

var client = manta.createClient({
    url: base.replace(/^ws/, 'http'),
    user: 'tester',
    sign: manta.privateKeySigner({ key: pem, keyId: fp, user: 'tester' })
});

client.medusaAttach(id, function (err, shed) {
    if (err) {
        result.error = err.message;
        finish(1);
    }
    shed.on('text', function (t) {
        result.texts.push(t);
        if (t === 'medusa:{"type":"linkup"}') {
            shed.send('mlogin:' + JSON.stringify({ type: 'start',
                cwd: '/', term: 'xterm', columns: 80, lines: 24,
                command: '/bin/bash', arguments: ['--norc'] }));
            shed.send('ping');
            shed.send(Buffer.from('echo hi\r'));
        } else if (t.indexOf('mlogin:') === 0 &&
            JSON.parse(t.slice(7)).type === 'exit') {
            shed.end('done');
            setTimeout(function () { finish(0); }, 100);
        }
    });
    shed.on('binary', function (b) { result.binary += b.toString(); });
    shed.on('connectionReset', function () { result.reset = true; });
    shed.on('error', function (e) { result.error = e.message; finish(1); });
});
