import { describe, expect, test } from 'bun:test';
import { matchRedirectUri, redirectUriProblem } from './redirects.ts';

describe('redirect URIs', () => {
  test('https anywhere, http only on loopback, never custom schemes or fragments', () => {
    expect(redirectUriProblem('https://app.example/cb')).toBeNull();
    for (const ok of ['http://localhost/cb', 'http://127.0.0.1:8080/cb', 'http://[::1]:3/cb']) {
      expect(redirectUriProblem(ok)).toBeNull();
    }
    expect(redirectUriProblem('http://app.example/cb')).toContain('use https');
    expect(redirectUriProblem('http://127.0.0.2/cb')).toContain('use https');
    expect(redirectUriProblem('com.example.app:/cb')).toContain('scheme');
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
    expect(matchRedirectUri(registered, 'http://127.0.0.1:51234/other')).toBeNull();
    // localhost and 127.0.0.1 are different hosts to a browser: no cross-matching.
    expect(matchRedirectUri(registered, 'http://localhost:51234/cb')).toBeNull();
  });

  test('everything else matches exactly', () => {
    const registered = ['https://app.example/cb'];
    expect(matchRedirectUri(registered, 'https://app.example/cb')).toBe('https://app.example/cb');
    expect(matchRedirectUri(registered, 'https://app.example:444/cb')).toBeNull();
    expect(matchRedirectUri(registered, 'https://app.example/cb/')).toBeNull();
    expect(matchRedirectUri(registered, 'https://evil.example/cb')).toBeNull();
  });
});
