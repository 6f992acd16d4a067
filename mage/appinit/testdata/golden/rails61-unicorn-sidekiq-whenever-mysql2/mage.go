//go:build ignore

// Zero-install entry point: `go run mage.go <target>` compiles and runs the
// targets in magefile.go with nothing but Go installed.
package main

import (
	"os"

	"github.com/magefile/mage/mage"
)

func main() { os.Exit(mage.Main()) }
