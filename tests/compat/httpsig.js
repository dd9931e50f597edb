/*
 * The original's own signing code (npm http-signature and sshpk, as npm
 * manta 5.4.2 ships them), for test_auth.py to check ours against:
 *
 *   node httpsig.js sign KEYFILE KEYID METHOD PATH [HEADER...]
 *	prints the Date and Authorization lines http-signature's
 *	signRequest() writes (signing "date" and the HEADERs named)
 *   node httpsig.js verify PUBFILE METHOD PATH < lines
 *	reads "Name: value" lines (a request's headers), and prints "ok" if
 *	http-signature's parseRequest() and verifySignature() accept them
 *	with the public key, else "bad: <why>"
 */
'use strict';
var fs = require('fs');
var httpSignature = require('http-signature');
var sshpk = require('sshpk');

var args = process.argv.slice(2);

if (args[0] === 'sign') {
	var hdrs = { host: '127.0.0.1' };
	var req = {
		method: args[3],
		path: args[4],
		getHeader: function (n) { return (hdrs[n.toLowerCase()]); },
		setHeader: function (n, v) { hdrs[n.toLowerCase()] = v; }
	};
	var names = ['date'].concat(args.slice(5));
	httpSignature.signRequest(req, {
		key: fs.readFileSync(args[1]),
		keyId: args[2],
		headers: names
	});
	console.log('Date: ' + hdrs['date']);
	console.log('Authorization: ' + hdrs['authorization']);
} else if (args[0] === 'verify') {
	var key = sshpk.parseKey(fs.readFileSync(args[1]), 'ssh');
	var lines = fs.readFileSync(0, 'utf8').split(/\r?\n/);
	var headers = {};
	lines.forEach(function (l) {
		var i = l.indexOf(':');
		if (i > 0)
			headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
	});
	try {
		var parsed = httpSignature.parseRequest({
			method: args[2], url: args[3], httpVersion: '1.1',
			headers: headers
		});
		console.log(httpSignature.verifySignature(parsed, key) ?
		    'ok' : 'bad: does not verify');
	} catch (e) {
		console.log('bad: ' + e.message);
	}
} else {
	console.error('usage: httpsig.js sign|verify ...');
	process.exit(2);
}
