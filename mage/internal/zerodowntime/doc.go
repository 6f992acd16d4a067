// Package zerodowntime holds the end-to-end test of what a Rails team buys
// the toolkit for: deploys, rollbacks and a rollout the circuit breaker
// rolls back, run through the magefile on the sandbox, where the tasks
// are real pods behind a real load balancer and a probe counts every
// request that fails.
package zerodowntime
