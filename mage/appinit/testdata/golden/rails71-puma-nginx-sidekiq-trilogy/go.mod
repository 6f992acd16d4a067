// The deploy targets' Go module: deploykit is a dependency, upgraded with
// `go get github.com/railsecs/deploykit@VERSION` in a reviewed pull request.
module shop/deploy

go 1.26.0

require github.com/railsecs/deploykit v1.4.0
