package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// invocation is one start of the executable, as a runtime would make it.
type invocation struct {
	env        map[string]string // the variables that are set; absent keys are unset
	args       []string
	stdin      io.Reader
	linkExists func(string) bool
	dial       func(string, time.Time) (net.Conn, error)
	timeout    time.Duration
}

type outcome struct {
	status int
	stdout string
	stderr string
}

func (c invocation) run() outcome {
	var stdout, stderr bytes.Buffer
	in := Inputs{
		LookupEnv: func(name string) (string, bool) {
			v, ok := c.env[name]
			return v, ok
		},
		Args:       c.args,
		Stdin:      c.stdin,
		Stdout:     &stdout,
		Stderr:     &stderr,
		LinkExists: c.linkExists,
		Dial:       c.dial,
		Timeout:    c.timeout,
	}
	if in.Args == nil {
		in.Args = []string{"ovn-multinet"}
	}
	if in.Stdin == nil {
		in.Stdin = bytes.NewReader(nil)
	}
	if in.LinkExists == nil {
		in.LinkExists = func(string) bool { panic("LinkExists called") }
	}
	if in.Dial == nil {
		in.Dial = func(string, time.Time) (net.Conn, error) { panic("Dial called") }
	}
	if in.Timeout == 0 {
		in.Timeout = 10 * time.Second
	}
	status := run(in)
	return outcome{status, stdout.String(), stderr.String()}
}

// dialError builds the error net.Dial returns for a Unix socket, wrapping errno.
func dialError(path string, errno syscall.Errno) error {
	return &net.OpError{Op: "dial", Net: "unix", Addr: &net.UnixAddr{Name: path, Net: "unix"}, Err: os.NewSyscallError("connect", errno)}
}

// failDial is a Dial that fails with errno and records the path it was asked for.
func failDial(errno syscall.Errno, dialed *string) func(string, time.Time) (net.Conn, error) {
	return func(path string, _ time.Time) (net.Conn, error) {
		if dialed != nil {
			*dialed = path
		}
		return nil, dialError(path, errno)
	}
}

// cniErrorLine is the CNI error JSON the front end prints.
type cniErrorLine struct {
	CNIVersion string `json:"cniVersion"`
	Code       int    `json:"code"`
	Msg        string `json:"msg"`
	Details    string `json:"details"`
}

// parseErrorLine checks that stdout is exactly one CNI error line (keys matched exactly, no
// extra ones, cniVersion supported, code and msg present) and returns it.
func parseErrorLine(stdout string) (cniErrorLine, error) {
	var e cniErrorLine
	if len(stdout) == 0 || stdout[len(stdout)-1] != '\n' || bytes.Count([]byte(stdout), []byte("\n")) != 1 {
		return e, errors.New("not exactly one line")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(stdout), &fields); err != nil || fields == nil {
		return e, errors.New("not a JSON object")
	}
	for k := range fields {
		switch k {
		case "cniVersion", "code", "msg", "details":
		default:
			return e, errors.New("unexpected key " + k)
		}
	}
	var version, msg, details *string
	var code *int
	if json.Unmarshal(fields["cniVersion"], &version) != nil || version == nil || !supported(*version) {
		return e, errors.New("cniVersion must be a supported version")
	}
	if json.Unmarshal(fields["code"], &code) != nil || code == nil {
		return e, errors.New("code must be an integer")
	}
	if json.Unmarshal(fields["msg"], &msg) != nil || msg == nil || *msg == "" {
		return e, errors.New("msg must be a non-empty string")
	}
	if d, ok := fields["details"]; ok && (json.Unmarshal(d, &details) != nil || details == nil || *details == "") {
		return e, errors.New("details, when present, must be a non-empty string")
	}
	e = cniErrorLine{*version, *code, *msg, ""}
	if details != nil {
		e.Details = *details
	}
	return e, nil
}

func supported(v string) bool {
	for _, s := range supportedVersions {
		if s == v {
			return true
		}
	}
	return false
}

// runDir makes a fresh directory under socketDir, the only place the executable connects to,
// removed after the test; it needs root (as npm test runs), as the directory is root's. Short
// names: Unix socket paths are limited to 107 bytes.
func runDir(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: test sockets live under " + socketDir)
	}
	if err := os.MkdirAll(socketDir, 0o700); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(socketDir, "go")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// unixServer listens on a fresh socket under socketDir and runs serve for each connection; the
// test runs as root, so the executable's peer check passes.
func unixServer(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	dir := runDir(t)
	path := dir + "/d.sock"
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				serve(conn)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return path
}
