// Package release runs the deploy and rollback pipelines of one
// environment: preflight and the deploy lock, images, the migration task,
// the tfvars edit, terraform plan and apply, the rollout wait, and the
// release history and notifications. It works through small interfaces
// (ECS, Logs, ECR, Store); the targets package wires the real clients or
// the sandbox's double behind them.
package release
