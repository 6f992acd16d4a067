package testtools

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Every tool the integration tests run is here (or skipped naming its
// install, or a failure under mage test's RequireEnv). The simulated
// CircleCI test job runs this instead of the whole suite a second time.
func TestEveryToolIsInstalled(t *testing.T) {
	Integration(t)
	for _, tool := range slices.Sorted(maps.Keys(Install)) {
		t.Run(tool, func(t *testing.T) {
			switch tool {
			case "tofu":
				Tofu(t)
			case "buildkitd", "buildx":
				toolBin(t, tool)
			case "busybox-static":
				if _, err := os.Stat("/bin/busybox"); err != nil {
					missing(t, tool)
				}
			case "iam-simulate":
				if _, err := os.Stat(filepath.Join(RepoRoot(t), "tools", "iam", "node_modules", "@cloud-copilot", "iam-simulate")); err != nil {
					missing(t, tool)
				}
			default:
				Need(t, tool)
			}
		})
	}
}
