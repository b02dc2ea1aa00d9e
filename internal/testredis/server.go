package testredis

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartServer starts a redis-server of the test's own on a free loopback
// port, with extra arguments such as "--maxmemory-policy", "allkeys-lru",
// and returns its address once it answers; the server is killed when t
// ends. It skips t when redis-server is not installed, or fails it under
// IDEMPOTENCY_TEST_REQUIRE_DB=1.
func StartServer(t testing.TB, extra ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("redis-server not found but %s=1: install Debian's redis-server", EnvRequire)
		}
		t.Skip("redis-server not found")
	}
	port := freePort(t)
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir()}, extra...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	// There is no signal for "listening" but an answer (an error reply,
	// such as NOAUTH, is one too): poll for it, unless the server exited
	// (say its port was taken after freePort let it go).
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		var answer redis.Error
		if err == nil || errors.As(err, &answer) {
			return addr
		}
		select {
		case werr := <-exited:
			exited <- werr // for the cleanup
			t.Fatalf("redis-server %v exited: %v", args, werr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server %v does not answer: %v", args, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
