/** When an image reference names the image a container already runs (deploy-services' unchanged services). */
import { describe, expect, it } from '@jest/globals';
import { imageReferenceParts, sameImage } from '../../../lib/contracts/images.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

describe('imageReferenceParts', () => {
  it('tells a registry port from a tag', () => {
    expect(imageReferenceParts(`127.0.0.1:5000/alva/web:v2@${A}`)).toEqual({
      repository: '127.0.0.1:5000/alva/web',
      tag: 'v2',
      digest: A,
    });
    expect(imageReferenceParts('127.0.0.1:5000/alva/web')).toEqual({ repository: '127.0.0.1:5000/alva/web' });
    expect(imageReferenceParts('web:1')).toEqual({ repository: 'web', tag: '1' });
  });
});

describe('sameImage', () => {
  it('the same digest of the same repository, however tagged, is the same image', () => {
    expect(sameImage(`${ECR}/web@${A}`, `${ECR}/web@${A}`)).toBe(true);
    expect(sameImage(`${ECR}/web:sha-2@${A}`, `${ECR}/web@${A}`)).toBe(true);
    expect(sameImage(`127.0.0.1:5000/web:v1@${A}`, `127.0.0.1:5000/web:v2@${A}`)).toBe(true);
    expect(sameImage('web:1', 'web:1')).toBe(true);
  });

  it('another digest under the same tag, another repository, or a tag against a digest is another image', () => {
    expect(sameImage(`${ECR}/web:v1@${B}`, `${ECR}/web:v1@${A}`)).toBe(false);
    expect(sameImage(`${ECR}/api@${A}`, `${ECR}/web@${A}`)).toBe(false);
    expect(sameImage(`127.0.0.1:5001/web@${A}`, `127.0.0.1:5000/web@${A}`)).toBe(false);
    expect(sameImage(`${ECR}/web:v1`, `${ECR}/web:v1@${A}`)).toBe(false);
    expect(sameImage(`${ECR}/web:v1@${A}`, `${ECR}/web:v1`)).toBe(false);
    expect(sameImage('web:1', undefined)).toBe(false);
  });
});
