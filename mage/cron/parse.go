package cron

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Values of the Ruby subset.
type (
	// Symbol is :name.
	Symbol string
	// Seconds is N.minutes, N.hours, ...: Whenever's numeric frequencies.
	Seconds int64
	// Range is lo..hi.
	Range struct{ Lo, Hi int64 }
	// Hash keeps insertion order, like Ruby's.
	Hash []KV
)

// KV is one hash entry; keys are symbols or strings, by name.
type KV struct {
	Key   string
	Value any
}

// Get returns the value of key.
func (h Hash) Get(key string) (any, bool) {
	for _, kv := range h {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

func (h Hash) with(key string, v any) Hash {
	out := make(Hash, 0, len(h)+1)
	found := false
	for _, kv := range h {
		if kv.Key == key {
			kv.Value, found = v, true
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, KV{key, v})
	}
	return out
}

func merge(hs ...Hash) Hash {
	var out Hash
	for _, h := range hs {
		for _, kv := range h {
			out = out.with(kv.Key, kv.Value)
		}
	}
	return out
}

// Job is one job of the schedule, with everything needed to render it.
type Job struct {
	Type     string // runner, rake, command, script, or a custom job_type
	Task     string
	Every    any // the frequency given to every
	At       any // string, int, Range, []any, or nil
	Roles    []string
	Mailto   string // "" for the default
	Line     int
	template string
	options  Hash
}

// Schedule is a parsed schedule.rb.
type Schedule struct {
	File     string
	Env      []KV // env 'NAME', value, in order
	Jobs     []*Job
	vars     Hash // set :name, value
	jobTypes map[string]string
}

// Var returns a `set` variable.
func (s *Schedule) Var(name string) (any, bool) { return s.vars.Get(name) }

// ParseOptions tell the parser about the machine the schedule runs on.
type ParseOptions struct {
	// Root is the Rails root (whenever's working directory): it decides
	// :path, and "bundle exec" and bin/rails through the files present.
	Root string
	// Getenv answers ENV['NAME'] in conditions and strings.
	Getenv func(string) string
	// Set holds --set style overrides: they win over `set` in the file.
	Set map[string]string
}

// ParseFile reads a schedule file.
func ParseFile(path string, opts ParseOptions) (*Schedule, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read schedule: %w", err)
	}
	return Parse(path, string(src), opts)
}

// Parse reads schedule source. Anything outside the supported subset is an
// error naming the line: a job is never dropped silently.
func Parse(file, src string, opts ParseOptions) (*Schedule, error) {
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.Root == "" {
		opts.Root, _ = os.Getwd()
	}
	toks, err := lex(file, src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, file: file, opts: opts, s: &Schedule{File: file, jobTypes: map[string]string{}}}
	p.setup()
	if err := p.program(); err != nil {
		return nil, err
	}
	return p.s, nil
}

type parser struct {
	toks []token
	pos  int
	file string
	opts ParseOptions
	s    *Schedule
	// inside an every block
	every        any
	everyOptions Hash
	inEvery      bool
	preset       map[string]bool
}

// setup mirrors Whenever's defaults (its setup.rb), computed here.
func (p *parser) setup() {
	root := p.opts.Root
	exists := func(rel string) bool {
		_, err := os.Stat(filepath.Join(root, rel))
		return err == nil
	}
	runner := "script/runner"
	switch {
	case exists("bin/rails"):
		runner = "bin/rails runner"
	case exists("script/rails"):
		runner = "script/rails runner"
	}
	bundle := ""
	if exists("Gemfile") {
		bundle = "bundle exec"
	}
	p.preset = map[string]bool{}
	for k, v := range p.opts.Set {
		p.s.vars = p.s.vars.with(k, v)
		p.preset[k] = true
	}
	for _, kv := range []KV{
		{"environment_variable", "RAILS_ENV"}, {"environment", "production"}, {"path", root},
		{"chronic_options", Hash{}}, {"job_template", "/bin/bash -l -c ':job'"},
		{"runner_command", runner}, {"bundle_command", bundle},
	} {
		p.set(kv.Key, kv.Value)
	}
	p.s.jobTypes = map[string]string{
		"command": ":task :output",
		"rake":    "cd :path && :environment_variable=:environment :bundle_command rake :task --silent :output",
		"script":  "cd :path && :environment_variable=:environment :bundle_command script/:task :output",
		"runner":  "cd :path && :bundle_command :runner_command -e :environment ':task' :output",
	}
}

func (p *parser) set(name string, v any) {
	if p.preset[name] {
		return
	}
	p.s.vars = p.s.vars.with(name, v)
}

func (p *parser) tok() token { return p.toks[p.pos] }
func (p *parser) peekTok(n int) token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) advance() token { t := p.toks[p.pos]; p.pos++; return t }

