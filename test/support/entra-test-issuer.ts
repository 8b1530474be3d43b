/**
 * A stand-in for Entra ID's token signing in tests: a locally generated RSA key, its public half served
 * as a JWKS on 127.0.0.1 (the shape of https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys),
 * and RS256 access tokens with whatever claims a test wants.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestIssuer {
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** Signs a token; `claims` override the defaults (valid for 1 h, role HL7.Send, azp = `sender`). */
  token(sender: string, claims?: Record<string, unknown>, o?: { key?: KeyObject; kid?: string }): string;
  /** A key the JWKS does not publish, for forged tokens. */
  otherKey: KeyObject;
  jwksRequests: number;
  stop(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const jwk = publicKey.export({ format: 'jwk' });
  const state = { jwksRequests: 0 };
  const server: Server = createServer((_req, res) => {
    state.jwksRequests++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [{ ...jwk, kid: 'test-key-1', use: 'sig', alg: 'RS256' }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const tenant = '11111111-2222-3333-4444-555555555555';
  const issuer = `https://login.microsoftonline.com/${tenant}/v2.0`;
  const audience = 'api://66666666-7777-8888-9999-000000000000';
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return {
    issuer,
    audience,
    jwksUrl: `http://127.0.0.1:${port}/${tenant}/discovery/v2.0/keys`,
    otherKey: other,
    get jwksRequests() {
      return state.jwksRequests;
    },
    token(sender, claims = {}, o = {}) {
      const now = Math.floor(Date.now() / 1000);
      const head = enc({ alg: 'RS256', typ: 'JWT', kid: o.kid ?? 'test-key-1' });
      const body = enc({ iss: issuer, aud: audience, iat: now, nbf: now - 5, exp: now + 3600, azp: sender, tid: tenant, roles: ['HL7.Send'], ...claims });
      const sig = sign('sha256', Buffer.from(`${head}.${body}`), o.key ?? privateKey).toString('base64url');
      return `${head}.${body}.${sig}`;
    },
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
