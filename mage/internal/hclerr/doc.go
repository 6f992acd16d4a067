// Package hclerr turns HCL diagnostics into errors that name file:line:col.
package hclerr