func (p *parser) errAt(t token, format string, args ...any) error {
	return &SyntaxError{File: p.file, Line: t.line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) is(kind tokKind, text string) bool {
	t := p.tok()
	return t.kind == kind && (text == "" || t.text == text)
}

func (p *parser) expect(kind tokKind, text string) (token, error) {
	if !p.is(kind, text) {
		return token{}, p.errAt(p.tok(), "expected %s, found %s", text, p.tok())
	}
	return p.advance(), nil
}

func (p *parser) skipNewlines() {
	for p.is(tNewline, "") {
		p.advance()
	}
}

func (p *parser) program() error {
	for {
		p.skipNewlines()
		if p.is(tEOF, "") {
			return nil
		}
		if err := p.statement(); err != nil {
			return err
		}
	}
}

// block reads statements up to "end" (or "}" for brace blocks), or also
// "else" when allowElse; it returns the token that closed it.
func (p *parser) block(closers ...string) (token, error) {
	for {
		p.skipNewlines()
		t := p.tok()
		if t.kind == tEOF {
			return t, p.errAt(t, "missing %s", strings.Join(closers, " or "))
		}
		for _, c := range closers {
			if (t.kind == tIdent || t.kind == tPunct) && t.text == c {
				return p.advance(), nil
			}
		}
		if err := p.statement(); err != nil {
			return t, err
		}
	}
}

// skipBlock skips statements of a branch that is not taken, keeping
// nesting, so jobs in it are neither run nor misread.
func (p *parser) skipBlock(closers ...string) (token, error) {
	depth := 0
	for {
		t := p.tok()
		if t.kind == tEOF {
			return t, p.errAt(t, "missing end")
		}
		if t.kind == tIdent {
			switch t.text {
			case "do", "if", "unless", "begin", "case", "while":
				// "x if cond" modifiers do not open a block: they follow code on the line.
				if (t.text == "if" || t.text == "unless") && p.pos > 0 && p.toks[p.pos-1].kind != tNewline {
					break
				}
				depth++
			case "end":
				if depth == 0 {
					for _, c := range closers {
						if c == "end" {
							return p.advance(), nil
						}
					}
				}
				depth--
			case "else":
				if depth == 0 {
					for _, c := range closers {
						if c == "else" {
							return p.advance(), nil
						}
					}
				}
			}
		}
		p.advance()
	}
}

func (p *parser) statement() error {
	t := p.tok()
	if t.kind != tIdent {
		return p.errAt(t, "expected a statement (set, env, every, job_type or a job), found %s", t)
	}
	if t.text == "if" || t.text == "unless" {
		return p.conditional()
	}
	start := p.pos
	if err := p.simpleStatement(); err != nil {
		return err
	}
	// statement modifiers: job "x" if ENV['A'] == 'b'
	if p.is(tIdent, "if") || p.is(tIdent, "unless") {
		return p.errAt(p.toks[start], "'%s ... if/unless' modifiers are not supported: use an if/unless block", p.toks[start].text)
	}
	if !p.is(tNewline, "") && !p.is(tEOF, "") && !p.is(tIdent, "end") && !p.is(tPunct, "}") {
		return p.errAt(p.tok(), "unexpected %s after %s", p.tok(), p.toks[start].text)
	}
	return nil
}

func (p *parser) conditional() error {
	kw := p.advance()
	v, err := p.condition()
	if err != nil {
		return err
	}
	truth := truthy(v)
	if kw.text == "unless" {
		truth = !truth
	}
	if p.is(tIdent, "then") {
		p.advance()
	} else if !p.is(tNewline, "") {
		return p.errAt(p.tok(), "cannot decide this %s condition without Ruby: unexpected %s", kw.text, p.tok())
	}
	p.skipNewlines()
	var closer token
	if truth {
		closer, err = p.block("end", "else")
	} else {
		closer, err = p.skipBlock("end", "else")
	}
	if err != nil {
		return err
	}
	if closer.text == "else" {
		if truth {
			_, err = p.skipBlock("end")
		} else {
			_, err = p.block("end")
		}
	}
	return err
}

func truthy(v any) bool { return v != nil && v != false }

func (p *parser) condition() (any, error) {
	left, err := p.comparison()
	if err != nil {
		return nil, err
	}
	for p.is(tPunct, "&&") || p.is(tPunct, "||") || p.is(tIdent, "and") || p.is(tIdent, "or") {
		op := p.advance().text
		right, err := p.comparison()
		if err != nil {
			return nil, err
		}
		if op == "&&" || op == "and" {
			left = truthy(left) && truthy(right)
		} else {
			left = truthy(left) || truthy(right)
		}
	}
	return left, nil
}

func (p *parser) comparison() (any, error) {
	if p.is(tPunct, "!") {
		p.advance()
		v, err := p.comparison()
		return !truthy(v), err
	}
	left, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.is(tPunct, "==") || p.is(tPunct, "!=") {
		op := p.advance().text
		right, err := p.expr()
		if err != nil {
			return nil, err
		}
		eq := fmt.Sprint(left) == fmt.Sprint(right)
		if op == "!=" {
			eq = !eq
		}
		return eq, nil
	}
	return left, nil
}

// args reads call arguments, with or without parentheses; trailing
// "key: value" / ":key => value" pairs become one Hash argument.
func (p *parser) args() ([]any, error) {
	paren := false
	if p.is(tPunct, "(") {
		p.advance()
		paren = true
	}
	var out []any
	var hash Hash
	for {
		if paren {
			p.skipNewlines()
		}
		t := p.tok()
		prev := p.toks[p.pos-1]
		// "{" opens a block after a complete argument list, a hash after "," or "(".
		braceBlock := t.kind == tPunct && t.text == "{" && !(prev.kind == tPunct && (prev.text == "," || prev.text == "(")) && len(out)+len(hash) > 0
		if t.kind == tNewline || t.kind == tEOF || (t.kind == tIdent && (t.text == "do" || t.text == "if" || t.text == "unless" || t.text == "end")) ||
			(t.kind == tPunct && (t.text == ")" || t.text == "}")) || braceBlock {
			break
		}
		if t.kind == tLabel {
			p.advance()
			p.skipNewlines()
			v, err := p.expr()
			if err != nil {
				return nil, err
			}
			hash = hash.with(t.text, v)
		} else {
			v, err := p.expr()
			if err != nil {
				return nil, err
			}
			if p.is(tPunct, "=>") {
				p.advance()
				p.skipNewlines()
				val, err := p.expr()
				if err != nil {
					return nil, err
				}
				hash = hash.with(keyName(v), val)
			} else {
				if hash != nil {
					return nil, p.errAt(t, "positional argument after keyword arguments")
				}
				out = append(out, v)
			}
		}
		if !p.is(tPunct, ",") {
			break
		}
		p.advance()
		p.skipNewlines()
	}
	if paren {
		p.skipNewlines()
		if _, err := p.expect(tPunct, ")"); err != nil {
			return nil, err
		}
	}
	if hash != nil {
		out = append(out, hash)
	}
	return out, nil
}

func keyName(v any) string {
	switch k := v.(type) {
	case Symbol:
		return string(k)
	case string:
		return k
	}
	return fmt.Sprint(v)
}

func (p *parser) simpleStatement() error {
	t := p.advance()
	switch t.text {
	case "set":
		args, err := p.args()
		if err != nil {
			return err
		}
		if len(args) != 2 {
			return p.errAt(t, "set takes a name and a value")
		}
		p.set(keyName(args[0]), args[1])
		return nil
	case "env":
		args, err := p.args()
		if err != nil {
			return err
		}
		if len(args) != 2 {
			return p.errAt(t, "env takes a name and a value")
		}
		name := keyName(args[0])
		for i, kv := range p.s.Env {
			if kv.Key == name {
				p.s.Env[i].Value = args[1]
				return nil
			}
		}
		p.s.Env = append(p.s.Env, KV{name, args[1]})
		return nil
	case "job_type":
		args, err := p.args()
		if err != nil {
			return err
		}
		if len(args) != 2 {
			return p.errAt(t, "job_type takes a name and a template")
		}
		tmpl, ok := args[1].(string)
		if !ok {
			return p.errAt(t, "job_type template must be a string")
		}
		p.s.jobTypes[keyName(args[0])] = tmpl
		return nil
	case "every":
		if p.inEvery {
			return p.errAt(t, "every inside every")
		}
		args, err := p.args()
		if err != nil {
			return err
		}
		if len(args) == 0 || len(args) > 2 {
			return p.errAt(t, "every takes a frequency and options")
		}
		var opts Hash
		if len(args) == 2 {
			h, ok := args[1].(Hash)
			if !ok {
				return p.errAt(t, "every's second argument must be options (at:, roles:, mailto:)")
			}
			opts = h
		}
		closer := "end"
		if p.is(tPunct, "{") {
			closer = "}"
			p.advance()
		} else if _, err := p.expect(tIdent, "do"); err != nil {
			return err
		}
		p.every, p.everyOptions, p.inEvery = args[0], opts, true
		_, err = p.block(closer)
		p.inEvery = false
		return err
	}
	tmpl, ok := p.s.jobTypes[t.text]
	if !ok {
		return p.errAt(t, "unknown method %q (not a job type, set, env, every or job_type)", t.text)
	}
	if !p.inEvery {
		return p.errAt(t, "job %s outside an every block", t.text)
	}
	args, err := p.args()
	if err != nil {
		return err
	}
	if len(args) == 0 || len(args) > 2 {
		return p.errAt(t, "%s takes a task and options", t.text)
	}
	var opts Hash
	if len(args) == 2 {
		h, ok := args[1].(Hash)
		if !ok {
			return p.errAt(t, "%s's second argument must be options", t.text)
		}
		opts = h
	}
	return p.addJob(t, tmpl, args[0], opts)
}

// addJob follows Whenever's job_type method and Job.new.
func (p *parser) addJob(t token, template string, task any, jobOpts Hash) error {
	options := Hash{{"task", task}, {"template", template}}
	options = merge(options, jobOpts)
	mailto := ""
	if v, ok := options.Get("mailto"); ok && v != nil {
		mailto = fmt.Sprint(v)
	} else if v, ok := p.everyOptions.Get("mailto"); ok && v != nil {
		mailto = fmt.Sprint(v)
	}
	if v, ok := options.Get("cron_log"); ok {
		options = options.with("output", v)
	} else if v, ok := p.s.vars.Get("cron_log"); ok {
		if _, has := jobOpts.Get("output"); !has {
			options = options.with("output", v)
		}
	}
	if v, ok := p.s.vars.Get("output"); ok {
		if _, has := jobOpts.Get("output"); !has {
			options = options.with("output", v)
		}
	}
	all := merge(p.everyOptions, p.s.vars, options)
	job := &Job{Type: t.text, Every: p.every, Mailto: mailto, Line: t.line, template: template}
	job.At, _ = all.Get("at")
	if r, ok := all.Get("roles"); ok {
		switch rv := r.(type) {
		case []any:
			for _, x := range rv {
				job.Roles = append(job.Roles, keyName(x))
			}
		case nil:
		default:
			job.Roles = []string{keyName(rv)}
		}
	}
	_, hasOutput := all.Get("output")
	redirect := ""
	if hasOutput {
		out, _ := all.Get("output")
		var err error
		redirect, err = redirection(out)
		if err != nil {
			return p.errAt(t, "%v", err)
		}
	}
	all = all.with("output", redirect)
	if v, _ := all.Get("environment_variable"); v == nil {
		all = all.with("environment_variable", "RAILS_ENV")
	}
	if v, _ := all.Get("environment"); v == nil {
		all = all.with("environment", "production")
	}
	path, _ := all.Get("path")
	if path == nil {
		path = p.opts.Root
	}
	all = all.with("path", shellEscape(fmt.Sprint(path)))
	if s, ok := task.(string); ok {
		job.Task = s
	} else {
		job.Task = toS(task)
	}
	job.options = all
	p.s.Jobs = append(p.s.Jobs, job)
	return nil
}

// redirection is Whenever's output redirection for a String, Hash or nil.
func redirection(out any) (string, error) {
	switch o := out.(type) {
	case nil:
		return ">> /dev/null 2>&1", nil
	case string:
		return ">> " + o + " 2>&1", nil
	case Hash:
		std, hasStd := o.Get("standard")
		errv, hasErr := o.Get("error")
		stdout, stderr := "", ""
		if hasStd {
			stdout = "/dev/null"
			if std != nil {
				stdout = fmt.Sprint(std)
			}
		}
		if hasErr {
			stderr = "/dev/null"
			if errv != nil {
				stderr = fmt.Sprint(errv)
			}
		}
		switch {
		case stdout == "/dev/null" && stderr == "/dev/null":
			return "> /dev/null 2>&1", nil
		case stdout != "" && stderr == "/dev/null":
			return ">> " + stdout + " 2> /dev/null", nil
		case stdout != "" && stderr != "":
			return ">> " + stdout + " 2>> " + stderr, nil
		case stderr == "/dev/null":
			return "2> /dev/null", nil
		case stderr != "":
			return "2>> " + stderr, nil
		case stdout == "/dev/null":
			return "> /dev/null", nil
		case stdout != "":
			return ">> " + stdout, nil
		}
		return "", nil
	}
	return "", fmt.Errorf("output must be a path, a hash (standard:, error:) or nil")
}

// shellEscape is Ruby's Shellwords.shellescape.
func shellEscape(s string) string {
	if s == "" {
		return "''"
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString("'\n'")
		case r < 128 && (r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("_-.,:+/@", r)):
			b.WriteRune(r)
		case r >= 128:
			b.WriteRune(r)
		default:
			b.WriteRune('\\')
			b.WriteRune(r)
		}
	}
	return b.String()
}

