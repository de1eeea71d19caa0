package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzRun drives run with arbitrary commands, ids and configurations, once against a daemon
// that gives a fixed answer and once with no daemon, and checks each outcome against an
// independent statement of the rules: the fixed answer (only when the config is a JSON object
// with a usable socket), or empty stdout with status 0 (only for DEL without daemon whose veth
// is absent), or one CNI error line with status 1 and the expected code and cniVersion, or the
// version line for VERSION. Never a panic, never code 999.
func FuzzRun(f *testing.F) {
	const answer = `{"cniVersion":"1.1.0","interfaces":[]}` // no newline: none may be added
	seen := make(chan []byte, 1)
	daemon := unixServer(f, func(conn net.Conn) {
		line, _ := bufio.NewReader(conn).ReadBytes('\n')
		seen <- line
		io.WriteString(conn, `{"exitCode":0,"stdout":`+quote(answer)+`}`)
	})
	for _, seed := range []struct{ command, containerID, ifName, stdin string }{
		{"ADD", "abc", "eth0", `{"cniVersion":"0.4.0","name":"n","type":"ovn-multinet"}`},
		{"DEL", "abc", "eth0", `{}`},
		{"DEL", "default-ctr1", "net1", `{"cniVersion":"1.0.0"}`},
		{"DEL", "", "eth0", `{}`},
		{"VERSION", "", "", "garbage"},
		{"VERSION", "", "", `{"cniVersion":"0.3.0"}`},
		{"STATUS", "", "", `{"socket":"/etc/passwd"}`},
		{"STATUS", "", "", `{"socket":"/run/ovn-multinet/../passwd"}`},
		{"ADD", "a", "b", `{"socket":"/run/ovn-multinet/x/d.sock"}`},
		{"GC", "", "", `{"socket":1}`},
		{"CHECK", "c", "i", `{"socket":"` + defaultSocketPath + `","cniVersion":"0.3.1"}`},
		{"", "c", "i", `null`},
		{"add", "c", "i", "{\"x\":\"\xff\"}"},
	} {
		f.Add(seed.command, seed.containerID, seed.ifName, []byte(seed.stdin))
	}
	f.Fuzz(func(t *testing.T, command, containerID, ifName string, stdin []byte) {
		env := map[string]string{"CNI_COMMAND": command, "CNI_CONTAINERID": containerID, "CNI_IFNAME": ifName}
		// Only the default path leads to the daemon, so fuzzed paths never reach real sockets.
		absent := func(path string, _ time.Time) (net.Conn, error) { return nil, dialError(path, syscall.ENOENT) }
		present := func(path string, deadline time.Time) (net.Conn, error) {
			if path == defaultSocketPath {
				return dialUnix(daemon, deadline)
			}
			return absent(path, deadline)
		}
		linkExists := func(name string) bool { return name[len(name)-1] < '8' }
		for _, withDaemon := range []bool{true, false} {
			dial := absent
			if withDaemon {
				dial = present
			}
			o := invocation{env: env, stdin: bytes.NewReader(stdin), dial: dial, linkExists: linkExists}.run()
			want := expect(command, containerID, ifName, stdin, withDaemon, linkExists)
			var line []byte
			select {
			case line = <-seen:
			default:
			}
			switch {
			case want.answered:
				if o.status != 0 || o.stdout != answer {
					t.Fatalf("daemon %v: got %d %q, want the daemon's answer", withDaemon, o.status, o.stdout)
				}
				checkRequest(t, line, env, stdin)
			case line != nil:
				t.Fatalf("daemon %v: the daemon was asked, want %+v", withDaemon, want)
			case want.versionInfo != "":
				if o.status != 0 || o.stdout != want.versionInfo {
					t.Fatalf("got %d %q, want %q", o.status, o.stdout, want.versionInfo)
				}
			case want.code == 0:
				if o.status != 0 || o.stdout != "" {
					t.Fatalf("daemon %v: got %d %q, want 0 and no output", withDaemon, o.status, o.stdout)
				}
			default:
				e, err := parseErrorLine(o.stdout)
				if err != nil || o.status != 1 || e.Code != want.code || e.CNIVersion != want.cniVersion {
					t.Fatalf("daemon %v: got %d %q (%v), want code %d cniVersion %s", withDaemon, o.status, o.stdout, err, want.code, want.cniVersion)
				}
			}
			if o.stderr != "" {
				t.Fatalf("stderr %q", o.stderr)
			}
		}
	})
}

