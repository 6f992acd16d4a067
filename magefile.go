//go:build mage

// Deploy targets for the Rails app on ECS. Run `go run mage.go -l` for the
// list and `go run mage.go -h TARGET` for a target's flags. Targets that act
// on an environment take -env=NAME and default to the local sandbox.
//
// They come from the toolkit's module, imported as an app's magefile
// imports them (docs/adoption.md): this repository uses the path it ships.
package main

import (
	//mage:import
	_ "github.com/railsecs/deploykit/mage/deploykit"
)
