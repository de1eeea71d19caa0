package main

import (
	"encoding/json"
	"io"
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

// socketPath is the configuration's `socket`, the daemon's Unix socket; it is the one setting
// the front end needs before it can reach the daemon, so it checks it the way the daemon does:
// an absolute path that fits sun_path (a relative one would depend on the runtime's directory).
func socketPath(config map[string]json.RawMessage) (string, *cniError) {
	raw, ok := config["socket"]
	if !ok {
		return defaultSocketPath, nil
	}
	var path *string
	if json.Unmarshal(raw, &path) != nil || path == nil || *path == "" {
		return "", &cniError{codeInvalidConfig, "socket: must be a path", "want a non-empty string"}
	}
	if !strings.HasPrefix(*path, "/") || strings.ContainsRune(*path, 0) {
		return "", &cniError{codeInvalidConfig, "socket: must be an absolute path", strconv.Quote(*path)}
	}
	if len(*path) > maxSocketPath {
		return "", &cniError{codeInvalidConfig, "socket: longer than " + strconv.Itoa(maxSocketPath) + " bytes", ""}
	}
	return *path, nil
}
