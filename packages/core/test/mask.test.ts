import { kubeconfigSecrets, Masker, secretsInUrl, secretVariants } from '@deploy-actions/core/mask';
import { describe, expect, it } from 'vitest';

describe('secretsInUrl', () => {
  it('finds the password, raw and percent-decoded', () => {
    expect(secretsInUrl('https://deploy:s3cr%40t@registry.example.com/v2/')).toEqual(['s3cr%40t', 's3cr@t']);
    expect(secretsInUrl('postgres://app:hunter22@db:5432/shop')).toEqual(['hunter22']);
  });

  it('finds nothing in URLs without a password', () => {
    expect(secretsInUrl('https://example.com/a:b@c')).toEqual([]);
    expect(secretsInUrl('https://user@example.com/')).toEqual([]);
    expect(secretsInUrl('not a url')).toEqual([]);
  });
});

describe('secretVariants', () => {
  it('covers each line of a multi-line secret, skipping tiny lines', () => {
    const key = '-----BEGIN KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC\n}\n-----END KEY-----';
    const variants = secretVariants(key);
    expect(variants).toContain('MIIEvQIBADANBgkq');
    expect(variants).toContain('hkiG9w0BAQEFAASC');
    expect(variants).not.toContain('}');
  });

  it('masks the credentials of a kubeconfig, not its names', () => {
    const kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '  - name: prod',
      '    cluster: { server: "https://admin:pr0xy-pass@10.0.0.1:6443", certificate-authority-data: Q0EtREFUQS1YWVo= }',
      'contexts:',
      '  - name: prod',
      '    context: { cluster: prod, user: deployer, namespace: users }',
      'current-context: prod',
      'users:',
      '  - name: deployer',
      '    user:',
      '      token: eyJhbGciOi.secret-token',
      '      client-key-data: S0VZLURBVEE=',
      '      exec: { command: aws, args: [eks, get-token, --role, arn-secret-role], env: [{ name: AWS_PROFILE, value: prod-profile }] }',
    ].join('\n');
    const variants = secretVariants(kubeconfig);
    for (const secret of [
      'eyJhbGciOi.secret-token',
      'S0VZLURBVEE=',
      'Q0EtREFUQS1YWVo=',
      'pr0xy-pass',
      'arn-secret-role',
      'prod-profile',
    ])
      expect(variants).toContain(secret);
    const masker = new Masker();
    masker.add(kubeconfig);
    expect(masker.redact('rolled out users/api in namespace users with token eyJhbGciOi.secret-token')).toBe(
      'rolled out users/api in namespace users with token ***',
    );
    expect(masker.redact(kubeconfig)).toBe('***');
    expect(kubeconfigSecrets('just: yaml\nnot: a kubeconfig')).toBeUndefined();
  });

  it('ignores empty secrets', () => {
    expect(secretVariants('  \n ')).toEqual([]);
  });
});

describe('Masker', () => {
  it('replaces every registered form with ***', () => {
    const masker = new Masker();
    masker.add('https://bot:pa55word@git.example.com/repo.git');
    expect(masker.redact('cloning https://bot:pa55word@git.example.com/repo.git')).toBe('cloning ***');
    expect(masker.redact('auth failed for password pa55word')).toBe('auth failed for password ***');
  });

  it('masks the longest secret first so no tail survives', () => {
    const masker = new Masker();
    masker.add('abcd');
    masker.add('abcdefgh');
    expect(masker.redact('x abcdefgh y abcd')).toBe('x *** y ***');
  });

  it('returns only newly added strings', () => {
    const masker = new Masker();
    expect(masker.add('token-1234')).toEqual(['token-1234']);
    expect(masker.add('token-1234')).toEqual([]);
  });
});
