// Package targets holds the Mage targets. Magefiles import only this
// package; each exported function is one target, a few lines over the
// packages that do the work. Environment-taking targets share one
// convention: an optional -env=NAME flag defaulting to "sandbox", so a real
// environment is never the default.
package targets
