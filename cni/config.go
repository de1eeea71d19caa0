package main

import (
	"encoding/json"
	"io"
	"path"
	"strconv"
	"strings"
)

// maxConfigBytes caps stdin: a network configuration is a few kilobytes, and the daemon
// refuses larger requests anyway.
const maxConfigBytes = 1 << 20

// defaultSocketPath is where ovn-multinetd listens unless the configuration says otherwise.
const defaultSocketPath = "/run/ovn-multinet/cni.sock"

// maxSocketPath is sun_path's 108 bytes less the terminating NUL.
const maxSocketPath = 107

// socketDir is the one directory (at any depth) whose sockets the executable connects to: the
// daemon's, root's. A config written by a namespace user must not lead this root process to a
// socket of the user's choosing (a pod's emptyDir, say); the daemon's config validation applies
// the same rule (daemon/netconf/fields.ts validateSocket), and testdata/vectors.json holds the
// paths both check.
const socketDir = "/run/ovn-multinet/"

// underSocketDir: strictly below socketDir and lexically clean (no "", "." or ".." segment, no
// trailing "/"), so no spelling of the path leaves the directory.
func underSocketDir(p string) bool {
	return len(p) > len(socketDir) && strings.HasPrefix(p, socketDir) && path.Clean(p) == p
}

// readConfig reads the network configuration from stdin, refusing more than maxConfigBytes.
func readConfig(r io.Reader) ([]byte, *cniError) {
	raw, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	if err != nil {
		return nil, &cniError{codeIOFailure, "cannot read the network configuration", err.Error()}
	}
	if len(raw) > maxConfigBytes {
		return nil, &cniError{codeDecodeFailure, "network configuration is larger than " + strconv.Itoa(maxConfigBytes) + " bytes", ""}
	}
	return raw, nil
}

// parseConfig checks only that the configuration is a JSON object; the daemon validates the
// rest. Its keys stay raw and are matched exactly (a struct would match them case-insensitively).
func parseConfig(raw []byte) (map[string]json.RawMessage, *cniError) {
	var config map[string]json.RawMessage
	err := json.Unmarshal(raw, &config)
	if err == nil && config == nil {
		return nil, &cniError{codeDecodeFailure, "network configuration is not a JSON object", "it is null"}
	}
	if err != nil && strings.HasSuffix(err.Error(), "exceeded max depth") {
		// encoding/json stops at 10000 levels; no network configuration comes near that.
		return nil, &cniError{codeDecodeFailure, "network configuration nests deeper than 10000 levels", ""}
	}
	if err != nil {
		return nil, &cniError{codeDecodeFailure, "network configuration is not a JSON object", err.Error()}
	}
	return config, nil
}

// pluginType is this plugin's `type`, as a runtime or another plugin execs it.
const pluginType = "ovn-multinet"

// ipamSection is the `ipam` section when this executable runs as another plugin's IPAM plugin:
// a reference plugin (macvlan, ipvlan, bridge, host-device) execs its IPAM plugin with its own
// environment and the whole network configuration on stdin, so the top-level `type` is that
// plugin's and `ipam.type` is ours. The daemon tells the two modes apart by the same rule
// (daemon/netconf/ipam-mode.ts ipamSection); the only thing the front end needs from it is where the
// socket setting lives.
func ipamSection(config map[string]json.RawMessage) map[string]json.RawMessage {
	if stringField(config, "type") == pluginType {
		return nil
	}
	var ipam map[string]json.RawMessage
	if json.Unmarshal(config["ipam"], &ipam) != nil || stringField(ipam, "type") != pluginType {
		return nil
	}
	return ipam
}

// stringField is config[key] when it is a JSON string, else "".
func stringField(config map[string]json.RawMessage, key string) string {
	var v string
	if json.Unmarshal(config[key], &v) != nil {
		return ""
	}
	return v
}

// socketPath is the configuration's `socket` (in IPAM mode the ipam section's), the daemon's
// Unix socket; it is the one setting the front end needs before it can reach the daemon, so it
// checks it the way the daemon does: an absolute path that fits sun_path (a relative one would
// depend on the runtime's directory), under socketDir.
func socketPath(config map[string]json.RawMessage) (path string, field string, err *cniError) {
	field = "socket"
	if ipam := ipamSection(config); ipam != nil {
		config, field = ipam, "ipam.socket"
	}
	raw, ok := config["socket"]
	if !ok {
		return defaultSocketPath, field, nil
	}
	var value *string
	if json.Unmarshal(raw, &value) != nil || value == nil || *value == "" {
		return "", field, &cniError{codeInvalidConfig, field + ": must be a path", "want a non-empty string"}
	}
	if !strings.HasPrefix(*value, "/") || strings.ContainsRune(*value, 0) {
		return "", field, &cniError{codeInvalidConfig, field + ": must be an absolute path", strconv.Quote(*value)}
	}
	if len(*value) > maxSocketPath {
		return "", field, &cniError{codeInvalidConfig, field + ": longer than " + strconv.Itoa(maxSocketPath) + " bytes", ""}
	}
	if !underSocketDir(*value) {
		return "", field, &cniError{codeInvalidConfig, field + ": must be a clean path under " + socketDir, strconv.Quote(*value)}
	}
	return *value, field, nil
}
