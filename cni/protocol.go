package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// forwardedEnv are the CNI variables a request carries. Only variables that are set are sent,
// so the daemon can tell "unset" from "set but empty", as a plugin reading its own env could.
var forwardedEnv = []string{"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"}

// maxResponseBytes caps the daemon's answer: a CNI result is small, so more means a bug.
const maxResponseBytes = 4 << 20

// daemonTimeout bounds a whole request. It is longer than the daemon's own 120 s deadline, so
// the daemon normally answers with its own, more precise, error first.
const daemonTimeout = 150 * time.Second

// request is the one line the front end sends: the env and stdin, untouched.
type request struct {
	Env    map[string]string `json:"env"`
	Config string            `json:"config"`
}

// encodeRequest builds the request line. JSON escapes every newline inside strings, so the
// trailing newline Encode adds is the only one, and it ends the request.
func encodeRequest(lookupEnv func(string) (string, bool), config []byte) []byte {
	env := make(map[string]string, len(forwardedEnv))
	for _, name := range forwardedEnv {
		if v, ok := lookupEnv(name); ok {
			env[name] = v
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(request{env, string(config)}) // cannot fail: strings only
	return b.Bytes()
}

// response is the daemon's answer: the exact bytes to print and the exit status to return.
type response struct {
	exitCode int
	stdout   string
}

// exchange sends the request and reads the answer until the daemon closes the connection.
// It never half-closes: the daemon takes end-of-stream as "client gone" and cancels the request.
func exchange(conn net.Conn, line []byte, timeout time.Duration) (response, *cniError) {
	if _, err := conn.Write(line); err != nil {
		return response{}, connectionError(err, timeout)
	}
	raw, err := io.ReadAll(io.LimitReader(conn, maxResponseBytes+1))
	if err != nil {
		return response{}, connectionError(err, timeout)
	}
	if len(raw) == 0 {
		return response{}, &cniError{codeTryAgainLater, "the daemon closed the connection without answering", "it may have restarted"}
	}
	if len(raw) > maxResponseBytes {
		return response{}, &cniError{codeIOFailure, "daemon response is too large", "more than 4194304 bytes"}
	}
	return decodeResponse(raw)
}

// connectionError explains a failed read or write on the daemon connection.
func connectionError(err error, timeout time.Duration) *cniError {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &cniError{codeTryAgainLater, "timed out waiting for the daemon", "no answer within " + timeout.String()}
	}
	return &cniError{codeTryAgainLater, "the daemon dropped the connection", err.Error()}
}

// decodeResponse checks the answer's shape: {"exitCode": 0..255, "stdout": "..."}. Keys are
// matched exactly; unknown keys are ignored so the daemon may add some.
func decodeResponse(raw []byte) (response, *cniError) {
	wrong := func(details string) (response, *cniError) {
		return response{}, &cniError{codeIOFailure, "daemon response has the wrong shape", details}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return wrong("want one JSON object")
	}
	// Pointers, because JSON null decodes into a plain int or string without an error.
	var code *int
	if json.Unmarshal(fields["exitCode"], &code) != nil || code == nil || *code < 0 || *code > 255 {
		return wrong("exitCode must be an integer from 0 to 255")
	}
	var stdout *string
	if json.Unmarshal(fields["stdout"], &stdout) != nil || stdout == nil {
		return wrong("stdout must be a string")
	}
	return response{*code, *stdout}, nil
}

// daemonAbsent reports whether a dial error means that nothing listens on the socket path:
// no such file, a socket nobody listens on, or something that is not a socket.
func daemonAbsent(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOTSOCK)
}
