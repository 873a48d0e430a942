#!/usr/bin/env node
// Client-compatibility harness for apisec (t/050-clients.t).
//
//   APISEC_CLIENT_KEY=K APISEC_CLIENT_SECRET=S [APISEC_CLIENT_PASSPHRASE=P] \
//       node t/clients/sign.mjs EXCHANGE http://127.0.0.1:1984 [--dump]
//
// EXCHANGE is hashkey, binance, htx or okx.  The requests are built by the
// public client library ccxt (the version pinned in package.json), with its
// signing code unchanged: only the exchange's base URL (or hostname) is
// pointed at nginx.  For a private GET and a POST (a new order) it takes
// {url, method, body, headers} from the exchange's own sign() and sends them
// with node's fetch three times:
//
//   plain     as produced by ccxt
//   tampered  with one byte changed in a signed part (a query value, or a
//             signed body byte; htx does not sign bodies, so its POST gets a
//             query parameter changed)
//   replayed  the plain request again, unchanged
//
// and then makes one full library call, fetchBalance(), through ccxt's own
// HTTP code.  One line per request on stdout:
//
//   binance GET plain 200 account=acct-binance
//   binance GET tampered 401 signature-invalid
//   binance GET replayed 401 signature-replayed
//   binance fetchBalance library ok BTC=1.5 account=acct-binance
//
// For a 200 the last field is the account that the backend saw (the echo
// backend of t/lib/ApisecTest.pm, which must also have seen the method, the
// path and the body as sent, else the field says what differed); for a
// refusal it is the "code" of apisec's JSON answer.
//
// --dump also writes each request to stderr as JSON (method, url, headers,
// body), with the string that the scheme signs, as apisec reads it, and the
// signature, so that a failure can be checked by hand, e.g. with
//   printf %s "$signed" | openssl dgst -sha256 -hmac "$secret" [-binary | base64]

import ccxt from 'ccxt';

const VARIANTS = ['plain', 'tampered', 'replayed'];

function usage(msg) {
    process.stderr.write((msg ? msg + '\n' : '') +
        'usage: node sign.mjs hashkey|binance|htx|okx BASE_URL [--dump]\n' +
        '  credentials in APISEC_CLIENT_KEY, APISEC_CLIENT_SECRET and,\n' +
        '  for okx, APISEC_CLIENT_PASSPHRASE\n');
    process.exit(2);
}


// ---------------------------------------------------------------------
// one exchange object per scheme, pointed at nginx

// each entry: make the exchange with its base URL at nginx; the GET and the
// POST to sign (path, api, params as ccxt's implicit API would pass them);
// where to change one byte of each; the canonical string of the scheme (for
// --dump only: the requests themselves are ccxt's)

const order = {
    hashkey: { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT',
               quantity: '0.001', price: '50000' },
    binance: { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT',
               timeInForce: 'GTC', quantity: '0.001', price: '50000' },
    htx: { 'account-id': '100001', symbol: 'btcusdt', type: 'buy-limit',
           amount: '0.001', price: '50000' },
    okx: { instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'limit',
           sz: '0.001', px: '50000' },
};

