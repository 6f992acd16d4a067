// Package release runs the pipelines of one environment and keeps their
// record:
//
//   - deploy (deploy.go), rollback (rollback.go) and promote (promote.go):
//     preflight and the lock, images (images.go), the migration gate and
//     task (oneoff.go), the tfvars and schedules edit with its backup
//     (tfvarsbackup.go, schedules.go), terraform plan and apply through
//     the workspace (workspace.go), the rollout wait, the release record,
//     hooks (hooks.go) and the report of what is live (report.go);
//   - the ledger: the store (store.go: a directory or S3), the lock
//     (lock.go), the release history (history.go) and the journal a run
//     keeps, from which the next command repairs what a killed run left
//     (journal.go);
//   - retention: prune (prune.go), which keeps exactly what rollback would
//     return to.
//
// It works through small interfaces (ECS, Logs, ECR, Store); the targets
// package wires the real clients or the sandbox's double behind them.
package release
