package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// BenchmarkColdVsAppChange builds app and nginx from a fixture whose
// dependency layer takes 20 s (like bundle install), cold, on fresh builder
// storage with an empty registry cache; then changes only app code and
// builds again on FRESH storage, reading the registry cache, as a new CI
// machine would. It prints both times and their ratio (goal: at most 0.15).
//
//	go test ./mage/image -run '^$' -bench ColdVsAppChange -benchtime 1x
func BenchmarkColdVsAppChange(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		host := testtools.Registry(b)
		dir := fixture(b)
		reg := &Registry{Host: host}
		b.StartTimer()

		start := time.Now()
		p := Pipeline{Builder: freshBuilder(b), Registry: reg}
		if _, err := p.Ensure(ctx, specs(dir, host, fmt.Sprintf("cold%08d", i), 20, true)); err != nil {
			b.Fatal(err)
		}
		cold := time.Since(start)

		os.WriteFile(filepath.Join(dir, "app", "order.rb"), []byte(fmt.Sprintf("class Order; VERSION = %d; end\n", i)), 0o644)
		start = time.Now()
		p = Pipeline{Builder: freshBuilder(b), Registry: reg}
		if _, err := p.Ensure(ctx, specs(dir, host, fmt.Sprintf("warm%08d", i), 20, false)); err != nil {
			b.Fatal(err)
		}
		warm := time.Since(start)

		ratio := warm.Seconds() / cold.Seconds()
		b.ReportMetric(cold.Seconds(), "s/cold")
		b.ReportMetric(warm.Seconds(), "s/app-change")
		b.ReportMetric(ratio, "ratio")
		fmt.Printf("cold build %.1fs, app-code change on fresh storage with the registry cache %.1fs, ratio %.3f\n", cold.Seconds(), warm.Seconds(), ratio)
	}
}
