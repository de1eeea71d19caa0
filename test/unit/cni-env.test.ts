import t, { type Test } from 'tap';
import { isNetnsPath, parseEnv, parseCniArgs, validateIfName, validateNetnsPath, validateContainerId } from '../../daemon/cni-spec/env.ts';
import { ErrorCode } from '../../daemon/cni-spec/errors.ts';
import { expectCniError } from '../helpers/cni-error.ts';

const base = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'abc123',
  CNI_NETNS: '/var/run/netns/pod1',
  CNI_IFNAME: 'net1',
  CNI_PATH: '/opt/cni/bin',
};
const getenv = (env: Record<string, string | undefined>) => (name: string) => env[name];

function expectEnvError(tt: Test, env: Record<string, string | undefined>, field: string): void {
  expectCniError(tt, () => parseEnv(getenv(env)), ErrorCode.InvalidEnvironment, field);
}

t.test('ADD with everything parses', (tt) => {
  const env = parseEnv(getenv({ ...base, CNI_ARGS: 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;IgnoreUnknown=1' }));
  tt.same(env, { command: 'ADD', containerId: 'abc123', ifName: 'net1', netns: '/var/run/netns/pod1', args: { K8S_POD_NAMESPACE: 'ns', K8S_POD_NAME: 'p', IgnoreUnknown: '1' } });
  tt.end();
});

t.test('each required variable, deleted, names itself (cf. skel_test.go)', (tt) => {
  const required: Record<string, string[]> = {
    ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
    CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
    DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
    GC: ['CNI_PATH'],
  };
  for (const [command, vars] of Object.entries(required)) {
    for (const name of vars) expectEnvError(tt, { ...base, CNI_COMMAND: command, [name]: undefined }, name);
  }
  tt.end();
});

t.test('DEL without a netns is fine; STATUS and VERSION need nothing', (tt) => {
  const del = parseEnv(getenv({ ...base, CNI_COMMAND: 'DEL', CNI_NETNS: undefined }));
  tt.equal(del.command === 'DEL' ? del.netns : 'x', undefined);
  tt.same(parseEnv(getenv({ CNI_COMMAND: 'STATUS' })), { command: 'STATUS' });
  tt.same(parseEnv(getenv({ CNI_COMMAND: 'VERSION' })), { command: 'VERSION' });
  tt.end();
});

t.test('bad values', (tt) => {
  expectEnvError(tt, { ...base, CNI_COMMAND: 'FROB' }, 'CNI_COMMAND');
  expectEnvError(tt, { ...base, CNI_COMMAND: undefined }, 'CNI_COMMAND');
  expectEnvError(tt, { ...base, CNI_IFNAME: 'a-very-long-name0' }, 'CNI_IFNAME');
  expectEnvError(tt, { ...base, CNI_IFNAME: 'a/b' }, 'CNI_IFNAME');
  expectEnvError(tt, { ...base, CNI_IFNAME: 'a:b' }, 'CNI_IFNAME');
  expectEnvError(tt, { ...base, CNI_IFNAME: 'a b' }, 'CNI_IFNAME');
  expectEnvError(tt, { ...base, CNI_IFNAME: '..' }, 'CNI_IFNAME');
  expectEnvError(tt, { ...base, CNI_CONTAINERID: '-abc' }, 'CNI_CONTAINERID');
  expectEnvError(tt, { ...base, CNI_CONTAINERID: 'a;b' }, 'CNI_CONTAINERID');
  expectEnvError(tt, { ...base, CNI_CONTAINERID: 'x'.repeat(300) }, 'CNI_CONTAINERID');
  expectEnvError(tt, { ...base, CNI_NETNS: 'relative/path' }, 'CNI_NETNS');
  expectEnvError(tt, { ...base, CNI_NETNS: '/etc/passwd' }, 'CNI_NETNS');
  expectEnvError(tt, { ...base, CNI_NETNS: '/var/run/netns/../../etc/passwd' }, 'CNI_NETNS');
  expectEnvError(tt, { ...base, CNI_ARGS: 'novalue' }, 'CNI_ARGS');
  expectEnvError(tt, { ...base, CNI_ARGS: '=x' }, 'CNI_ARGS');
  tt.end();
});

t.test('validators accept what runtimes send', (tt) => {
  tt.equal(validateIfName('eth0'), 'eth0');
  tt.equal(validateIfName('x'.repeat(15)), 'x'.repeat(15));
  tt.equal(validateNetnsPath('/proc/1234/ns/net'), '/proc/1234/ns/net');
  tt.equal(validateNetnsPath('/run/netns/cni-1234'), '/run/netns/cni-1234');
  tt.equal(validateContainerId('default-busybox1'), 'default-busybox1');
  tt.same(parseCniArgs(''), {});
  tt.same(parseCniArgs('A=;B=c=d'), { A: '', B: 'c=d' });
  tt.end();
});

// The netns path grammar (issue 19 item 4): the forms runtimes hand out, nothing else under /proc.
t.test('CNI_NETNS: only the netns path forms', (tt) => {
  const good = [
    '/proc/1/ns/net',
    '/proc/4194304/ns/net',
    '/proc/1234/task/1235/ns/net',
    '/var/run/netns/cni-6b4f0b4e-52a6-8c1c-0f0c-7a1d1c2e3f4a',
    '/run/netns/netns-0f7c2b1e-5c37-4a56-8e32-1f2a3b4c5d6e',
    '/var/run/netns/pod_1.x',
    `/run/netns/${'n'.repeat(255)}`,
  ];
  for (const path of good) {
    tt.ok(isNetnsPath(path), `${path} is a netns path`);
    tt.equal(validateNetnsPath(path), path);
  }
  const bad = [
    '/proc/self/ns/net',
    '/proc/thread-self/ns/net',
    '/proc/0/ns/net',
    '/proc/01/ns/net',
    '/proc/-1/ns/net',
    '/proc/12345678901/ns/net',
    '/proc/1/ns/mnt',
    '/proc/1/ns/net/',
    '/proc/1/ns//net',
    '/proc/1/ns',
    '/proc/1/root/var/run/netns/x',
    '/proc/1/root/proc/1/ns/net',
    '/proc/1/cwd/ns/net',
    '/proc/1/task/self/ns/net',
    '/proc/1/task/2/ns/mnt',
    '/proc/1/task/2/task/3/ns/net',
    '/proc/1/../1/ns/net',
    '//proc/1/ns/net',
    '/var/run/netns/',
    '/var/run/netns/.',
    '/var/run/netns/..',
    '/var/run/netns/.hidden',
    '/var/run/netns/-x',
    '/var/run/netns/a/b',
    '/var/run/netns/a b',
    '/var/run/netns/a\nb',
    '/var/run/netns/a\u0000',
    `/run/netns/${'n'.repeat(256)}`,
    '/run/netns-evil/a',
    '/var/run/netnsx/a',
    '/var/lib/kubelet/pods/x/netns',
    '/etc/hostname',
    'proc/1/ns/net',
    '',
  ];
  for (const path of bad) {
    tt.notOk(isNetnsPath(path), `${JSON.stringify(path)} is not a netns path`);
    expectCniError(tt, () => validateNetnsPath(path), ErrorCode.InvalidEnvironment, 'CNI_NETNS');
  }
  tt.end();
});
