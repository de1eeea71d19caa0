package main

import (
	"encoding/json"
	"testing"
)

// TestSocketPathModes pins where the socket setting is read: at the top level when this is the
// plugin, in the ipam section when another plugin execs it as its IPAM (same rule as the
// daemon's ipamSection in daemon/netconf/ipam-mode.ts).
func TestSocketPathModes(t *testing.T) {
	for _, tc := range []struct {
		name, stdin, path, field string
	}{
		{"plugin, default", `{"type":"ovn-multinet"}`, defaultSocketPath, "socket"},
		{"plugin, own socket", `{"type":"ovn-multinet","socket":"/run/ovn-multinet/top"}`, "/run/ovn-multinet/top", "socket"},
		{"plugin with an ipam section naming us: still the plugin", `{"type":"ovn-multinet","socket":"/run/ovn-multinet/top","ipam":{"type":"ovn-multinet","socket":"/run/ovn-multinet/ipam"}}`, "/run/ovn-multinet/top", "socket"},
		{"IPAM mode, default", `{"type":"macvlan","ipam":{"type":"ovn-multinet"}}`, defaultSocketPath, "ipam.socket"},
		{"IPAM mode, ipam.socket", `{"type":"macvlan","socket":"/run/ovn-multinet/top","ipam":{"type":"ovn-multinet","socket":"/run/ovn-multinet/ipam"}}`, "/run/ovn-multinet/ipam", "ipam.socket"},
		{"another IPAM plugin", `{"type":"macvlan","socket":"/run/ovn-multinet/top","ipam":{"type":"host-local","socket":"/run/ovn-multinet/ipam"}}`, "/run/ovn-multinet/top", "socket"},
		{"ipam not an object", `{"type":"macvlan","ipam":"ovn-multinet"}`, defaultSocketPath, "socket"},
		{"ipam.type not a string", `{"type":"macvlan","ipam":{"type":7,"socket":"/run/ovn-multinet/ipam"}}`, defaultSocketPath, "socket"},
		{"no type at all", `{"ipam":{"type":"ovn-multinet","socket":"/run/ovn-multinet/ipam"}}`, "/run/ovn-multinet/ipam", "ipam.socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var config map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.stdin), &config); err != nil {
				t.Fatal(err)
			}
			path, field, err := socketPath(config)
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if path != tc.path || field != tc.field {
				t.Fatalf("got %q (%s), want %q (%s)", path, field, tc.path, tc.field)
			}
		})
	}
}
