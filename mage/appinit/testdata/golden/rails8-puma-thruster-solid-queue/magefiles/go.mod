// The deploy targets' Go module: deploykit is a dependency, upgraded with
// `go get github.com/railsecs/deploykit@VERSION` (here, in magefiles/) in
// a reviewed pull request.
module shop/magefiles

go 1.26.0

require github.com/railsecs/deploykit v1.4.0

// mage itself, at the version the toolkit was tested with: ../mage.go
// builds it from here.
tool github.com/magefile/mage
