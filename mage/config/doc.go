// Package config reads the deploy configuration (deploy.hcl): the app, its
// images and the environments it deploys to.
package config
