package main

import (
	"encoding/json"
	"io"
	"strconv"
)

// maxConfigBytes caps stdin: a network configuration is a few kilobytes, and the daemon
// refuses larger requests anyway.
const maxConfigBytes = 1 << 20

// defaultSocketPath is where ovn-multinetd listens unless the configuration says otherwise.
const defaultSocketPath = "/run/ovn-multinet/cni.sock"

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
	if err != nil {
		return nil, &cniError{codeDecodeFailure, "network configuration is not a JSON object", err.Error()}
	}
	return config, nil
}

// socketPath is the configuration's `socket`, the daemon's Unix socket; it is the one setting
// the front end needs before it can reach the daemon.
func socketPath(config map[string]json.RawMessage) (string, *cniError) {
	raw, ok := config["socket"]
	if !ok {
		return defaultSocketPath, nil
	}
	var path *string
	if json.Unmarshal(raw, &path) != nil || path == nil || *path == "" {
		return "", &cniError{codeInvalidConfig, "socket: must be a path", "want a non-empty string"}
	}
	return *path, nil
}
