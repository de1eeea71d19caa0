package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

const versionInfo = `"supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}` + "\n"

func TestVersion(t *testing.T) {
	for _, tc := range []struct{ name, stdin, want string }{
		{"empty stdin", "", "1.1.0"},
		{"supported cniVersion", `{"cniVersion":"0.4.0"}`, "0.4.0"},
		{"unsupported cniVersion", `{"cniVersion":"0.2.0"}`, "1.1.0"},
		{"cniVersion not a string", `{"cniVersion":1}`, "1.1.0"},
		{"garbage", "\x00not json{", "1.1.0"},
		{"JSON array", `["cniVersion","0.4.0"]`, "1.1.0"},
		{"daemon is not asked", `{"cniVersion":"1.0.0","socket":5}`, "1.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := invocation{env: map[string]string{"CNI_COMMAND": "VERSION"}, stdin: strings.NewReader(tc.stdin)}.run()
			want := `{"cniVersion":"` + tc.want + `",` + versionInfo
			if o.status != 0 || o.stdout != want {
				t.Fatalf("got %d %q, want 0 %q", o.status, o.stdout, want)
			}
		})
	}
}

func TestWithoutCNICommand(t *testing.T) {
	o := invocation{args: []string{"ovn-multinet", "--version"}}.run()
	if o.status != 0 || o.stdout != "ovn-multinet dev\n" || o.stderr != "" {
		t.Fatalf("--version: got %d %q %q", o.status, o.stdout, o.stderr)
	}
	for _, args := range [][]string{nil, {"ovn-multinet"}, {"ovn-multinet", "--help"}, {}} {
		o := invocation{args: args, stdin: iotest.ErrReader(errors.New("stdin must not be read"))}.run()
		e, err := parseErrorLine(o.stdout)
		if err != nil || o.status != 1 || e.Code != 4 || e.Msg != "CNI_COMMAND: not set" || e.CNIVersion != "1.1.0" {
			t.Errorf("args %q: got %d %q (%v)", args, o.status, o.stdout, err)
		}
		if !strings.Contains(o.stderr, "CNI plugin") || !strings.Contains(o.stderr, "ovn-multinetd") || strings.Count(o.stderr, "\n") != 1 {
			t.Errorf("args %q: stderr %q should be one line naming the CNI plugin and ovn-multinetd", args, o.stderr)
		}
	}
}

