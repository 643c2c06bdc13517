// A relying party on openid-client (OpenID Certified), as an application team would write one: the browser tests start it
// beside a Countersign server and sign a user in through Chromium. One user at a time (state kept in memory).
//   COUNTERSIGN_ISSUER, RP_CLIENT_ID, RP_CLIENT_SECRET, RP_PORT  →  prints "listening <port>" when ready.
import http from 'node:http';
import * as client from 'openid-client';

const issuer = new URL(process.env.COUNTERSIGN_ISSUER);
const base = `http://localhost:${process.env.RP_PORT}`;
const redirectUri = `${base}/callback`;
// Countersign signs with ES256 only; openid-client assumes RS256 unless told (OIDC Registration §2).
const config = await client.discovery(issuer, process.env.RP_CLIENT_ID,
  { client_secret: process.env.RP_CLIENT_SECRET, id_token_signed_response_alg: 'ES256' }, undefined,
  { execute: [client.allowInsecureRequests] }); // http://localhost in the test only

let pending = null;
let signedIn = null;

const page = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>RP</title><main>${body}</main>`);
};
const escape = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

http.createServer(async (req, res) => {
  const url = new URL(req.url, base);
  try {
    if (url.pathname === '/login') {
      const verifier = client.randomPKCECodeVerifier();
      pending = { verifier, state: client.randomState(), nonce: client.randomNonce() };
      const target = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri, scope: 'openid profile roles offline_access',
        code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
        state: pending.state, nonce: pending.nonce,
      });
      res.writeHead(302, { location: target.href }).end();
    } else if (url.pathname === '/callback') {
      const tokens = await client.authorizationCodeGrant(config, url,
        { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true });
      const claims = tokens.claims();
      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
      signedIn = { idToken: tokens.id_token };
      page(res, 200, `<h1 id="who">${escape(info.preferred_username)}</h1><p id="sub">${escape(claims.sub)}</p>`
        + `<p id="amr">${escape((claims.amr ?? []).join(' '))}</p><p id="refreshed">${refreshed.access_token ? 'yes' : 'no'}</p>`
        + '<a id="logout" href="/logout">Sign out</a>');
    } else if (url.pathname === '/logout') {
      const target = client.buildEndSessionUrl(config, { id_token_hint: signedIn.idToken, post_logout_redirect_uri: `${base}/bye` });
      res.writeHead(302, { location: target.href }).end();
    } else if (url.pathname === '/bye') {
      page(res, 200, '<h1 id="bye">Signed out of the RP</h1>');
    } else {
      page(res, 404, 'not found');
    }
  } catch (error) {
    page(res, 500, `<h1 id="error">${escape(error.name)}</h1><pre>${escape(error.message)}\n${escape(error.cause?.error ?? '')}</pre>`);
  }
}).listen(Number(process.env.RP_PORT), '127.0.0.1', () => console.log(`listening ${process.env.RP_PORT}`));
