// Command ovn-multinet is the CNI executable of ovn-multinet. It is a thin front end, like
// ovn-kubernetes' cnishim: it forwards the CNI environment and the network configuration to the
// per-node daemon (ovn-multinetd) over a Unix socket and prints the daemon's answer. The daemon
// owns every CNI rule, so each rule has exactly one implementation.
//
// main only wires the process to run; everything testable lives behind the Inputs struct.
package main

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"time"
)

func main() {
	os.Exit(run(Inputs{
		LookupEnv:  os.LookupEnv,
		Args:       os.Args,
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		LinkExists: sysfsLinkExists,
		Dial:       dialUnix,
		Timeout:    daemonTimeout,
	}))
}

// sysfsLinkExists reports whether a network interface of that name exists in this (the host's)
// network namespace. Any answer other than "does not exist" counts as "exists": if we cannot
// tell, DEL must fail rather than report success for an attachment that may still be there.
func sysfsLinkExists(name string) bool {
	_, err := os.Lstat("/sys/class/net/" + name)
	return !errors.Is(err, fs.ErrNotExist)
}

// dialUnix connects to the daemon's socket, giving up at the request's overall deadline.
func dialUnix(path string, deadline time.Time) (net.Conn, error) {
	d := net.Dialer{Deadline: deadline}
	return d.Dial("unix", path)
}
