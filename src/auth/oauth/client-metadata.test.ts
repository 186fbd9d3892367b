import { describe, expect, test } from 'bun:test';
import { isMetadataDocumentId, metadataDocumentIdProblem } from './client-metadata.ts';

describe('metadata document client_ids', () => {
  test('an https URL with a path is one; registered ids never look like URLs', () => {
    expect(isMetadataDocumentId('https://claude.ai/oauth/claude-code-client-metadata')).toBe(true);
    expect(isMetadataDocumentId('http://app.example/client.json')).toBe(true);
    expect(isMetadataDocumentId('client_abc')).toBe(false);
    expect(metadataDocumentIdProblem('https://app.example/client.json')).toBeNull();
  });

  test('each malformed URL is refused with a reason', () => {
    for (const [id, why] of [
      ['http://app.example/client.json', 'not an https URL'],
      ['https://app.example/', 'must have a path'],
      ['https://app.example/c.json#x', 'fragment'],
      ['https://u:p@app.example/c.json', 'credentials'],
      ['https://app.example/a/../c.json', '. or ..'],
      [`https://app.example/${'x'.repeat(2100)}`, 'longer than 2048'],
    ] as const) {
      expect([id, metadataDocumentIdProblem(id)]).toEqual([id, expect.stringContaining(why)]);
    }
  });
});
