package main

import (
	"encoding/json"
	"io"
)

// CNI error codes (SPEC.md, "Error") that this executable prints itself. Every other error comes
// from the daemon, already printed, inside its answer.
const (
	codeInvalidEnv    = 4   // an environment variable is missing or invalid
	codeIOFailure     = 5   // stdin or the daemon's answer could not be read
	codeDecodeFailure = 6   // stdin is not a JSON object
	codeInvalidConfig = 7   // the network configuration is unusable (here: only `socket`)
	codeTryAgainLater = 11  // the daemon is unreachable; the runtime should retry
	codeNotAvailable  = 50  // STATUS: the plugin cannot serve ADD requests right now
	codeInternal      = 999 // a bug in this executable (a recovered panic)
)

// cniError is the front end's own error: `msg` is short, `details` carries the specifics.
type cniError struct {
	code    int
	msg     string
	details string
}

// writeError prints e as one line of CNI error JSON on stdout and returns the exit status 1.
// A runtime reads the error from stdout, so nothing else may ever be written there.
func writeError(w io.Writer, cniVersion string, e *cniError) int {
	line, _ := json.Marshal(struct {
		CNIVersion string `json:"cniVersion"`
		Code       int    `json:"code"`
		Msg        string `json:"msg"`
		Details    string `json:"details,omitempty"`
	}{cniVersion, e.code, e.msg, e.details}) // cannot fail: strings and an int
	_, _ = w.Write(append(line, '\n'))
	return 1
}

// panicText turns a recovered panic value into error details without importing fmt.
func panicText(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	}
	return "panic"
}
