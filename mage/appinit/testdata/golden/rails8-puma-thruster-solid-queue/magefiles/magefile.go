//go:build mage

// shop's deploy targets, from the deploykit module: `go run mage.go -l`
// lists them, `go run mage.go -h TARGET` gives a target's flags. Your own
// targets can sit beside the import. (mage.go in the Rails root runs them.)
package main

import (
	//mage:import
	_ "github.com/railsecs/deploykit/mage/deploykit"
)
