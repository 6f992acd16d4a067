// Package appscan reads a Rails app's stack from its files, the way `init`
// must before it writes configuration: Gemfile.lock (Ruby, Rails, the web
// server, workers, the database adapter, the asset pipeline, bundling),
// config/database.yml (production databases and their migration paths),
// the schedule (whenever's config/schedule.rb or Solid Queue's
// config/recurring.yml) and .ruby-version.
package appscan

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Stack is what an app runs on.
type Stack struct {
	Ruby        string // .ruby-version, else Gemfile.lock's RUBY VERSION
	Rails       string
	Web         string // "puma", "unicorn" or "" (neither)
	Thruster    bool
	Worker      string // "sidekiq", "solid_queue" or ""
	Schedule    string // "whenever" (config/schedule.rb), "solid_queue" (config/recurring.yml) or ""
	Database    string // the adapter gem: "mysql2", "trilogy", "pg", "sqlite3" or ""
	Assets      string // "propshaft", "sprockets" or ""
	JSBundling  bool
	CSSBundling bool
	Node        bool // a package.json: precompile needs Node
	Bootsnap    bool
	Databases   []Database // production's, from config/database.yml
}

// Database is one production database and where its migrations live.
type Database struct {
	Name           string
	MigrationsPath string // migrations_paths, else db/migrate
}

// SchemaFiles are the schema dumps Rails writes for the database:
// db/schema.rb and db/structure.sql for the primary, db/NAME_schema.rb
// and db/NAME_structure.sql for the others.
func (d Database) SchemaFiles() []string {
	if d.Name == "primary" {
		return []string{"db/schema.rb", "db/structure.sql"}
	}
	return []string{"db/" + d.Name + "_schema.rb", "db/" + d.Name + "_structure.sql"}
}

// Scan reads the app in root. Gemfile.lock is required; the rest is read
// when present.
func Scan(root string) (Stack, error) {
	var s Stack
	lock, err := ReadLockfile(filepath.Join(root, "Gemfile.lock"))
	if err != nil {
		return s, err
	}
	gems := lock.Gems
	s.Ruby = lock.Ruby
	if v, err := os.ReadFile(filepath.Join(root, ".ruby-version")); err == nil {
		s.Ruby = strings.TrimPrefix(strings.TrimSpace(string(v)), "ruby-")
	}
	s.Rails = cmp.Or(gems["rails"], gems["railties"])
	s.Web = first(gems, "puma", "unicorn")
	s.Thruster = gems["thruster"] != ""
	s.Worker = first(gems, "sidekiq", "solid_queue")
	s.Database = first(gems, "mysql2", "trilogy", "pg", "sqlite3")
	s.Assets = first(gems, "propshaft", "sprockets")
	s.JSBundling, s.CSSBundling = gems["jsbundling-rails"] != "", gems["cssbundling-rails"] != ""
	s.Bootsnap = gems["bootsnap"] != ""
	s.Node = exists(filepath.Join(root, "package.json"))
	switch {
	case exists(filepath.Join(root, "config", "schedule.rb")):
		s.Schedule = "whenever"
	case exists(filepath.Join(root, "config", "recurring.yml")) && gems["solid_queue"] != "":
		s.Schedule = "solid_queue"
	}
	if s.Databases, err = ProductionDatabases(root); err != nil {
		return s, err
	}
	return s, nil
}

var erbTag = regexp.MustCompile(`<%=?.*?%>`)

// BlankERB replaces the ERB tags of a Rails YAML file (database.yml,
// recurring.yml) with a plain word: their values exist only at boot.
func BlankERB(data []byte) []byte { return erbTag.ReplaceAll(data, []byte("erb")) }

// ProductionDatabases reads production's databases from the config/database.yml
// of the Rails root: one entry (the primary) when production names an
// adapter, else one per nested configuration (primary, cache, queue,
// cable...), each with its migration path; none without the file. ERB
// tags are values read at boot; they are blanked.
func ProductionDatabases(root string) ([]Database, error) {
	path := filepath.Join(root, "config", "database.yml")
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(BlankERB(data), &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	prod, ok := doc["production"].(map[string]any)
	if !ok {
		return nil, nil
	}
	if _, single := prod["adapter"]; single || prod["database"] != nil || prod["url"] != nil {
		return []Database{{Name: "primary", MigrationsPath: migrationsPath(prod)}}, nil
	}
	var out []Database
	for name, v := range prod {
		if cfg, ok := v.(map[string]any); ok {
			out = append(out, Database{Name: name, MigrationsPath: migrationsPath(cfg)})
		}
	}
	slices.SortFunc(out, func(a, b Database) int { // the primary first, then by name
		rank := func(d Database) string { return map[bool]string{true: "0", false: "1"}[d.Name == "primary"] + d.Name }
		return cmp.Compare(rank(a), rank(b))
	})
	return out, nil
}

// migrationsPath is a database's migrations_paths (its first), else
// db/migrate, where Rails looks for any database that names none.
func migrationsPath(cfg map[string]any) string {
	switch p := cfg["migrations_paths"].(type) {
	case string:
		return p
	case []any:
		if len(p) > 0 {
			return fmt.Sprint(p[0])
		}
	}
	return "db/migrate"
}

func first(gems map[string]string, names ...string) string {
	for _, n := range names {
		if gems[n] != "" {
			return n
		}
	}
	return ""
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
