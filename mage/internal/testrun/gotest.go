package testrun

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// testEvent is one line of `go test -json` (cmd/test2json).
type testEvent struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// testTime is how long one top-level test took.
type testTime struct {
	Name    string // package.Test
	Elapsed time.Duration
}

// digestTestEvents prints `go test -json` as plain `go test` would without
// -v (package lines, and the whole output of every failing test) and
// returns the top-level tests' times, slowest first, so the suite's budget
// stays visible.
func digestTestEvents(events io.Reader, out io.Writer) ([]testTime, error) {
	pending := map[string]*strings.Builder{} // package.Test -> its output so far
	var times []testTime
	sc := bufio.NewScanner(events)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e testEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// go test prints build errors as plain text.
			fmt.Fprintln(out, sc.Text())
			continue
		}
		if e.Action == "build-output" { // compile errors (go 1.24+)
			fmt.Fprint(out, e.Output)
			continue
		}
		if e.Test == "" {
			if e.Action == "output" && e.Output != "PASS\n" {
				fmt.Fprint(out, e.Output)
			}
			continue
		}
		// A subtest's output belongs to its top-level test, printed whole
		// when that fails.
		top, _, sub := strings.Cut(e.Test, "/")
		key := e.Package + "." + top
		switch {
		case e.Action == "output":
			if pending[key] == nil {
				pending[key] = &strings.Builder{}
			}
			pending[key].WriteString(e.Output)
		case sub:
		case e.Action == "fail" || e.Action == "pass":
			if e.Action == "fail" && pending[key] != nil {
				fmt.Fprint(out, pending[key].String())
			}
			times = append(times, testTime{key, time.Duration(e.Elapsed * float64(time.Second))})
			delete(pending, key)
		case e.Action == "skip":
			delete(pending, key)
		}
	}
	slices.SortStableFunc(times, func(a, b testTime) int { return cmp.Compare(b.Elapsed, a.Elapsed) })
	return times, sc.Err()
}

// printSlowest prints the n slowest tests.
func printSlowest(out io.Writer, times []testTime, n int) {
	if len(times) == 0 {
		return
	}
	fmt.Fprintf(out, "==> the %d slowest tests\n", min(n, len(times)))
	for _, t := range times[:min(n, len(times))] {
		fmt.Fprintf(out, "%8s  %s\n", t.Elapsed.Round(100*time.Millisecond), t.Name)
	}
}
