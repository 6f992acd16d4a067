// Package circleci reads .circleci/config.yml the way CircleCI expands it
// for one job: reusable commands inlined, << parameters.x >> substituted.
// Tests use it to check the rules the pipeline must keep and to run a
// job's steps on this machine.
package circleci

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Config is the part of config.yml the checks read.
type Config struct {
	Commands map[string]struct {
		Parameters map[string]map[string]any `json:"parameters"`
		Steps      []any                     `json:"steps"`
	} `json:"commands"`
	Jobs map[string]struct {
		Executor   any                       `json:"executor"`
		Parameters map[string]map[string]any `json:"parameters"`
		Steps      []any                     `json:"steps"`
	} `json:"jobs"`
	Executors map[string]map[string]any `json:"executors"`
	Workflows map[string]struct {
		Jobs []any `json:"jobs"`
	} `json:"workflows"`
}

// Step is one expanded step.
type Step struct {
	Kind    string // run, checkout, restore_cache, save_cache, store_artifacts, ...
	Name    string
	Command string   // run
	Paths   []string // save_cache, store_artifacts
	Keys    []string // restore_cache, save_cache
	From    string   // the reusable command it came from, "" for the job's own
}

// Load parses the file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// Invocation is one workflow entry: a job with its parameters.
type Invocation struct {
	Name   string // the workflow's name for it
	Job    string
	Params map[string]string
}

// Invocations lists every job run by every workflow, sorted by name.
func (c *Config) Invocations() []Invocation {
	var out []Invocation
	for _, wf := range c.Workflows {
		for _, j := range wf.Jobs {
			switch v := j.(type) {
			case string:
				out = append(out, Invocation{Name: v, Job: v, Params: map[string]string{}})
			case map[string]any:
				for job, raw := range v {
					params := map[string]string{}
					m, _ := raw.(map[string]any)
					if m["type"] == "approval" {
						continue
					}
					for k, val := range m {
						if s, ok := val.(string); ok {
							params[k] = s
						}
					}
					name := job
					if n := params["name"]; n != "" {
						name = n
					}
					out = append(out, Invocation{Name: name, Job: job, Params: params})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var paramRE = regexp.MustCompile(`<<\s*parameters\.([A-Za-z0-9_-]+)\s*>>`)

func substitute(s string, params map[string]string) (string, error) {
	var missing []string
	out := paramRE.ReplaceAllStringFunc(s, func(m string) string {
		name := paramRE.FindStringSubmatch(m)[1]
		v, ok := params[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("parameters %v have no value", missing)
	}
	return out, nil
}

// Steps expands a job's steps with the given parameters (defaults fill in
// the rest).
func (c *Config) Steps(job string, params map[string]string) ([]Step, error) {
	j, ok := c.Jobs[job]
	if !ok {
		return nil, fmt.Errorf("no job %q", job)
	}
	return c.expand(j.Steps, withDefaults(j.Parameters, params), "", 0)
}

func withDefaults(decl map[string]map[string]any, given map[string]string) map[string]string {
	out := map[string]string{}
	for name, d := range decl {
		if def, ok := d["default"]; ok {
			out[name] = fmt.Sprint(def)
		}
	}
	for k, v := range given {
		out[k] = v
	}
	return out
}

func (c *Config) expand(raw []any, params map[string]string, from string, depth int) ([]Step, error) {
	if depth > 5 {
		return nil, fmt.Errorf("commands nest too deep")
	}
	var steps []Step
	for _, r := range raw {
		var kind string
		var body any
		switch v := r.(type) {
		case string:
			kind = v
		case map[string]any:
			if len(v) != 1 {
				return nil, fmt.Errorf("a step with %d keys", len(v))
			}
			for k, b := range v {
				kind, body = k, b
			}
		}
		if cmd, ok := c.Commands[kind]; ok {
			given := map[string]string{}
			if m, ok := body.(map[string]any); ok {
				for k, v := range m {
					s, err := substitute(fmt.Sprint(v), params)
					if err != nil {
						return nil, err
					}
					given[k] = s
				}
			}
			inner, err := c.expand(cmd.Steps, withDefaults(cmd.Parameters, given), kind, depth+1)
			if err != nil {
				return nil, fmt.Errorf("command %s: %w", kind, err)
			}
			steps = append(steps, inner...)
			continue
		}
		st := Step{Kind: kind, From: from}
		switch b := body.(type) {
		case string:
			if kind == "run" {
				st.Command = b
			}
		case map[string]any:
			st.Name, _ = b["name"].(string)
			st.Command, _ = b["command"].(string)
			if p, ok := b["path"].(string); ok {
				st.Paths = []string{p}
			}
			for _, p := range toStrings(b["paths"]) {
				st.Paths = append(st.Paths, p)
			}
			if k, ok := b["key"].(string); ok {
				st.Keys = []string{k}
			}
			st.Keys = append(st.Keys, toStrings(b["keys"])...)
		}
		var err error
		if st.Command, err = substitute(st.Command, params); err != nil {
			return nil, fmt.Errorf("step %q: %w", st.Name, err)
		}
		if st.Name, err = substitute(st.Name, params); err != nil {
			return nil, err
		}
		steps = append(steps, st)
	}
	return steps, nil
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// Lines are a run command's non-blank, non-comment lines.
func (s Step) Lines() []string {
	var out []string
	for _, l := range strings.Split(s.Command, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
