// A request's config, decoded once and its version negotiated once: the version every answer is
// printed in, and the first error of a config that is refused.
import t from 'tap';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { LATEST_VERSION } from '../../daemon/cni-spec/version.ts';
import { versionOutput } from '../../daemon/cni-spec/output.ts';
import { answerVersion, readRequestConfig, requestNetConf } from '../../daemon/netconf/request.ts';
import { expectCniError } from '../helpers/cni-error.ts';

t.test('stdin is parsed once per request', (tt) => {
  const parse = JSON.parse;
  let calls = 0;
  JSON.parse = (...args: Parameters<typeof JSON.parse>): unknown => {
    calls += 1;
    return parse(...args) as unknown;
  };
  try {
    const config = readRequestConfig('{"cniVersions":["0.4.0","1.0.0"],"name":"red","type":"ovn-multinet"}');
    tt.equal(answerVersion(config), '1.0.0', 'negotiated from cniVersions');
    tt.equal(requestNetConf(config).cniVersion, '1.0.0', 'the NetConf carries the negotiated version');
    tt.equal(versionOutput(config.raw).stdout.startsWith(`{"cniVersion":"${LATEST_VERSION}"`), true, 'VERSION reads cniVersion alone, as the executable does');
    tt.equal(calls, 1, 'one JSON.parse for decode, negotiation, validation and VERSION');
  } finally {
    JSON.parse = parse;
  }
  tt.end();
});

t.test('a config that fails: the best version known, and its first error', (tt) => {
  const notJson = readRequestConfig('{');
  tt.equal(notJson.raw, undefined);
  tt.equal(answerVersion(notJson), LATEST_VERSION, 'undecodable: the latest version');
  expectCniError(tt, () => requestNetConf(notJson), ErrorCode.DecodeFailure, 'JSON');

  const oldVersion = readRequestConfig('{"cniVersion":"0.2.0","name":"red","type":"ovn-multinet"}');
  tt.same(oldVersion.raw, { cniVersion: '0.2.0', name: 'red', type: 'ovn-multinet' }, 'decoded even so (VERSION reads it)');
  tt.equal(answerVersion(oldVersion), LATEST_VERSION, 'unsupported version: the latest');
  expectCniError(tt, () => requestNetConf(oldVersion), ErrorCode.IncompatibleVersion, 'cniVersion');

  const badName = readRequestConfig('{"cniVersion":"0.3.1","name":"bad name","type":"ovn-multinet"}');
  tt.equal(answerVersion(badName), '0.3.1', 'a refused setting: still the config\'s version');
  expectCniError(tt, () => requestNetConf(badName), ErrorCode.InvalidConfig, 'name');
  tt.end();
});
