package repocheck

import (
	"regexp"
	"strconv"
	"testing"
)

// Each long-lived container of the reference module gets the time its
// process needs to stop cleanly before ECS's SIGKILL: the web containers
// longer than nginx's proxy_read_timeout (ECS's default, 30 s, is shorter),
// sidekiq and the cron service's supercronic their running jobs' time.
func TestContainersStopWithinTheirTimeouts(t *testing.T) {
	m := regexp.MustCompile(`proxy_read_timeout\s+(\d+)s;`).FindStringSubmatch(readRepo(t, "docker/nginx.conf"))
	if m == nil {
		t.Fatal("docker/nginx.conf sets no proxy_read_timeout")
	}
	readTimeout, _ := strconv.Atoi(m[1])
	module := readRepo(t, "terraform/modules/rails-app/main.tf") + readRepo(t, "terraform/modules/rails-app/cron_service.tf")
	// The app server's and the worker's names are variables (web.server,
	// worker.name), unicorn and sidekiq by default.
	container := regexp.MustCompile(`(?s)name\s*=\s*("nginx"|var\.web\.server|local\.worker_name|"cron")\s*\n\s*image\s*=(.*?)logConfiguration`)
	byDefault := map[string]string{`"nginx"`: "nginx", "var.web.server": "unicorn", "local.worker_name": "sidekiq", `"cron"`: "cron"}
	stop := regexp.MustCompile(`stopTimeout\s*=\s*(\d+)`)
	seen := map[string]int{}
	for _, c := range container.FindAllStringSubmatch(module, -1) {
		v := 0
		if s := stop.FindStringSubmatch(c[2]); s != nil {
			v, _ = strconv.Atoi(s[1])
		}
		seen[byDefault[c[1]]] = v
	}
	for _, name := range []string{"nginx", "unicorn", "sidekiq", "cron"} {
		v, ok := seen[name]
		switch {
		case !ok:
			t.Errorf("container %s not found in the module", name)
		case v == 0:
			t.Errorf("container %s has no stopTimeout: ECS's 30 s default applies", name)
		case v > 120:
			t.Errorf("container %s: stopTimeout %d is more than Fargate's 120", name, v)
		case (name == "nginx" || name == "unicorn") && v <= readTimeout:
			t.Errorf("container %s: stopTimeout %d is not longer than nginx's proxy_read_timeout %d", name, v, readTimeout)
		}
	}
}
