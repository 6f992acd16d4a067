// Package ecs is everything the toolkit asks of ECS, through the small
// interfaces it declares (API, ExecAPI, LogsAPI, TaskDefinitionAPI):
//
//   - one-off tasks (task.go): the migration, `mage run` commands and cron
//     jobs run by hand, started with the network of a service, watched
//     to STOPPED with short polling, their logs streamed (logs.go), every
//     way a task can fail turned into an error that says what happened;
//   - listing tasks (tasklist.go): live tasks by startedBy marker, so no
//     second migration starts beside one, batched and paged as ECS limits;
//   - task definition revisions (revisions.go): registering a revision
//     that differs only in images, the ACTIVE revisions of a family;
//   - rollouts (rollout.go): waiting until every service runs the release,
//     judged by our own deployment and its rolloutState, with a live table
//     and the first stopped task's reason;
//   - service states (status.go) for status and failure reports, service
//     logs across deployments (servicelogs.go), and ECS Exec sessions
//     handed to the session-manager-plugin (exec.go).
package ecs
