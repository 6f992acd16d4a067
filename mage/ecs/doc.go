// Package ecs runs one-off ECS tasks (the migration, rake tasks, runners):
// it starts them with the network of a service, waits for STOPPED with its
// own short polling, streams their CloudWatch logs and turns every way a
// task can fail into an error that says what happened.
package ecs