const exchanges = {

    hashkey: {
        make(base, creds) {
            const ex = new ccxt.hashkey(creds);
            ex.urls.api.public = base;
            ex.urls.api.private = base;
            return ex;
        },
        get: ['api/v1/spot/openOrders', 'private', { symbol: 'BTCUSDT' }],
        post: ['api/v1/spot/order', 'private', order.hashkey],
        tamperGet: (req) => tamper(req, 'url', 'symbol=BTCUSDT', 'symbol=BTCUSDU'),
        tamperPost: (req) => tamper(req, 'body', 'quantity=0.001', 'quantity=0.002'),
        signed: totalParams,
    },

    binance: {
        make(base, creds) {
            const ex = new ccxt.binance(creds);
            ex.urls.api.public = base + '/api/v3';
            ex.urls.api.private = base + '/api/v3';
            return ex;
        },
        get: ['openOrders', 'private', { symbol: 'BTCUSDT' }],
        post: ['order', 'private', order.binance],
        tamperGet: (req) => tamper(req, 'url', 'symbol=BTCUSDT', 'symbol=BTCUSDU'),
        tamperPost: (req) => tamper(req, 'body', 'quantity=0.001', 'quantity=0.002'),
        signed: totalParams,
    },

    htx: {
        make(base, creds) {
            const ex = new ccxt.htx(creds);
            const u = new URL(base);
            // htx signs the host name it sends: the one in urls.hostnames
            ex.hostname = u.host;
            ex.urls.hostnames = { spot: u.host, contract: u.host };
            for (const k of Object.keys(ex.urls.api)) {
                ex.urls.api[k] = u.protocol + '//{hostname}';
            }
            return ex;
        },
        get: ['v1/order/openOrders', ['spot', 'private'],
              { 'account-id': '100001', symbol: 'btcusdt' }],
        post: ['v1/order/orders/place', ['spot', 'private'], order.htx],
        tamperGet: (req) => tamper(req, 'url', 'symbol=btcusdt', 'symbol=btcusdu'),
        // the body is not signed: change the last digit of the Timestamp
        // (one second earlier, or later when it is 0: inside the window)
        tamperPost: (req) => tamper(req, 'url', /(Timestamp=[^&]*)(\d)/,
            (m, pre, d) => pre + (d === '0' ? '1' : String(Number(d) - 1))),
        signed: htxPayload,
    },

    okx: {
        make(base, creds) {
            const ex = new ccxt.okx(creds);
            const u = new URL(base);
            ex.hostname = u.host;
            ex.urls.api.rest = u.protocol + '//{hostname}';
            return ex;
        },
        get: ['trade/orders-pending', 'private', { instId: 'BTC-USDT' }],
        post: ['trade/order', 'private', order.okx],
        tamperGet: (req) => tamper(req, 'url', 'instId=BTC-USDT', 'instId=BTC-USDU'),
        tamperPost: (req) => tamper(req, 'body', '"sz":"0.001"', '"sz":"0.002"'),
        signed: okxPrehash,
    },
};


// ---------------------------------------------------------------------
// tampering: exactly one byte changes, in a signed part

function tamper(req, part, from, to) {
    const before = req[part];
    const after = before.replace(from, to);

    if (after.length !== before.length) {
        throw new Error('tamper changed the length of the ' + part);
    }

    let diff = 0;
    for (let i = 0; i < before.length; i++) {
        if (before[i] !== after[i]) {
            diff++;
        }
    }

    if (diff !== 1) {
        throw new Error('tamper changed ' + diff + ' bytes of the ' + part
                        + ': ' + before);
    }

    return Object.assign({}, req, { [part]: after });
}


// ---------------------------------------------------------------------
// what each scheme signs, read from the request as sent (for --dump)

function splitUrl(url) {
    const u = new URL(url);
    const q = url.indexOf('?');
    return { host: u.host, path: u.pathname,
             query: q < 0 ? '' : url.slice(q + 1) };
}

function header(req, name) {
    for (const k of Object.keys(req.headers || {})) {
        if (k.toLowerCase() === name.toLowerCase()) {
            return req.headers[k];
        }
    }
    return undefined;
}

function withoutSignature(s, name) {
    if (!s) {
        return '';
    }
    return s.split('&').filter((p) => !p.startsWith(name + '=')).join('&');
}

function totalParams(req) {
    const { query } = splitUrl(req.url);
    const form = /^application\/x-www-form-urlencoded/i
                 .test(header(req, 'Content-Type') || '');
    return withoutSignature(query, 'signature')
           + (form ? withoutSignature(req.body, 'signature') : '');
}

function htxPayload(req) {
    const { host, path, query } = splitUrl(req.url);
    const params = query.split('&').filter((p) => !p.startsWith('Signature='));
    params.sort((a, b) => {
        const ka = a.split('=')[0], kb = b.split('=')[0];
        return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    return req.method + '\n' + host.toLowerCase() + '\n' + path + '\n'
           + params.join('&');
}

function okxPrehash(req) {
    const u = splitUrl(req.url);
    return header(req, 'OK-ACCESS-TIMESTAMP') + req.method + u.path
           + (u.query ? '?' + u.query : '') + (req.body || '');
}


// ---------------------------------------------------------------------
// sending

async function send(req) {
    const res = await fetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        redirect: 'manual',
    });
    return { status: res.status, text: await res.text() };
}

