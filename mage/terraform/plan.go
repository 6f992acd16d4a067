package terraform

import (
	"fmt"
	"io"
	"sort"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/railsecs/deploykit/mage/imageref"
)

// Summary is what a plan does, in the terms a deploy cares about.
type Summary struct {
	Add, Change, Destroy int
	Images               []ImageChange
	// Definitions are the other container settings a plan changes.
	Definitions []DefinitionChange
}

// DefinitionChange is one container whose definition changes in more than
// its image: environment, secret references, command, sizes, ports,
// health check, logging. Lines are "- path = value" / "+ path = value".
type DefinitionChange struct {
	Resource  string
	Container string
	Lines     []string
}

// ImageChange is one container whose image a plan changes.
type ImageChange struct {
	Resource  string // resource address
	Container string
	From      string // "" when the container is new
	To        string // "" when removed; Unknown when decided at apply
}

// Unknown marks an image that terraform will only know during apply.
const Unknown = "(known after apply)"

// Summarize counts the plan's actions the way terraform's own summary line
// does (a replacement is one add and one destroy) and lists every container
// image that changes, from ECS task definitions and from anything else
// carrying container_definitions (the sandbox's terraform_data stand-ins).
func Summarize(plan *tfjson.Plan) Summary {
	var s Summary
	for _, rc := range plan.ResourceChanges {
		if rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode {
			continue
		}
		a := rc.Change.Actions
		switch {
		case a.Replace():
			s.Add++
			s.Destroy++
		case a.Create():
			s.Add++
		case a.Update():
			s.Change++
		case a.Delete():
			s.Destroy++
		default:
			continue
		}
		s.Images = append(s.Images, imageChanges(rc)...)
		s.Definitions = append(s.Definitions, definitionChanges(rc)...)
	}
	return s
}

func imageChanges(rc *tfjson.ResourceChange) []ImageChange {
	before, _ := containerImages(rc.Change.Before)
	after, known := containerImages(rc.Change.After)
	if !known && containerDefsUnknown(rc.Change.AfterUnknown) {
		after = map[string]string{}
		for name := range before {
			after[name] = Unknown
		}
	}
	names := map[string]bool{}
	for n := range before {
		names[n] = true
	}
	for n := range after {
		names[n] = true
	}
	var out []ImageChange
	for n := range names {
		if before[n] != after[n] {
			out = append(out, ImageChange{Resource: rc.Address, Container: n, From: before[n], To: after[n]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Container < out[j].Container })
	return out
}

// containerImages finds container_definitions at the top of a resource's
// attributes or inside terraform_data's input, and returns name -> image.
func containerImages(v any) (map[string]string, bool) {
	defs, ok := containerDefinitions(v)
	if !ok {
		return nil, false
	}
	imgs := make(map[string]string, len(defs))
	for name, d := range defs {
		imgs[name], _ = d["image"].(string)
	}
	return imgs, true
}

func containerDefsUnknown(v any) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return v == true
	}
	if u, ok := obj["container_definitions"].(bool); ok && u {
		return true
	}
	if input, ok := obj["input"]; ok {
		return containerDefsUnknown(input)
	}
	return false
}

// Write prints the summary for people.
func (s Summary) Write(w io.Writer) {
	fmt.Fprintf(w, "Plan: %d to add, %d to change, %d to destroy.\n", s.Add, s.Change, s.Destroy)
	for _, d := range s.Definitions {
		fmt.Fprintf(w, "Container %s of %s changes besides its image:\n", d.Container, d.Resource)
		for _, l := range d.Lines {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	if len(s.Images) == 0 {
		fmt.Fprintln(w, "No container image changes.")
		return
	}
	fmt.Fprintln(w, "Container images:")
	for _, c := range s.Images {
		from, to := c.From, c.To
		if from == "" {
			from = "(new)"
		}
		if to == "" {
			to = "(removed)"
		}
		fmt.Fprintf(w, "  %s %s: %s -> %s\n", c.Resource, c.Container, from, to)
	}
}

// GuardError lists image changes that were not asked for.
type GuardError struct {
	Unexpected []ImageChange
	Deploying  []string
}

func (e *GuardError) Error() string {
	var b strings.Builder
	if len(e.Deploying) == 0 {
		b.WriteString("refusing a plan that changes running container images while no image is being deployed")
	} else {
		fmt.Fprintf(&b, "refusing a plan that changes running container images to tags other than the ones being deployed (%s)", strings.Join(e.Deploying, ", "))
	}
	b.WriteString(" (tfvars behind what is live?):")
	for _, c := range e.Unexpected {
		fmt.Fprintf(&b, "\n  %s %s: %s -> %s", c.Resource, c.Container, c.From, c.To)
	}
	b.WriteString("\nset the image tags to what you mean to run, name the tags you are deploying with -tag=TAG, or pass -force")
	return b.String()
}

// GuardImages refuses a plan that changes the image of a running container
// to a tag outside deploying. New and removed containers are not checked:
// the trap is a stale tag replacing a live one.
func GuardImages(s Summary, deploying []string) error {
	allowed := map[string]bool{}
	for _, t := range deploying {
		allowed[t] = true
	}
	var bad []ImageChange
	for _, c := range s.Images {
		if c.From == "" || c.To == "" {
			continue
		}
		if c.To == Unknown || !allowed[imageref.TagOf(c.To)] {
			bad = append(bad, c)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &GuardError{Unexpected: bad, Deploying: deploying}
}
