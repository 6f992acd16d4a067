package release

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/railsecs/deploykit/mage/config"
	"github.com/railsecs/deploykit/mage/git"
	"github.com/railsecs/deploykit/mage/internal/testtools"
)

// A Rails 8 app keeps Solid Queue's migrations in db/queue_migrate: a
// change there must run the migration task as one in db/migrate does.
func TestTheMigrationGateWatchesEveryDatabasesMigrations(t *testing.T) {
	repo := t.TempDir()
	testtools.WriteFiles(t, repo, map[string]string{
		"config/database.yml": "default: &default\n  adapter: trilogy\n  pool: <%= ENV.fetch(\"RAILS_MAX_THREADS\") { 5 } %>\n" +
			"production:\n  primary:\n    <<: *default\n  queue:\n    <<: *default\n    migrations_paths: db/queue_migrate\n",
		"db/migrate/20250101000000_create_orders.rb": "class CreateOrders < ActiveRecord::Migration[8.0]; end\n",
		"app/models/order.rb":                        "class Order; end\n",
	})
	gitIn(t, repo, "init", "-q", "-b", "main")
	commitAll(t, repo, "first")
	testtools.WriteFiles(t, repo, map[string]string{"db/queue_migrate/20250102000000_create_solid_queue_tables.rb": "class CreateSolidQueueTables < ActiveRecord::Migration[8.0]; end\n"})
	commitAll(t, repo, "solid queue")

	paths, err := MigrationPaths(repo, &config.Task{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"db/migrate", "db/schema.rb", "db/queue_migrate", "db/queue_schema.rb", "db/queue_structure.sql"} {
		if !slices.Contains(paths, want) {
			t.Errorf("migration paths %q lack %s", paths, want)
		}
	}
	changed, err := git.Changed(context.Background(), repo, "HEAD~1", "HEAD", paths...)
	if err != nil || len(changed) != 1 || changed[0] != "db/queue_migrate/20250102000000_create_solid_queue_tables.rb" {
		t.Errorf("the gate sees %q (%v), want the queue migration", changed, err)
	}

	// migrate.paths, when set, is the whole list.
	if paths, err := MigrationPaths(repo, &config.Task{Paths: []string{"db/migrate"}}); err != nil || len(paths) != 1 {
		t.Errorf("configured paths: %q %v", paths, err)
	}
	// A database.yml the gate cannot read names itself.
	testtools.WriteFiles(t, repo, map[string]string{"config/database.yml": "production: [unclosed\n"})
	if _, err := MigrationPaths(repo, &config.Task{}); err == nil || !strings.Contains(err.Error(), filepath.Join("config", "database.yml")) {
		t.Errorf("unreadable database.yml: %v", err)
	}
}
