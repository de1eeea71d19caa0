package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSocketPathVectors: the socket settings the executable accepts are exactly the ones the
// daemon's validateSocket accepts (test/unit/cni-vectors.test.ts reads the same list).
func TestSocketPathVectors(t *testing.T) {
	for _, v := range readVectors(t).SocketPaths {
		config := map[string]json.RawMessage{"socket": json.RawMessage(quote(v.Path))}
		path, field, err := socketPath(config)
		if v.OK && (err != nil || path != v.Path || field != "socket") {
			t.Errorf("%q: got %q %v, want it accepted", v.Path, path, err)
		}
		if !v.OK && (err == nil || err.code != codeInvalidConfig || !strings.HasPrefix(err.msg, "socket: ")) {
			t.Errorf("%q: got %q %v, want code 7 naming socket", v.Path, path, err)
		}
	}
}

// nobody is the uid (and gid) of the listener that is not root.
const nobody = 65534

// TestPeerNotRoot: a socket under /run/ovn-multinet/ whose listener is not root (here a symlink
// there to a socket a non-root process listens on elsewhere, as a pod could make) is refused
// with code 7 naming the field, and the request is never sent. The listener is this test
// binary, copied where uid 65534 can run it, started as that user (TestPeerListenerHelper).
func TestPeerNotRoot(t *testing.T) {
	run := runDir(t)
	home, err := os.MkdirTemp("", "omnpeer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	if err := os.Chmod(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(home, "listener")
	copyFile(t, self, binary)
	listening := filepath.Join(home, "p.sock")
	child := exec.Command(binary, "-test.run=^TestPeerListenerHelper$")
	child.Env = []string{"OMN_PEER_LISTEN=" + listening}
	child.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("listener: %q %v", lines.Text(), lines.Err())
	}
	link := filepath.Join(run, "d.sock")
	if err := os.Symlink(listening, link); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ field, stdin string }{
		{"socket", `{"socket":"` + link + `"}`},
		{"ipam.socket", `{"type":"macvlan","ipam":{"type":"ovn-multinet","socket":"` + link + `"}}`},
	} {
		o := invocation{env: map[string]string{"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_IFNAME": "eth0"}, stdin: strings.NewReader(tc.stdin), dial: dialUnix}.run()
		e, err := parseErrorLine(o.stdout)
		if err != nil || o.status != 1 || e.Code != 7 || e.Msg != tc.field+": the socket's listener is not root" || !strings.Contains(e.Details, "uid "+strconv.Itoa(nobody)) {
			t.Fatalf("%s: got %d %q (%v)", tc.field, o.status, o.stdout, err)
		}
		if !lines.Scan() || lines.Text() != "received 0 bytes" {
			t.Fatalf("%s: the listener says %q %v, want nothing received", tc.field, lines.Text(), lines.Err())
		}
	}
}

// TestPeerListenerHelper is the non-root listener of TestPeerNotRoot, run only in its child: it
// listens, says "ready", then for each connection reports how many bytes came before EOF.
func TestPeerListenerHelper(t *testing.T) {
	path := os.Getenv("OMN_PEER_LISTEN")
	if path == "" {
		t.Skip("only TestPeerNotRoot's child process")
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("ready\n")
	for {
		conn, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _ := io.Copy(io.Discard, conn)
		conn.Close()
		os.Stdout.WriteString("received " + strconv.FormatInt(n, 10) + " bytes\n")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, raw, 0o755); err != nil {
		t.Fatal(err)
	}
}