type expected struct {
	answered    bool   // the daemon's answer, printed as is
	versionInfo string // VERSION's answer
	code        int    // a CNI error; 0 with the others unset: success without output
	cniVersion  string
}

// expect restates the front end's rules, independently of its code, for FuzzRun.
func expect(command, containerID, ifName string, stdin []byte, withDaemon bool, linkExists func(string) bool) expected {
	var config map[string]any
	isObject := len(stdin) <= maxConfigBytes && json.Unmarshal(stdin, &config) == nil && config != nil
	cniVersion := "1.1.0"
	if v, ok := config["cniVersion"].(string); ok && supported(v) {
		cniVersion = v
	}
	fail := func(code int) expected { return expected{code: code, cniVersion: cniVersion} }
	switch {
	case len(stdin) > maxConfigBytes:
		return fail(6)
	case command == "VERSION":
		return expected{versionInfo: `{"cniVersion":"` + cniVersion + `",` + versionInfo}
	case !isObject:
		return fail(6)
	}
	path := defaultSocketPath
	if raw, ok := config["socket"]; ok {
		s, ok := raw.(string)
		if !ok || s == "" || !strings.HasPrefix(s, "/") || strings.ContainsRune(s, 0) || len(s) > maxSocketPath || !inRunDir(s) {
			return fail(7)
		}
		path = s
	}
	if withDaemon && path == defaultSocketPath {
		return expected{answered: true}
	}
	if info, err := os.Stat(path); err == nil && info.Mode()&fs.ModeSocket == 0 {
		return fail(7)
	}
	switch command {
	case "DEL":
		if containerID == "" || ifName == "" {
			return fail(4)
		}
		if linkExists(hostVethName(containerID, ifName)) {
			return fail(11)
		}
		return expected{}
	case "STATUS":
		return fail(50)
	case "ADD", "CHECK", "GC":
		return fail(11)
	}
	return fail(4)
}

// inRunDir restates the socket directory rule: below /run/ovn-multinet/, every segment after it
// a real name (not empty, "." or "..").
func inRunDir(p string) bool {
	const dir = "/run/ovn-multinet/"
	if !strings.HasPrefix(p, dir) {
		return false
	}
	for _, segment := range strings.Split(p[len(dir):], "/") {
		if segment == "" || segment == "." || segment == ".." {
			return false
		}
	}
	return true
}

// checkRequest checks the line the daemon received: the set env and stdin, as one JSON line.
func checkRequest(t *testing.T, line []byte, env map[string]string, stdin []byte) {
	t.Helper()
	if len(line) == 0 || bytes.IndexByte(line, '\n') != len(line)-1 {
		t.Fatalf("request %q is not one line", line)
	}
	var req struct {
		Env    map[string]string
		Config string
	}
	if err := json.Unmarshal(line, &req); err != nil {
		t.Fatalf("request %q: %v", line, err)
	}
	// encoding/json replaces invalid UTF-8 with U+FFFD, so only valid text compares exactly.
	valid := utf8.Valid(stdin)
	for _, v := range env {
		valid = valid && utf8.ValidString(v)
	}
	if valid && (!reflect.DeepEqual(req.Env, env) || req.Config != string(stdin)) {
		t.Fatalf("request %q, want env %q and config %q", line, env, stdin)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
