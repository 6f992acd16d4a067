package release

import (
	"context"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// The webhook's path is its secret: an unreachable webhook is reported by
// host alone, whatever form the URL takes.
func TestNotifyNeverPrintsTheWebhookURL(t *testing.T) {
	for _, raw := range []string{
		"HTTP://127.0.0.1:1/services/T000/B000/SECRETPATH",
		"http://user:pw-SECRETPATH@127.0.0.1:1/services/SECRETPATH",
		"http://127.0.0.1:1/services/SECRETPATH ",
		"http://127.0.0.1:1/services/SECRET PATH?token=SECRETPATH",
		"::not a url SECRETPATH",
	} {
		out := &testtools.Buffer{}
		d := &Deployer{Out: out, Getenv: func(string) string { return raw }}
		notify(context.Background(), d, "deploy started")
		got := out.String()
		if !strings.Contains(got, "WARNING: notification") {
			t.Errorf("%q: no warning: %q", raw, got)
		}
		if strings.Contains(got, "SECRET") || strings.Contains(got, "services") || strings.Contains(got, "pw") {
			t.Errorf("%q: the warning leaks the webhook: %q", raw, got)
		}
	}
}
