// Package sandbox is the local sandbox in one room: whether an environment
// runs on the in-process AWS double, the double's start-up, switches,
// state file, serving and teardown, and what makes the double behave like
// a cluster (one-off tasks run their command in the built image with
// buildah, and a task whose process was killed leaves nothing running).
package sandbox
