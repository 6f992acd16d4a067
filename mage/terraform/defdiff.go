package terraform

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	tfjson "github.com/hashicorp/terraform-json"
)

// definitionChanges compares each container's definition before and after,
// leaving out the image (the image summary shows it). A container that is
// new or removed, or definitions known only at apply, are left to the
// plan itself.
func definitionChanges(rc *tfjson.ResourceChange) []DefinitionChange {
	before, ok1 := containerDefinitions(rc.Change.Before)
	after, ok2 := containerDefinitions(rc.Change.After)
	if !ok1 || !ok2 {
		return nil
	}
	var out []DefinitionChange
	for _, name := range slices.Sorted(maps.Keys(after)) {
		was, ok := before[name]
		if !ok {
			continue
		}
		if lines := diffLines(flatten(was), flatten(after[name])); len(lines) > 0 {
			out = append(out, DefinitionChange{Resource: rc.Address, Container: name, Lines: lines})
		}
	}
	return out
}

// containerDefinitions reads container_definitions (top level or inside
// terraform_data's input) as name -> definition.
func containerDefinitions(v any) (map[string]map[string]any, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	if input, ok := obj["input"].(map[string]any); ok {
		if defs, ok := containerDefinitions(input); ok {
			return defs, true
		}
	}
	raw, ok := obj["container_definitions"].(string)
	if !ok {
		return nil, false
	}
	var defs []map[string]any
	if err := json.Unmarshal([]byte(raw), &defs); err != nil {
		return nil, false
	}
	out := make(map[string]map[string]any, len(defs))
	for _, d := range defs {
		name, _ := d["name"].(string)
		out[name] = d
	}
	return out, true
}

// flatten turns a definition into "path = value" lines. environment and
// secrets are keyed by name, so a reordering is no change; a secret shows
// its valueFrom reference (an ARN), which is all a task definition holds.
func flatten(def map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				walk(path+"."+k, val)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		default:
			b, _ := json.Marshal(x)
			out[path[1:]] = string(b)
		}
	}
	for k, v := range def {
		switch k {
		case "image", "name":
			continue
		case "environment", "secrets":
			list, _ := v.([]any)
			for _, e := range list {
				m, _ := e.(map[string]any)
				n, _ := m["name"].(string)
				val := m["value"]
				if k == "secrets" {
					val = m["valueFrom"]
				}
				walk("."+k+"."+n, val)
			}
		default:
			walk("."+k, v)
		}
	}
	return out
}

func diffLines(before, after map[string]string) []string {
	keys := maps.Clone(before)
	maps.Copy(keys, after)
	sorted := slices.Sorted(maps.Keys(keys))
	var lines []string
	for _, k := range sorted {
		b, inB := before[k]
		a, inA := after[k]
		if inB && inA && a == b {
			continue
		}
		if inB {
			lines = append(lines, "- "+k+" = "+b)
		}
		if inA {
			lines = append(lines, "+ "+k+" = "+a)
		}
	}
	return lines
}
