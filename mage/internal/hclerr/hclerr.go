package hclerr

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// maxShown bounds the list: one unclosed quote can cascade into dozens.
const maxShown = 5

// Error returns nil when diags holds no errors, otherwise one error whose
// message lists every error diagnostic as "file:line:col: summary: detail".
func Error(diags hcl.Diagnostics) error {
	if !diags.HasErrors() {
		return nil
	}
	var lines []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError || followsFailedCall(d, diags) {
			continue
		}
		if len(lines) == maxShown {
			lines = append(lines, "(more errors follow; fix these first)")
			break
		}
		lines = append(lines, Format(d))
	}
	return &DiagError{Diags: diags, msg: strings.Join(lines, "\n")}
}

// Format renders one diagnostic with its position.
func Format(d *hcl.Diagnostic) string {
	msg := d.Summary
	if d.Detail != "" {
		msg += ": " + strings.TrimSuffix(d.Detail, ".")
	}
	if d.Subject == nil {
		return msg
	}
	return fmt.Sprintf("%s: %s", Pos(*d.Subject), msg)
}

// Pos renders the start of a range as file:line:col.
func Pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// DiagError keeps the diagnostics for callers that want them.
type DiagError struct {
	Diags hcl.Diagnostics
	msg   string
}

func (e *DiagError) Error() string { return e.msg }

// followsFailedCall reports a "value must be known" diagnostic that only
// repeats a failed function call at the same place.
func followsFailedCall(d *hcl.Diagnostic, diags hcl.Diagnostics) bool {
	if d.Subject == nil || !strings.Contains(d.Detail, "value must be known") {
		return false
	}
	for _, other := range diags {
		if other != d && other.Subject != nil && other.Subject.Start == d.Subject.Start &&
			other.Summary == "Error in function call" {
			return true
		}
	}
	return false
}
