package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// pinCPUs gives Elasticsearch's process CPUs of its own, BENCH_ES_CPUS (default "0"), and this
// process (so every simulator, worker and starter it starts) and a local Temporal dev server the
// others. It models a deployment where Elasticsearch has its own machine and the ERP (which the
// simulator stands in for) and the workers run elsewhere, so that the ratio (2)/(1) measures
// whether the pipeline keeps Elasticsearch as busy as raw _bulk does, not how three programs
// share two cores. Both (1) and (2) run so. BENCH_ES_CPUS=shared leaves every process on every
// CPU; so does a machine with one CPU or an Elasticsearch on another machine. The services get
// every CPU back when the benchmark ends. It returns a description of the layout, "" when
// every process shares every CPU.
func (s *suite) pinCPUs() string {
	n := runtime.NumCPU()
	v, set := os.LookupEnv("BENCH_ES_CPUS")
	if v == "shared" || (!set && n < 2) {
		return ""
	}
	if !set {
		v = "0"
	}
	es, err := ParseCPUSet(v, n)
	if err != nil {
		s.b.Fatalf("BENCH_ES_CPUS: %v", err)
	}
	rest := es.Others(n)
	if len(rest) == 0 {
		s.b.Fatalf("BENCH_ES_CPUS=%s leaves no CPU for the simulator and the worker", v)
	}
	esPID, local, processors := s.nodeProcess()
	if !local {
		if set {
			s.b.Fatalf("BENCH_ES_CPUS=%s: Elasticsearch (process %d) does not run on this machine", v, esPID)
		}
		s.logf("Elasticsearch runs on another machine: every local process shares every CPU")
		return ""
	}
	s.pipeline, s.esPID = rest, esPID
	all := CPUSet(nil).Others(n) // every CPU
	s.taskset(es, esPID)
	s.b.Cleanup(func() { s.taskset(all, esPID) })
	s.taskset(rest, os.Getpid())
	note := fmt.Sprintf("Elasticsearch on CPU %s alone; simulator, worker, starter and benchmark on CPU %s", es, rest)
	if pid := localTemporal(); pid > 0 {
		s.taskset(rest, pid)
		s.b.Cleanup(func() { s.taskset(all, pid) })
		note += " with the Temporal dev server"
	}
	// A node started on more CPUs than it is given sizes its write thread pool for them and
	// indexes that many requests at once on its one CPU, at a higher CPU cost per document the
	// more requests are in flight; started with as many processors as it gets, it queues them.
	if processors > len(es) {
		note += fmt.Sprintf("; Elasticsearch sized for %d processors, not %d (start it with ERPSYNC_ES_PROCESSORS=%d, as make bench does)", processors, len(es), len(es))
		s.logf("warning: Elasticsearch runs its thread pools for %d processors on %d CPU(s): restart it with ERPSYNC_ES_PROCESSORS=%d (make stop, then make bench)", processors, len(es), len(es))
	}
	s.logf("%s", note)
	return note
}

// taskset sets the CPU affinity of every thread of process pid.
func (s *suite) taskset(cpus CPUSet, pid int) {
	out, err := exec.Command("taskset", "-a", "-cp", cpus.String(), fmt.Sprint(pid)).CombinedOutput()
	if err != nil {
		s.b.Fatalf("taskset -a -cp %s %d: %v\n%s", cpus, pid, err, out)
	}
}

// nodeProcess returns the process id of the (one) Elasticsearch node, whether it runs on this
// machine, and the processors it sized its thread pools for.
func (s *suite) nodeProcess() (int, bool, int) {
	res, err := s.es.Nodes.Info(s.es.Nodes.Info.WithMetric("process,os"))
	if err != nil {
		s.b.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Nodes map[string]struct {
			Process struct {
				ID int `json:"id"`
			} `json:"process"`
			OS struct {
				Processors int `json:"allocated_processors"`
			} `json:"os"`
		} `json:"nodes"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || len(out.Nodes) != 1 {
		s.b.Fatalf("pinning CPUs needs one Elasticsearch node (BENCH_ES_CPUS=shared does not): %d nodes (%v)", len(out.Nodes), err)
	}
	for _, n := range out.Nodes {
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", n.Process.ID))
		return n.Process.ID, err == nil && strings.Contains(string(cmd), "elasticsearch"), n.OS.Processors
	}
	return 0, false, 0
}

// localTemporal returns the process id of a Temporal dev server on this machine, 0 when none.
func localTemporal() int {
	out, err := exec.Command("pgrep", "-f", "temporal server start-dev").Output()
	if err != nil {
		return 0
	}
	var pid int
	fmt.Sscan(string(out), &pid)
	return pid
}
