// Package ledger is what an environment remembers between runs, in a
// store beside its terraform state (S3) or in the checkout (local
// environments): the deploy lock, the release history, and the journal a
// running deploy keeps so that the next command can repair what a killed
// one left. Reading it needs neither terraform nor a deployer: releases,
// status and lock:* use it alone.
package ledger
