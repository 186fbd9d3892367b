import { describe, expect, test } from 'bun:test';
import { matchRedirectUri, redirectHost, redirectUriProblem } from './redirects.ts';

describe('redirect URIs', () => {
  test('https anywhere, http only on loopback, app schemes; never script schemes or fragments', () => {
    expect(redirectUriProblem('https://app.example/cb')).toBeNull();
    for (const ok of ['http://localhost/cb', 'http://127.0.0.1:8080/cb', 'http://[::1]:3/cb']) {
      expect(redirectUriProblem(ok)).toBeNull();
    }
    expect(redirectUriProblem('http://app.example/cb')).toContain('use https');
    expect(redirectUriProblem('http://127.0.0.2/cb')).toContain('use https');
    // Native apps' private-use schemes (RFC 8252 section 7.1), Cursor's among them.
    expect(redirectUriProblem('com.example.app:/cb')).toBeNull();
    expect(redirectUriProblem('cursor://anysphere.cursor-mcp/oauth/callback')).toBeNull();
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd', 'blob:x']) {
      expect(redirectUriProblem(bad)).toContain('scheme');
    }
    expect(redirectUriProblem('cursor://app/cb#x')).toContain('fragment');
    expect(redirectUriProblem('cursor://user@app/cb')).toContain('credentials');
    expect(redirectUriProblem('https://app.example/cb#x')).toContain('fragment');
    expect(redirectUriProblem('https://user:pw@app.example/cb')).toContain('credentials');
    expect(redirectUriProblem('/relative')).toContain('not an absolute URL');
  });

  test('loopback matches with any port, same host, path and query', () => {
    const registered = ['http://127.0.0.1/cb', 'http://localhost:9000/cb?x=1'];
    expect(matchRedirectUri(registered, 'http://127.0.0.1:51234/cb')).toBe('http://127.0.0.1/cb');
    expect(matchRedirectUri(registered, 'http://localhost:1/cb?x=1')).toBe(
      'http://localhost:9000/cb?x=1',
    );
    expect(matchRedirectUri(registered, 'http://localhost:1/cb')).toBeNull();
    // Claude Code registers http://localhost/callback and listens on a port it picks.
    expect(matchRedirectUri(['http://localhost/callback'], 'http://localhost:53682/callback')).toBe(
      'http://localhost/callback',
    );
    expect(matchRedirectUri(registered, 'http://127.0.0.1:51234/other')).toBeNull();
    // localhost and 127.0.0.1 are different hosts to a browser: no cross-matching.
    expect(matchRedirectUri(registered, 'http://localhost:51234/cb')).toBeNull();
  });

  test('the consent page names an app scheme when there is no host', () => {
    expect(redirectHost('cursor://anysphere.cursor-mcp/oauth/callback')).toBe(
      'anysphere.cursor-mcp',
    );
    expect(redirectHost('com.example.app:/cb')).toBe('com.example.app:');
    expect(redirectHost('http://127.0.0.1:33418/')).toBe('127.0.0.1:33418');
  });

  test('everything else matches exactly', () => {
    const registered = ['https://app.example/cb'];
    expect(matchRedirectUri(registered, 'https://app.example/cb')).toBe('https://app.example/cb');
    expect(matchRedirectUri(registered, 'https://app.example:444/cb')).toBeNull();
    expect(matchRedirectUri(registered, 'https://app.example/cb/')).toBeNull();
    expect(matchRedirectUri(registered, 'https://evil.example/cb')).toBeNull();
  });
});
