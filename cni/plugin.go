package main

import (
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Inputs are everything run takes from the process and the node, injected as in cni pkg/skel
// so that tests drive run in-process.
type Inputs struct {
	LookupEnv  func(name string) (string, bool)
	Args       []string // os.Args, for --version
	Stdin      io.Reader
	Stdout     io.Writer // the CNI result or one CNI error line, nothing else
	Stderr     io.Writer
	LinkExists func(name string) bool
	Dial       func(path string, deadline time.Time) (net.Conn, error)
	Timeout    time.Duration // for the whole exchange with the daemon
}

// run is the executable: it returns the exit status. Every failure is printed as CNI error JSON;
// a panic is a bug, reported as code 999 rather than as a Go trace on stdout.
func run(in Inputs) (status int) {
	cniVersion := newestVersion
	defer func() {
		if r := recover(); r != nil {
			status = writeError(in.Stdout, cniVersion, &cniError{codeInternal, "internal error", panicText(r)})
		}
	}()

	command, ok := in.LookupEnv("CNI_COMMAND")
	if !ok {
		return runByHand(in)
	}
	raw, err := readConfig(in.Stdin)
	if err != nil {
		return writeError(in.Stdout, cniVersion, err)
	}
	config, err := parseConfig(raw)
	cniVersion = configVersion(config)
	if command == "VERSION" {
		return writeVersionInfo(in.Stdout, cniVersion)
	}
	if err != nil {
		return writeError(in.Stdout, cniVersion, err)
	}
	path, field, err := socketPath(config)
	if err != nil {
		return writeError(in.Stdout, cniVersion, err)
	}

	deadline := time.Now().Add(in.Timeout)
	conn, dialErr := in.Dial(path, deadline)
	if dialErr != nil {
		if err := withoutDaemon(in, command, path, field, dialErr); err != nil {
			return writeError(in.Stdout, cniVersion, err)
		}
		return 0
	}
	defer conn.Close()
	if err := checkPeer(conn, field); err != nil {
		return writeError(in.Stdout, cniVersion, err)
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return writeError(in.Stdout, cniVersion, connectionError(err, in.Timeout))
	}
	answer, err := exchange(conn, encodeRequest(in.LookupEnv, raw), in.Timeout)
	if err != nil {
		return writeError(in.Stdout, cniVersion, err)
	}
	if _, err := io.WriteString(in.Stdout, answer.stdout); err != nil {
		return 1 // stdout is gone: nowhere left to report anything
	}
	return answer.exitCode
}

// runByHand handles a start without CNI_COMMAND, which only a person does: answer --version,
// otherwise say what this executable is, and still print a CNI error in case a runtime did it.
func runByHand(in Inputs) int {
	for i, arg := range in.Args {
		if i > 0 && arg == "--version" {
			_, _ = io.WriteString(in.Stdout, "ovn-multinet "+version+"\n")
			return 0
		}
	}
	_, _ = io.WriteString(in.Stderr, "ovn-multinet is a CNI plugin, run by a container runtime with CNI_COMMAND set; the daemon and tools are ovn-multinetd\n")
	return writeError(in.Stdout, newestVersion, &cniError{codeInvalidEnv, "CNI_COMMAND: not set", ""})
}

// withoutDaemon decides a command when the daemon cannot be reached. These are the only rules
// the front end owns: what the spec requires of a plugin whose daemon is down. nil means
// success with no output. field names the socket setting in errors (`ipam.socket` in IPAM mode).
func withoutDaemon(in Inputs, command, path, field string, dialErr error) *cniError {
	if !daemonAbsent(dialErr) {
		return &cniError{codeTryAgainLater, "cannot connect to the ovn-multinet daemon", dialErr.Error()}
	}
	if info, err := os.Stat(path); err == nil && info.Mode()&fs.ModeSocket == 0 {
		return &cniError{codeInvalidConfig, field + ": not a Unix socket", path}
	}
	switch command {
	case "DEL":
		// DEL must succeed when there is nothing to delete (e.g. the node rebooted, or DEL is
		// repeated). Without the daemon, the host veth is the sign that the attachment exists.
		// In IPAM mode there is never one: DEL succeeds and the address stays held until the
		// reconciler sees the pod's interface gone (the calling plugin removes it right after),
		// a grace period longer than with the daemon; it is never given twice meanwhile.
		name, err := vethOf(in.LookupEnv)
		if err != nil {
			return err
		}
		if !in.LinkExists(name) {
			return nil
		}
		return &cniError{codeTryAgainLater, "the ovn-multinet daemon is not running and this attachment still exists", dialErr.Error()}
	case "STATUS":
		return &cniError{codeNotAvailable, "the ovn-multinet daemon is not running", dialErr.Error()}
	case "ADD", "CHECK", "GC":
		return &cniError{codeTryAgainLater, "the ovn-multinet daemon is not running", dialErr.Error()}
	}
	return &cniError{codeInvalidEnv, "CNI_COMMAND: unknown command " + strconv.Quote(command), "want one of ADD, DEL, CHECK, VERSION, STATUS, GC"}
}

// vethOf is the host veth name of the attachment the env names.
func vethOf(lookupEnv func(string) (string, bool)) (string, *cniError) {
	containerID, _ := lookupEnv("CNI_CONTAINERID")
	if containerID == "" {
		return "", &cniError{codeInvalidEnv, "CNI_CONTAINERID: must not be empty", ""}
	}
	ifName, _ := lookupEnv("CNI_IFNAME")
	if ifName == "" {
		return "", &cniError{codeInvalidEnv, "CNI_IFNAME: must not be empty", ""}
	}
	return hostVethName(containerID, ifName), nil
}

// checkPeer refuses a daemon that is not root before anything is sent: the request carries the
// pod's environment and config, and the answer is printed as the plugin's result. SO_PEERCRED
// gives the credentials of the process that called listen(), so whoever made the socket, only a
// root listener passes. Code 7 naming the socket setting: the config leads to the wrong peer.
func checkPeer(conn net.Conn, field string) *cniError {
	unix, ok := conn.(*net.UnixConn)
	if !ok {
		return &cniError{codeInvalidConfig, field + ": not a Unix socket connection", ""}
	}
	raw, err := unix.SyscallConn()
	if err != nil {
		return &cniError{codeInvalidConfig, field + ": cannot tell who listens on the socket", err.Error()}
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		credErr = err
	}
	if credErr != nil {
		return &cniError{codeInvalidConfig, field + ": cannot tell who listens on the socket", credErr.Error()}
	}
	if cred.Uid != 0 {
		return &cniError{codeInvalidConfig, field + ": the socket's listener is not root", "uid " + strconv.FormatUint(uint64(cred.Uid), 10) + ", pid " + strconv.FormatInt(int64(cred.Pid), 10)}
	}
	return nil
}
