// stdin to a JSON object: anything that is not a JSON object of Unicode text is code 6.
import t from 'tap';
import { decodeConfig } from '../../daemon/netconf/decode.ts';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { expectCniError } from '../helpers/cni-error.ts';

t.test('decode errors are code 6', (tt) => {
  for (const text of ['', '{', '[]', '"x"', 'null', '{"a":1}x', 'x'.repeat(2 * 1024 * 1024)]) {
    expectCniError(tt, () => decodeConfig(text), ErrorCode.DecodeFailure, 'configuration');
  }
  tt.end();
});

t.test('a lone UTF-16 surrogate anywhere in the config is code 6 (ovsdb-server would drop the connection)', (tt) => {
  const texts = ['{"name":"x","logicalSwitch":"a\\ud800"}', '{"logicalSwitch":"\\udc00"}', '{"args":{"\\ud800":1}}', '{"a":[["\\udfff"]]}'];
  for (const text of texts) expectCniError(tt, () => decodeConfig(text), ErrorCode.DecodeFailure, 'Unicode');
  tt.same(decodeConfig('{"name":"\\ud83d\\ude00"}'), { name: '\u{1f600}' }, 'a surrogate pair is fine');
  // Found 100,000 levels deep as well, and such nesting without one still decodes (no recursion).
  const deep = (inner: string): string => `{"mtu":${'['.repeat(100_000)}${inner}${']'.repeat(100_000)}}`;
  expectCniError(tt, () => decodeConfig(deep('"\\ud800"')), ErrorCode.DecodeFailure, 'Unicode');
  tt.ok(Array.isArray(decodeConfig(deep('1'))['mtu']), '100,000 nested arrays decode');
  tt.end();
});
