// Package appinit writes what a Rails app needs to deploy with the
// toolkit (deploy.hcl, mage.go, magefiles/ with magefile.go and go.mod,
// docker/, terraform/, .circleci/, .dockerignore) from the stack appscan reads in the app. It
// never overwrites a file that differs unless asked: it shows the
// difference and stops, so a second run over an unchanged app is a no-op.
package appinit

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/railsecs/deploykit/mage/appscan"
)

// ToolkitModule is the module an app's go.mod requires.
const ToolkitModule = "github.com/railsecs/deploykit"

// Options say what to write for the app.
type Options struct {
	// App names the app's resources (ECR repositories, cluster, families):
	// lower-case letters, digits and dashes.
	App string
	// Stack is what appscan read in the app.
	Stack appscan.Stack
	// ToolkitVersion is the version go.mod requires, and the ref the
	// terraform roots take the reference module at.
	ToolkitVersion string
	// ToolkitReplace, when set, points go.mod at a checkout of the toolkit
	// (a replace directive); the terraform roots still take the module by
	// git ref.
	ToolkitReplace string
	// HealthRoute says config/routes.rb already routes /up (Rails 7.1+
	// generates it); init then checks that path, else it warns.
	HealthRoute bool
}

// File is one file init writes, by slash-separated path from the app root.
type File struct {
	Path    string
	Content []byte
	Mode    fs.FileMode
	// Seed marks a file init only creates: once it exists, other tools
	// own it (go.mod is `go get`'s, images.auto.tfvars `mage deploy`'s),
	// so a later init neither compares nor rewrites it.
	Seed bool
}

//go:embed templates
var templates embed.FS

var appName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)

// Render returns the files for the app, and warnings about what it could
// not decide for the app (a missing server config, a database the sandbox
// cannot run).
func Render(opts Options) ([]File, []string, error) {
	if !appName.MatchString(opts.App) {
		return nil, nil, fmt.Errorf("app name %q: want lower-case letters, digits and dashes, starting with a letter (it prefixes ECR repositories and ECS names)", opts.App)
	}
	st, warnings, err := decide(opts)
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := template.New("").Funcs(template.FuncMap{"list": quoteList, "quote": strconv.Quote, "words": func(w ...string) []string { return w }, "rubyLine": rubyLine}).ParseFS(templates, "templates/*.tmpl")
	if err != nil {
		return nil, nil, err
	}
	var files []File
	add := func(name, tmplName string, mode fs.FileMode) error {
		var b bytes.Buffer
		if err := tmpl.ExecuteTemplate(&b, tmplName, st); err != nil {
			return fmt.Errorf("render %s: %w", name, err)
		}
		content := b.Bytes()
		switch path.Ext(name) {
		case ".tf", ".tfvars", ".hcl": // as `terraform fmt` leaves them
			content = hclwrite.Format(content)
		}
		seed := path.Base(name) == "go.mod" || path.Base(name) == "images.auto.tfvars"
		files = append(files, File{Path: name, Content: content, Mode: mode, Seed: seed})
		return nil
	}
	type target struct {
		path, tmpl string
		when       bool
	}
	list := []target{
		{"deploy.hcl", "deploy.hcl.tmpl", true},
		{"mage.go", "mage.go.tmpl", true},
		{"magefiles/magefile.go", "magefile.go.tmpl", true},
		{"magefiles/go.mod", "go.mod.tmpl", true},
		{"magefiles/.gitignore", "magefiles.gitignore.tmpl", true},
		{".dockerignore", "dockerignore.tmpl", true},
		{".deploykit/.gitignore", "deploykit.gitignore.tmpl", true},
		{"docker/Dockerfile", "Dockerfile.tmpl", true},
		{"docker/nginx.conf", "nginx.conf.tmpl", st.Nginx},
		{".circleci/config.yml", "circleci.yml.tmpl", true},
		{"terraform/.gitignore", "terraform.gitignore.tmpl", true},
		{"terraform/envs/sandbox/main.tf", "sandbox.tf.tmpl", true},
		{"terraform/envs/sandbox/variables.tf", "variables.tf.tmpl", true},
		{"terraform/envs/sandbox/images.auto.tfvars", "images.auto.tfvars.tmpl", true},
	}
	for _, e := range []string{"staging", "production"} {
		list = append(list, []target{
			{"terraform/envs/" + e + "/main.tf", "env.tf.tmpl", true},
			{"terraform/envs/" + e + "/backend.tf", "backend.tf.tmpl", true},
			{"terraform/envs/" + e + "/variables.tf", "variables.tf.tmpl", true},
			{"terraform/envs/" + e + "/images.auto.tfvars", "images.auto.tfvars.tmpl", true},
		}...)
	}
	for _, f := range list {
		if !f.when {
			continue
		}
		st.Env = envOf(f.path)
		if err := add(f.path, f.tmpl, 0o644); err != nil {
			return nil, nil, err
		}
	}
	return files, warnings, nil
}

