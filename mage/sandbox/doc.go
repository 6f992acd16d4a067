// Package sandbox makes the local sandbox's AWS double behave like a
// cluster: one-off tasks run their command in the built image with buildah.
package sandbox
