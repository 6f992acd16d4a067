package image

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CheckContext reads the Dockerfile's COPY and ADD instructions that take
// files from the build context (no --from) and fails, naming the line,
// when a source is not in the context: a Rails Dockerfile run on a context
// that is not the Rails root ("COPY Gemfile") is caught before any build.
func CheckContext(dockerfile, contextDir string) error {
	f, err := os.Open(dockerfile)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	lineNo, start := 0, 0
	var inst strings.Builder
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if inst.Len() == 0 {
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			start = lineNo
		}
		if strings.HasSuffix(trimmed, "\\") {
			inst.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		inst.WriteString(trimmed)
		if err := checkInstruction(inst.String(), contextDir); err != nil {
			return fmt.Errorf("%s:%d: %w", dockerfile, start, err)
		}
		inst.Reset()
	}
	return sc.Err()
}

func checkInstruction(inst, contextDir string) error {
	fields := strings.Fields(inst)
	if len(fields) < 3 {
		return nil
	}
	verb := strings.ToUpper(fields[0])
	if verb != "COPY" && verb != "ADD" {
		return nil
	}
	args := fields[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "--") {
		if strings.HasPrefix(args[0], "--from=") {
			return nil // from another stage or image
		}
		args = args[1:]
	}
	if len(args) > 0 && strings.HasPrefix(args[0], "[") {
		var list []string // the JSON form
		if json.Unmarshal([]byte(strings.Join(args, " ")), &list) != nil {
			return nil
		}
		args = list
	}
	if len(args) < 2 {
		return nil
	}
	for _, src := range args[:len(args)-1] {
		if strings.Contains(src, "://") || strings.HasPrefix(src, "$") {
			continue // a URL or a variable: not a context path
		}
		matches, err := filepath.Glob(filepath.Join(contextDir, src))
		if err != nil || len(matches) == 0 {
			return fmt.Errorf("%s %s: %q is not in the build context %s (is the context the app's root, where Gemfile is?)", verb, src, src, contextDir)
		}
	}
	return nil
}