// the last field of a line: the account the echo backend saw, or apisec's
// error code
function outcome(req, res) {
    if (res.status === 200) {
        const m = /^backend (\S+) (\S+) account=(\S*) key=\S* body=(.*)$/s
                  .exec(res.text.replace(/\n$/, ''));
        if (!m) {
            return 'not-the-backend:' + JSON.stringify(res.text.slice(0, 80));
        }
        const { path } = splitUrl(req.url);
        if (m[1] !== req.method || m[2] !== path) {
            return 'backend-saw:' + m[1] + ':' + m[2];
        }
        if (m[4] !== (req.body || '')) {
            return 'backend-saw-body:' + JSON.stringify(m[4]);
        }
        return 'account=' + m[3];
    }

    try {
        const j = JSON.parse(res.text);
        if (typeof j.code === 'string') {
            return j.code;
        }
    } catch (e) {
        // not apisec's JSON
    }
    return 'body:' + JSON.stringify(res.text.slice(0, 80));
}


function dump(id, label, req, def) {
    const sig = header(req, 'OK-ACCESS-SIGN')
        || (/[?&]Signature=([^&]*)/.exec(req.url) || [])[1]
        || (/(?:^|[?&])signature=([^&]*)/.exec(req.url) || [])[1]
        || (/(?:^|&)signature=([^&]*)/.exec(req.body || '') || [])[1];
    process.stderr.write(JSON.stringify({
        exchange: id, request: label, method: req.method, url: req.url,
        headers: req.headers, body: req.body === undefined ? null : req.body,
        signed: def.signed(req), signature: sig,
    }) + '\n');
}


// ---------------------------------------------------------------------

async function main() {
    const args = process.argv.slice(2);
    const dumping = args.includes('--dump');
    const [id, base] = args.filter((a) => a !== '--dump');

    const def = exchanges[id];
    if (!def || !base) {
        usage(def ? 'no BASE_URL' : 'unknown exchange ' + JSON.stringify(id));
    }

    const creds = {
        apiKey: process.env.APISEC_CLIENT_KEY,
        secret: process.env.APISEC_CLIENT_SECRET,
    };
    if (process.env.APISEC_CLIENT_PASSPHRASE) {
        creds.password = process.env.APISEC_CLIENT_PASSPHRASE;
    }
    if (!creds.apiKey || !creds.secret) {
        usage('no credentials');
    }

    const ex = def.make(base.replace(/\/+$/, ''), creds);

    const out = [];
    const line = (s) => {
        out.push(s);
        process.stdout.write(s + '\n');
    };

    const cases = [
        ['GET', def.get, def.tamperGet],
        ['POST', def.post, def.tamperPost],
    ];

    for (const [method, [path, api, params], tamperFn] of cases) {
        // ccxt's sign() may add to params (client order ids): a fresh copy
        const req = ex.sign(path, api, method, Object.assign({}, params));
        const variants = {
            plain: req,
            tampered: tamperFn(req),
            replayed: req,
        };

        for (const v of VARIANTS) {
            if (dumping) {
                dump(id, method + ' ' + v, variants[v], def);
            }
            let res;
            try {
                res = await send(variants[v]);
            } catch (e) {
                line(`${id} ${method} ${v} error ${e.message}`);
                continue;
            }
            line(`${id} ${method} ${v} ${res.status} ${outcome(variants[v], res)}`);
        }
    }

    // one call through ccxt's own HTTP path; the markets are not needed
    // for a balance, and loading them would call public endpoints
    ex.setMarkets([]);
    if (dumping) {
        ex.verbose = true;
        ex.log = (...a) => process.stderr.write(a.map((x) =>
            typeof x === 'string' ? x : JSON.stringify(x)).join(' ') + '\n');
    }

    try {
        const bal = await ex.fetchBalance();
        const info = bal.info || {};
        const btc = bal.BTC ? bal.BTC.free : undefined;
        line(`${id} fetchBalance library ok BTC=${btc}`
             + ` account=${info.apisec_account}`);
    } catch (e) {
        line(`${id} fetchBalance library error ${e.constructor.name}: `
             + String(e.message).replace(/\s+/g, ' ').slice(0, 160));
    }
}

main().catch((e) => {
    process.stderr.write((e && e.stack) || String(e));
    process.stderr.write('\n');
    process.exit(1);
});
