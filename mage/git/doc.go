// Package git reads what the toolkit needs from the repository: the commit
// an image is built from (with a tag unique to a dirty diff), the branch,
// and which files changed between two releases.
package git
