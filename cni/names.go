package main

import (
	"crypto/sha256"
	"encoding/hex"
)

// hostVethName is the host end of an attachment's veth, exactly as the daemon names it
// (daemon/cni-spec/names.ts): "omn" + the first 12 hex digits of SHA-256("<containerId>/<ifName>"),
// 15 characters, the kernel's limit. Deriving it from the identity lets DEL check, without the
// daemon and without stored state, whether an attachment still exists. The shared vectors in
// testdata/vectors.json keep the two implementations equal.
func hostVethName(containerID, ifName string) string {
	sum := sha256.Sum256([]byte(containerID + "/" + ifName))
	return "omn" + hex.EncodeToString(sum[:6])
}
