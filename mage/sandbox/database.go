package sandbox

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/image"
	"github.com/railsecs/deploykit/mage/internal/procgroup"
)

// Database is the sandbox's MariaDB, from an environment's local_database
// URL (mysql2://root@127.0.0.1:3307/shop_sandbox): the address it listens
// on (loopback only) and the database the app's migrations run against.
// MariaDB, like MySQL, has no transactional DDL: a migration that fails
// half-way leaves what it did, as on the team's RDS.
type Database struct {
	Host, Port, User, Name string
	Dir                    string // data, socket, pid file and log
}

// ParseDatabase reads a local_database URL.
func ParseDatabase(cfg *config.Config, raw string) (Database, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "mysql2" || u.Port() == "" || strings.Trim(u.Path, "/") == "" {
		return Database{}, fmt.Errorf("local_database %q: want mysql2://USER@127.0.0.1:PORT/DATABASE", raw)
	}
	if !image.Loopback(u.Host) {
		return Database{}, fmt.Errorf("local_database %q: the sandbox's MariaDB listens on loopback addresses only", raw)
	}
	return Database{Host: u.Hostname(), Port: u.Port(), User: cmp.Or(u.User.Username(), "root"), Name: strings.Trim(u.Path, "/"),
		Dir: cfg.LocalDir(filepath.Join("mariadb", u.Hostname()+"_"+u.Port()))}, nil
}

func (db Database) addr() string { return net.JoinHostPort(db.Host, db.Port) }

func (db Database) answering() bool { return answers(db.addr()) }

// Start makes MariaDB answer on the database's address, starting it
// (detached, so later commands reuse it, like the registry) when nothing
// answers there, and creates the database if it is missing.
func (db Database) Start(ctx context.Context, out io.Writer) error {
	if !db.answering() {
		if err := db.launch(ctx, out); err != nil {
			return err
		}
	}
	create := fmt.Sprintf("CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4", db.Name)
	cmd := exec.CommandContext(ctx, "mariadb", "--protocol=tcp", "-h", db.Host, "-P", db.Port, "-u", db.User, "-e", create)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sandbox database %s on %s: %v: %s (if that server is not this checkout's MariaDB, with its data in %s, stop it or change local_database's port)",
			db.Name, db.addr(), err, strings.TrimSpace(string(b)), db.Dir)
	}
	return nil
}

func (db Database) launch(ctx context.Context, out io.Writer) error {
	for _, bin := range []string{"mariadbd", "mariadb-install-db", "mariadb"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("the sandbox's database needs MariaDB and %s is not installed: run scripts/setup (apt-get install mariadb-server)", bin)
		}
	}
	data := filepath.Join(db.Dir, "data")
	if _, err := os.Stat(filepath.Join(data, "mysql")); err != nil {
		if err := os.MkdirAll(data, 0o755); err != nil {
			return err
		}
		install := exec.CommandContext(ctx, "mariadb-install-db", "--datadir="+data, "--user="+userName(), "--auth-root-authentication-method=normal", "--skip-test-db")
		if b, err := install.CombinedOutput(); err != nil {
			return fmt.Errorf("mariadb-install-db in %s: %v: %s", data, err, lastLines(string(b), 10))
		}
	}
	logFile, err := os.OpenFile(filepath.Join(db.Dir, "mariadb.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command("mariadbd", "--no-defaults", "--datadir="+data, "--user="+userName(), "--bind-address="+db.Host, "--port="+db.Port,
		"--socket="+db.socket(), "--pid-file="+filepath.Join(db.Dir, "mariadb.pid"), "--skip-name-resolve")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives this run
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start mariadbd: %w", err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	fmt.Fprintf(out, "sandbox: started MariaDB on %s (pid %d, data in %s); it keeps running for later commands: go run mage.go sandbox:down stops it\n", db.addr(), pid, db.Dir)
	deadline := time.Now().Add(30 * time.Second)
	for !db.answering() {
		if time.Now().After(deadline) {
			return fmt.Errorf("MariaDB did not answer on %s; see %s", db.addr(), filepath.Join(db.Dir, "mariadb.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// socket is the server's Unix socket, which it always creates: in the
// temporary directory, named after the data directory, since a socket
// path longer than 107 bytes (a deep checkout) makes mariadbd refuse to
// start.
func (db Database) socket() string {
	sum := sha256.Sum256([]byte(db.Dir))
	return filepath.Join(os.TempDir(), "deploykit-mariadb-"+hex.EncodeToString(sum[:6])+".sock")
}

// Stop stops the MariaDB serving this database's directory, if one runs:
// only a mariadbd whose command line names the directory is ours.
func (db Database) Stop() (int, error) {
	pid, err := procgroup.OwnedPID(filepath.Join(db.Dir, "mariadb.pid"), "mariadbd", db.Dir)
	if err != nil || pid == 0 {
		return 0, err
	}
	return pid, procgroup.Terminate(pid, 10*time.Second)
}

// userName is who runs mariadbd: it refuses root unless told to run as
// root, which is who runs it on CI machines and here.
func userName() string {
	if os.Geteuid() == 0 {
		return "root"
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return strconv.Itoa(os.Geteuid())
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
