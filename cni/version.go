package main

import (
	"encoding/json"
	"io"
)

// version is this build's version, set with -ldflags "-X main.version=...".
var version = "dev"

// supportedVersions are the CNI spec versions the daemon speaks; testdata/vectors.json pins
// the list so the Go and TypeScript sides cannot drift.
var supportedVersions = []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}

// newestVersion is used whenever the configuration does not name a supported version.
const newestVersion = "1.1.0"

// configVersion is the configuration's cniVersion when it is a supported one, else the newest:
// the front end's own output is then in the version the runtime asked for whenever it can be.
func configVersion(config map[string]json.RawMessage) string {
	var v string
	if json.Unmarshal(config["cniVersion"], &v) == nil {
		for _, s := range supportedVersions {
			if v == s {
				return v
			}
		}
	}
	return newestVersion
}

// writeVersionInfo answers CNI_COMMAND=VERSION. It is the only command answered without the
// daemon: it must work even when the daemon is down, and it needs nothing from the node.
func writeVersionInfo(w io.Writer, cniVersion string) int {
	line, _ := json.Marshal(struct {
		CNIVersion        string   `json:"cniVersion"`
		SupportedVersions []string `json:"supportedVersions"`
	}{cniVersion, supportedVersions}) // cannot fail: strings only
	_, _ = w.Write(append(line, '\n'))
	return 0
}
