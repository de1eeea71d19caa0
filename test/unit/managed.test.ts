import t from 'tap';
import { networkDefinition } from '../../daemon/ovn/managed.ts';
import { NetworkDefinitionError } from '../../daemon/errors.ts';

const net = (subnets: string[], excludeSubnets: string[] = [], gateways: string[] = []) => ({ topology: 'layer2' as const, subnets, excludeSubnets, physicalNetworkName: undefined, vlanId: undefined, gateways });

t.test('definitions are canonical: the same network written two ways is one definition', (t) => {
  const a = networkDefinition(net(['fd00:0::/64', '10.1.0.0/24']));
  const b = networkDefinition(net(['10.1.0.0/24', 'fd00::/64']));
  t.same(a.definition, b.definition);
  t.same(a.definition.subnets, ['10.1.0.0/24', 'fd00::/64'], 'IPv4 first, compressed IPv6');
  t.end();
});

t.test('bad definitions name the field', (t) => {
  t.throws(() => networkDefinition(net(['10.1.0.5/24'])), NetworkDefinitionError, 'host bits set');
  t.throws(() => networkDefinition(net(['10.1.0.0/24'], ['10.2.0.0/28'])), NetworkDefinitionError, 'exclusion outside the subnets');
  try {
    networkDefinition(net(['10.1.0.0/24'], ['10.2.0.0/28']));
  } catch (err) {
    t.equal((err as NetworkDefinitionError).field, 'excludeSubnets[0]');
  }
  t.end();
});

t.test('gateways must be inside the subnets and are part of the definition', (t) => {
  t.same(networkDefinition(net(['10.1.0.0/24'], [], ['10.1.0.1'])).definition.gateway, ['10.1.0.1']);
  t.throws(() => networkDefinition(net(['10.1.0.0/24'], [], ['10.2.0.1'])), NetworkDefinitionError);
  t.end();
});
