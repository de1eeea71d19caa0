package main

import (
	"encoding/json"
	"strings"
	"testing"
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
