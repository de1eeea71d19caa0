package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// vectors are the facts shared with the TypeScript daemon (testdata/vectors.json); its test
// suite reads the same file, so the two implementations cannot drift apart.
type vectors struct {
	SupportedVersions []string `json:"supportedVersions"`
	Names             []struct {
		ContainerID string `json:"containerId"`
		IfName      string `json:"ifName"`
		HostVeth    string `json:"hostVeth"`
		LogicalPort string `json:"logicalPort"`
	} `json:"names"`
	SocketPaths []struct {
		Path string `json:"path"`
		OK   bool   `json:"ok"`
	} `json:"socketPaths"`
}

func readVectors(t *testing.T) vectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.SupportedVersions) == 0 || len(v.Names) == 0 || len(v.SocketPaths) == 0 {
		t.Fatal("testdata/vectors.json has no supportedVersions, names or socketPaths")
	}
	return v
}

func TestSupportedVersionsMatchVectors(t *testing.T) {
	v := readVectors(t)
	if !reflect.DeepEqual(supportedVersions, v.SupportedVersions) {
		t.Fatalf("supportedVersions = %q, vectors.json says %q", supportedVersions, v.SupportedVersions)
	}
	if newestVersion != v.SupportedVersions[len(v.SupportedVersions)-1] {
		t.Fatalf("newestVersion = %q, want the last supported version", newestVersion)
	}
}

func TestNamesMatchVectors(t *testing.T) {
	for _, n := range readVectors(t).Names {
		if got := hostVethName(n.ContainerID, n.IfName); got != n.HostVeth {
			t.Errorf("hostVethName(%q, %q) = %q, want %q", n.ContainerID, n.IfName, got, n.HostVeth)
		}
		if len(n.HostVeth) > 15 {
			t.Errorf("vector %q is longer than the kernel's 15-character limit", n.HostVeth)
		}
		// The executable never needs the logical port name; checking it here still guards
		// the shared derivation (both names are prefixes of the same hash).
		sum := sha256.Sum256([]byte(n.ContainerID + "/" + n.IfName))
		if got := "omn-" + hex.EncodeToString(sum[:])[:24]; got != n.LogicalPort {
			t.Errorf("logical port of (%q, %q) = %q, want %q", n.ContainerID, n.IfName, got, n.LogicalPort)
		}
	}
}
