import { describe, expect, it } from 'vitest';
import { genesysRegionHosts } from '../../lambdas/shared/adapters/genesys-delivery-source';
import { resolveGenesysEnvironment } from '../../lambdas/shared/adapters/genesys-region';
import { ConfigError } from '../../lambdas/shared/errors';

describe('resolveGenesysEnvironment', () => {
  it.each([
    ['us-east-1', 'mypurecloud.com'],
    ['us_east_1', 'mypurecloud.com'],
    ['US-EAST-1', 'mypurecloud.com'],
    ['eu-west-1', 'mypurecloud.ie'],
    ['ap_southeast_2', 'mypurecloud.com.au'],
    ['ap-northeast-1', 'mypurecloud.jp'],
    ['eu-central-1', 'mypurecloud.de'],
    ['us-west-2', 'usw2.pure.cloud'],
    ['ca-central-1', 'cac1.pure.cloud'],
    ['eu-west-2', 'euw2.pure.cloud'],
    ['ap-south-1', 'aps1.pure.cloud'],
    ['sa-east-1', 'sae1.pure.cloud'],
    ['mypurecloud.com', 'mypurecloud.com'],
    ['usw2.pure.cloud', 'usw2.pure.cloud'],
    ['api.mypurecloud.ie', 'mypurecloud.ie'],
    [' mypurecloud.de ', 'mypurecloud.de'],
    ['https://api.mypurecloud.com', 'mypurecloud.com'],
    ['https://login.usw2.pure.cloud/', 'usw2.pure.cloud'],
    ['xyz9.pure.cloud', 'xyz9.pure.cloud'],
  ])('%s is the region %s', (region, domain) => {
    expect(resolveGenesysEnvironment(region, genesysRegionHosts)).toEqual({ kind: 'region', domain });
  });

  it.each([
    ['http://127.0.0.1:9000', { protocol: 'http', host: '127.0.0.1', port: 9000, pathPrefix: '' }],
    ['http://localhost:9000/', { protocol: 'http', host: 'localhost', port: 9000, pathPrefix: '' }],
    ['https://proxy.example.com', { protocol: 'https', host: 'proxy.example.com', pathPrefix: '' }],
    [
      'https://proxy.example.com:8443/genesys/',
      { protocol: 'https', host: 'proxy.example.com', port: 8443, pathPrefix: '/genesys' },
    ],
    ['http://[::1]:9000', { protocol: 'http', host: '::1', port: 9000, pathPrefix: '' }],
  ])('%s is a gateway', (region, gateway) => {
    expect(resolveGenesysEnvironment(region, genesysRegionHosts)).toEqual({ kind: 'gateway', ...gateway });
  });

  it('knows every region key of the SDK, with dashes or underscores', () => {
    for (const [key, domain] of Object.entries(genesysRegionHosts)) {
      expect(resolveGenesysEnvironment(key.replaceAll('_', '-'), genesysRegionHosts)).toEqual({
        kind: 'region',
        domain,
      });
    }
  });

  it.each([
    [undefined, 'it is not set'],
    ['', 'it is not set'],
    ['mars-north-1', 'got "mars-north-1"'],
    ['example.com', 'got "example.com"'],
    ['ftp://127.0.0.1:21', 'got "ftp://127.0.0.1:21"'],
    ['http://127.0.0.1:9000?x=1', 'got "http://127.0.0.1:9000?x=1"'],
  ])('%s is a ConfigError naming GENESYS_CLOUD_REGION and the accepted forms', (region, got) => {
    let error: unknown;
    try {
      resolveGenesysEnvironment(region, genesysRegionHosts);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('GENESYS_CLOUD_REGION');
    expect(message).toContain('us-east-1');
    expect(message).toContain('mypurecloud.com');
    expect(message).toContain('http://127.0.0.1:9000');
    expect(message).toContain(got);
  });
});
