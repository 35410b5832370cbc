package bench

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestCPUSet(t *testing.T) {
	for _, tc := range []struct {
		in, want, others string
		n                int
	}{
		{"0", "0", "1", 2},
		{"1", "1", "0", 2},
		{"0-1", "0,1", "", 2},
		{" 2, 0-1 ,1", "0,1,2", "3", 4},
	} {
		c, err := ParseCPUSet(tc.in, tc.n)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if c.String() != tc.want || c.Others(tc.n).String() != tc.others {
			t.Errorf("%q on %d CPUs: got %q, others %q; want %q, %q", tc.in, tc.n, c, c.Others(tc.n), tc.want, tc.others)
		}
	}
	for _, bad := range []string{"", "x", "2", "1-0", "-1", "0-5"} {
		if _, err := ParseCPUSet(bad, 2); err == nil {
			t.Errorf("%q on 2 CPUs: accepted", bad)
		}
	}
}

// TestIdleOfCPUs: the idle time and the stolen time of this machine's first CPU are each at most
// its total.
func TestIdleOfCPUs(t *testing.T) {
	idle, total, err := CPUSet{0}.Idle()
	if err != nil || total == 0 || idle > total {
		t.Fatalf("idle %s of %s (%v)", idle, total, err)
	}
	stolen, err := CPUSet{0}.Stolen()
	if err != nil || stolen < 0 || stolen > total {
		t.Fatalf("stolen %s of %s (%v)", stolen, total, err)
	}
}

// TestTraceBusy: a trace of this process sees it busy while it spins and idle while it sleeps.
func TestTraceBusy(t *testing.T) {
	stop := TraceBusy(os.Getpid(), 100*time.Millisecond)
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); {
	}
	time.Sleep(500 * time.Millisecond)
	busy := stop()
	if len(busy) < 8 || len(busy) > 11 {
		t.Fatalf("%d periods of 100 ms in 1 s: %v", len(busy), busy)
	}
	if Median(busy[:4]) < 0.5 || Median(busy[len(busy)-3:]) > 0.2 {
		t.Errorf("busy while spinning, then idle: %.2f", busy)
	}
}

// TestTraceBusyOfCPUs: a trace of every CPU sees this process spin.
func TestTraceBusyOfCPUs(t *testing.T) {
	stop := CPUSet(nil).Others(runtime.NumCPU()).TraceBusy(100 * time.Millisecond)
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); {
	}
	busy := stop()
	if len(busy) < 4 || Median(busy) < 0.5 {
		t.Errorf("busy of every CPU while this process spins: %.2f", busy)
	}
}
