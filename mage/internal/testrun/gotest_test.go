package testrun

import (
	"strings"
	"testing"
	"time"
)

// go test -json as cmd/test2json writes it: a failing test's output (its
// subtests' included) is printed whole, a passing test's is not, package
// lines are, and the times come back slowest first.
func TestDigestTestEvents(t *testing.T) {
	events := strings.Join([]string{
		`{"Action":"start","Package":"p"}`,
		`{"Action":"run","Package":"p","Test":"TestFast"}`,
		`{"Action":"output","Package":"p","Test":"TestFast","Output":"=== RUN   TestFast\n"}`,
		`{"Action":"output","Package":"p","Test":"TestFast","Output":"chatter of a passing test\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestFast","Elapsed":0.2}`,
		`{"Action":"output","Package":"p","Test":"TestBroken","Output":"=== RUN   TestBroken\n"}`,
		`{"Action":"output","Package":"p","Test":"TestBroken/case","Output":"    x_test.go:9: wanted 2\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestBroken/case","Elapsed":1}`,
		`{"Action":"output","Package":"p","Test":"TestBroken","Output":"--- FAIL: TestBroken (3.00s)\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestBroken","Elapsed":3}`,
		`{"Action":"output","Package":"p","Test":"TestSkipped","Output":"skipped for a reason\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestSkipped","Elapsed":0}`,
		`{"Action":"output","Package":"p","Output":"FAIL\n"}`,
		`{"Action":"output","Package":"p","Output":"FAIL\tp\t3.3s\n"}`,
		`{"Action":"output","Package":"q","Output":"PASS\n"}`,
		`{"Action":"output","Package":"q","Output":"ok  \tq\t0.1s\n"}`,
		`{"ImportPath":"r","Action":"build-output","Output":"r/x.go:3:1: syntax error\n"}`,
		`{"ImportPath":"r","Action":"build-fail"}`,
		`# q [build failed]`,
	}, "\n")
	var out strings.Builder
	times, err := digestTestEvents(strings.NewReader(events), &out)
	if err != nil {
		t.Fatal(err)
	}
	want := "=== RUN   TestBroken\n    x_test.go:9: wanted 2\n--- FAIL: TestBroken (3.00s)\nFAIL\nFAIL\tp\t3.3s\nok  \tq\t0.1s\nr/x.go:3:1: syntax error\n# q [build failed]\n"
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
	if len(times) != 2 || times[0] != (testTime{"p.TestBroken", 3 * time.Second}) || times[1].Name != "p.TestFast" {
		t.Errorf("times %v", times)
	}
}
