package cron

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// Entry is one cron line of a job: a time spec and the command.
type Entry struct {
	Job     *Job
	Spec    string // five fields or an @shortcut
	Command string // the job rendered through its template and job_template
}

// hours24 reports chronic_options hours24: true.
func (s *Schedule) hours24() bool {
	v, _ := s.vars.Get("chronic_options")
	h, ok := v.(Hash)
	if !ok {
		return false
	}
	b, _ := h.Get("hours24")
	return b == true
}

// enumerate follows Whenever's Cron.enumerate: strings are split on commas
// unless (detectCron) they are raw cron; arrays are taken item by item.
func enumerate(v any, detectCron bool) []any {
	switch x := v.(type) {
	case string:
		if detectCron && rawCronRE.MatchString(x) {
			return []any{x}
		}
		var out []any
		for _, p := range strings.Split(x, ",") {
			out = append(out, p)
		}
		if len(out) == 0 {
			out = []any{""}
		}
		return out
	case []any:
		return x
	case Range:
		// A Range responds to each: Whenever renders one line per value
		// and then combines them ("10,11,...,20", not "10-20").
		var out []any
		for v := x.Lo; v <= x.Hi; v++ {
			out = append(out, v)
		}
		return out
	case nil:
		return []any{nil}
	}
	return []any{v}
}

func (s *Schedule) atValue(at any) (atValue, error) {
	a := atValue{given: at}
	switch x := at.(type) {
	case nil:
	case int64:
		a.num = x
	case Range:
		a.isRange, a.rng = true, x
	case string:
		c, err := parseClock(x, s.hours24())
		if err != nil {
			return a, err
		}
		a.isClock, a.clock = true, c
	case Symbol:
		// %i(...) makes symbols: Whenever reads no time in one (it raises
		// for hourly to monthly jobs and writes midnight for the others).
		return a, fmt.Errorf("at: :%s is a symbol (%%i() makes symbols), in which Whenever reads no time: write the times as strings, e.g. %%w(%s)", x, x)
	default:
		return a, fmt.Errorf("at: %v is not a time, an integer or a range", at)
	}
	return a, nil
}

// Entries renders every job's cron lines, before Whenever's combining.
func (s *Schedule) Entries() ([]Entry, error) {
	var out []Entry
	for _, job := range s.Jobs {
		cmd := job.Command()
		for _, every := range enumerate(job.Every, true) {
			for _, at := range enumerate(job.At, false) {
				a, err := s.atValue(at)
				if err != nil {
					return nil, &SyntaxError{File: s.File, Line: job.Line, Msg: err.Error()}
				}
				spec, err := timing(every, a)
				if err != nil {
					return nil, &SyntaxError{File: s.File, Line: job.Line, Msg: err.Error()}
				}
				out = append(out, Entry{Job: job, Spec: spec, Command: cmd})
			}
		}
	}
	return out, nil
}

var templateKeyRE = regexp.MustCompile(`:\w+`)

// Command renders the job through its template and job_template.
func (j *Job) Command() string {
	job := processTemplate(j.template, j.options)
	jt := ":job"
	if v, ok := j.options.Get("job_template"); ok && v != nil {
		jt = toS(v)
	}
	out := processTemplate(jt, j.options.with("job", job))
	return strings.ReplaceAll(out, "%", `\%`)
}

var spaceRE = regexp.MustCompile(`\s+`)

// processTemplate replaces :name with the option's value, escaping it
// for the quotes it sits between, as Whenever's Job#process_template.
func processTemplate(template string, options Hash) string {
	idx := templateKeyRE.FindAllStringIndex(template, -1)
	var b strings.Builder
	last := 0
	for _, m := range idx {
		b.WriteString(template[last:m[0]])
		key := template[m[0]:m[1]]
		val := key
		if v, ok := options.Get(key[1:]); ok && v != nil && v != false {
			val = toS(v)
		}
		before, after := "", ""
		if m[0] > 0 {
			before = template[m[0]-1 : m[0]]
		}
		if m[1] < len(template) {
			after = template[m[1] : m[1]+1]
		}
		switch {
		case before == "'" && after == "'":
			val = strings.ReplaceAll(val, "'", `'\''`)
		case before == `"` && after == `"`:
			val = strings.ReplaceAll(val, `"`, `\"`)
		}
		b.WriteString(val)
		last = m[1]
	}
	b.WriteString(template[last:])
	return strings.TrimSpace(spaceRE.ReplaceAllString(b.String(), " "))
}