// toS renders a value as Ruby's to_s would for the types used here.
func toS(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case Symbol:
		return string(x)
	case string:
		return x
	case Seconds:
		return fmt.Sprint(int64(x))
	case int64:
		return fmt.Sprint(x)
	case bool:
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}

// expr parses a value: literals, N.unit, lo..hi, arrays, hashes, ENV.
func (p *parser) expr() (any, error) {
	v, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.is(tPunct, ".") && p.peekTok(1).kind == tIdent {
		p.advance()
		m := p.advance()
		switch m.text {
		case "nil?":
			v = v == nil
		case "empty?":
			v = toS(v) == ""
		case "blank?":
			v = strings.TrimSpace(toS(v)) == ""
		case "present?":
			v = strings.TrimSpace(toS(v)) != ""
		case "to_s":
			v = toS(v)
		case "to_sym":
			v = Symbol(toS(v))
		case "downcase":
			v = strings.ToLower(toS(v))
		default:
			return nil, p.errAt(m, "method .%s is not supported here", m.text)
		}
	}
	if p.is(tPunct, "..") || p.is(tPunct, "...") {
		t := p.advance()
		hi, err := p.primary()
		if err != nil {
			return nil, err
		}
		lo, ok1 := v.(int64)
		h, ok2 := hi.(int64)
		if !ok1 || !ok2 {
			return nil, p.errAt(t, "ranges must be between integers")
		}
		if t.text == "..." {
			h-- // lo...hi excludes hi
		}
		if h < lo {
			// Whenever enumerates the range and writes nothing for the job.
			return nil, p.errAt(t, "%d%s%d is an empty range: Whenever would schedule nothing for this job", lo, t.text, map[string]int64{"..": h, "...": h + 1}[t.text])
		}
		return Range{lo, h}, nil
	}
	return v, nil
}

