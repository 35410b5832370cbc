package bench

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CPUSet is a set of CPU numbers, as taskset and /sys write them ("0", "0-3", "0,2-3").
type CPUSet []int

// ParseCPUSet reads a CPU list; every CPU must be below n (the machine's CPUs).
func ParseCPUSet(s string, n int) (CPUSet, error) {
	var set CPUSet
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return nil, fmt.Errorf("CPU list %q: %q is not a CPU number or range", s, part)
		}
		if b >= n {
			return nil, fmt.Errorf("CPU list %q: CPU %d does not exist (this machine has CPUs 0-%d)", s, b, n-1)
		}
		for c := a; c <= b; c++ {
			if !slices.Contains(set, c) {
				set = append(set, c)
			}
		}
	}
	slices.Sort(set)
	return set, nil
}

// Idle returns how long the CPUs of c have been idle and how long they have run so far, summed
// over them (/proc/stat, in clock ticks of 1/100 s).
func (c CPUSet) Idle() (idle, total time.Duration, err error) {
	cols, err := c.times()
	for i, d := range cols {
		total += d
		if i == 3 || i == 4 { // idle, iowait
			idle += d
		}
	}
	return idle, total, err
}

// Stolen returns how long the hypervisor has run something else while the CPUs of c wanted to
// run (/proc/stat's steal column), summed over them.
func (c CPUSet) Stolen() (time.Duration, error) {
	cols, err := c.times()
	if len(cols) < 8 {
		return 0, err
	}
	return cols[7], err
}

// times returns /proc/stat's columns (user, nice, system, idle, iowait, irq, softirq, steal,
// ...) summed over the CPUs of c.
func (c CPUSet) times() ([]time.Duration, error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	var cols []time.Duration
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(f[0], "cpu"))
		if err != nil || !slices.Contains(c, n) {
			continue
		}
		for i, v := range f[1:] {
			t, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("/proc/stat: %q", line)
			}
			if i == len(cols) {
				cols = append(cols, 0)
			}
			cols[i] += time.Duration(t) * 10 * time.Millisecond
		}
	}
	return cols, nil
}

// Others returns the CPUs below n that are not in c.
func (c CPUSet) Others(n int) CPUSet {
	var out CPUSet
	for i := range n {
		if !slices.Contains(c, i) {
			out = append(out, i)
		}
	}
	return out
}

// String writes the set as a comma-separated list for taskset -c.
func (c CPUSet) String() string {
	parts := make([]string, len(c))
	for i, n := range c {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

// TraceBusy samples the CPU time of process pid every period until the function it returns is
// called, and that function returns how busy the process was in each period (CPU seconds over
// the period's wall seconds; a process on one CPU is at most 1). A process that ends or cannot
// be read ends the trace.
func TraceBusy(pid int, period time.Duration) func() []float64 {
	return trace(period, func() (time.Duration, error) { return CPUTime(pid) })
}

// TraceBusy samples how long the CPUs of c have worked (not idle) every period, as the
// function of that name does for a process: each period's busy time over its wall time, at most
// the number of CPUs in c.
func (c CPUSet) TraceBusy(period time.Duration) func() []float64 {
	return trace(period, func() (time.Duration, error) {
		idle, total, err := c.Idle()
		return total - idle, err
	})
}

// trace calls busy (a time that only grows) every period until the function it returns is
// called, which returns each period's growth over the period's wall time. An error of busy ends
// the trace.
func trace(period time.Duration, busy func() (time.Duration, error)) func() []float64 {
	stop, done := make(chan struct{}), make(chan []float64, 1)
	go func() {
		var out []float64
		last, err := busy()
		lastAt := time.Now()
		t := time.NewTicker(period)
		defer t.Stop()
		for err == nil {
			select {
			case <-stop:
				done <- out
				return
			case <-t.C:
			}
			var now time.Duration
			if now, err = busy(); err == nil {
				at := time.Now()
				out = append(out, (now-last).Seconds()/at.Sub(lastAt).Seconds())
				last, lastAt = now, at
			}
		}
		<-stop
		done <- out
	}()
	return func() []float64 {
		close(stop)
		return <-done
	}
}