// Crontab renders the schedule exactly as `whenever` prints it (without
// its two "## [message]" lines): env lines, then jobs grouped by mailto and
// frequency, @shortcuts first, similar lines combined.
func (s *Schedule) Crontab() (string, error) {
	entries, err := s.Entries()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if len(s.Env) > 0 {
		for _, kv := range s.Env {
			v := toS(kv.Value)
			if v == "" {
				v = `""`
			}
			fmt.Fprintf(&b, "%s=%s\n", kv.Key, v)
		}
		b.WriteString("\n")
	}
	// Group as Whenever's @jobs[mailto][time] does, in insertion order.
	type group struct {
		every   any
		entries []Entry
	}
	type mail struct {
		mailto string
		groups []*group
	}
	var mails []*mail
	find := func(mailto string) *mail {
		for _, m := range mails {
			if m.mailto == mailto {
				return m
			}
		}
		m := &mail{mailto: mailto}
		mails = append(mails, m)
		return m
	}
	for _, e := range entries {
		m := find(e.Job.Mailto)
		var g *group
		for _, cand := range m.groups {
			if sameFrequency(cand.every, e.Job.Every) {
				g = cand
			}
		}
		if g == nil {
			g = &group{every: e.Job.Every}
			m.groups = append(m.groups, g)
		}
		g.entries = append(g.entries, e)
	}
	render := func(g *group) string {
		var shortcuts, regular []string
		for _, e := range g.entries {
			line := e.Spec + " " + e.Command
			if strings.HasPrefix(e.Spec, "@") {
				shortcuts = append(shortcuts, line+"\n\n")
			} else {
				regular = append(regular, line)
			}
		}
		var out strings.Builder
		out.WriteString(strings.Join(shortcuts, ""))
		for _, l := range combine(regular) {
			out.WriteString(l + "\n\n")
		}
		return out.String()
	}
	for _, m := range mails {
		if m.mailto != "" {
			continue
		}
		for _, g := range m.groups {
			b.WriteString(render(g))
		}
	}
	for _, m := range mails {
		if m.mailto == "" {
			continue
		}
		var parts []string
		for _, g := range m.groups {
			if r := render(g); r != "" {
				parts = append(parts, r)
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(&b, "MAILTO=%s\n\n", m.mailto)
		}
		b.WriteString(strings.Join(parts, ""))
	}
	return b.String(), nil
}

// sameFrequency is Ruby hash-key equality of two every values.
func sameFrequency(a, b any) bool {
	if x, ok := a.(Seconds); ok {
		if y, ok := b.(int64); ok {
			return int64(x) == y
		}
	}
	if x, ok := a.(int64); ok {
		if y, ok := b.(Seconds); ok {
			return x == int64(y)
		}
	}
	return reflect.DeepEqual(a, b)
}

// combine merges lines that differ in exactly one time field, as
// Whenever's JobList#combine (e.g. 3:02 and 4:02 become "2 3,4").
func combine(lines []string) []string {
	entries := make([][]string, len(lines))
	for i, l := range lines {
		entries[i] = splitN(l, 6)
	}
	for f := 0; f <= 4; f++ {
		for i := len(entries) - 1; i >= 1; i-- {
			if f >= len(entries[i]) || entries[i][f] == "*" {
				continue
			}
			cmp := without(entries[i], f)
			for j := i - 1; j >= 0; j-- {
				if f >= len(entries[j]) || entries[j][f] == "*" {
					continue
				}
				if cmp == without(entries[j], f) {
					entries[j][f] += "," + entries[i][f]
					entries = append(entries[:i], entries[i+1:]...)
					break
				}
			}
		}
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = strings.Join(e, " ")
	}
	return out
}

// splitN is Ruby's split(/ +/, n).
func splitN(s string, n int) []string {
	var out []string
	for len(out) < n-1 {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			break
		}
		out = append(out, s[:i])
		s = strings.TrimLeft(s[i:], " ")
	}
	return append(out, s)
}

func without(e []string, f int) string {
	parts := append(append([]string{}, e[:f]...), e[f+1:]...)
	return strings.Join(parts, "\x00")
}