// envOf is the environment a terraform root's path names ("" elsewhere).
func envOf(p string) string {
	if rest, ok := strings.CutPrefix(p, "terraform/envs/"); ok {
		return path.Dir(rest)
	}
	return ""
}

// stack is what the templates read: the decisions, not the raw scan.
type stack struct {
	App  string
	Env  string // the terraform root being rendered
	Scan appscan.Stack

	WebServer    string   // "unicorn" or "puma": the container's name
	Nginx        bool     // an nginx image serves the assets and proxies
	Thruster     bool     // Thruster in the app container instead
	WebCommand   []string // the web container's command
	AppPort      int      // where the app server listens in the task
	LBContainer  string   // the container the load balancer sends to
	HealthPath   string
	Worker       string   // the gem: "sidekiq", "solid_queue" or ""
	WorkerName   string   // its service, container and task definition key: "sidekiq" or "jobs"
	WorkerCmd    []string // its command
	WorkerHealth string   // CMD-SHELL health check, "" for none

	Whenever  bool // config/schedule.rb: Scheduler tasks
	Recurring bool // config/recurring.yml: Solid Queue schedules itself

	MigrateCmd   []string
	MigratePaths []string

	DBClientPackages string // apt packages the app image needs
	DBBuildPackages  string // and the gems stage, to compile the adapter
	SandboxDatabase  string // local_database URL, "" when the sandbox cannot run it
	DatabaseURL      string // what the sandbox's containers get
	Redis            bool

	Images     []string // "app", and "nginx" when Nginx
	LogStreams []string // a log group per service, the migrate task and cron

	ToolkitVersion string
	ToolkitReplace string
	ModuleSource   string // the reference module, for staging and production
}

// In is the stack as an environment's blocks render it.
func (s stack) In(env string) stack {
	s.Env = env
	return s
}

