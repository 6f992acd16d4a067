// Package modules carries the toolkit's provider-less policy module into
// the binaries of apps that take the toolkit as a Go module: `mage
// iam:policy` renders it there, where the app's repository holds no copy
// (its terraform roots take the reference module by git ref instead).
package modules

import "embed"

// IAM is terraform/modules/rails-app-iam.
//
//go:embed rails-app-iam/*.tf
var IAM embed.FS
