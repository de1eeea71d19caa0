package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// exchangeResult is what a test daemon saw of one request.
type exchangeResult struct {
	line      []byte
	heldOpen  bool // the client neither closed nor half-closed before the answer
	readError error
}

// answering is a daemon that reads the request line, then writes answer and closes. With seen,
// it first checks for 100 ms that the client keeps the connection open, and reports.
func answering(answer string, seen chan<- exchangeResult) func(net.Conn) {
	return func(conn net.Conn) {
		r := bufio.NewReader(conn)
		line, err := r.ReadBytes('\n')
		res := exchangeResult{line: line, readError: err}
		if seen == nil {
			io.WriteString(conn, answer)
			return
		}
		if err == nil {
			conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			_, err := r.ReadByte()
			res.heldOpen = errors.Is(err, os.ErrDeadlineExceeded)
			conn.SetReadDeadline(time.Time{})
		}
		seen <- res
		io.WriteString(conn, answer)
	}
}

func forward(path string, env map[string]string, config string) outcome {
	if env == nil {
		env = map[string]string{"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_IFNAME": "eth0"}
	}
	return invocation{env: env, stdin: strings.NewReader(config), dial: dialUnix}.run()
}

func TestRequestFraming(t *testing.T) {
	seen := make(chan exchangeResult, 1)
	stdout := "{\"cniVersion\":\"1.1.0\",\n  \"ips\": []}\n\n<&>\u2028 no newline added"
	answer, _ := json.Marshal(map[string]any{"exitCode": 3, "stdout": stdout})
	path := unixServer(t, answering(string(answer), seen))

	// Newlines, HTML characters, U+2028 and non-ASCII inside the config must survive intact.
	config := "{\n  \"cniVersion\": \"1.0.0\",\n  \"socket\": \"" + path + "\",\n  \"name\": \"<a&b>\\n\u2028é\"\n}\n"
	env := map[string]string{"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "ctr1", "CNI_NETNS": "/var/run/netns/x", "CNI_IFNAME": "net1", "CNI_ARGS": "", "NOT_CNI": "x"}
	o := forward(path, env, config)
	if o.status != 3 || o.stdout != stdout || o.stderr != "" {
		t.Fatalf("got %d %q %q, want 3 and the daemon's stdout exactly", o.status, o.stdout, o.stderr)
	}
	res := <-seen
	if res.readError != nil || !res.heldOpen {
		t.Fatalf("request read error %v; connection held open until the answer: %v", res.readError, res.heldOpen)
	}
	if strings.IndexByte(string(res.line), '\n') != len(res.line)-1 {
		t.Fatalf("request %q is not exactly one line", res.line)
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(res.line, &req); err != nil || len(req) != 2 {
		t.Fatalf("request %q: want an object with env and config (%v)", res.line, err)
	}
	var gotEnv map[string]string
	var gotConfig string
	if json.Unmarshal(req["env"], &gotEnv) != nil || json.Unmarshal(req["config"], &gotConfig) != nil {
		t.Fatalf("request %q: env must be a string map, config a string", res.line)
	}
	// Set variables go, empty ones included; unset ones (CNI_PATH) and non-CNI ones do not.
	wantEnv := map[string]string{"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "ctr1", "CNI_NETNS": "/var/run/netns/x", "CNI_IFNAME": "net1", "CNI_ARGS": ""}
	if !reflect.DeepEqual(gotEnv, wantEnv) {
		t.Errorf("env %v, want %v", gotEnv, wantEnv)
	}
	if gotConfig != config {
		t.Errorf("config %q, want stdin %q", gotConfig, config)
	}
}

func TestAnswers(t *testing.T) {
	big := strings.Repeat("x", maxResponseBytes-len(`{"exitCode":0,"stdout":""}`))
	for _, tc := range []struct {
		name, answer string
		status       int
		stdout       string
	}{
		{"success", `{"exitCode":0,"stdout":"{\"cniVersion\":\"1.1.0\"}\n"}`, 0, "{\"cniVersion\":\"1.1.0\"}\n"},
		{"daemon error passes through", `{"exitCode":1,"stdout":"{\"code\":100}\n"}`, 1, "{\"code\":100}\n"},
		{"empty stdout", `{"exitCode":0,"stdout":""}`, 0, ""},
		{"extra keys ignored", ` {"stdout":"x","exitCode":255,"future":true} ` + "\n", 255, "x"},
		{"exactly 4 MiB", `{"exitCode":0,"stdout":"` + big + `"}`, 0, big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := unixServer(t, answering(tc.answer, nil))
			o := forward(path, nil, `{"socket":"`+path+`"}`)
			if o.status != tc.status || o.stdout != tc.stdout {
				t.Fatalf("got %d %.80q, want %d %.80q", o.status, o.stdout, tc.status, tc.stdout)
			}
		})
	}
}

func TestBadAnswers(t *testing.T) {
	shape := "daemon response has the wrong shape"
	for _, tc := range []struct {
		name   string
		answer string
		code   int
		msg    string
	}{
		{"closed without answering", "", 11, "the daemon closed the connection without answering"},
		{"not JSON", "ok", 5, shape},
		{"array", `[0,""]`, 5, shape},
		{"null", `null`, 5, shape},
		{"trailing data", `{"exitCode":0,"stdout":""}{}`, 5, shape},
		{"no exitCode", `{"stdout":""}`, 5, shape},
		{"exitCode null", `{"exitCode":null,"stdout":""}`, 5, shape},
		{"exitCode a string", `{"exitCode":"0","stdout":""}`, 5, shape},
		{"exitCode fractional", `{"exitCode":1.5,"stdout":""}`, 5, shape},
		{"exitCode negative", `{"exitCode":-1,"stdout":""}`, 5, shape},
		{"exitCode 256", `{"exitCode":256,"stdout":""}`, 5, shape},
		{"exitCode with different case", `{"ExitCode":0,"stdout":""}`, 5, shape},
		{"no stdout", `{"exitCode":0}`, 5, shape},
		{"stdout null", `{"exitCode":0,"stdout":null}`, 5, shape},
		{"stdout an object", `{"exitCode":0,"stdout":{}}`, 5, shape},
		{"the old result/error shape", `{"result":{}}`, 5, shape},
		{"too large", `{"exitCode":0,"stdout":"` + strings.Repeat("x", maxResponseBytes) + `"}`, 5, "daemon response is too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := unixServer(t, answering(tc.answer, nil))
			o := forward(path, nil, `{"cniVersion":"0.4.0","socket":"`+path+`"}`)
			e, err := parseErrorLine(o.stdout)
			if err != nil || o.status != 1 || e.Code != tc.code || e.Msg != tc.msg || e.CNIVersion != "0.4.0" {
				t.Fatalf("got %d %.200q (%v), want code %d %q", o.status, o.stdout, err, tc.code, tc.msg)
			}
		})
	}
}

// TestDroppedConnection: the daemon closes without reading the whole request, which a Unix
// stream socket reports to the client as a reset.
func TestDroppedConnection(t *testing.T) {
	path := unixServer(t, func(conn net.Conn) {
		conn.Read(make([]byte, 1))
	})
	o := forward(path, nil, `{"socket":"`+path+`"}`)
	e, err := parseErrorLine(o.stdout)
	if err != nil || e.Code != 11 || e.Msg != "the daemon dropped the connection" || !strings.Contains(e.Details, "connection reset") {
		t.Fatalf("got %d %q (%v)", o.status, o.stdout, err)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	path := unixServer(t, func(conn net.Conn) {
		bufio.NewReader(conn).ReadBytes('\n')
		<-release
	})
	start := time.Now()
	c := invocation{env: map[string]string{"CNI_COMMAND": "CHECK"}, stdin: strings.NewReader(`{"socket":"` + path + `"}`), dial: dialUnix, timeout: 200 * time.Millisecond}
	o := c.run()
	e, err := parseErrorLine(o.stdout)
	if err != nil || e.Code != 11 || e.Msg != "timed out waiting for the daemon" || e.Details != "no answer within 200ms" {
		t.Fatalf("got %d %q (%v)", o.status, o.stdout, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Fatalf("gave up after %v, want about 200ms", d)
	}
}

func TestDaemonTimeoutOutlastsDaemonDeadline(t *testing.T) {
	if daemonTimeout <= 120*time.Second {
		t.Fatalf("daemonTimeout %v must exceed the daemon's 120 s request deadline", daemonTimeout)
	}
}
