// Package awsfake is an AWS-compatible endpoint for what third-party
// emulators cannot script, held to AWS's documented behaviour and to
// botocore's models (contract.go checks every request and answer):
//
//   - ECS (ecs.go, taskdefs.go, clusters.go): task definitions, one-off
//     tasks with every documented way to fail, their lifecycle in time
//     (eventually consistent, timing.go), StopTask, ECS Exec (exec.go);
//   - services (services.go, servicetasks.go): rollouts, the circuit
//     breaker and its rollback, service tasks and events;
//   - ECR logins and CloudWatch Logs (ecr.go, logs.go), with ingestion lag;
//   - who may do what (authz.go): every call's action, resource and
//     condition keys, for the IAM simulator to judge;
//   - persistence (persist.go): the sandbox's state between commands,
//     one-off tasks included.
//
// It speaks the JSON 1.1 protocol (POST /, X-Amz-Target, errors as
// {"__type","message"}) so the real SDK and the real aws CLI talk to it
// unchanged. It backs the tests and the local sandbox.
package awsfake