var units = map[string]int64{
	"second": 1, "seconds": 1, "minute": 60, "minutes": 60, "hour": 3600, "hours": 3600,
	"day": 86400, "days": 86400, "week": 604800, "weeks": 604800,
	"month": 2592000, "months": 2592000, "year": 31557600, "years": 31557600,
}

func (p *parser) primary() (any, error) {
	t := p.advance()
	switch t.kind {
	case tString:
		return p.interpolate(t)
	case tSymbol:
		return Symbol(t.text), nil
	case tInt:
		if p.is(tPunct, ".") && p.peekTok(1).kind == tIdent {
			p.advance()
			u := p.advance()
			if n, ok := units[u.text]; ok {
				return Seconds(t.num * n), nil
			}
			return nil, p.errAt(u, "unsupported method %d.%s", t.num, u.text)
		}
		return t.num, nil
	case tPunct:
		switch t.text {
		case "[":
			var list []any
			for {
				p.skipNewlines()
				if p.is(tPunct, "]") {
					p.advance()
					return list, nil
				}
				v, err := p.expr()
				if err != nil {
					return nil, err
				}
				list = append(list, v)
				p.skipNewlines()
				if p.is(tPunct, ",") {
					p.advance()
				}
			}
		case "{":
			var h Hash
			for {
				p.skipNewlines()
				if p.is(tPunct, "}") {
					p.advance()
					return h, nil
				}
				var key string
				if p.is(tLabel, "") {
					key = p.advance().text
				} else {
					k, err := p.expr()
					if err != nil {
						return nil, err
					}
					if _, err := p.expect(tPunct, "=>"); err != nil {
						return nil, err
					}
					key = keyName(k)
				}
				p.skipNewlines()
				v, err := p.expr()
				if err != nil {
					return nil, err
				}
				h = h.with(key, v)
				p.skipNewlines()
				if p.is(tPunct, ",") {
					p.advance()
				}
			}
		case "(":
			v, err := p.condition()
			if err != nil {
				return nil, err
			}
			_, err = p.expect(tPunct, ")")
			return v, err
		case "-":
			if p.is(tInt, "") {
				return -p.advance().num, nil
			}
		}
	case tIdent:
		switch t.text {
		case "nil":
			return nil, nil
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "ENV":
			return p.env(t)
		}
		name := strings.TrimPrefix(t.text, "@")
		if v, ok := p.s.vars.Get(name); ok {
			return v, nil
		}
		if strings.HasPrefix(t.text, "@") {
			return nil, nil // an unset instance variable is nil in Ruby
		}
		return nil, p.errAt(t, "unknown name %q (only set variables, ENV and literals are supported)", t.text)
	}
	return nil, p.errAt(t, "unexpected %s", t)
}

