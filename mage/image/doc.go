// Package image builds, tags and pushes the app and nginx images: image
// references (Ref) and the tag rules, the buildah and docker buildx
// builders, the concurrent build-and-push pipeline that skips what the
// registry already holds, registry manifest checks, ECR logins and the
// sandbox's loopback registry.
package image
