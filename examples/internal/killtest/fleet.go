package killtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// event is one line a consumer logged: orders.Handled.Log's, logged before
// the broker is told, the line saying it is consuming, or a failed answer.
type event struct {
	Msg         string `json:"msg"`
	Consumer    string `json:"consumer"`
	MessageID   string `json:"message_id"`
	OrderID     string `json:"order_id"`
	Amount      int64  `json:"amount_cents"`
	Redelivered bool   `json:"redelivered"`
	Action      string `json:"action"`
	Why         string `json:"why"`
	Row         int64  `json:"row"`
	PlacedBy    string `json:"placed_by"`
	Err         string `json:"err"`

	proc int // the process that logged it
}

// process is one consumer process.
type process struct {
	name   string
	cmd    *exec.Cmd
	output lockedBuffer  // stderr, and stdout lines that are not events
	exited chan struct{} // closed once the process has exited and its output is read
	err    error         // cmd.Wait's, once exited is closed
}

// fleet is the consumer processes of one run and their events.
type fleet struct {
	procs  []*process
	events chan event // closed once every process has exited
}

// startFleet starts a test-binary process per element of args, each
// playing the example's command with those arguments.
func startFleet(names []string, args [][]string) (*fleet, error) {
	f := &fleet{events: make(chan event, 1024)}
	var readers sync.WaitGroup
	for i := range args {
		enc, err := json.Marshal(args[i])
		if err != nil {
			return nil, err
		}
		p := &process{name: names[i], exited: make(chan struct{})}
		p.cmd = exec.Command(os.Args[0], "-test.run=^$")
		p.cmd.Env = append(os.Environ(), envConsumer+"="+string(enc))
		p.cmd.Stderr = &p.output
		stdout, err := p.cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := p.cmd.Start(); err != nil {
			f.kill()
			return nil, fmt.Errorf("start consumer %s: %w", p.name, err)
		}
		f.procs = append(f.procs, p)
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				var ev event
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
					fmt.Fprintf(&p.output, "%s\n", sc.Bytes())
					continue
				}
				ev.proc = i
				f.events <- ev
			}
			p.err = p.cmd.Wait() // after the last read, as exec requires
			close(p.exited)
		}()
	}
	go func() {
		readers.Wait()
		close(f.events)
	}()
	return f, nil
}

// signal sends sig to process i, unless it has exited.
func (f *fleet) signal(i int, sig syscall.Signal) {
	select {
	case <-f.procs[i].exited:
	default:
		_ = f.procs[i].cmd.Process.Signal(sig)
	}
}

// kill kills every process that is still running.
func (f *fleet) kill() {
	for i := range f.procs {
		f.signal(i, syscall.SIGKILL)
	}
}

// lockedBuffer is a bytes.Buffer that the process's stderr copier and the
// stdout reader may write at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