func (p *parser) env(t token) (any, error) {
	switch {
	case p.is(tPunct, "["):
		p.advance()
		k, err := p.expect(tString, "")
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tPunct, "]"); err != nil {
			return nil, err
		}
		if v := p.opts.Getenv(k.text); v != "" {
			return v, nil
		}
		return nil, nil
	case p.is(tPunct, ".") && p.peekTok(1).text == "fetch":
		p.advance()
		p.advance()
		args, err := p.args()
		if err != nil {
			return nil, err
		}
		if len(args) == 0 {
			return nil, p.errAt(t, "ENV.fetch needs a name")
		}
		if v := p.opts.Getenv(toS(args[0])); v != "" {
			return v, nil
		}
		if len(args) > 1 {
			return args[1], nil
		}
		return nil, p.errAt(t, "ENV.fetch(%q) without a default and the variable is not set", toS(args[0]))
	}
	return nil, p.errAt(t, "only ENV['NAME'] and ENV.fetch are supported")
}

// interpolate evaluates #{...} parts of a double-quoted string; only
// ENV lookups and set variables can be decided without Ruby.
func (p *parser) interpolate(t token) (any, error) {
	if len(t.interp) == 0 {
		return t.text, nil
	}
	parts := strings.Split(t.text, "\x00")
	var b strings.Builder
	for i, part := range parts {
		b.WriteString(part)
		if i < len(t.interp) {
			val, err := p.evalSnippet(strings.TrimSpace(t.interp[i]), t.line)
			if err != nil {
				return nil, err
			}
			b.WriteString(toS(val))
		}
	}
	return b.String(), nil
}

func (p *parser) evalSnippet(code string, line int) (any, error) {
	toks, err := lex(p.file, code)
	if err != nil {
		return nil, &SyntaxError{File: p.file, Line: line, Msg: "in #{" + code + "}: " + err.Error()}
	}
	for i := range toks {
		toks[i].line = line
	}
	sub := &parser{toks: toks, file: p.file, opts: p.opts, s: p.s}
	v, err := sub.expr()
	if err != nil {
		return nil, err
	}
	if !sub.is(tEOF, "") {
		return nil, &SyntaxError{File: p.file, Line: line, Msg: "cannot evaluate #{" + code + "} without Ruby"}
	}
	return v, nil
}
