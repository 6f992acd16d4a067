// Package terraform runs terraform or OpenTofu against an environment's
// root: init with backend settings, plan to a file, read that plan as JSON,
// and apply exactly that plan.
//
// Commands are built separately from being run so the argument lists are
// unit-tested. Children get SIGINT, not SIGKILL, when the context ends, and
// run in their own process group so a terminal's Ctrl-C reaches them once,
// through us: a second interrupt would make terraform exit without
// releasing its state lock. No parent-death signal is set (terraform-exec
// sets SIGKILL): mage exits 5 s after Ctrl-C, and terraform must be able
// to finish its shutdown after that.
package terraform
