package sandbox

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// The sandbox's MariaDB: started on a loopback port with its data in the
// checkout, reused by the next command, the database created, stopped by
// sandbox:down; a URL off loopback is refused.
func TestSandboxDatabaseStartsOnceAndStops(t *testing.T) {
	for _, bin := range []string{"mariadbd", "mariadb-install-db", "mariadb"} {
		testtools.Need(t, bin)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	// A deep checkout: a socket under it would pass the 107-byte limit.
	cfg := &config.Config{Dir: filepath.Join(t.TempDir(), strings.Repeat("deep-checkout/", 6))}
	if _, err := ParseDatabase(cfg, "mysql2://root@10.0.0.5:3307/shop"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("a database off loopback: %v", err)
	}
	db, err := ParseDatabase(cfg, "mysql2://root@127.0.0.1:"+itoa(port)+"/shop_test")
	if err != nil {
		t.Fatal(err)
	}
	out := &testtools.Buffer{}
	if err := db.Start(context.Background(), out); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	t.Cleanup(func() { db.Stop() })
	if !strings.Contains(out.String(), "started MariaDB on 127.0.0.1:"+itoa(port)) || !strings.HasPrefix(db.Dir, filepath.Join(cfg.Dir, ".deploykit")) {
		t.Errorf("first start said %q, data in %s", out, db.Dir)
	}
	out.Reset()
	if err := db.Start(context.Background(), out); err != nil || out.String() != "" {
		t.Errorf("a second start should reuse the running server quietly: %v %q", err, out)
	}
	got, err := exec.Command("mariadb", "--protocol=tcp", "-h", "127.0.0.1", "-P", itoa(port), "-u", "root", "-N", "-e", "SHOW DATABASES LIKE 'shop_test'").Output()
	if err != nil || strings.TrimSpace(string(got)) != "shop_test" {
		t.Errorf("database shop_test: %q %v", got, err)
	}
	if pid, err := db.Stop(); err != nil || pid == 0 || db.answering() {
		t.Errorf("stop: pid %d, %v, still answering %v", pid, err, db.answering())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
