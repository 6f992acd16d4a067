package imageref

import (
	"fmt"
	"regexp"
	"strings"
)

// tagRE is Docker's tag grammar: up to 128 word characters, dots and
// dashes, not starting with a dot or dash.
var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// ValidateTag refuses tags outside Docker's grammar and "latest", which
// moves under you and makes rollback impossible.
func ValidateTag(tag string) error {
	if strings.EqualFold(tag, "latest") {
		return fmt.Errorf("image tag %q refused: a moving tag makes rollback impossible; use the commit SHA", tag)
	}
	if !tagRE.MatchString(tag) {
		return fmt.Errorf("image tag %q is not a valid tag (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')", tag)
	}
	return nil
}

// ParseTags reads a comma-separated list of tags, validating each.
func ParseTags(list string) ([]string, error) {
	var tags []string
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if err := ValidateTag(t); err != nil {
			return nil, err
		}
		tags = append(tags, t)
	}
	return tags, nil
}
