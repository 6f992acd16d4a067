package appscan

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The example app, made by Debian's `rails new` and kept in the
// repository: the seed's stack.
func TestScanTheExampleApp(t *testing.T) {
	got, err := Scan(filepath.Join("..", "..", "examples", "sandbox-app"))
	if err != nil {
		t.Fatal(err)
	}
	want := Stack{Ruby: "3.1.2", Rails: "6.1.7.10", Web: "unicorn", Worker: "sidekiq", Schedule: "whenever", Database: "mysql2",
		Assets: "sprockets", Bootsnap: true, Databases: []Database{{Name: "primary", MigrationsPath: "db/migrate"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("scan of the example app:\n got %+v\nwant %+v", got, want)
	}
}

// A Rails 8 layout (a fixture: its gems cannot be installed here): Puma
// with Thruster, Propshaft, Solid Queue with recurring.yml, and four
// production databases with their own migration paths.
func TestScanARails8Layout(t *testing.T) {
	got, err := Scan(filepath.Join("testdata", "rails8"))
	if err != nil {
		t.Fatal(err)
	}
	want := Stack{Ruby: "3.4.1", Rails: "8.0.1", Web: "puma", Thruster: true, Worker: "solid_queue", Schedule: "solid_queue", Database: "sqlite3",
		Assets: "propshaft", Bootsnap: true, Databases: []Database{
			{Name: "primary", MigrationsPath: "db/migrate"}, {Name: "cable", MigrationsPath: "db/cable_migrate"},
			{Name: "cache", MigrationsPath: "db/cache_migrate"}, {Name: "queue", MigrationsPath: "db/queue_migrate"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("scan of a Rails 8 app:\n got %+v\nwant %+v", got, want)
	}
}

func TestScanNeedsGemfileLock(t *testing.T) {
	dir := t.TempDir()
	if _, err := Scan(dir); err == nil || !strings.Contains(err.Error(), "Gemfile.lock") {
		t.Errorf("no Gemfile.lock: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "Gemfile.lock"), []byte("GEM\n  specs:\n    rails (7.1.0)\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "config"), 0o755)
	os.WriteFile(filepath.Join(dir, "config", "database.yml"), []byte("production:\n  adapter: [unclosed\n"), 0o644)
	if _, err := Scan(dir); err == nil || !strings.Contains(err.Error(), "database.yml") {
		t.Errorf("a database.yml YAML cannot read: %v", err)
	}
}