// TestErrors pins every error the front end prints itself, the no-daemon rules included.
func TestErrors(t *testing.T) {
	// A file under the run directory, root's: without root the rows that stat it are skipped.
	regularFile := socketDir + "not-made"
	if os.Geteuid() == 0 {
		regularFile = filepath.Join(runDir(t), "not-a-socket")
		if err := os.WriteFile(regularFile, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	del := map[string]string{"CNI_COMMAND": "DEL", "CNI_CONTAINERID": "abc", "CNI_IFNAME": "eth0"}
	with := func(env map[string]string, k, v string) map[string]string {
		out := map[string]string{}
		for key, val := range env {
			out[key] = val
		}
		out[k] = v
		return out
	}
	without := func(env map[string]string, k string) map[string]string {
		out := with(env, k, "")
		delete(out, k)
		return out
	}
	enoent := failDial(syscall.ENOENT, nil)
	for _, tc := range []struct {
		name     string
		env      map[string]string
		stdin    string
		dial     func(string, time.Time) (net.Conn, error)
		link     bool
		code     int
		msg      string
		details  string // substring
		version  string // default 1.1.0
		readFail bool
		root     bool // stats regularFile
	}{
		{name: "stdin read error", env: del, readFail: true, code: 5, msg: "cannot read the network configuration", details: "broken stdin"},
		{name: "stdin too large", env: del, stdin: `{"cniVersion":"0.4.0","x":"` + strings.Repeat("a", 1<<20) + `"}`, code: 6, msg: "network configuration is larger than 1048576 bytes"},
		{name: "stdin empty", env: del, stdin: "", code: 6, msg: "network configuration is not a JSON object", details: "unexpected end of JSON input"},
		{name: "stdin not JSON", env: del, stdin: "cniVersion: 1.1.0", code: 6, msg: "network configuration is not a JSON object", details: "invalid character"},
		{name: "stdin JSON array", env: del, stdin: `[{"cniVersion":"0.4.0"}]`, code: 6, msg: "network configuration is not a JSON object", details: "array"},
		{name: "stdin JSON null", env: del, stdin: `null`, code: 6, msg: "network configuration is not a JSON object", details: "null"},
		{name: "stdin trailing data", env: del, stdin: `{"cniVersion":"0.4.0"} {}`, code: 6, msg: "network configuration is not a JSON object", version: "1.1.0"},
		{name: "socket a number", env: del, stdin: `{"cniVersion":"0.4.0","socket":1}`, code: 7, msg: "socket: must be a path", version: "0.4.0"},
		{name: "socket empty", env: del, stdin: `{"socket":""}`, code: 7, msg: "socket: must be a path"},
		{name: "socket null", env: del, stdin: `{"socket":null}`, code: 7, msg: "socket: must be a path"},
		{name: "nested too deeply", env: del, stdin: `{"cniVersion":"1.0.0","mtu":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, code: 6, msg: "network configuration nests deeper than 10000 levels"},
		{name: "socket relative", env: del, stdin: `{"socket":"run/cni.sock"}`, code: 7, msg: "socket: must be an absolute path", details: `"run/cni.sock"`},
		{name: "socket with NUL", env: del, stdin: `{"socket":"/run/cni.sock\u0000"}`, code: 7, msg: "socket: must be an absolute path"},
		{name: "socket too long", env: del, stdin: `{"socket":"/` + strings.Repeat("s", maxSocketPath) + `"}`, code: 7, msg: "socket: longer than 107 bytes"},
		{name: "socket outside the run directory", env: del, stdin: `{"socket":"/var/lib/kubelet/pods/p/volumes/kubernetes.io~empty-dir/x/s"}`, code: 7, msg: "socket: must be a clean path under /run/ovn-multinet/", details: "empty-dir"},
		{name: "socket escaping with ..", env: del, stdin: `{"socket":"/run/ovn-multinet/../../tmp/s"}`, code: 7, msg: "socket: must be a clean path under /run/ovn-multinet/"},
		{name: "socket the run directory itself", env: del, stdin: `{"socket":"/run/ovn-multinet/"}`, code: 7, msg: "socket: must be a clean path under /run/ovn-multinet/"},
		{name: "IPAM mode: ipam.socket outside the run directory", env: del, stdin: `{"type":"macvlan","socket":"/run/ovn-multinet/cni.sock","ipam":{"type":"ovn-multinet","socket":"/tmp/s"}}`, code: 7, msg: "ipam.socket: must be a clean path under /run/ovn-multinet/", details: `"/tmp/s"`},
		{name: "socket is a regular file", env: del, stdin: `{"socket":"` + regularFile + `"}`, dial: dialUnix, code: 7, msg: "socket: not a Unix socket", details: regularFile, root: true},
		{name: "IPAM mode: ipam.socket relative", env: del, stdin: `{"type":"macvlan","ipam":{"type":"ovn-multinet","socket":"cni.sock"}}`, code: 7, msg: "ipam.socket: must be an absolute path"},
		{name: "IPAM mode: ipam.socket is a regular file", env: del, stdin: `{"type":"macvlan","ipam":{"type":"ovn-multinet","socket":"` + regularFile + `"}}`, dial: dialUnix, code: 7, msg: "ipam.socket: not a Unix socket", details: regularFile, root: true},
		{name: "socket is a directory", env: with(del, "CNI_COMMAND", "STATUS"), stdin: `{"socket":"` + filepath.Dir(regularFile) + `"}`, dial: dialUnix, code: 7, msg: "socket: not a Unix socket", root: true},
		{name: "DEL, veth present", env: del, stdin: `{"cniVersion":"1.0.0"}`, dial: enoent, link: true, code: 11, msg: "the ovn-multinet daemon is not running and this attachment still exists", details: "no such file or directory", version: "1.0.0"},
		{name: "DEL, no container id", env: without(del, "CNI_CONTAINERID"), stdin: `{}`, dial: enoent, code: 4, msg: "CNI_CONTAINERID: must not be empty"},
		{name: "DEL, empty container id", env: with(del, "CNI_CONTAINERID", ""), stdin: `{}`, dial: enoent, code: 4, msg: "CNI_CONTAINERID: must not be empty"},
		{name: "DEL, no ifname", env: without(del, "CNI_IFNAME"), stdin: `{}`, dial: enoent, code: 4, msg: "CNI_IFNAME: must not be empty"},
		{name: "STATUS", env: with(del, "CNI_COMMAND", "STATUS"), stdin: `{"cniVersion":"1.1.0"}`, dial: failDial(syscall.ECONNREFUSED, nil), code: 50, msg: "the ovn-multinet daemon is not running", details: "connection refused"},
		{name: "ADD", env: with(del, "CNI_COMMAND", "ADD"), stdin: `{"cniVersion":"0.3.1"}`, dial: enoent, code: 11, msg: "the ovn-multinet daemon is not running", details: "no such file or directory", version: "0.3.1"},
		{name: "CHECK", env: with(del, "CNI_COMMAND", "CHECK"), stdin: `{}`, dial: failDial(syscall.ENOTSOCK, nil), code: 11, msg: "the ovn-multinet daemon is not running", details: "socket operation on non-socket"},
		{name: "GC", env: map[string]string{"CNI_COMMAND": "GC"}, stdin: `{}`, dial: enoent, code: 11, msg: "the ovn-multinet daemon is not running"},
		{name: "unknown command", env: with(del, "CNI_COMMAND", "add"), stdin: `{}`, dial: enoent, code: 4, msg: `CNI_COMMAND: unknown command "add"`, details: "want one of ADD, DEL, CHECK, VERSION, STATUS, GC"},
		{name: "empty command", env: with(del, "CNI_COMMAND", ""), stdin: `{}`, dial: enoent, code: 4, msg: `CNI_COMMAND: unknown command ""`},
		{name: "permission denied", env: del, stdin: `{}`, dial: failDial(syscall.EACCES, nil), code: 11, msg: "cannot connect to the ovn-multinet daemon", details: "permission denied"},
		{name: "panic becomes 999", env: del, stdin: `{"cniVersion":"0.4.0"}`, dial: func(string, time.Time) (net.Conn, error) { panic("boom") }, code: 999, msg: "internal error", details: "boom", version: "0.4.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Geteuid() != 0 {
				t.Skip("needs root: the file lives under " + socketDir)
			}
			c := invocation{env: tc.env, stdin: strings.NewReader(tc.stdin), dial: tc.dial}
			if tc.readFail {
				c.stdin = iotest.ErrReader(errors.New("broken stdin"))
			}
			c.linkExists = func(name string) bool {
				if name != "omn538f587a2365" { // hostVethName("abc", "eth0"), from vectors.json
					t.Errorf("LinkExists(%q), want the veth of abc/eth0", name)
				}
				return tc.link
			}
			o := c.run()
			e, err := parseErrorLine(o.stdout)
			if err != nil {
				t.Fatalf("stdout %q: %v", o.stdout, err)
			}
			version := tc.version
			if version == "" {
				version = "1.1.0"
			}
			if o.status != 1 || e.Code != tc.code || e.Msg != tc.msg || e.CNIVersion != version || !strings.Contains(e.Details, tc.details) {
				t.Fatalf("got %d %q, want 1, code %d, msg %q, cniVersion %q, details with %q", o.status, o.stdout, tc.code, tc.msg, version, tc.details)
			}
			if o.stderr != "" {
				t.Errorf("stderr %q, want nothing", o.stderr)
			}
		})
	}
}

// TestDelWithoutDaemon: DEL of an attachment whose veth is gone succeeds silently, whether the
// socket is missing or stale (nobody listening).
func TestDelWithoutDaemon(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOENT, syscall.ECONNREFUSED, syscall.ENOTSOCK} {
		var dialed, asked string
		o := invocation{
			env:        map[string]string{"CNI_COMMAND": "DEL", "CNI_CONTAINERID": "default-ctr1", "CNI_IFNAME": "net1"},
			stdin:      strings.NewReader(`{"cniVersion":"0.4.0","type":"ovn-multinet"}`),
			dial:       failDial(errno, &dialed),
			linkExists: func(name string) bool { asked = name; return false },
		}.run()
		if o.status != 0 || o.stdout != "" || o.stderr != "" {
			t.Errorf("%v: got %d %q %q, want 0 and no output", errno, o.status, o.stdout, o.stderr)
		}
		if dialed != defaultSocketPath || asked != "omn42676b08794d" {
			t.Errorf("%v: dialed %q and asked about %q", errno, dialed, asked)
		}
	}
}

// TestStaleSocket: a real socket file nobody listens on is "no daemon", not "not a socket".
func TestStaleSocket(t *testing.T) {
	path := runDir(t) + "/d.sock"
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	o := invocation{
		env:   map[string]string{"CNI_COMMAND": "STATUS"},
		stdin: strings.NewReader(`{"socket":"` + path + `"}`),
		dial:  dialUnix,
	}.run()
	if e, err := parseErrorLine(o.stdout); err != nil || e.Code != 50 || !strings.Contains(e.Details, "connection refused") {
		t.Fatalf("got %d %q", o.status, o.stdout)
	}
}

func TestSysfsLinkExists(t *testing.T) {
	if _, err := os.Stat("/sys/class/net/lo"); err != nil {
		t.Skip("no /sys/class/net/lo here:", err)
	}
	if !sysfsLinkExists("lo") || sysfsLinkExists(hostVethName("no such", "attachment")) {
		t.Fatal("sysfsLinkExists should see lo and not an unknown veth")
	}
}

// TestIpamDelWithoutDaemon: in IPAM mode the executable dials the ipam section's socket, and a
// DEL with no daemon succeeds (an IPAM-only attachment never has a host veth; the reconciler
// frees its record once the calling plugin's interface is gone).
func TestIpamDelWithoutDaemon(t *testing.T) {
	var dialed string
	o := invocation{
		env:        map[string]string{"CNI_COMMAND": "DEL", "CNI_CONTAINERID": "default-ctr1", "CNI_IFNAME": "net1"},
		stdin:      strings.NewReader(`{"cniVersion":"1.0.0","type":"macvlan","socket":"/not/this","ipam":{"type":"ovn-multinet","socket":"/run/ovn-multinet/om/ipam.sock"}}`),
		dial:       failDial(syscall.ENOENT, &dialed),
		linkExists: func(string) bool { return false },
	}.run()
	if o.status != 0 || o.stdout != "" {
		t.Errorf("got %d %q, want 0 and no output", o.status, o.stdout)
	}
	if dialed != "/run/ovn-multinet/om/ipam.sock" {
		t.Errorf("dialed %q, want the ipam section's socket", dialed)
	}
}
