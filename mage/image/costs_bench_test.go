package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

func envSeconds(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// BenchmarkRailsLikeChanges measures, for each builder, on fresh builder
// storage (a new CI machine) with the registry layer cache, a cold build
// of app and nginx and three kinds of change, with a mid-size Rails app's
// costs: bundle install 60 s, assets:precompile 40 s (simulated by the
// fixture; DEPLOYKIT_BENCH_GEMS and DEPLOYKIT_BENCH_PRECOMPILE change them).
// A code-only change runs no precompile and tags the nginx image instead
// of building it; an asset change runs the precompile; a Gemfile change
// runs everything. Goals: code-only <= 0.08 x cold, asset change <= 0.5 x
// cold. Daemon start-up (BuildKit) is outside the timings.
//
//	go test ./mage/image -run '^$' -bench RailsLikeChanges -benchtime 1x -timeout 60m
func BenchmarkRailsLikeChanges(b *testing.B) {
	gems, precompile := envSeconds("DEPLOYKIT_BENCH_GEMS", 60), envSeconds("DEPLOYKIT_BENCH_PRECOMPILE", 40)
	for _, rb := range realBuilders {
		b.Run(rb.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				railsLikeChanges(b, rb, gems, precompile, i)
			}
		})
	}
}

func railsLikeChanges(b *testing.B, rb realBuilder, gems, precompile, run int) {
	ctx := context.Background()
	b.StopTimer()
	host := testtools.Registry(b)
	dir := fixture(b)
	data, err := os.ReadFile(filepath.Join("testdata", "rails-costs.Dockerfile"))
	if err != nil {
		b.Fatal(err)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write("Dockerfile", string(data))
	write("gems-seconds", fmt.Sprint(gems))
	write("precompile-seconds", fmt.Sprint(precompile))
	reg := &Registry{Host: host}
	inputs := []string{"app/assets", "Gemfile", "Gemfile.lock", "precompile-seconds"}
	var liveNginx, liveHash string
	phase := func(name, tag string) (time.Duration, []Result, string) {
		builder := rb.fresh(b, host)
		stageDir := b.TempDir()
		assets, hash, err := StageAssetInputs(dir, inputs, stageDir)
		if err != nil {
			b.Fatal(err)
		}
		var out testtools.Buffer
		specs := specs(dir, host, fmt.Sprintf("%s%02d%s", tag, run, rb.name[:4]), gems, true)
		for i := range specs {
			specs[i].Contexts = map[string]string{AssetsContext: assets}
			specs[i].Labels[AssetInputsLabel] = hash
			specs[i].CacheFrom, specs[i].CacheTo = host+"/shop/build-cache-"+rb.name, host+"/shop/build-cache-"+rb.name
			if specs[i].Name == "nginx" && liveNginx != "" && hash == liveHash {
				specs[i].Reuse = &Reuse{From: liveNginx, Why: "asset inputs unchanged since " + liveNginx}
			}
		}
		p := Pipeline{Builder: builder, Registry: reg, Out: &out}
		start := time.Now()
		results, err := p.Ensure(ctx, specs)
		took := time.Since(start)
		if err != nil {
			b.Fatalf("%s: %v\n%s", name, err, out.String())
		}
		for _, r := range results {
			if r.Name == "nginx" {
				liveNginx, liveHash = r.Pinned(), hash
			}
		}
		return took, results, out.String()
	}
	cold, _, _ := phase("cold", "cold")
	write("app/order.rb", fmt.Sprintf("class Order; VERSION = %d; end\n", run))
	code, codeResults, codeLog := phase("code-only change", "code")
	write("app/assets/app.css", fmt.Sprintf("body { margin: %dpx; }\n", run+1))
	asset, _, _ := phase("asset change", "asset")
	write("Gemfile.lock", fmt.Sprintf("GEM\n  specs:\n    rails (8.0.%d)\n", run+1))
	gemfile, _, _ := phase("Gemfile change", "gemfile")

	for _, r := range codeResults {
		if r.Name == "nginx" && (r.Built || r.ReusedFrom == "") {
			b.Errorf("code-only change built the nginx image: %+v", r)
		}
	}
	if !rb.stepReused(codeLog, "precompile-seconds") {
		b.Errorf("code-only change ran the precompile:\n%s", codeLog)
	}
	b.ReportMetric(cold.Seconds(), "s/cold")
	b.ReportMetric(code.Seconds()/cold.Seconds(), "code-only/cold")
	b.ReportMetric(asset.Seconds()/cold.Seconds(), "asset/cold")
	b.ReportMetric(gemfile.Seconds()/cold.Seconds(), "gemfile/cold")
	fmt.Printf("%-8s gems %ds, precompile %ds: cold %.1fs; code-only %.1fs (%.3f x cold, goal <= 0.08); asset change %.1fs (%.3f, goal <= 0.5); Gemfile change %.1fs (%.3f)\n",
		rb.name, gems, precompile, cold.Seconds(), code.Seconds(), code.Seconds()/cold.Seconds(), asset.Seconds(), asset.Seconds()/cold.Seconds(), gemfile.Seconds(), gemfile.Seconds()/cold.Seconds())
}