func decide(opts Options) (stack, []string, error) {
	s := opts.Stack
	st := stack{App: opts.App, Scan: s, ToolkitVersion: cmp.Or(opts.ToolkitVersion, "v0.0.0"), ToolkitReplace: opts.ToolkitReplace,
		Images: []string{"app"}}
	var warnings []string
	switch s.Web {
	case "unicorn":
		st.WebServer, st.Nginx = "unicorn", true
		st.WebCommand = []string{"bundle", "exec", "unicorn", "-c", "config/unicorn.rb", "-p", "8080"}
		st.AppPort = 8080
	case "puma":
		st.WebServer = "puma"
		if s.Thruster {
			// Thruster serves the assets, compresses and caches in front of
			// Puma in the same container (Rails 8's Dockerfile).
			st.Thruster, st.AppPort = true, 80
			st.WebCommand = []string{"./bin/thrust", "./bin/rails", "server"}
		} else {
			st.Nginx, st.AppPort = true, 8080
			st.WebCommand = []string{"bundle", "exec", "puma", "-C", "config/puma.rb"}
		}
	case "":
		return st, nil, fmt.Errorf("Gemfile.lock has neither puma nor unicorn: the toolkit deploys a web service of one of them")
	}
	st.LBContainer = st.WebServer
	if st.Nginx {
		st.LBContainer = "nginx"
		st.Images = append(st.Images, "nginx")
	}
	st.HealthPath = "/up"
	if !opts.HealthRoute && !atLeast(s.Rails, 7, 1) {
		warnings = append(warnings, fmt.Sprintf("config/routes.rb has no /up route (Rails %s; 7.1 generates one): the health checks ask for /up, so add `get \"up\" => proc { [200, {}, [\"ok\"]] }` before the first deploy", cmp.Or(s.Rails, "of unknown version")))
	}

	switch s.Worker {
	case "sidekiq":
		st.Worker, st.WorkerName, st.Redis = "sidekiq", "sidekiq", true
		st.WorkerCmd = []string{"bundle", "exec", "sidekiq"}
		// sidekiq retitles itself ("sidekiq 6.4.1 app [0 of 10 busy]")
		// once booted, cut to the length of its original command line: so
		// the health check matches the start, which a sidekiq that cannot
		// boot never shows.
		st.WorkerHealth = `tr '\0' ' ' < /proc/1/cmdline | grep -q '^sidekiq ' || exit 1`
	case "solid_queue":
		st.Worker, st.WorkerName = "solid_queue", "jobs"
		// Rails 8 generates bin/jobs; older apps start the supervisor
		// through its rake task.
		st.WorkerCmd = []string{"bundle", "exec", "rake", "solid_queue:start"}
		if atLeast(s.Rails, 8, 0) {
			st.WorkerCmd = []string{"./bin/jobs"}
		}
	}
	st.Whenever = s.Schedule == "whenever"
	st.LogStreams = []string{"web-app"}
	if st.WorkerName != "" {
		st.LogStreams = append(st.LogStreams, st.WorkerName)
	}
	st.LogStreams = append(st.LogStreams, "migrate", "cron")
	st.Recurring = s.Schedule == "solid_queue"

	// db:prepare when there is more than one database, or when Solid
	// Queue's schema must be loaded into a fresh queue database: it
	// migrates those that exist and loads the schema into empty ones.
	st.MigrateCmd = []string{"bin/rails", "db:migrate"}
	if len(s.Databases) > 1 || s.Worker == "solid_queue" {
		st.MigrateCmd = []string{"bin/rails", "db:prepare"}
	}
	dbs := s.Databases
	if len(dbs) == 0 {
		dbs = []appscan.Database{{Name: "primary", MigrationsPath: "db/migrate"}}
	}
	for _, db := range dbs {
		st.MigratePaths = append(st.MigratePaths, db.MigrationsPath)
		st.MigratePaths = append(st.MigratePaths, db.SchemaFiles()...)
	}

	switch s.Database {
	case "mysql2", "trilogy":
		st.DBClientPackages, st.DBBuildPackages = "default-mysql-client", "default-libmysqlclient-dev"
		st.SandboxDatabase = "mysql2://root@127.0.0.1:3307/" + strings.ReplaceAll(st.App, "-", "_") + "_sandbox"
		st.DatabaseURL = strings.Replace(st.SandboxDatabase, "mysql2://", s.Database+"://", 1)
	case "pg":
		st.DBClientPackages, st.DBBuildPackages = "postgresql-client", "libpq-dev"
		warnings = append(warnings, "the sandbox runs MariaDB only: its environment has no local_database, so `mage migrate -env=sandbox` has no database (staging and production are unaffected)")
	case "sqlite3":
		st.DBClientPackages, st.DBBuildPackages = "sqlite3", "libsqlite3-dev"
		warnings = append(warnings, "sqlite3 in production keeps the database in the task's filesystem, which ECS replaces on every deploy: give production a server database (or an EFS volume) before the first deploy")
	}
	if s.Node {
		warnings = append(warnings, "package.json: the Dockerfile installs Node from Debian in the build stages only")
	}
	st.ModuleSource = "git::https://" + ToolkitModule + ".git//terraform/modules/rails-app?ref=" + st.ToolkitVersion
	return st, warnings, nil
}

// atLeast says version (e.g. "6.1.7.10") is at least major.minor.
func atLeast(version string, major, minor int) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// quoteList writes ["a", "b"], which HCL and JSON read alike.
func quoteList(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = strconv.Quote(w)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// rubyLine is the Ruby image line (3.4) for a version (3.4.1); the
// newest supported line when the app names none.
func rubyLine(version string) string {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return "3.4"
	}
	return parts[0] + "." + parts[1]
}
